"""The modules while Cloud Run reconciles a change (run.v2 discovery document, Service.reconciling): status
fields hold transient values until the rollout is done, and the rollout bumps the service's version by itself,
so a write prepared during the reconcile meets 409 ABORTED and must be rebuilt, never forced."""

import pytest

from test_cloud_run_service import deploy
from test_faults import setup_v1

ROLLOUT_SECONDS = 4


# The module's handling of the version bump is the same on every core; the slower module door of an older core reads
# the service after a 4-second reconcile has settled, so the write meets no bump there.
@pytest.mark.one_core
def test_reads_during_a_reconcile_and_a_write_that_meets_the_version_bump(emulated):
    name, v1 = setup_v1(emulated)
    emulated.emulator.admin("config", {"operation_seconds": ROLLOUT_SECONDS})
    region = "{{ region }}"

    play = emulated.run([
        dict(name="v2", **deploy(name, "2.0.0", wait=False)),
        dict(name="info", **{"orchestra.gcp.cloud_run_service_info": dict(name=name, region=region)}),
        dict(name="status", **{"orchestra.gcp.cloud_run_rollout_status": dict(name=name, region=region)}),
    ])

    assert play.rc == 0, play.stdout
    v2 = play.task("v2")
    assert v2["changed"] and v2["reconciling"] and v2["revision"] != v1
    info = play.task("info")
    assert info["reconciling"] and info["latest_ready_revision"] == v1 and info["latest_created_revision"] == v2["revision"]
    assert [(t["revision"], t["percent"]) for t in info["traffic"]] == [(v1, 100)]  # transient: the last serving state
    assert any("reconciling" in problem for problem in play.task("status")["problems"])

    # The next write reads the service while it reconciles; its PATCH arrives after the rollout settled.
    emulated.emulator.admin("faults", {"method": "PATCH", "path": "/services/" + name, "status": 0,
                                       "latency": ROLLOUT_SECONDS, "count": 1})
    patches = len([c for c in emulated.emulator.log() if c["method"] == "PATCH"])
    play = emulated.run([dict(name="v3", **deploy(name, "1.1.0"))])

    assert play.rc == 0, play.stdout
    v3 = play.task("v3")
    assert v3["changed"] and not v3["reconciling"]
    assert [c["status"] for c in emulated.emulator.log() if c["method"] == "PATCH"][patches:] == [409, 200]
    service = emulated.service(name)
    assert service.latest_ready_revision.endswith("/" + v3["revision"])
    assert service.template.containers[0].image.endswith(":1.1.0")


def test_rollback_refuses_a_stable_revision_that_was_deleted(emulated):
    name, v1 = setup_v1(emulated)
    play = emulated.run([dict(name="v2", **deploy(name, "2.0.0"))])
    assert play.rc == 0, play.stdout
    emulated.revisions.delete_revision(name="%s/revisions/%s" % (emulated.path(name), v1)).result()
    mutations = len(emulated.emulator.log())

    play = emulated.run([dict(name="back", ignore_errors=True, **{
        "orchestra.gcp.cloud_run_traffic": dict(name=name, region="{{ region }}", rollback=True)})])

    result = play.task("back")
    assert result["_failed"]
    assert "the recorded stable revision %s no longer exists. Nothing was changed." % v1 in result["msg"]
    assert len(emulated.emulator.log()) == mutations
