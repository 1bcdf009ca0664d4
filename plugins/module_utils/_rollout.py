# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a rollout of a Cloud Run service stands, read from its traffic, and whether its traffic is
clean enough to start one.

PRIVATE to this collection. The logic of cloud_run_rollout_status.

A rollout of orchestra.gcp leaves its state in the service itself, so that an interrupted run can
be picked up by the next one: the canary revision carries the canary tag, the revision it is
compared with serves the rest of the traffic and carries the stable tag, and the rollback target
is the stable-revision annotation.
"""

from __future__ import annotations

from ._run import (LOCATION_ARGSPEC, RUN_LIBRARIES, STABLE_ANNOTATION, check_region, read_service, rejected_revisions,
                   routed_revision, run_v2, service_path, short_name, tagged_revisions)

STATUS_SPEC = dict(argument_spec=dict(
    LOCATION_ARGSPEC,
    image=dict(type="str"),
    canary_tag=dict(type="str", default="canary"),
    stable_tag=dict(type="str", default="stable"),
    allowed_tags=dict(type="list", elements="str", default=[]),
), libraries=RUN_LIBRARIES)


def rollout_status(session):
    """cloud_run_rollout_status: the rollout's phase and the problems that keep one from starting."""
    p = session.params
    resource = "Cloud Run service %s in %s" % (p["name"], p["region"])
    check_region(p["region"], resource)
    client = session.client(run_v2.ServicesClient)
    service = read_service(session, client, service_path(session.project, p["region"], p["name"]), resource)
    if service is None:
        return dict(changed=False, phase="absent", first_deploy=True, problems=[], serving={}, stable=None,
                    canary=None, canary_percent=0, canary_image=None, same_image=False, rollback_target=None,
                    rejected=[])
    # The images tell whether a rollout in progress is of this image: only a canary tag needs them.
    canary_tagged = any(s.tag == p["canary_tag"] for s in service.traffic_statuses)
    images = _images(session, service, resource) if canary_tagged else {}
    return dict(changed=False, **status_of(service, images, p))


def _images(session, service, resource):
    """Revision short name -> image, for every revision of the service."""
    listed = session.call("list revisions of", resource, session.client(run_v2.RevisionsClient).list_revisions,
                          parent=service.name)
    return {short_name(r.name): (r.containers[0].image if r.containers else None) for r in listed}


def status_of(service, images, p):
    """The status of ``service`` (pure: no call), given the image of each revision."""
    serving = {}
    for s in service.traffic_statuses:
        if s.percent:
            revision = routed_revision(service, s)
            serving[revision] = serving.get(revision, 0) + s.percent
    tags = tagged_revisions(service)
    canary = tags.get(p["canary_tag"])
    rejected = rejected_revisions(service)
    rollback_target = service.annotations.get(STABLE_ANNOTATION)
    latest_ready = short_name(service.latest_ready_revision)
    problems = []
    full = [revision for revision, percent in serving.items() if percent == 100]
    stable = full[0] if full else None
    canary_percent = serving.get(canary, 0) if canary and canary != stable else 0
    if not serving:
        phase = "empty"  # the service exists but serves nothing: its first revision never became ready
    elif full:
        phase = "idle"
        # A rollback leaves the service pinned to its last stable revision (the annotation): that is clean.
        if (latest_ready and latest_ready not in (stable, canary) and latest_ready not in rejected
                and stable != rollback_target):
            problems.append(
                "traffic is pinned to %s while the newer ready revision %s serves nothing and no rollout rejected it: "
                "promote it or roll back to a known revision with orchestra.gcp.cloud_run_traffic, then start the rollout"
                % (stable, latest_ready))
    elif canary_percent and len(serving) == 2:
        phase = "in_progress"
        stable = next(revision for revision in serving if revision != canary)
    else:
        phase = "split"
        problems.append(
            "traffic is split (%s) but not by a rollout (no %r tag on one of two serving revisions): set it with "
            "orchestra.gcp.cloud_run_traffic or roll back with playbooks/rollback.yml first"
            % (", ".join("%s %d%%" % item for item in sorted(serving.items())), p["canary_tag"]))
    if service.reconciling:
        # While Cloud Run reconciles, latestReadyRevision and trafficStatuses hold transient values
        # (run.v2 discovery document, Service.reconciling): nothing read from them can be trusted yet.
        problems.append("the service is reconciling a change that is still rolling out (generation %d, observed %d): "
                        "wait for it to finish, then start the rollout" % (service.generation, service.observed_generation))
    stale = sorted("%s (%s)" % (tag, revision) for tag, revision in tags.items()
                   if tag not in (p["canary_tag"], p["stable_tag"]) and tag not in p["allowed_tags"])
    if stale:
        problems.append("stale tags %s: remove them with orchestra.gcp.cloud_run_traffic, or list them in allowed_tags"
                        % ", ".join(stale))
    canary_image = images.get(canary) if canary else None
    return dict(phase=phase, first_deploy=not serving, problems=problems, serving=serving, stable=stable,
                canary=canary if canary != stable else None, canary_percent=canary_percent, canary_image=canary_image,
                same_image=bool(canary_image) and canary_image == p["image"], rollback_target=rollback_target,
                rejected=rejected)
