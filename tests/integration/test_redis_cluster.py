"""redis_cluster and redis_cluster_backup driven through ansible-runner against the emulator's Memorystore for Redis
Cluster, each cluster a real Redis Cluster of redis-server nodes: create, in-place changes one patch each (a reshard that
keeps the keys), a change refused unless recreate, deletion protection, bad input, and GFS retention over the cluster's
managed backups, pruned only after a successful backup."""

from __future__ import annotations

import shutil

import pytest
import redis
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import redis_cluster_v1
from test_cloud_run_service import assert_changed_changed_unchanged_unchanged, four_times

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs Debian's redis-server")

PATH = "projects/orchestra-test/locations/us-central1/clusters/"
DEV = dict(shard_count=1, network="default", node_type="REDIS_SHARED_CORE_NANO", redis_configs={"maxmemory-policy": "volatile-lru"},
           persistence={"mode": "RDB", "rdb_snapshot_period": "ONE_HOUR"})
# (options, words of the error): each refused before any call that changes something.
BAD_INPUT = [
    (dict(DEV, name="Cache_1"), "name 'Cache_1' must start with a lowercase letter"),
    (dict(DEV, region="mars"), "region 'mars' is not a region name"),
    (dict(DEV, shard_count=0), "shard_count 0 must be from 1 through 250"),
    (dict(DEV, shard_count=251), "shard_count 251 must be from 1 through 250"),
    (dict(DEV, replica_count=3), "replica_count 3 must be from 0 through 2 replicas per shard"),
    (dict(DEV, node_type="REDIS_TINY"), "value of node_type must be one of"),
    (dict(DEV, redis_configs={"save": "60 1"}), "redis_configs has 'save', which Memorystore for Redis Cluster does not take"),
    (dict(DEV, redis_configs={"maxmemory-policy": "lru-everything"}), "maxmemory-policy 'lru-everything' is not one of"),
    (dict(DEV, redis_configs={"maxclients": "lots"}), "redis_configs maxclients 'lots' must be a whole number"),
    (dict(DEV, persistence={"mode": "DISABLED", "rdb_snapshot_period": "ONE_HOUR"}), "rdb_snapshot_period needs persistence.mode RDB"),
    (dict(DEV, persistence={"mode": "RDB", "aof_append_fsync": "ALWAYS"}), "aof_append_fsync needs persistence.mode AOF"),
    (dict(DEV, automated_backups={"enabled": True, "start_hour": 24}), "automated_backups.start_hour 24 is not an hour of the day"),
    (dict(DEV, automated_backups={"enabled": True, "retention": "400d"}), "automated_backups.retention '400d' must be from 1 day through 365 days"),
    (dict(DEV, automated_backups={"enabled": True, "retention": "a fortnight"}), "automated_backups.retention 'a fortnight' is not a duration"),
    (dict(DEV, automated_backups={"enabled": False, "start_hour": 3}), "start_hour and retention need automated_backups.enabled true"),
    (dict(DEV, zone_distribution={"mode": "SINGLE_ZONE"}), "zone_distribution.mode SINGLE_ZONE needs zone_distribution.zone"),
    (dict(DEV, zone_distribution={"mode": "SINGLE_ZONE", "zone": "europe-west1-b"}), "'europe-west1-b' is not a zone of us-central1"),
    (dict(DEV, network="projects/x/networks/y"), "network 'projects/x/networks/y' must be a VPC network name"),
    (dict(DEV, kms_key="my-key"), "kms_key 'my-key' must be a Cloud KMS key"),
    (dict(shard_count=1), "a new cluster needs network"),
    (dict(network="default"), "a new cluster needs shard_count"),
]
BAD_BACKUP_INPUT = [
    (dict(ttl="1h"), "ttl '1h' must be from 1 day through 36500 days"),
    (dict(ttl="soon"), "ttl 'soon' is not a duration"),
    (dict(min_interval="often"), "min_interval 'often' is not a duration"),
    (dict(retention={"daily": -1}), "retention daily -1 must be 0 or more"),
    (dict(retention={}), "retention keeps nothing"),
    (dict(name="nothing"), "Redis cluster nothing in us-central1 does not exist: nothing to back up"),
]


def cluster(name, **options):
    return {"orchestra.gcp.redis_cluster": dict({"name": name, "region": "{{ region }}"}, **options)}


def backup(name, title=None, **options):
    return dict(name=title or "backup", **{"orchestra.gcp.redis_cluster_backup": dict({"name": name, "region": "{{ region }}"}, **options)})


