"""redis_instance driven through ansible-runner against the emulator's Memorystore for Redis, each instance a real
redis-server: create, in-place changes, upgrade, what needs a recreation, bad input, deletion."""

import shutil

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import redis_v1
from test_cloud_run_service import assert_changed_changed_unchanged_unchanged, four_times

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs Debian's redis-server")

DEV = dict(tier="BASIC", memory_size_gb=1, redis_configs={"maxmemory-policy": "volatile-lru"}, labels={"env": "test"})
# (options, words of the error): each refused before any call.
BAD_INPUT = [
    (dict(DEV, name="Cache_1"), "must start with a lowercase letter"),
    (dict(DEV, region="mars"), "region 'mars' is not a region name"),
    (dict(DEV, memory_size_gb=0), "memory_size_gb 0 is out of range for a BASIC instance: from 1 through 300"),
    (dict(DEV, tier="STANDARD_HA", memory_size_gb=4), "memory_size_gb 4 is out of range for a STANDARD_HA instance"),
    (dict(DEV, memory_size_gb=301), "memory_size_gb 301 is out of range"),
    (dict(DEV, tier="PREMIUM"), "value of tier must be one of"),
    (dict(DEV, redis_configs={"maxmemory-policy": "lru-everything"}), "maxmemory-policy 'lru-everything' is not one of"),
    (dict(DEV, redis_configs={"save": "900 1"}), "redis_configs has 'save', which Memorystore does not take"),
    (dict(DEV, redis_version="REDIS_3_2", redis_configs={"activedefrag": "yes"}), "'activedefrag' needs REDIS_4_0 or later"),
    (dict(DEV, redis_configs={"maxmemory-gb": "lots"}), "maxmemory-gb 'lots' must be a positive number"),
    (dict(DEV, replica_count=1), "replica_count 1 needs tier STANDARD_HA"),
    (dict(DEV, tier="STANDARD_HA", memory_size_gb=5, replica_count=3), "replica_count 3 must be from 1 through 1"),
    (dict(DEV, tier="STANDARD_HA", memory_size_gb=5, read_replicas=True, replica_count=6), "replica_count 6 must be from 1 through 5"),
    (dict(DEV, read_replicas=True), "read_replicas needs tier STANDARD_HA"),
    (dict(DEV, persistence={"mode": "DISABLED", "rdb_snapshot_period": "ONE_HOUR"}), "rdb_snapshot_period needs persistence.mode RDB"),
    (dict(DEV, maintenance_window={"day": "SUNDAY", "hour": 25}), "maintenance_window 25:00 is not a time of day"),
    (dict(DEV, reserved_ip_range="10.0.0.0/30"), "reserved_ip_range '10.0.0.0/30' must be an unused IPv4 range of /29 or larger"),
    (dict(DEV, labels={"Env": "test"}), "label key 'Env' must start with a lowercase letter"),
    (dict(DEV, redis_version="REDIS_9_9"), "value of redis_version must be one of"),
    (dict(memory_size_gb=1), "a new instance needs tier"),
]


def instance(name, **options):
    return {"orchestra.gcp.redis_instance": dict({"name": name, "region": "{{ region }}"}, **options)}


