"""Faults the emulator injects: transient errors, a revision that never gets ready, failed and slow operations."""

import requests

from test_cloud_run_service import deploy, serving


def mutations(emulated, method):
    return [c for c in emulated.emulator.log() if c["method"] == method]


def setup_v1(emulated):
    name = emulated.name()
    play = emulated.run([dict(name="v1", **deploy(name, "1.0.0"))])
    assert play.rc == 0, play.stdout
    return name, play.task("v1")["revision"]


def test_three_503s_then_success_creates_one_revision(emulated):
    name, v1 = setup_v1(emulated)
    emulated.emulator.admin("faults", {"method": "PATCH", "path": "/services/" + name, "status": 503, "count": 3})
    play = emulated.run([dict(name="v2", **deploy(name, "2.0.0"))])
    assert play.rc == 0, play.stdout
    assert [c["status"] for c in mutations(emulated, "PATCH")] == [503, 503, 503, 200]
    revisions = emulated.revision_names(name)
    assert len(revisions) == 2 and play.task("v2")["revision"] in revisions
    assert serving(emulated, name) == {(play.task("v2")["revision"], 100, "")}


def test_failing_image_keeps_the_previous_revision_serving(emulated):
    name, v1 = setup_v1(emulated)
    emulated.emulator.admin("failing-images", {"pattern": "*:broken"})
    play = emulated.run([dict(name="v2", ignore_errors=True, **deploy(name, "broken"))])
    result = play.task("v2")
    assert result["_failed"]
    assert "is not ready and cannot serve traffic" in result["msg"]
    assert "now serves: %s 100%%" % v1 in result["msg"]
    assert serving(emulated, name) == {(v1, 100, "")}
    service = emulated.service(name)
    assert service.latest_ready_revision.endswith(v1)
    assert requests.get(service.uri, timeout=5).json()["revision"] == v1

    # Asking again for the same broken image changes nothing and still fails: it does not serve.
    calls = len(emulated.emulator.log())
    again = emulated.run([dict(name="v2 again", ignore_errors=True, **deploy(name, "broken"))])
    result = again.task("v2 again")
    assert result["_failed"] and "is not serving" in result["msg"] and "now serves: %s 100%%" % v1 in result["msg"]
    assert len(emulated.emulator.log()) == calls


def test_failed_operation_is_reported(emulated):
    name, v1 = setup_v1(emulated)
    emulated.emulator.admin("failing-operations",
                            {"method": "PATCH", "path": "/services/" + name, "count": 1, "code": 13, "message": "backend exploded"})
    play = emulated.run([dict(name="v2", ignore_errors=True, **deploy(name, "2.0.0"))])
    result = play.task("v2")
    assert result["_failed"]
    assert "operation" in result["msg"] and "failed: INTERNAL: backend exploded" in result["msg"]
    assert serving(emulated, name) == {(v1, 100, "")}


def test_timeout_reports_the_partial_state(emulated):
    name, v1 = setup_v1(emulated)
    emulated.emulator.admin("config", {"operation_seconds": 30})
    try:
        play = emulated.run([dict(name="v2", ignore_errors=True, **deploy(name, "2.0.0", wait_timeout=1))])
    finally:
        emulated.emulator.admin("config", {"operation_seconds": 0})
    result = play.task("v2")
    assert result["_failed"]
    assert "Timed out after 1s" in result["msg"] and "still running" in result["msg"]
    assert result["service"]["name"].endswith("/services/" + name)


def test_image_change_under_no_wait_returns_at_once(emulated):
    name, v1 = setup_v1(emulated)
    emulated.emulator.admin("config", {"operation_seconds": 30})
    try:
        play = emulated.run([dict(name="v2", **deploy(name, "2.0.0", wait=False))])
    finally:
        emulated.emulator.admin("config", {"operation_seconds": 0})
    assert play.rc == 0 and play.task("v2")["changed"]
    assert play.task("v2")["created_revision"]


def test_etag_conflict_is_re_read_not_overwritten(emulated):
    name, v1 = setup_v1(emulated)
    # The answer Google gives when the etag sent no longer matches: 409 ABORTED.
    emulated.emulator.admin("faults", {"method": "PATCH", "path": "/services/" + name, "status": 409, "count": 1})
    play = emulated.run([dict(name="v2", **deploy(name, "2.0.0"))])
    assert play.rc == 0, play.stdout
    assert [c["status"] for c in mutations(emulated, "PATCH")] == [409, 200]
    assert len(emulated.revision_names(name)) == 2
    assert serving(emulated, name) == {(play.task("v2")["revision"], 100, "")}
