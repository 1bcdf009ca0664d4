"""Each task makes the API calls it needs and no more, counted by the emulator (reads included)."""

import pytest

from test_cloud_run_service import deploy
from test_cloud_run_traffic import traffic


def calls_of(emulated, task):
    before = len(emulated.emulator.calls())
    play = emulated.run([dict(name="task", **task)])
    assert play.rc == 0, play.stdout
    return [(c["method"], c["path"].rsplit("/", 1)[-1]) for c in emulated.emulator.calls()[before:]]


@pytest.mark.one_core
def test_calls_per_task(emulated):
    name = emulated.name("calls")
    info = {"orchestra.gcp.cloud_run_service_info": dict(name=name, region="{{ region }}")}

    assert calls_of(emulated, deploy(name, "1.0.0", tag="first")) == [("GET", name), ("POST", "services")]
    assert calls_of(emulated, deploy(name, "1.0.0", tag="first")) == [("GET", name)]
    assert calls_of(emulated, deploy(name, "1.1.0", traffic="none", tag="canary")) == [("GET", name), ("PATCH", name)]
    split = traffic(name, traffic=[{"tag": "canary", "percent": 10}, {"tag": "first", "percent": 90}])
    assert calls_of(emulated, split) == [("GET", name), ("PATCH", name)]
    assert calls_of(emulated, split) == [("GET", name)]
    assert calls_of(emulated, info) == [("GET", name), ("GET", "revisions")]
    # A revision named outside the current traffic (the third: the fourth took all of it, and the
    # first two keep their tags) is checked against the list of revisions.
    for version in ("2.0.0", "2.1.0"):
        assert calls_of(emulated, deploy(name, version)) == [("GET", name), ("PATCH", name)]
    third = emulated.revision_names(name)[2]
    assert calls_of(emulated, traffic(name, traffic=[{"revision": third, "percent": 100}])) == [
        ("GET", name), ("GET", "revisions"), ("PATCH", name)]
    # Rolling back to a revision no traffic target references any more reads it first: Google would accept
    # traffic to a deleted revision and fail the rollout afterwards.
    fourth = emulated.revision_names(name)[3]
    assert calls_of(emulated, traffic(name, rollback=True)) == [("GET", name), ("GET", fourth), ("PATCH", name)]


@pytest.mark.one_core
def test_rollout_status_lists_revisions_only_for_a_canary(emulated):
    name = emulated.name("status")
    status = {"orchestra.gcp.cloud_run_rollout_status": dict(name=name, region="{{ region }}", image="x")}
    assert calls_of(emulated, deploy(name, "1.0.0")) == [("GET", name), ("POST", "services")]
    assert calls_of(emulated, status) == [("GET", name)]
    assert calls_of(emulated, deploy(name, "2.0.0", traffic="none", tag="canary")) == [("GET", name), ("PATCH", name)]
    assert calls_of(emulated, status) == [("GET", name), ("GET", "revisions")]