def test_an_instance_is_created_changed_in_place_upgraded_recreated_and_deleted(emulated):
    name = "cache"
    path = "projects/orchestra-test/locations/us-central1/instances/" + name
    bad = [dict(name="bad %d" % i, ignore_errors=True, **instance(**dict({"name": name}, **options))) for i, (options, _words) in enumerate(BAD_INPUT)]
    play = emulated.run(bad + four_times(instance(name, **DEV)))
    for i, (_options, words) in enumerate(BAD_INPUT):
        result = play.task("bad %d" % i)
        assert result["_failed"] and words in result["msg"], (i, result["msg"])
    assert_changed_changed_unchanged_unchanged(play)
    assert play.task("check 1")["diff"]["after"]["redis_configs"] == {"maxmemory-policy": "volatile-lru"}
    assert [(c["method"], c["path"]) for c in emulated.emulator.log()] == [("POST", "/v1/projects/orchestra-test/locations/us-central1/instances")], \
        "bad input and check runs call nothing that changes"
    client = redis_v1.CloudRedisClient(transport="rest", credentials=AnonymousCredentials(), client_options=ClientOptions(api_endpoint=emulated.endpoint))
    live = client.get_instance(name=path)
    assert (live.tier.name, live.memory_size_gb, dict(live.redis_configs), live.redis_version, live.state.name) == \
        ("BASIC", 1, {"maxmemory-policy": "volatile-lru"}, "REDIS_7_0", "READY")
    created = play.task("apply 1")["instance"]
    assert created["short_name"] == name and created["host"] and created["port"] and "auth_string" not in created

    # In place: memory, a config, persistence, a maintenance window, AUTH and a label in one patch; then an upgrade.
    changed = {**DEV, "memory_size_gb": 2, "redis_configs": {"maxmemory-policy": "allkeys-lru", "maxmemory-gb": "1.5"}, "labels": {"team": "ai"},
               "persistence": {"mode": "RDB", "rdb_snapshot_period": "SIX_HOURS"}, "maintenance_window": {"day": "SUNDAY", "hour": 3}, "auth_enabled": True}
    before = len(emulated.emulator.log())
    play = emulated.run(four_times(instance(name, **changed)) + [dict(name="upgrade", **instance(name, **{**changed, "redis_version": "REDIS_7_2"}))])
    assert play.rc == 0, play.stdout
    in_place = ["auth_enabled", "labels", "maintenance_window", "memory_size_gb", "persistence", "redis_configs"]
    assert play.task("apply 1")["changed_options"] == in_place
    assert [play.task(n)["changed"] for n in ("check 1", "check 2", "apply 2")] == [True, False, False]
    calls = emulated.emulator.log()[before:]
    assert [(c["method"], c["path"].rsplit("/", 1)[-1]) for c in calls] == [("PATCH", name), ("POST", name + ":upgrade")]
    assert calls[0]["query"]["updateMask"] == "authEnabled,labels,maintenancePolicy,memorySizeGb,persistenceConfig,redisConfigs"
    live = client.get_instance(name=path)
    assert (live.memory_size_gb, live.redis_version, live.auth_enabled, dict(live.labels), live.persistence_config.rdb_snapshot_period.name) == \
        (2, "REDIS_7_2", True, {"env": "test", "team": "ai"}, "SIX_HOURS")

    # The tier is fixed at creation: refused with the way forward, nothing called; a downgrade too; then recreated.
    before = len(emulated.emulator.log())
    standard = {**changed, "redis_version": "REDIS_7_2", "tier": "STANDARD_HA", "memory_size_gb": 5}
    play = emulated.run([dict(name="tier", ignore_errors=True, **instance(name, **standard)),
                         dict(name="downgrade", ignore_errors=True, **instance(name, **{**changed, "redis_version": "REDIS_6_X"})),
                         dict(name="recreate", **instance(name, recreate=True, **standard)),
                         dict(name="again", **instance(name, recreate=True, **standard))])
    assert "Cannot change tier of Redis instance cache in us-central1 in place" in play.task("tier")["msg"]
    assert "recreate=true" in play.task("tier")["msg"] and "redis_backup" in play.task("tier")["msg"]
    assert "Cannot change redis_version of Redis instance cache" in play.task("downgrade")["msg"]
    assert play.task("recreate").get("recreated"), play.task("recreate")["msg"]
    assert play.task("recreate")["recreated"] and play.task("recreate")["changed_options"] == ["memory_size_gb", "tier"]
    assert not play.task("again")["changed"]
    assert [c["method"] for c in emulated.emulator.log()[before:]] == ["DELETE", "POST"]
    live = client.get_instance(name=path)
    assert (live.tier.name, live.memory_size_gb, live.replica_count, live.redis_version, dict(live.redis_configs)["maxmemory-policy"]) == \
        ("STANDARD_HA", 5, 1, "REDIS_7_2", "allkeys-lru")

    play = emulated.run([dict(name="gone", **instance(name, state="absent")), dict(name="gone again", **instance(name, state="absent"))])
    assert [play.task(n)["changed"] for n in ("gone", "gone again")] == [True, False]
