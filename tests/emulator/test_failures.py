"""Failures on demand: failing images and operations, slow operations, faults, the call log."""

import time

import pytest
import requests
from google.api_core import exceptions, retry
from google.api_core.future import polling
from google.cloud import run_v2
from run_helpers import PARENT, create, deploy, pinned, service_spec, set_traffic, short

FAILED = run_v2.Condition.State.CONDITION_FAILED
CONTAINER_FAILED = "Revision '{}' is not ready and cannot serve traffic. The user-provided container failed to start"


def test_a_failing_image_keeps_the_last_serving_state(services, revisions, emulator):
    emulator.admin("failing-images", {"pattern": "*:broken*"})
    good = create(services)

    with pytest.raises(exceptions.FailedPrecondition) as raised:
        deploy(services, good, "gcr.io/demo/app:broken-1")

    service = services.get_service(name=good.name)
    failed_revision = short(service.latest_created_revision)
    assert raised.value.message.startswith(CONTAINER_FAILED.format(failed_revision))
    assert service.latest_created_revision != good.latest_ready_revision
    assert (service.generation, service.observed_generation) == (2, 1)
    assert service.latest_ready_revision == good.latest_ready_revision
    assert service.traffic_statuses == good.traffic_statuses
    assert service.terminal_condition.state == FAILED
    assert service.terminal_condition.message.startswith(CONTAINER_FAILED.format(failed_revision))
    ready = revisions.get_revision(name=service.latest_created_revision).conditions[0]
    assert (ready.type_, ready.state) == ("Ready", FAILED)
    assert requests.get(service.uri).json()["revision"] == short(good.latest_ready_revision)


def test_pinning_traffic_to_a_failed_revision_fails_too(services, emulator):
    emulator.admin("failing-images", {"pattern": "*:broken"})
    good = create(services)
    with pytest.raises(exceptions.FailedPrecondition):
        deploy(services, good, "gcr.io/demo/app:broken")
    current = services.get_service(name=good.name)

    with pytest.raises(exceptions.FailedPrecondition):
        set_traffic(services, current, pinned(short(current.latest_created_revision), 100))

    assert services.get_service(name=good.name).traffic_statuses == good.traffic_statuses


def test_a_first_revision_that_fails_leaves_a_service_that_serves_nothing(services, emulator):
    emulator.admin("failing-images", {"pattern": "*"})

    with pytest.raises(exceptions.FailedPrecondition):
        create(services)

    service = services.get_service(name=f"{PARENT}/services/app")
    assert not service.latest_ready_revision and not service.traffic_statuses
    assert requests.get(service.uri).status_code == 503


def test_a_failing_operation_reports_its_error_and_changes_nothing(services, emulator):
    emulator.admin("failing-operations", {"method": "POST", "path": "/services$", "code": 13, "message": "boom"})

    with pytest.raises(exceptions.InternalServerError, match="boom"):
        create(services)
    with pytest.raises(exceptions.NotFound):
        services.get_service(name=f"{PARENT}/services/app")
    assert create(services).latest_ready_revision


def test_operations_stay_pending_for_operation_seconds(services, emulator):
    emulator.admin("config", {"operation_seconds": 0.5})
    started = time.monotonic()

    operation = services.create_service(parent=PARENT, service_id="app", service=service_spec())
    assert not operation.done()
    service = operation.result(polling=polling.DEFAULT_POLLING.with_delay(initial=0.1, maximum=0.1))

    assert time.monotonic() - started >= 0.5
    assert service.latest_ready_revision
    assert [c["method"] for c in emulator.log()] == ["POST"]


def test_faults_answer_errors_in_googles_shape(services, emulator):
    service = create(services)
    emulator.admin("faults", {"method": "GET", "path": "/services/app$", "status": 503, "count": 1})

    with pytest.raises(exceptions.ServiceUnavailable, match="Fault injected"):
        services.get_service(name=service.name, retry=None)
    assert services.get_service(name=service.name, retry=None).name == service.name


def test_three_faults_then_success_with_a_retry(services, emulator):
    service = create(services)
    emulator.admin("faults", {"method": "GET", "path": "/services/app$", "status": 503, "count": 3})
    retrying = retry.Retry(predicate=retry.if_exception_type(exceptions.ServiceUnavailable), initial=0.01, maximum=0.02)

    assert services.get_service(name=service.name, retry=retrying).name == service.name
    assert emulator.state()["admin"]["faults"] == []


def test_a_fault_with_only_latency_delays(services, emulator):
    service = create(services)
    emulator.admin("faults", {"method": "*", "path": "/services/app$", "status": 0, "latency": 0.3})
    started = time.monotonic()

    services.get_service(name=service.name)

    assert time.monotonic() - started >= 0.3


def test_the_log_records_mutating_calls_including_rejected_ones(services, emulator):
    create(services)
    with pytest.raises(exceptions.Conflict):
        create(services)
    services.get_service(name=f"{PARENT}/services/app")

    calls = emulator.log()

    assert [(c["method"], c["path"], c["status"]) for c in calls] == [
        ("POST", f"/v2/{PARENT}/services", 200),
        ("POST", f"/v2/{PARENT}/services", 409),
    ]
    assert calls[0]["query"]["serviceId"] == "app"


def test_calls_counts_every_api_call_reads_included_with_when_and_how_long(services, emulator):
    began = time.time()
    create(services)
    services.get_service(name=f"{PARENT}/services/app")
    with pytest.raises(exceptions.NotFound):
        services.get_service(name=f"{PARENT}/services/nothing")
    emulator.admin("faults", {"method": "GET", "count": 1})
    services.get_service(name=f"{PARENT}/services/app")  # a 503, then the retry

    calls = [(c["method"], c["path"].rsplit("/", 1)[-1], c["status"]) for c in emulator.calls()]

    assert calls[0] == ("POST", "services", 200)
    assert calls[1:] == [("GET", "app", 200), ("GET", "nothing", 404), ("GET", "app", 503), ("GET", "app", 200)]
    starts = [c["start"] for c in emulator.calls()]
    assert began <= starts[0] and starts == sorted(starts) and starts[-1] <= time.time()
    assert all(0 <= c["seconds"] < 5 for c in emulator.calls())
    emulator.reset()
    assert emulator.calls() == []
