# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a rollout stands, read from a service's traffic: phases and the problems that stop a start."""

from __future__ import annotations

from google.cloud import run_v2

from ansible_collections.orchestra.gcp.plugins.module_utils._rollout import status_of
from ansible_collections.orchestra.gcp.plugins.module_utils._run import REJECTED_ANNOTATION, STABLE_ANNOTATION

NAME = "projects/p/locations/us-central1/services/app"
IMAGES = {"app-00001-aaa": "img:1", "app-00002-bbb": "img:2", "app-00003-ccc": "img:3"}


def service(statuses, latest_ready="app-00001-aaa", annotations=None):
    return run_v2.Service(name=NAME, latest_ready_revision=NAME + "/revisions/" + latest_ready, annotations=annotations or {},
                          traffic_statuses=[run_v2.TrafficTargetStatus(revision=r, percent=pc, tag=t) for r, pc, t in statuses])


def status(svc, image="img:2", allowed_tags=()):
    return status_of(svc, IMAGES, dict(image=image, canary_tag="canary", stable_tag="stable", allowed_tags=list(allowed_tags)))


def test_idle_on_one_revision():
    s = status(service([("app-00001-aaa", 100, "stable")]))
    assert (s["phase"], s["stable"], s["canary"], s["problems"], s["first_deploy"]) == ("idle", "app-00001-aaa", None, [], False)


def test_in_progress_with_the_canary_tagged():
    s = status(service([("app-00001-aaa", 90, "stable"), ("app-00002-bbb", 10, "canary")], latest_ready="app-00002-bbb",
                       annotations={STABLE_ANNOTATION: "app-00001-aaa"}))
    assert (s["phase"], s["stable"], s["canary"], s["canary_percent"], s["same_image"]) == (
        "in_progress", "app-00001-aaa", "app-00002-bbb", 10, True)
    assert s["problems"] == [] and s["rollback_target"] == "app-00001-aaa"
    assert status(service([("app-00001-aaa", 90, ""), ("app-00002-bbb", 10, "canary")]), image="img:3")["same_image"] is False


def test_a_split_not_made_by_a_rollout_is_a_problem():
    s = status(service([("app-00001-aaa", 50, ""), ("app-00002-bbb", 50, "")]))
    assert s["phase"] == "split"
    assert "traffic is split (app-00001-aaa 50%, app-00002-bbb 50%)" in s["problems"][0]


def test_a_newer_ready_revision_left_out_is_a_problem_unless_rejected_or_rolled_back_from():
    pinned = service([("app-00001-aaa", 100, "")], latest_ready="app-00002-bbb")
    assert "pinned to app-00001-aaa while the newer ready revision app-00002-bbb" in status(pinned)["problems"][0]
    rejected = service([("app-00001-aaa", 100, "")], latest_ready="app-00002-bbb",
                       annotations={REJECTED_ANNOTATION: "app-00002-bbb"})
    assert status(rejected)["problems"] == [] and status(rejected)["rejected"] == ["app-00002-bbb"]
    rolled_back = service([("app-00001-aaa", 100, "")], latest_ready="app-00002-bbb",
                          annotations={STABLE_ANNOTATION: "app-00001-aaa"})
    assert status(rolled_back)["problems"] == []


def test_stale_tags_are_a_problem_unless_allowed():
    svc = service([("app-00001-aaa", 100, "stable"), ("app-00001-aaa", 0, "blue"), ("app-00003-ccc", 0, "old")],
                  latest_ready="app-00001-aaa")
    assert status(svc)["problems"] == ["stale tags blue (app-00001-aaa), old (app-00003-ccc): remove them with "
                                       "orchestra.gcp.cloud_run_traffic, or list them in allowed_tags"]
    assert "old (app-00003-ccc)" in status(svc, allowed_tags=["blue"])["problems"][0]
    assert status(svc, allowed_tags=["blue", "old"])["problems"] == []


def test_nothing_serving_is_a_first_deploy():
    s = status(service([], latest_ready=""))
    assert (s["phase"], s["first_deploy"], s["problems"], s["stable"]) == ("empty", True, [], None)
