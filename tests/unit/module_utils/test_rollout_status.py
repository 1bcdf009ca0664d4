# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a rollout stands, read from a service's traffic: phases and the problems that stop a start; and the
plan of a rollout of a spec there."""

from __future__ import annotations

import pytest
from google.cloud import run_v2

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError
from ansible_collections.orchestra.gcp.plugins.module_utils._rollout import checked_steps, plan_of, revision_with, status_of
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


STEPS = [{"percent": 10, "bake": 30}, {"percent": 50, "bake": 30}]


def plan(svc, revision, image="img:2", resume="continue", steps=None):
    return plan_of(status(svc, image=image), revision, STEPS if steps is None else steps,
                   dict(name="app", region="us-central1", resume=resume))


def test_the_plan_of_a_new_spec_is_the_whole_rollout_against_the_stable_revision():
    p = plan(service([("app-00001-aaa", 100, "stable")]), None)
    assert p == dict(action="rollout", refusal=None, stable="app-00001-aaa", canary=None, new_revision=True, resume_from=0,
                     roll_back_first=False, steps=STEPS)


def test_the_plan_of_the_spec_the_stable_revision_has_is_up_to_date():
    p = plan(service([("app-00001-aaa", 100, "stable")]), "app-00001-aaa")
    assert (p["action"], p["steps"], p["canary"], p["new_revision"]) == ("up_to_date", [], "app-00001-aaa", False)


def test_nothing_serving_plans_a_first_deploy():
    p = plan(service([], latest_ready=""), None)
    assert (p["action"], p["stable"], p["steps"]) == ("first_deploy", None, [])


def test_the_canary_in_progress_resumes_from_where_its_traffic_stands():
    in_progress = service([("app-00001-aaa", 50, "stable"), ("app-00002-bbb", 50, "canary")], latest_ready="app-00002-bbb")
    p = plan(in_progress, "app-00002-bbb")
    assert (p["action"], p["resume_from"], p["steps"], p["canary"]) == ("resume", 50, STEPS[1:], "app-00002-bbb")
    # A changed spec of the same image (a new revision) starts over; resume=rollback sends the traffic back first.
    assert (plan(in_progress, None)["action"], plan(in_progress, None)["steps"]) == ("rollout", STEPS)
    back = plan(in_progress, "app-00002-bbb", resume="rollback")
    assert (back["action"], back["roll_back_first"], back["steps"]) == ("rollout", True, STEPS)


def test_refusals_change_nothing_and_say_why():
    in_progress = service([("app-00001-aaa", 90, "stable"), ("app-00002-bbb", 10, "canary")], latest_ready="app-00002-bbb")
    other = plan(in_progress, None, image="img:3")
    assert (other["action"], other["steps"]) == ("refuse", [])
    assert other["refusal"].startswith("A rollout of img:2 (app-00002-bbb) is in progress in us-central1 at 10%.")
    assert other["refusal"].endswith("Nothing was changed.")
    assert plan(in_progress, None, image="img:3", resume="rollback")["roll_back_first"] is True
    rejected = service([("app-00001-aaa", 100, "stable")], latest_ready="app-00002-bbb",
                       annotations={REJECTED_ANNOTATION: "app-00002-bbb"})
    assert plan(rejected, "app-00002-bbb")["refusal"] == (
        "app-00002-bbb in us-central1 has exactly this spec, and an earlier rollout rejected it. Deploy a fixed image or "
        "configuration. Nothing was changed.")
    split = plan(service([("app-00001-aaa", 50, ""), ("app-00002-bbb", 50, "")]), None)
    assert split["action"] == "refuse" and split["refusal"].startswith("Cannot roll out app in us-central1: traffic is split")


def test_steps_given_as_strings_are_numbers_and_bad_steps_are_refused():
    assert checked_steps([{"percent": "5", "bake": "0"}, {"percent": 20}]) == [{"percent": 5, "bake": 0}, {"percent": 20, "bake": 0}]
    for bad in ([{"percent": 50}, {"percent": 20}], [{"percent": 0}], [{"percent": 100}], [{"percent": "ten"}],
                [{"percent": 10, "bake": -1}], [{"bake": 10}], [{"percent": 10}, {"percent": 10}], [{"percent": 10.5}]):
        with pytest.raises(GcpError, match="steps must list steps with an integer percent from 1 to 99"):
            checked_steps(bad)


def test_a_spec_makes_a_new_revision_when_an_option_of_the_revision_differs():
    svc = service([("app-00001-aaa", 100, "stable")])
    svc.template = run_v2.RevisionTemplate(containers=[run_v2.Container(image="img:1", env=[run_v2.EnvVar(name="A", value="1")])])
    spec = dict(image="img:1", env={"A": 1}, labels={"team": "x"}, purge_labels=True, purge_annotations=True)
    assert revision_with(svc, spec, "app") == "app-00001-aaa"  # a service label is no new revision
    assert revision_with(svc, dict(spec, env={"A": "2"}), "app") is None
    assert revision_with(svc, dict(spec, image="img:2"), "app") is None
