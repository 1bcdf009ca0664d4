# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""redis_backup, redis_backup_info, redis_restore and redis_backup_verify when things go wrong, against the emulator's
Memorystore (each instance a real redis-server) and Cloud Storage: retention over a planted history of backups, an
export that fails, a truncated RDB, an RDB replaced after its backup, bad input, and runs killed at the export, in the
middle of pruning and at the import, then run again.

Older backups are planted as redis_backup leaves them: the RDB, then a manifest naming the RDB's generation, written
only if it does not exist yet; the module dates a new backup with the real time, so a history is made of earlier ids.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import shutil
import sys
import time
import urllib.parse

import pytest
import requests
from test_redis_backup import BUCKET, FOLDER, WHERE, connect, setup, snapshot, stored, task, write_data_set
from test_rollout import kill_tree
from test_rotation import start_and_kill_when_called

from conftest import REPO

if str(REPO / ".collections") not in sys.path:
    sys.path.insert(0, str(REPO / ".collections"))
from ansible_collections.orchestra.gcp.plugins.module_utils import _retention  # noqa: E402 pylint: disable=wrong-import-position

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs Debian's redis-server")

SOURCE = "projects/orchestra-test/locations/us-central1/instances/cache"
RESOURCE = "Redis instance %s in us-central1"
ID_FORMAT = "%Y%m%dT%H%M%SZ"
SYNTHETIC = b"REDIS0010 the bytes of a planted backup, never read by its own tests"


# ---------------------------------------------------------------- Cloud Storage, read and written directly

