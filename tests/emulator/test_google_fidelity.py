"""The emulator against Google's real Cloud Run v2 responses (tests/fixtures/google/): what Google
fills in, leaves out, names in full, delays and accepts only to fail later.

Read as raw JSON where the official client would hide the difference (an absent field and a default
look the same through proto-plus)."""

import json
import pathlib
import re
import time

import pytest
import requests
from google.api_core import exceptions
from run_helpers import PARENT, create, deploy, latest, pinned, service_spec, set_traffic, short

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google"


def google(name):
    return json.loads((FIXTURES / name).read_text())["response"]


def raw(emulator, path):
    return requests.get(f"{emulator.endpoint}/v2/{path}", timeout=10).json()


def test_a_ready_service_reads_like_google_s(services, emulator):
    real = google("run_v2_service_latest.json")
    create(services)

    ours = raw(emulator, f"{PARENT}/services/app")

    # Every top-level field Google returned for a Ready service is there (build and Cloud Functions
    # fields aside), and the shapes agree.
    unrelated = {"buildConfig", "customAudiences", "client", "labels", "annotations"}
    assert set(real) - unrelated <= set(ours)
    assert ours["trafficStatuses"] == real["trafficStatuses"] == [
        {"percent": 100, "type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"}]
    full_name = re.compile(r"^projects/[^/]+/locations/[^/]+/services/[^/]+/revisions/[a-z0-9-]+-\d{5}-[a-z0-9]{3}$")
    for field in ("latestReadyRevision", "latestCreatedRevision"):
        assert full_name.match(real[field]) and full_name.match(ours[field])
    assert re.fullmatch(r'"[^"]+"', real["etag"]) and re.fullmatch(r'"[^"]+"', ours["etag"])
    assert isinstance(ours["generation"], str) and isinstance(ours["observedGeneration"], str)
    assert len(ours["urls"]) >= 2 and ours["uri"] == ours["urls"][-1] and real["uri"] == real["urls"][-1]
    assert [c["type"] for c in ours["conditions"]] == [c["type"] for c in real["conditions"]]
    assert "reconciling" not in real and not ours.get("reconciling")


def test_google_fills_the_template_defaults(services, emulator):
    real = google("run_v2_service_latest.json")["template"]
    create(services)

    template = raw(emulator, f"{PARENT}/services/app")["template"]
    container = template["containers"][0]

    assert template["maxInstanceRequestConcurrency"] == real["maxInstanceRequestConcurrency"] == 80
    assert template["scaling"] == real["scaling"] == {"maxInstanceCount": 100}
    assert re.fullmatch(r"\d{12}-compute@developer\.gserviceaccount\.com", template["serviceAccount"])
    assert re.fullmatch(r"\d+-compute@developer\.gserviceaccount\.com", real["serviceAccount"])
    assert template["timeout"] == "300s"
    assert container["ports"] == real["containers"][0]["ports"] == [{"name": "http1", "containerPort": 8080}]
    assert container["startupProbe"] == real["containers"][0]["startupProbe"]
    assert container["resources"]["limits"] == {"cpu": "1000m", "memory": "512Mi"}


def test_a_template_without_the_defaults_is_the_same_template(services, emulator):
    service = create(services)

    again = services.update_service(service=service_spec(name=service.name)).result()

    assert again.latest_created_revision == service.latest_created_revision
    assert len(emulator.state()["resources"]["run.v2"]["revisions"]) == 1


def test_revisions_report_their_containers_and_logs(services, emulator):
    service = create(services)

    # Raw JSON: the Python client (google-cloud-run 0.16) has no containerStatuses field yet.
    revision = raw(emulator, service.latest_created_revision)

    assert [set(status) for status in revision["containerStatuses"]] == [{"imageDigest"}]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", revision["containerStatuses"][0]["imageDigest"])
    assert revision["logUri"].startswith("https://console.cloud.google.com/logs/")


def test_a_change_reconciles_before_its_status_shows(services, revisions, emulator):
    first = create(services)
    emulator.admin("config", {"operation_seconds": 1.0})

    first.template.containers[0].image = "gcr.io/demo/app:2"
    operation = services.update_service(service=first)
    running = raw(emulator, f"{PARENT}/operations/{operation.operation.name.rsplit('/', 1)[1]}")
    during = services.get_service(name=first.name)

    assert "done" not in running  # proto3 JSON leaves a false `done` out
    assert during.reconciling
    assert during.generation == 2 and during.observed_generation == 1
    assert during.latest_ready_revision == first.latest_ready_revision != during.latest_created_revision
    assert during.traffic_statuses == first.traffic_statuses
    assert during.terminal_condition.state.name == "CONDITION_RECONCILING"
    new_revision = revisions.get_revision(name=during.latest_created_revision)
    assert new_revision.reconciling
    assert requests.get(during.uri, timeout=5).json()["revision"] == short(first.latest_ready_revision)

    done = operation.result(timeout=10)
    after = services.get_service(name=first.name)

    assert not after.reconciling and after.observed_generation == 2
    assert after.latest_ready_revision == during.latest_created_revision == done.latest_ready_revision
    assert after.etag == done.etag != during.etag  # the rollout bumped the version by itself
    assert requests.get(after.uri, timeout=5).json()["revision"] == short(after.latest_ready_revision)
    during.labels = {"late": "write"}
    with pytest.raises(exceptions.Conflict, match="does not match the current etag"):
        services.update_service(service=during)


def test_a_new_service_has_no_url_until_it_is_ready(services, emulator):
    emulator.admin("config", {"operation_seconds": 1.0})

    operation = services.create_service(parent=PARENT, service_id="app", service=service_spec())
    during = services.get_service(name=f"{PARENT}/services/app")

    assert during.reconciling and not during.uri and not during.latest_ready_revision and not during.traffic_statuses
    assert operation.result(timeout=10).uri


def test_traffic_to_a_missing_revision_is_accepted_then_fails(services, emulator):
    real = json.loads((FIXTURES / "run_v2_operation_missing_revision.json").read_text())
    service = deploy(services, create(services), "gcr.io/demo/app:2")
    serving = service.traffic_statuses

    with pytest.raises(exceptions.InternalServerError) as raised:
        set_traffic(services, service, latest(50), pinned("app-99999-zzz", 50))

    assert raised.value.message == real["response"]["error"]["message"].replace("cloudrun-srv-green", "app-99999-zzz")
    failing = services.get_service(name=service.name)
    assert failing.generation == 3 and [t.revision for t in failing.traffic] == ["", "app-99999-zzz"]
    assert failing.traffic_statuses == serving
    assert failing.terminal_condition.state.name == "CONDITION_FAILED"
    # Until the traffic is fixed, every rollout fails the same way.
    failing.labels = {"still": "failing"}
    with pytest.raises(exceptions.InternalServerError, match="does not exist or is deleted"):
        services.update_service(service=failing).result()
    fixed = set_traffic(services, services.get_service(name=service.name), latest(100))
    assert fixed.terminal_condition.state.name == "CONDITION_SUCCEEDED"


def test_operations_leave_done_out_until_they_are_done(services, emulator):
    emulator.admin("config", {"operation_seconds": 0.5})
    operation = services.create_service(parent=PARENT, service_id="app", service=service_spec())
    path = f"{PARENT}/operations/{operation.operation.name.rsplit('/', 1)[1]}"

    assert "done" not in raw(emulator, path)
    time.sleep(0.6)
    assert raw(emulator, path)["done"] is True
