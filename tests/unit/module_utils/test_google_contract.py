# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's logic on Google's real responses (tests/fixtures/google/), not on the emulator's view
of them: the contract with Google, written down."""

from __future__ import annotations

import copy
import json
import pathlib

import requests
from google.api_core import exceptions as gexc
from google.cloud import run_v2

from ansible_collections.orchestra.gcp.plugins.module_utils import _gcp, _rollout, _run

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "google"
REVISION = "ejectrequest-00002-ruh"


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


def real_service():
    """The Ready v2 Service firebase-tools quotes: LATEST status without revision, full-name latest revisions."""
    return run_v2.Service.from_json(json.dumps(fixture("run_v2_service_latest.json")["response"]), ignore_unknown_fields=True)


def status_params(**overrides):
    return dict(dict(name="ejectrequest", region="us-central1", image=None, canary_tag="canary", stable_tag="stable",
                     allowed_tags=[]), **overrides)


def test_the_latest_status_resolves_to_the_latest_ready_revision():
    service = real_service()

    assert [s.revision for s in service.traffic_statuses] == [""]
    assert _run.serving_revision(service) == REVISION
    assert _run.summary(service) == "%s 100%%" % REVISION
    assert _run.traffic_view(service.traffic_statuses, service) == [
        dict(type="LATEST", revision=REVISION, percent=100, tag=None)]


def test_a_freshly_deployed_service_is_clean_to_roll_out():
    status = _rollout.status_of(real_service(), {}, status_params())

    assert status["phase"] == "idle" and status["problems"] == []
    assert status["stable"] == REVISION and status["serving"] == {REVISION: 100}


def test_moving_traffic_away_records_the_stable_revision():
    current = real_service()
    new = copy.deepcopy(current)
    new.traffic = [_run.target(REVISION, 90, "stable"), _run.target("ejectrequest-00003-x7k", 10, "canary")]

    _run.remember_stable(new, current, "ejectrequest-00003-x7k")

    assert new.annotations[_run.STABLE_ANNOTATION] == REVISION


def test_a_tag_on_latest_reaches_the_latest_ready_revision():
    service = real_service()
    service.traffic_statuses[0].tag = "stable"

    assert _run.tagged_revisions(service) == {"stable": REVISION}


def test_the_filled_template_reads_as_the_user_s_options():
    have = _run.spec_of(real_service())

    assert (have["port"], have["concurrency"], have["max_instances"], have["timeout"]) == (8080, 80, 100, 60)
    assert have["cpu"] == "1" and have["memory"] == "256Mi"
    # Options the user leaves out are not managed: the filled values make no change.
    assert _run.changed_keys({"image": have["image"]}, have) == []
    # Google's limits apply to the filled values: cpu 1 with 256Mi allows any concurrency, cpu 0.5 needs 1.
    assert _run._problems_in_resources(dict(have, cpu="0.5")) == ["cpu 0.5 below 1 needs concurrency 1"]


def test_a_stale_etag_is_aborted_not_already_exists():
    """Over REST a 409 may be ABORTED or ALREADY_EXISTS; the collection reads the body's status."""
    body = fixture("run_v2_conflict_aborted.json")["response"]
    response = requests.Response()
    response.status_code = 409
    response._content = json.dumps(body).encode()
    response.request = requests.Request("PATCH", "https://run.googleapis.com/v2/projects/p/locations/l/services/s").prepare()

    status, message = _gcp.describe_api_error(gexc.from_http_response(response))

    assert status == "ABORTED"
    assert message.startswith("Conflict for resource 'dispatch-web'")


def test_the_missing_revision_failure_is_reported_with_google_s_words():
    error = fixture("run_v2_operation_missing_revision.json")["response"]["error"]

    status, message = _gcp.describe_api_error(gexc.from_grpc_status(error["code"], error["message"]))

    assert status == "INTERNAL" and "does not exist or is deleted" in message