def client(emulated):
    return redis_cluster_v1.CloudRedisClusterClient(transport="rest", credentials=AnonymousCredentials(),
                                                    client_options=ClientOptions(api_endpoint=emulated.endpoint))


def mutating(emulated, since=0):
    return [(call["method"], call["path"].rsplit("/", 1)[-1], call["query"].get("updateMask")) for call in emulated.emulator.log()[since:]]


def test_a_cluster_is_created_changed_in_place_refused_recreated_and_deleted(emulated):
    name = "cache"
    bad = [dict(name="bad %d" % i, ignore_errors=True, **cluster(**dict({"name": name}, **options))) for i, (options, _words) in enumerate(BAD_INPUT)]
    play = emulated.run(bad + four_times(cluster(name, **DEV)))
    for i, (_options, words) in enumerate(BAD_INPUT):
        result = play.task("bad %d" % i)
        assert result["_failed"] and words in result["msg"], (i, result["msg"])
        assert "Nothing was changed" in result["msg"] or "must be one of" in words, (i, result["msg"])  # Ansible's own check of choices
    assert_changed_changed_unchanged_unchanged(play)
    assert play.task("check 1")["diff"]["after"]["shard_count"] == 1
    assert mutating(emulated) == [("POST", "clusters", None)], "bad input and check runs call nothing that changes"
    live = client(emulated).get_cluster(name=PATH + name)
    expected = ("ACTIVE", 1, "REDIS_SHARED_CORE_NANO", {"maxmemory-policy": "volatile-lru"}, "ONE_HOUR", 0, False)
    assert (live.state.name, live.shard_count, live.node_type.name, dict(live.redis_configs), live.persistence_config.rdb_config.rdb_snapshot_period.name,
            live.replica_count, live.deletion_protection_enabled) == expected
    created = play.task("apply 1")["cluster"]
    assert created["short_name"] == name and created["endpoint"] == "127.0.0.1:%d" % live.discovery_endpoints[0].port
    data = redis.RedisCluster(host="127.0.0.1", port=live.discovery_endpoints[0].port)
    for index in range(200):
        data.set("key:%d" % index, index)

    # In place: shards (slots and keys move), replicas, deletion protection and automated backups, one patch each.
    daily = {"enabled": True, "start_hour": 3, "retention": "7d"}
    changed = {**DEV, "shard_count": 2, "replica_count": 1, "deletion_protection": True, "automated_backups": daily}
    before = len(emulated.emulator.log())
    play = emulated.run(four_times(cluster(name, **changed)))
    assert_changed_changed_unchanged_unchanged(play)
    assert play.task("apply 1")["changed_options"] == ["automated_backups", "deletion_protection", "replica_count", "shard_count"]
    assert mutating(emulated, before) == [("PATCH", name, "deletionProtectionEnabled"), ("PATCH", name, "shardCount"),
                                          ("PATCH", name, "replicaCount"), ("PATCH", name, "automatedBackupConfig")]
    live = client(emulated).get_cluster(name=PATH + name)
    assert (live.shard_count, live.replica_count, live.deletion_protection_enabled, live.automated_backup_config.automated_backup_mode.name,
            live.automated_backup_config.retention.total_seconds(), live.size_gb) == (2, 1, True, "ENABLED", 7 * 86400, 3)
    data = redis.RedisCluster(host="127.0.0.1", port=live.discovery_endpoints[0].port)
    assert all(data.get("key:%d" % index) == str(index).encode() for index in range(200))

    # Fixed at creation: refused with the way forward; a protected cluster is not deleted; nothing is called.
    before = len(emulated.emulator.log())
    play = emulated.run([dict(name="tls", ignore_errors=True, **cluster(name, **{**changed, "transit_encryption": True})),
                         dict(name="protected", ignore_errors=True, **cluster(name, state="absent")),
                         dict(name="protected recreate", ignore_errors=True, **cluster(name, recreate=True, **{**changed, "transit_encryption": True}))])
    assert "Cannot change transit_encryption of Redis cluster cache in us-central1 in place" in play.task("tls")["msg"]
    assert "recreate=true" in play.task("tls")["msg"] and "redis_cluster_backup" in play.task("tls")["msg"]
    assert "deletion protection is on" in play.task("protected")["msg"] and "deletion_protection=false" in play.task("protected")["msg"]
    assert "deletion protection is on" in play.task("protected recreate")["msg"]
    assert mutating(emulated, before) == []

    # Recreated when the task allows it and turns deletion protection off; then deleted.
    again = {**changed, "transit_encryption": True, "deletion_protection": False, "shard_count": 1}
    play = emulated.run([dict(name="recreate", **cluster(name, recreate=True, **again)), dict(name="again", **cluster(name, recreate=True, **again))])
    assert play.task("recreate")["recreated"], play.task("recreate")["msg"]
    assert play.task("recreate")["changed_options"] == ["deletion_protection", "shard_count", "transit_encryption"]
    assert not play.task("again")["changed"]
    assert [call[:2] for call in mutating(emulated, before)] == [("PATCH", name), ("DELETE", name), ("POST", "clusters")]
    live = client(emulated).get_cluster(name=PATH + name)
    assert (live.transit_encryption_mode.name, live.shard_count, live.replica_count, live.node_type.name) == \
        ("TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION", 1, 1, "REDIS_SHARED_CORE_NANO")

    play = emulated.run([dict(name="gone", **cluster(name, state="absent")), dict(name="gone again", **cluster(name, state="absent"))])
    assert [play.task(n)["changed"] for n in ("gone", "gone again")] == [True, False]