def upload(emulated, name, data, **preconditions):
    """Write object ``name`` of the instance's folder (an uploadType=media insert); its metadata."""
    answer = requests.post("%s/upload/storage/v1/b/%s/o" % (emulated.endpoint, BUCKET), data=data, timeout=30,
                           params=dict(uploadType="media", name=FOLDER + name, **preconditions), headers={"Content-Type": "application/octet-stream"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def objects(emulated):
    """{name in the instance's folder: generation}, as Cloud Storage lists them."""
    answer = requests.get("%s/storage/v1/b/%s/o" % (emulated.endpoint, BUCKET), params={"prefix": FOLDER}, timeout=30)
    assert answer.status_code == 200, answer.text
    return {item["name"][len(FOLDER):]: item["generation"] for item in answer.json().get("items", [])}


def backup_id(when):
    return when.strftime(ID_FORMAT)


def parsed(backup):
    """A backup as redis_backup_info returns it, as _retention.select takes it."""
    when = datetime.datetime.strptime(backup["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return dict(id=backup["id"], time=when, complete=backup["complete"], verified=backup["verified"])


def manifest(when, rdb, written, keys=0, verification=None):
    """The manifest redis_backup writes for an RDB of bytes ``rdb`` stored as ``written`` (its metadata)."""
    ident = backup_id(when)
    return dict(format="orchestra.gcp/redis-backup/v1", id=ident, time=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                finished=when.strftime("%Y-%m-%dT%H:%M:%SZ"), reason=None, key_count=keys,
                source=dict(instance=SOURCE, redis_version="REDIS_7_0", tier="BASIC", memory_size_gb=1),
                rdb=dict(uri="gs://%s/%s%s.rdb" % (BUCKET, FOLDER, ident), size=len(rdb), sha256=hashlib.sha256(rdb).hexdigest(),
                         generation=written["generation"], md5=written["md5Hash"]),
                verification=verification)


def plant(emulated, when, kind="complete", rdb=SYNTHETIC, keys=0):
    """A backup taken at ``when`` as redis_backup leaves it, or as a run that died or a hand that replaced its RDB
    leaves it (``kind``); its id."""
    ident = backup_id(when)
    if kind == "no rdb":
        written = dict(generation="1", md5Hash="")
    else:
        written = upload(emulated, ident + ".rdb", rdb)
    verification = {"passed": dict(state="passed", time=when.strftime("%Y-%m-%dT%H:%M:%SZ"), reason=None, target="127.0.0.1:6379",
                                   measured=dict(key_count=keys, expiring=0, target_keys=keys, target_expiring=0, sampled=keys)),
                    "failed": dict(state="failed", time=when.strftime("%Y-%m-%dT%H:%M:%SZ"), reason="1 keys without an expiry, 0 in the backup",
                                   target="127.0.0.1:6379", measured=dict(key_count=0, expiring=0, target_keys=1, target_expiring=0, sampled=0))}.get(kind)
    if kind == "not json":
        upload(emulated, ident + ".json", b"{\"format\": \"orchestra.gcp/redis-backup/v1\", ", ifGenerationMatch="0")
    elif kind != "no manifest":
        upload(emulated, ident + ".json", json.dumps(manifest(when, rdb, written, keys, verification), indent=2, sort_keys=True), ifGenerationMatch="0")
    if kind == "replaced":
        upload(emulated, ident + ".rdb", rdb)
    return ident


def mutations(emulated, since):
    """(method, what) of each mutating call since log entry ``since``: an instance's verb, or an object's name in the folder."""
    found = []
    for call in emulated.emulator.log()[since:]:
        if call["path"].startswith("/v1/"):
            found.append((call["method"], call["path"].rsplit("/", 1)[-1]))
        elif call["method"] == "DELETE":
            found.append(("DELETE", urllib.parse.unquote(call["path"].rsplit("/o/", 1)[1])[len(FOLDER):]))
        else:  # an upload: the object's name is in the query
            found.append((call["method"], call["query"]["name"][len(FOLDER):]))
    return found


def pruned_by(listed, new, policy):
    """What redis_backup's retention deletes after taking ``new``, by _retention.select: the complete backups it
    prunes, then the incomplete ones older than ``new`` (redis_backup_info's entries, before ``new``). Returns (selection, ids)."""
    catalog = [parsed(backup) for backup in [new] + listed]
    selection = _retention.select(catalog, policy)
    return selection, [b["id"] for b in selection["prune"]] + [b["id"] for b in selection["incomplete"] if b["time"] < catalog[0]["time"]]


# ---------------------------------------------------------------- retention, a failed export, min_interval, a corrupt RDB, bad input

POLICY = dict(hourly=2, daily=3, weekly=2, monthly=3)


def history(now):
    """{time: kind} of a planted history: hours, days, weeks and months of backups, one of them verified long ago, one
    that failed its verification in a day that holds another, and the leftovers of runs that died."""
    day = datetime.timedelta(days=1)
    yesterday = (now - day).replace(hour=0, minute=0, second=0)
    two_days_ago = yesterday - day
    planted = {}
    for when, kind in [
        (now + day, "no manifest"),  # an export dated by a clock ahead of this one's: newer than the new backup, left alone
        (now - datetime.timedelta(minutes=20), "complete"),
        (now - datetime.timedelta(minutes=80), "complete"),
        (now - datetime.timedelta(hours=5), "complete"),
        (yesterday + datetime.timedelta(hours=20), "complete"),
        (yesterday + datetime.timedelta(hours=8), "complete"),
        (two_days_ago + datetime.timedelta(hours=10), "failed"),  # the newest of its day, but its verification failed
        (two_days_ago + datetime.timedelta(hours=9), "kept for its day"),  # so the daily tier keeps this one
        (now - 3 * day, "complete"),
        (now - 6 * day, "no manifest"),
        (now - 8 * day, "no rdb"),
        (now - 9 * day, "replaced"),
        (now - 10 * day, "complete"),
        (now - 11 * day, "not json"),
        (now - 17 * day, "complete"),
        (now - 40 * day, "complete"),
        (now - 70 * day, "complete"),
        (now - 100 * day, "passed"),  # the newest verified backup: no tier reaches it
        (now - 400 * day, "complete"),
    ]:
        while when in planted:  # an hour's backup at the very second of a day's
            when -= datetime.timedelta(seconds=1)
        planted[when] = kind
    return planted


# What redis_backup_info says of each kind of incomplete backup.
PROBLEMS = {"no manifest": "it has no manifest: its export did not finish, or its check failed", "no rdb": "its RDB is missing",
            "not json": "its manifest is not JSON", "replaced": "its RDB was replaced after the backup (generation "}


def bad_input(taken, truncated, replaced, target):
    """(module, options, the resource the error names, words of the error): each refused before any change."""
    restore = dict(WHERE, backup=taken, confirm="cache")
    verify = dict(WHERE, backup=taken, target_host=target["host"], target_port=target["port"])
    return [
        ("redis_backup", dict(WHERE, bucket="gs://" + BUCKET), RESOURCE % "cache", "bucket 'gs://%s' must be a bucket name, not a gs:// URI" % BUCKET),
        ("redis_backup", dict(WHERE, bucket=BUCKET + "/redis"), RESOURCE % "cache", "must be a bucket name, not a gs:// URI or a path"),
        ("redis_backup", dict(WHERE, bucket="Orchestra_Backups"), RESOURCE % "cache", "bucket 'Orchestra_Backups' is not a Cloud Storage bucket name"),
        ("redis_backup", dict(WHERE, prefix="redis//prod"), RESOURCE % "cache", "prefix 'redis//prod' must be an object name prefix"),
        ("redis_backup", dict(WHERE, min_interval="soon"), RESOURCE % "cache", "min_interval 'soon' is not a duration like 6h"),
        ("redis_backup", dict(WHERE, retention=dict(hourly=0, daily=0, weekly=0, monthly=0)), RESOURCE % "cache", "retention keeps nothing"),
        ("redis_backup", dict(WHERE, retention=dict(daily=-1)), RESOURCE % "cache", "retention daily -1 must be 0 or more"),
        ("redis_backup", dict(WHERE, retention=dict(hourly=745)), RESOURCE % "cache", "retention hourly 745 is over 744"),
        ("redis_backup", dict(WHERE, instance="Cache_1"), "Cache_1", "instance 'Cache_1' is not a Memorystore instance ID"),
        ("redis_backup", dict(WHERE, region="mars"), "Redis instance cache in mars", "region 'mars' is not a region name like us-central1"),
        ("redis_backup", dict(WHERE, instance="nowhere"), RESOURCE % "nowhere", "does not exist: nothing to back up or restore into"),
        ("redis_restore", dict(restore, confirm=None), RESOURCE % "cache", "a restore replaces every key of cache: set confirm to 'cache' to go ahead"),
        ("redis_restore", dict(restore, confirm="cache-verify"), RESOURCE % "cache", "set confirm to 'cache' to go ahead"),
        ("redis_restore", dict(restore, target="cache-verify"), RESOURCE % "cache-verify", "set confirm to 'cache-verify' to go ahead"),
        ("redis_restore", dict(restore, target="Bad_Target", confirm="Bad_Target"), RESOURCE % "Bad_Target",
         "target 'Bad_Target' is not a Memorystore instance ID"),
        ("redis_restore", dict(restore, target="nowhere", confirm="nowhere"), RESOURCE % "nowhere", "does not exist: nothing to back up or restore into"),
        ("redis_restore", dict(restore, backup="yesterday"), RESOURCE % "cache", "backup 'yesterday' is not a backup id like 20261201T060000Z"),
        ("redis_restore", dict(restore, backup="20200101T000000Z"), RESOURCE % "cache", "there is no such backup of it (20200101T000000Z)"),
        ("redis_restore", dict(restore, backup=truncated), RESOURCE % "cache",
         "backup %s failed its verification (redis-check-rdb refuses its RDB" % truncated),
        ("redis_restore", dict(restore, backup=replaced), RESOURCE % "cache", "backup %s is incomplete (its RDB was replaced after the backup" % replaced),
        ("redis_backup_verify", dict(verify, sample=0), RESOURCE % "cache", "sample 0 must be from 1 through 10000 keys"),
        ("redis_backup_verify", dict(verify, backup="latest"), RESOURCE % "cache", "backup 'latest' is not a backup id"),
        ("redis_backup_verify", dict(verify, instance="nowhere", backup="newest"), RESOURCE % "nowhere", "there is no complete backup of it"),
        ("redis_backup_info", dict(WHERE, bucket="gs://" + BUCKET), RESOURCE % "cache", "must be a bucket name, not a gs:// URI"),
        ("redis_backup_info", dict(WHERE, prefix="redis//"), RESOURCE % "cache", "without a leading, trailing or doubled '/'"),
        ("redis_backup_info", dict(WHERE, region="US-CENTRAL1"), "Redis instance cache in US-CENTRAL1", "region 'US-CENTRAL1' is not a region name"),
    ]


@pytest.mark.one_core  # module logic; test_redis_backup.py walks the same modules and their refusals on every core
def test_retention_a_failed_export_a_truncated_or_replaced_rdb_and_bad_input(emulated):
    instance = setup(emulated, "cache")["cache"]
    write_data_set(connect(instance))
    data = snapshot(connect(instance))
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    planted = {plant(emulated, when, kind, keys=7 if kind == "passed" else 0): kind for when, kind in history(now).items()}
    before = objects(emulated)
    emulated.emulator.admin("failing-operations", {"method": "POST", "path": ":export$", "code": 9,
                                                   "message": "The export could not write to the bucket."})

    # The export fails: nothing is written or deleted, nothing new is listed. The next run takes the backup, then
    # applies retention; a run inside min_interval takes none.
    mark = len(emulated.emulator.log())
    backup = dict(WHERE, min_interval="10m", retention=POLICY)
    play = emulated.run([dict(task("redis_backup_info", **WHERE), name="before"),
                         dict(task("redis_backup", **backup), name="failed export", ignore_errors=True),
                         dict(task("redis_backup_info", **WHERE), name="after the failure"),
                         dict(task("redis_backup", **backup), name="backup"),
                         dict(task("redis_backup", **backup), name="again"),
                         dict(task("redis_backup_info", **WHERE), name="after")])
    failed = play.task("failed export")
    assert failed["_failed"] and not failed.get("changed")
    assert "Failed to export %s: operation" % (RESOURCE % "cache") in failed["msg"], failed["msg"]
    assert "failed: FAILED_PRECONDITION: The export could not write to the bucket." in failed["msg"]
    assert "No backup was listed for it, and older backups were left as they were" in failed["msg"]
    assert "cloud-redis.iam.gserviceaccount.com) may write to bucket %s (roles/storage.objectAdmin)" % BUCKET in failed["msg"]
    listed = play.task("before")["backups"]
    assert play.task("after the failure")["backups"] == listed
    assert play.task("after the failure")["newest"]["id"] == backup_id(now - datetime.timedelta(minutes=20))
    assert [b["id"] for b in listed] == sorted(planted, reverse=True)
    for b in listed:
        assert b["complete"] == (planted[b["id"]] not in PROBLEMS) and (b["problem"] or "").startswith(PROBLEMS.get(planted[b["id"]], "")), b
        assert b["verified"] == {"passed": True, "failed": False}.get(planted[b["id"]])

    taken = play.task("backup")
    new = taken["backup"]
    assert taken["changed"] and new["complete"] and new["id"] not in planted and new["key_count"] == 300 + 300 + 6 + 20
    selection, doomed = pruned_by(listed, new, POLICY)
    assert taken["pruned"] == doomed
    assert taken["retention"]["kept"] == [b["id"] for b in selection["keep"]] and taken["retention"]["reasons"] == selection["reasons"]
    assert taken["retention"]["policy"] == "2 hourly, 3 daily, 2 weekly, 3 monthly"
    by_kind = {}
    for ident, kind in planted.items():
        by_kind.setdefault(kind, []).append(ident)
    newest_verified, = by_kind["passed"]
    failed_verification, = by_kind["failed"]
    assert taken["retention"]["reasons"][newest_verified] == ["newest verified"], "no tier reaches it: kept as the newest verified"
    kept_for_its_day, = by_kind["kept for its day"]
    assert failed_verification in doomed and "daily" in taken["retention"]["reasons"][kept_for_its_day]
    assert taken["retention"]["reasons"][new["id"]][-1] == "newest"
    leftovers = {ident for ident, kind in planted.items() if kind in PROBLEMS}
    future = backup_id(now + datetime.timedelta(days=1))
    assert leftovers - {future} <= set(doomed) and future not in doomed, "incomplete backups older than the new one go, a newer one stays"
    again = play.task("again")
    assert not again["changed"] and again["backup"]["id"] == new["id"] and "younger than min_interval 10m" in again["not_taken"]
    assert again["pruned"] == []
    after = play.task("after")
    assert [b["id"] for b in after["backups"]] == sorted([b["id"] for b in selection["keep"]] + [future], reverse=True)
    assert after["newest"]["id"] == new["id"] and after["newest_verified"]["id"] == newest_verified

    # What Cloud Storage holds and what was called: the failed export wrote and deleted nothing; each pruned backup's
    # manifest went before its RDB; the run inside min_interval called nothing that changes.
    kept = {b["id"] for b in selection["keep"]} - {new["id"]}
    held = objects(emulated)
    assert set(held) == {name for name in before if name.split(".")[0] in kept | {future}} | {new["id"] + ".rdb", new["id"] + ".json"}
    assert all(held[name] == before[name] for name in held if not name.startswith(new["id"])), "what is kept is as it was"
    calls = mutations(emulated, mark)
    assert calls[:3] == [("POST", "cache:export"), ("POST", "cache:export"), ("POST", new["id"] + ".json")]
    deletes = calls[3:]
    assert {method for method, _name in deletes} == {"DELETE"} and sorted(name for _method, name in deletes) == \
        sorted(ident + ext for ident in doomed for ext in (".json", ".rdb"))
    assert all(deletes.index(("DELETE", ident + ".json")) < deletes.index(("DELETE", ident + ".rdb")) for ident in doomed)

    # A truncated RDB whose manifest matches it (size, sha256, generation) is refused by redis-check-rdb at verification,
    # which is recorded; an RDB replaced after its backup makes the backup incomplete. Neither is restored. Bad input
    # changes nothing. A backup whose manifest says it passed (written by hand, over bytes that are no RDB) fails at the
    # import: the error names the safety backup, which brings the data back.
    rdb = stored(emulated, FOLDER + new["id"] + ".rdb")
    truncated = plant(emulated, now - datetime.timedelta(hours=2, minutes=30), rdb=rdb[:len(rdb) // 2], keys=new["key_count"])
    replaced = plant(emulated, now - datetime.timedelta(hours=3, minutes=30), kind="replaced", rdb=rdb, keys=new["key_count"])
    cases = bad_input(new["id"], truncated, replaced, instance)
    mark = len(emulated.emulator.log())
    restore = dict(WHERE, confirm="cache")
    play = emulated.run([dict(task("redis_backup_verify", backup=truncated, target_host=instance["host"], target_port=instance["port"], **WHERE),
                              name="verify the truncated one", ignore_errors=True)]
                        + [dict(task(module, **{k: v for k, v in options.items() if v is not None}), name="bad %d" % i, ignore_errors=True)
                           for i, (module, options, _resource, _words) in enumerate(cases)]
                        + [dict(task("redis_backup_info", **WHERE), name="info"),
                           dict(task("redis_restore", backup="newest_verified", **restore), name="no RDB", register="broken", ignore_errors=True),
                           dict(task("redis_restore", backup="{{ broken.safety_backup.id }}", safety_backup=False, **restore), name="recover")])
    verified = play.task("verify the truncated one")
    assert verified["_failed"] and verified["changed"] and verified["passed"] is False
    assert ("Backup %s of %s failed its verification: redis-check-rdb refuses its RDB: " % (truncated, RESOURCE % "cache")) in verified["msg"]
    assert "This is recorded in its manifest: it will not be restored" in verified["msg"]
    recorded = json.loads(stored(emulated, FOLDER + truncated + ".json"))["verification"]
    assert recorded["state"] == "failed" and recorded["reason"].startswith("redis-check-rdb refuses its RDB: ")
    for i, (module, _options, resource, words) in enumerate(cases):
        result = play.task("bad %d" % i)
        assert result["_failed"] and not result.get("changed"), (i, module, result)
        assert words in result["msg"] and resource in result["msg"] and "Nothing was changed" in result["msg"], (i, module, result["msg"])
    catalog = {b["id"]: b for b in play.task("info")["backups"]}
    assert catalog[truncated]["complete"] and catalog[truncated]["verified"] is False
    assert not catalog[replaced]["complete"] and catalog[replaced]["problem"].startswith(PROBLEMS["replaced"])
    assert play.task("info")["newest"]["id"] == new["id"] and play.task("info")["newest_verified"]["id"] == newest_verified
    broken = play.task("no RDB")
    safety = broken["safety_backup"]
    assert broken["_failed"] and safety["complete"] and safety["key_count"] == len(data)
    assert ("Failed to import gs://%s/%s%s.rdb into %s: operation " % (BUCKET, FOLDER, newest_verified, RESOURCE % "cache")) in broken["msg"]
    assert "failed: INVALID_ARGUMENT: " in broken["msg"] and broken["msg"].endswith("The data as it was before is in backup %s." % safety["id"])
    assert play.task("recover")["restored"]["id"] == safety["id"] and snapshot(connect(instance)) == data
    assert mutations(emulated, mark) == [("POST", truncated + ".json"), ("POST", "cache:export"), ("POST", safety["id"] + ".json"),
                                         ("POST", "cache:import"), ("POST", "cache:import")], \
        "bad input changed nothing: the verification's record, then the two restores"


# ---------------------------------------------------------------- runs killed at the export, while pruning and at the import

def start_and_kill_at(emulated, tasks, verb, operation_seconds):
    """Start ``tasks`` with the emulator's operations taking ``operation_seconds``, and kill the run (SIGKILL, every
    process) once its ``verb`` call (export, import) is in the emulator's log, while it waits for the operation."""
    mark = len(emulated.emulator.log())
    emulated.emulator.admin("config", {"operation_seconds": operation_seconds})
    try:
        process = emulated.start(tasks)
        deadline = time.monotonic() + 120
        while not any(re.search(r"/instances/cache:%s$" % verb, c["path"]) for c in emulated.emulator.log()[mark:]):
            assert process.poll() is None and time.monotonic() < deadline, "the run never called %s" % verb
            time.sleep(0.05)
        kill_tree(process.pid)
        process.wait()
    finally:
        emulated.emulator.admin("config", {"operation_seconds": 0})
    return mark


@pytest.mark.one_core  # a killed run is walked on every core by test_rollout.py; what is new here is the modules' recovery
def test_runs_killed_at_the_export_while_pruning_and_at_the_import_converge_when_run_again(emulated):
    instance = setup(emulated, "cache")["cache"]
    client = connect(instance)
    write_data_set(client)
    data = snapshot(client)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    days = [plant(emulated, now - datetime.timedelta(days=n)) for n in (1, 2, 3)]
    policy = dict(daily=2)
    backup = task("redis_backup", retention=policy, **WHERE)

    # Killed while the export runs: its RDB is there without a manifest; nothing was deleted.
    planted = objects(emulated)
    mark = start_and_kill_at(emulated, [backup], "export", 30)
    assert mutations(emulated, mark) == [("POST", "cache:export")]
    (cut,) = set(objects(emulated)) - set(planted)
    assert cut.endswith(".rdb") and objects(emulated).items() >= planted.items()
    cut = cut[:-len(".rdb")]

    # Killed while pruning, as the first manifest it deletes goes: that backup is left incomplete, not listed as good.
    mark = len(emulated.emulator.log())
    start_and_kill_when_called(emulated, [backup], "DELETE", r"\.json$")
    calls = mutations(emulated, mark)
    assert calls[0] == ("POST", "cache:export") and calls[1][0] == "POST" and calls[1][1].endswith(".json")
    second = calls[1][1][:-len(".json")]
    assert calls[2:] == [("DELETE", days[1] + ".json")], "the newest backup retention prunes, its manifest first"

    mark = len(emulated.emulator.log())
    play = emulated.run([dict(task("redis_backup_info", **WHERE), name="after the kills"), dict(backup, name="again"),
                         dict(task("redis_backup_info", **WHERE), name="after")])
    assert play.rc == 0, play.stdout
    listed = play.task("after the kills")["backups"]
    assert [(b["id"], b["complete"]) for b in listed] == [(second, True), (cut, False), (days[0], True), (days[1], False), (days[2], True)]
    assert {b["problem"] for b in listed if not b["complete"]} == {"it has no manifest: its export did not finish, or its check failed"}
    again = play.task("again")
    assert again["changed"] and again["backup"]["complete"]
    selection, doomed = pruned_by(listed, again["backup"], policy)
    assert again["pruned"] == doomed and {cut, days[1]} <= set(doomed), "what the killed runs left is removed"
    kept = [b["id"] for b in selection["keep"]]
    assert [(b["id"], b["complete"]) for b in play.task("after")["backups"]] == [(ident, True) for ident in kept]
    assert set(objects(emulated)) == {ident + ext for ident in kept for ext in (".rdb", ".json")}
    assert [c for c in mutations(emulated, mark) if c[1].startswith("cache:")] == [("POST", "cache:export")]
    newest = again["backup"]["id"]

    # Killed while the import runs, after its safety backup: the re-run waits for the instance, backs it up again and
    # imports again; the data is the backup's.
    client.flushall()
    client.set("written after the backup", "1")
    mark = start_and_kill_at(emulated, [task("redis_restore", backup=newest, confirm="cache", **WHERE)], "import", 2)
    calls = mutations(emulated, mark)
    assert calls[0] == ("POST", "cache:export") and calls[1][1].endswith(".json") and calls[2:] == [("POST", "cache:import")]
    safety = calls[1][1][:-len(".json")]
    play = emulated.run([dict(task("redis_backup_info", **WHERE), name="after the kill"),
                         dict(task("redis_restore", backup=newest, confirm="cache", **WHERE), name="restore again")])
    assert play.rc == 0, play.stdout
    listed = {b["id"]: b for b in play.task("after the kill")["backups"]}
    assert listed[safety]["complete"] and listed[safety]["key_count"] == 1 and listed[safety]["reason"] == "before restoring %s" % newest
    assert all(b["complete"] for b in listed.values()) and set(listed) == {safety} | set(kept)
    restored = play.task("restore again")
    assert restored["restored"]["id"] == newest and restored["safety_backup"]["key_count"] == len(data), "the killed run's import had landed"
    assert snapshot(connect(instance)) == data
