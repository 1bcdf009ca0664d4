# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a rollout of a Cloud Run service stands, read from its traffic, whether its traffic is clean
enough to start one, and what a rollout of a given spec will do there (the plan).

PRIVATE to this collection. The logic of cloud_run_rollout_status.

A rollout of orchestra.gcp leaves its state in the service itself, so that an interrupted run can
be picked up by the next one: the canary revision carries the canary tag, the revision it is
compared with serves the rest of the traffic and carries the stable tag, and the rollback target
is the stable-revision annotation.
"""

from __future__ import annotations

import json

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ._gcp import LOCATION_ARGSPEC, GcpError, short_name
from ._run import (RUN_LIBRARIES, SERVICE_SPEC, STABLE_ANNOTATION, TEMPLATE_KEYS, changed_keys, check_region,
                   desired_spec, read_service, rejected_revisions, resolve_secret_aliases, routed_revision, run_v2, service_path,
                   spec_of, tagged_revisions)

STATUS_SPEC = dict(argument_spec=dict(
    LOCATION_ARGSPEC,
    image=dict(type="str"),
    spec=dict(type="dict"),
    steps=dict(type="list", elements="dict", default=[]),
    resume=dict(type="str", choices=["continue", "rollback"], default="continue"),
    canary_tag=dict(type="str", default="canary"),
    stable_tag=dict(type="str", default="stable"),
    allowed_tags=dict(type="list", elements="str", default=[]),
), libraries=RUN_LIBRARIES)

# A spec is what cloud_run_service takes (the cloud_run_deploy role's service): its name, and the options of the
# revision and of the service, typed as that module types them.
SPEC_VALIDATOR = ArgumentSpecValidator(dict(
    {k: v for k, v in SERVICE_SPEC["argument_spec"].items() if k not in LOCATION_ARGSPEC}, name=dict(type="str")))


def rollout_status(session):
    """cloud_run_rollout_status: the rollout's phase, the problems that keep one from starting, and with a
    spec the plan of its rollout."""
    p = session.params
    resource = "Cloud Run service %s in %s" % (p["name"], p["region"])
    check_region(p["region"], resource)
    steps = checked_steps(p["steps"])
    spec = resolve_secret_aliases(session, _checked_spec(p["spec"], resource), resource, refuse=False) if p["spec"] is not None else None
    image = p["image"] or (spec or {}).get("image")
    client = session.client(run_v2.ServicesClient)
    service = read_service(session, client, service_path(session.project, p["region"], p["name"]), resource)
    if service is None:
        status = dict(phase="absent", first_deploy=True, problems=[], serving={}, stable=None, canary=None, canary_percent=0,
                      canary_image=None, same_image=False, rollback_target=None, rejected=[])
        return dict(changed=False, **status, **(dict(plan=plan_of(status, None, steps, p)) if spec else {}))
    # The images tell whether a rollout in progress is of this image: only a canary tag needs them.
    canary_tagged = any(s.tag == p["canary_tag"] for s in service.traffic_statuses)
    images = _images(session, service, resource) if canary_tagged else {}
    status = status_of(service, images, dict(p, image=image))
    if spec is None:
        return dict(changed=False, **status)
    return dict(changed=False, plan=plan_of(status, revision_with(service, spec, p["name"]), steps, p), **status)


STEPS_PROBLEM = "steps must list steps with an integer percent from 1 to 99, increasing, and a bake of 0 or more seconds; got %s."


def checked_steps(steps):
    """The steps as ``[{percent, bake}]`` of integers (numbers given as strings too); GcpError unless every percent
    is from 1 to 99 and above the one before, and every bake 0 or more (default 0)."""
    def integer(value):
        text = str(value).strip()
        return int(text) if not isinstance(value, (bool, float)) and text.isdigit() else None
    checked = [dict(percent=integer(step.get("percent")), bake=integer(step.get("bake", 0))) for step in steps]
    percents = [step["percent"] for step in checked]
    if (None in percents or any(step["bake"] is None for step in checked) or any(not 1 <= pc <= 99 for pc in percents)
            or any(a >= b for a, b in zip(percents, percents[1:]))):
        raise GcpError("Invalid parameters: %s Nothing was changed." % (STEPS_PROBLEM % json.dumps(steps)))
    return checked


def _checked_spec(spec, resource):
    result = SPEC_VALIDATOR.validate(spec)
    if result.error_messages:
        raise GcpError("Invalid spec for %s: %s. Nothing was changed." % (resource, "; ".join(result.error_messages)))
    return result.validated_parameters


def revision_with(service, spec, name):
    """The revision that already has ``spec``, or None when deploying it makes a new revision: cloud_run_service
    makes one when an option of the revision differs from the service's template, else it names the latest ready one."""
    have = spec_of(service)
    new = any(key in TEMPLATE_KEYS for key in changed_keys(desired_spec(dict(spec, name=name), have), have))
    return None if new else short_name(service.latest_ready_revision) or None


def plan_of(status, revision, steps, p):
    """What a rollout of the spec will do (pure: no call), given the status, ``revision`` (the revision that already
    has the spec, None when the deploy makes one) and the checked steps.

    The action is ``refuse`` (with the reason, nothing changes), ``first_deploy`` (nothing serves yet: the new revision
    takes all the traffic as it is created, then the smoke test), ``up_to_date`` (the stable revision has the spec),
    ``resume`` (the canary in progress has the spec: from the step where its traffic stands) or ``rollout`` (smoke
    test, every step, promotion)."""
    in_progress = status["phase"] == "in_progress"
    where = "%s in %s" % (p["name"], p["region"])
    plan = dict(action="rollout", refusal=None, stable=status["stable"], canary=revision, new_revision=revision is None,
                resume_from=0, roll_back_first=False, steps=steps)
    if status["problems"]:
        refusal = "Cannot roll out %s: %s." % (where, "; ".join(status["problems"]))
    elif in_progress and not status["same_image"] and p["resume"] == "continue":
        refusal = ("A rollout of %s (%s) is in progress in %s at %d%%. Re-run with that image to continue it, roll it back "
                   "with playbooks/rollback.yml, or set resume to rollback (cloud_run_rollout_resume in the role)."
                   % (status["canary_image"], status["canary"], p["region"], status["canary_percent"]))
    elif revision is not None and revision in status["rejected"]:
        refusal = ("%s in %s has exactly this spec, and an earlier rollout rejected it. Deploy a fixed image or "
                   "configuration." % (revision, p["region"]))
    else:
        refusal = None
    if refusal:
        return dict(plan, action="refuse", refusal=refusal + " Nothing was changed.", steps=[])
    if status["first_deploy"]:
        return dict(plan, action="first_deploy", steps=[])
    if revision is not None and revision == status["stable"]:
        return dict(plan, action="up_to_date", steps=[])
    if in_progress and p["resume"] == "rollback":
        # The interrupted canary was not judged bad: its traffic goes back to the stable revision, unrejected.
        return dict(plan, roll_back_first=True)
    if in_progress and revision == status["canary"]:
        # Only the same revision resumes: a changed spec (a new revision) starts over with its smoke test.
        left = [step for step in steps if step["percent"] >= status["canary_percent"]]
        return dict(plan, action="resume", resume_from=status["canary_percent"], steps=left)
    return plan


def _images(session, service, resource):
    """Revision short name -> image, for every revision of the service."""
    listed = session.list("list revisions of", resource, session.client(run_v2.RevisionsClient).list_revisions,
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