def admin(title, path, body):
    """A task that calls the emulator's admin API (its clock, its failing operations) from the play."""
    return {"name": title, "ansible.builtin.uri": {"url": "{{ lookup('env', 'ORCHESTRA_GCP_ENDPOINT') }}/_emulator/" + path, "method": "POST",
                                                   "body_format": "json", "body": body}}


def test_retention_prunes_the_clusters_managed_backups_only_after_a_successful_backup(emulated):
    name = "cache"
    policy = {"daily": 2}
    bad = [dict(backup(options.get("name", name), title="bad %d" % i, **{k: v for k, v in options.items() if k != "name"}), ignore_errors=True)
           for i, (options, _words) in enumerate(BAD_BACKUP_INPUT)]
    # Three days of backups on the emulator's clock (three days ago, two, one); then a backup whose operation fails,
    # which prunes nothing; then retention in check mode, applied, and a run within min_interval.
    days = []
    for day in (3, 2, 1):
        days += [admin("%d days ago" % day, "clock", {"offset_seconds": -day * 86400}), backup(name, title="backup %d days ago" % day, ttl="30d")]
    play = emulated.run([dict(name="cluster", **cluster(name, shard_count=1, network="default", node_type="REDIS_SHARED_CORE_NANO"))] + bad + days + [
        admin("now", "clock", {"offset_seconds": 0}),
        admin("failing backup", "failing-operations", {"method": "POST", "path": ":backup$", "count": 1, "code": 13, "message": "backup failed"}),
        dict(backup(name, title="failed", retention=policy), ignore_errors=True),
        dict(backup(name, title="check", retention=policy), check_mode=True),
        backup(name, title="backup", retention=policy),
        backup(name, title="again", min_interval="1h", retention=policy)])
    assert play.rc == 0, play.stdout
    for i, (_options, words) in enumerate(BAD_BACKUP_INPUT):
        result = play.task("bad %d" % i)
        assert result["_failed"] and words in result["msg"] and "Nothing was changed" in result["msg"], (i, result["msg"])
    taken = [play.task("backup %d days ago" % day)["backup"]["id"] for day in (3, 2, 1)]
    assert all(play.task("backup %d days ago" % day)["pruned"] == [] for day in (3, 2, 1))
    assert play.task("failed")["_failed"] and "backup failed" in play.task("failed")["msg"]
    assert play.task("check")["changed"] and sorted(play.task("check")["pruned"]) == sorted(taken[:2]) and play.task("check")["backup"] is None
    result = play.task("backup")
    assert sorted(result["pruned"]) == sorted(taken[:2]) and result["retention"]["policy"] == "2 daily"
    assert result["retention"]["kept"] == [result["backup"]["id"], taken[2]]
    assert result["retention"]["reasons"][result["backup"]["id"]] == ["daily", "newest"]
    assert result["backup"]["type"] == "ON_DEMAND" and result["backup"]["state"] == "ACTIVE" and result["backup"]["shard_count"] == 1
    assert not play.task("again")["changed"] and "younger than min_interval 1h" in play.task("again")["not_taken"]
    # Bad input, check mode and the failed backup call nothing that deletes: the deletions follow the successful backup.
    calls = [(call["method"], call["path"]) for call in emulated.emulator.log()]
    assert [method for method, _path in calls] == ["POST", "POST", "POST", "POST", "POST", "POST", "DELETE", "DELETE"]
    assert sorted(path.rsplit("/", 1)[1] for method, path in calls if method == "DELETE") == sorted(taken[:2])
    collection = client(emulated).get_cluster(name=PATH + name).backup_collection
    left = sorted(b.name.rsplit("/", 1)[1] for b in client(emulated).list_backups(parent=collection))
    assert left == sorted([taken[2], result["backup"]["id"]])
