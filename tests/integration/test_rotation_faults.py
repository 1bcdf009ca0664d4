"""The secret_rotation role under faults, against the emulator: a 503 on each mutating call of a rotation, and another
writer changing the secret while the rotation moves its aliases. The end state is read with the official client."""

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from google.protobuf import field_mask_pb2

from test_rotation import (USER, aliases, client, pinned, quoted, redis, result, rotated, rotation,  # noqa: F401 pylint: disable=unused-import
                           states, value)

PASS = None  # in a sequence of outcomes: the call goes through


def outcomes(emulated, method, path, sequence):
    """The next calls matching ``method`` and ``path`` (a regex) answer, in turn, each status of ``sequence``; a PASS goes
    through (a fault of a few milliseconds' latency only, which takes its turn)."""
    for status in sequence:
        emulated.emulator.admin("faults", {"method": method, "path": path, "status": status or 0, "latency": 0 if status else 0.01})


def statuses(log, method, path):
    return [c["status"] for c in log if c["method"] == method and re.search(path, c["path"])]


def secret_of(emulated, secret):
    return client(emulated).get_secret(name="projects/%s/secrets/%s" % (emulated.project, secret))


@pytest.mark.one_core
def test_a_503_on_each_idempotent_write_is_retried_and_the_rotation_finishes(emulated, redis, rotated):
    secret, service = rotated
    old = value(emulated, secret, 1)
    # A rotation rolled back earlier left version 2 disabled, named by no alias: with a retention of 0 the finish destroys it.
    sm = client(emulated)
    parent = "projects/%s/secrets/%s" % (emulated.project, secret)
    sm.disable_secret_version(name=sm.add_secret_version(parent=parent, payload={"data": b"rolled-back-value"}).name)
    before = len(emulated.emulator.log())

    # The mutating calls of a rotation: addVersion (not idempotent: below), PATCH of the secret to point pending, PATCH of
    # the consumer (its canary) and again (its promotion), PATCH of the secret to move the aliases, disable of the replaced
    # version, destroy beyond the retention, PATCH of the secret's next rotation time. Each answers one 503 first.
    patch = r"/secrets/%s$" % secret
    outcomes(emulated, "PATCH", patch, [503, PASS, 503, PASS, 503])
    outcomes(emulated, "PATCH", r"/services/%s$" % service, [503, PASS, 503])
    outcomes(emulated, "POST", r"/versions/1:disable$", [503])
    outcomes(emulated, "POST", r"/versions/2:destroy$", [503])
    play = rotation(emulated, redis, secret, service, secret_rotation_retention=0, secret_rotation_period="30d")
    assert play.rc == 0, play.stdout

    log = emulated.emulator.log()[before:]
    assert statuses(log, "POST", r":addVersion$") == [200]
    assert statuses(log, "PATCH", patch) == [503, 200, 503, 200, 503, 200]
    assert statuses(log, "PATCH", r"/services/%s$" % service) == [503, 200, 503, 200]
    assert statuses(log, "POST", r":disable$") == [503, 200] and statuses(log, "POST", r":destroy$") == [503, 200]
    assert len(log) == 1 + 6 + 4 + 2 + 2, log  # nothing else was written
    assert emulated.emulator.state()["admin"]["faults"] == []  # every fault was met

    # The end state of a clean rotation.
    assert aliases(emulated, secret) == {"current": 3, "previous": 1}
    assert states(emulated, secret) == {1: "DISABLED", 2: "DESTROYED", 3: "ENABLED"}
    assert pinned(emulated, service)[1] == "3"
    new = value(emulated, secret, 3)
    assert redis.accepts(USER, quoted(new)) and not redis.accepts(USER, quoted(old))
    ahead = secret_of(emulated, secret).rotation.next_rotation_time.timestamp() - time.time()
    assert 30 * 86400 - 120 < ahead <= 30 * 86400
    done = result(play)
    assert (done["outcome"], done["pending"], done["replaced"], done["steps"][-1]["destroyed"]) == ("finished", 3, 1, [2])


