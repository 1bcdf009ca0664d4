"""cloud_run_traffic: splits by revision and tag, promotion, LATEST and rollback."""

from collections import Counter

import pytest
import requests

from conftest import routed
from test_cloud_run_service import assert_changed_changed_unchanged_unchanged, deploy, four_times, serving


def traffic(name, **options):
    return {"orchestra.gcp.cloud_run_traffic": dict(name=name, region="{{ region }}", **options)}


def http_revisions(service, n=200):
    return Counter(requests.get(service.uri, timeout=5).json()["revision"] for _unused in range(n))


@pytest.mark.one_core
def test_split_rollback_promote(backend):
    name = backend.name()
    setup = backend.run([dict(name="v1", **deploy(name, "1.0.0")),
                         dict(name="v2", **deploy(name, "2.0.0", traffic="none", tag="canary"))])
    assert setup.rc == 0, setup.stdout
    v1, v2 = setup.task("v1")["revision"], setup.task("v2")["revision"]

    play = backend.run(four_times(traffic(name, traffic=[{"revision": v1, "percent": 90, "tag": "stable"},
                                                         {"tag": "canary", "percent": 10}])))
    assert_changed_changed_unchanged_unchanged(play)
    assert serving(backend, name) == {(v1, 90, "stable"), (v2, 10, "canary")}
    assert backend.service(name).annotations["orchestra.gcp/stable-revision"] == v1
    if backend.emulator:
        seen = http_revisions(backend.service(name))
        assert set(seen) == {v1, v2} and 3 <= seen[v2] <= 45, seen

    play = backend.run(four_times(traffic(name, rollback=True)))
    assert_changed_changed_unchanged_unchanged(play)
    assert play.task("apply 1")["rolled_back_to"] == v1
    assert serving(backend, name) == {(v1, 100, "stable"), (v2, 0, "canary")}
    if backend.emulator:
        assert set(http_revisions(backend.service(name), 30)) == {v1}

    play = backend.run(four_times(traffic(name, traffic=[{"revision": v2, "percent": 100, "tag": "stable"},
                                                         {"revision": v1, "tag": "previous"}])))
    assert_changed_changed_unchanged_unchanged(play)
    assert serving(backend, name) == {(v2, 100, "stable"), (v1, 0, "previous")}
    assert backend.service(name).annotations["orchestra.gcp/stable-revision"] == v1

    play = backend.run(four_times(traffic(name, traffic=[{"latest": True, "percent": 100}])))
    assert_changed_changed_unchanged_unchanged(play)
    assert [status[:3] for status in routed(backend.service(name))] == [("LATEST", v2, 100)]
