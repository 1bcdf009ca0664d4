"""storage_bucket driven through ansible-runner against the emulator's Cloud Storage JSON API: create, change, refusals
of what Google cannot do, locking, deletion and bad input, with the emulator's log of mutating calls."""

import pytest
from test_cloud_run_service import assert_changed_changed_unchanged_unchanged, four_times
from test_iam_bindings import buckets

NOT_NONCURRENT = {"action": {"type": "Delete"}, "condition": {"is_live": False, "days_since_noncurrent_time": 30}}
BACKUPS = dict(location="europe-west1", versioning=True, uniform_bucket_level_access=True, public_access_prevention="enforced",
               retention_period="1d", lifecycle_rules=[NOT_NONCURRENT], labels={"env": "test"})
# (options, words of the error): each refused before any call.
BAD_INPUT = [
    (dict(BACKUPS, name="Redis_Backups"), "bucket name 'Redis_Backups' must have 3 to 63 lowercase"),
    (dict(BACKUPS, name="google-backups"), "must not start with 'goog' nor hold 'google'"),
    (dict(BACKUPS, location="mars"), "location 'mars' is not a region"),
    (dict(BACKUPS, location=None), "state is present but all of the following are missing: location"),
    (dict(BACKUPS, storage_class="HOT"), "value of storage_class must be one of"),
    (dict(BACKUPS, retention_period="7w"), "retention_period '7w' must be 0 (no policy) or a duration"),
    (dict(BACKUPS, retention_period="3155760001"), "at most 3155760000 seconds"),
    (dict(BACKUPS, retention_period="0", lock_retention_policy=True), "lock_retention_policy needs a retention_period"),
    (dict(BACKUPS, soft_delete_retention="3d"), "soft_delete_retention '3d' must be 0 (off) or from 7 to 90 days"),
    (dict(BACKUPS, lifecycle_rules=[{"action": {"type": "SetStorageClass"}, "condition": {"age": 30}}]), "needs its storage_class"),
    (dict(BACKUPS, lifecycle_rules=[{"action": {"type": "Delete"}, "condition": {}}]), "lifecycle_rules[0] needs at least one condition"),
    (dict(BACKUPS, lifecycle_rules=[{"action": {"type": "Delete"}, "condition": {"age": -1}}]), "condition age -1 must be a whole number"),
    (dict(BACKUPS, lifecycle_rules=[{"action": {"type": "Archive"}, "condition": {"age": 1}}]), "value of type must be one of"),
    (dict(BACKUPS, labels={"Env": "test"}), "label key 'Env' must start with a lowercase letter"),
    (dict(BACKUPS, public_access_prevention="on"), "value of public_access_prevention must be one of"),
]


def bucket(name, options):
    return {"orchestra.gcp.storage_bucket": dict({"name": name}, **{key: value for key, value in options.items() if value is not None})}


def mutating(emulated, since=0):
    return [(c["method"], c["path"].rsplit("/", 1)[-1]) for c in emulated.emulator.log()[since:]]


@pytest.mark.one_core  # its module's paths through Ansible (both doors, check mode, diff) are those iam_binding walks on every core
def test_a_bucket_is_created_changed_locked_refused_and_deleted(emulated):
    name = "orchestra-test-redis-backups"
    bad = [dict(name="bad %d" % i, ignore_errors=True, **bucket(name, options)) for i, (options, _words) in enumerate(BAD_INPUT)]
    play = emulated.run(bad + four_times(bucket(name, BACKUPS)))
    for i, (_options, words) in enumerate(BAD_INPUT):
        result = play.task("bad %d" % i)
        assert result["_failed"] and words in result["msg"], (i, result["msg"])
    assert_changed_changed_unchanged_unchanged(play)
    assert play.task("check 1")["diff"]["after"]["retention_period"] == 86400 and play.task("check 1")["bucket"] is None
    assert mutating(emulated) == [("POST", "b")], "bad input and check runs call nothing that changes"
    live = buckets(emulated).get(bucket=name).execute()
    assert (live["location"], live["locationType"], live["versioning"], live["retentionPolicy"]["retentionPeriod"],
            live["retentionPolicy"]["isLocked"]) == ("EUROPE-WEST1", "region", {"enabled": True}, "86400", False)
    assert live["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"] and live["iamConfiguration"]["publicAccessPrevention"] == "enforced"
    assert live["lifecycle"]["rule"] == [{"action": {"type": "Delete"}, "condition": {"isLive": False, "daysSinceNoncurrentTime": 30}}]

    # A change of versioning, retention and lifecycle: a PATCH guarded by the metageneration; a move refused with no call.
    keep_three = {"action": {"type": "Delete"}, "condition": {"num_newer_versions": 3, "matches_prefix": ["redis/"]}}
    changed = {**BACKUPS, "versioning": False, "retention_period": "172800", "lifecycle_rules": [NOT_NONCURRENT, keep_three]}
    before = len(emulated.emulator.log())
    # Another writer's change between the read and the PATCH (412 on the metageneration): read again, PATCH again.
    emulated.emulator.admin("faults", {"method": "PATCH", "path": "/b/" + name, "status": 412, "count": 1})
    play = emulated.run([dict(name="change", **bucket(name, changed)), dict(name="same", **bucket(name, {**changed, "retention_period": "2d"})),
                         dict(name="move", ignore_errors=True, **bucket(name, {**changed, "location": "US"}))])
    change = play.task("change")
    assert change["changed_options"] == ["versioning", "retention_period", "lifecycle_rules"] and not play.task("same")["changed"]
    assert (change["diff"]["before"]["retention_period"], change["diff"]["after"]["retention_period"]) == (86400, 172800)
    assert change["bucket"]["metageneration"] == "2"
    assert change["bucket"]["lifecycle"]["rule"][1]["condition"] == {"numNewerVersions": 3, "matchesPrefix": ["redis/"]}
    assert "Cannot move bucket %s from EUROPE-WEST1 to US" % name in play.task("move")["msg"]
    log = emulated.emulator.log()[before:]
    assert [(c["method"], c["query"].get("ifMetagenerationMatch"), c["status"]) for c in log] == [("PATCH", "1", 412), ("PATCH", "1", 200)], log

    # Locked only when asked; a locked policy is never shortened (refused before any change); absent twice.
    before = len(emulated.emulator.log())
    play = emulated.run([dict(name="lock", **bucket(name, {**changed, "lock_retention_policy": True})),
                         dict(name="shorten", ignore_errors=True, **bucket(name, {**changed, "retention_period": "1d"})),
                         dict(name="gone", **bucket(name, {"state": "absent"})), dict(name="gone again", **bucket(name, {"state": "absent"}))])
    assert play.task("lock")["changed_options"] == ["lock_retention_policy"] and play.task("lock")["bucket"]["retentionPolicy"]["isLocked"]
    assert "Cannot shorten the locked retention policy of bucket %s (172800 seconds)" % name in play.task("shorten")["msg"]
    assert [play.task(n)["changed"] for n in ("gone", "gone again")] == [True, False]
    assert mutating(emulated, before) == [("POST", "lockRetentionPolicy"), ("DELETE", name)]