def write_during_holds(emulated, secret, writes):
    """Another writer: ``writes`` is a list of (faults left, write). Once the emulator holds only that many faults, a call
    of the rotation has taken the one before and is held by its latency, carrying the etag it read: then ``write(name)``
    writes with the official client, so that this etag goes stale. ``name`` is the secret's name by the project's id, not
    by its number as the module's calls are: the faults match those only."""
    for left, write in writes:
        deadline = time.monotonic() + 120
        while len(emulated.emulator.state()["admin"]["faults"]) > left:
            assert time.monotonic() < deadline, "the rotation never made the call"
            time.sleep(0.02)
        write(client(emulated), "projects/%s/secrets/%s" % (emulated.project, secret))


def add_labels(labels):
    def write(sm, name):
        found = sm.get_secret(name=name)
        found.labels.update(labels)
        found.name = name
        sm.update_secret(secret=found, update_mask=field_mask_pb2.FieldMask(paths=["labels"]))
    return write


@pytest.mark.one_core
def test_a_failed_add_changes_nothing_and_a_re_run_survives_an_etag_race(emulated, redis, rotated):
    secret, service = rotated
    old = value(emulated, secret, 1)
    revision, _version = pinned(emulated, service)
    before = len(emulated.emulator.log())

    # addVersion is not retried: the run fails saying what happened and what to do, having changed nothing.
    outcomes(emulated, "POST", r"/secrets/%s:addVersion$" % secret, [503])
    play = rotation(emulated, redis, secret, service)
    assert play.rc != 0
    failure = next(r for r in play.results if r["_failed"])
    assert failure["_task"].startswith("Create")
    assert failure["msg"].startswith("Failed to add a version to secret %s: UNAVAILABLE (503)" % secret), failure["msg"]
    assert "Not retried" in failure["msg"] and "then re-run" in failure["msg"]
    assert [(c["method"], c["status"]) for c in emulated.emulator.log()[before:]] == [("POST", 503)]
    assert aliases(emulated, secret) == {"current": 1} and states(emulated, secret) == {1: "ENABLED"}
    assert pinned(emulated, service) == (revision, "1") and redis.accepts(USER, quoted(old))

    # The re-run rotates. While its modules point pending (secret_version) and then move the aliases (secret), another
    # writer changes the secret's labels; while it disables the replaced version, another writer disables it too. Each
    # call meets a stale etag, and the module reads again: it re-applies its change, or finds it made.
    before = len(emulated.emulator.log())
    held = r"/projects/\d+/secrets/%s" % secret
    # Held: the first PATCH (pending) and, its retry let through, the next one (the aliases' move); the disable.
    for latency in (1.5, 0.01, 1.5):
        emulated.emulator.admin("faults", {"method": "PATCH", "path": held + "$", "status": 0, "latency": latency})
    emulated.emulator.admin("faults", {"method": "POST", "path": held + "/versions/1:disable$", "status": 0, "latency": 1.5})
    with ThreadPoolExecutor(1) as pool:
        writer = pool.submit(write_during_holds, emulated, secret, [
            (3, add_labels({"owner": "payments"})), (1, add_labels({"audit": "q4"})),
            (0, lambda sm, name: sm.disable_secret_version(name=name + "/versions/1"))])
        play = rotation(emulated, redis, secret, service)
        writer.result(timeout=10)  # its failure, if any, fails the test
    assert play.rc == 0, play.stdout
    assert not play.task("Disable the replaced version")["changed"]  # the other writer did

    log = emulated.emulator.log()[before:]
    # The writer's PATCH, then the rotation's with the stale etag (Secret Manager: 400 FAILED_PRECONDITION), then again.
    patch = r"/secrets/%s$" % secret
    assert statuses(log, "PATCH", patch) == [200, 400, 200, 200, 400, 200]
    assert statuses(log, "POST", r":disable$") == [200, 400]  # the other writer's, then the rotation's, found made on a re-read
    assert statuses(log, "POST", r":addVersion$") == [200]  # one version added, no second pending one
    live = secret_of(emulated, secret)
    assert dict(live.labels) == {"owner": "payments", "audit": "q4"}
    assert aliases(emulated, secret) == {"current": 2, "previous": 1}
    assert states(emulated, secret) == {1: "DISABLED", 2: "ENABLED"}  # no orphan
    assert pinned(emulated, service)[1] == "2"
    new = value(emulated, secret, 2)
    assert redis.accepts(USER, quoted(new)) and not redis.accepts(USER, quoted(old))
    done = result(play)
    assert (done["outcome"], done["pending"], done["replaced"], done["resumed"]) == ("finished", 2, 1, False)
