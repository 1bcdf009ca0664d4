"""redis_backup, redis_backup_info, redis_restore and redis_backup_verify against the emulator's Memorystore (each
instance a real redis-server) and Cloud Storage: a data set of every kind survives a backup, a flush and a restore;
retention, failed exports, corrupt RDB files, refusals and bad input."""

import json
import shutil
import urllib.parse
import urllib.request

import pytest
import redis
from test_cloud_run_service import four_times

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs Debian's redis-server")

BUCKET = "orchestra-test-redis-backups"
WHERE = dict(instance="cache", region="{{ region }}", bucket=BUCKET)
FOLDER = "redis/us-central1/cache/"


def task(module, title=None, **options):
    return dict({"name": title or module, "orchestra.gcp." + module: options})


def setup(emulated, *instances):
    created = [task("redis_instance", title="instance " + name, **{"name": name, "region": "{{ region }}", "tier": "BASIC", "memory_size_gb": 1})
               for name in instances]
    play = emulated.run([task("storage_bucket", name=BUCKET, location="US")] + created)
    assert play.rc == 0, play.stdout
    return {name: play.task("instance " + name)["instance"] for name in instances}


def stored(emulated, name):
    """The bytes of an object of the bucket, as the emulator's Cloud Storage serves them."""
    url = "%s/storage/v1/b/%s/o/%s?alt=media" % (emulated.endpoint, BUCKET, urllib.parse.quote(name, safe=""))
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.read()


def connect(instance):
    return redis.Redis(host=instance["host"], port=instance["port"])


def write_data_set(client):
    """Strings, a number, hashes, lists, sets, sorted sets, a stream, binary bytes, and keys that expire in an hour."""
    pipe = client.pipeline()
    for i in range(300):
        pipe.set("string:%d" % i, "value %d" % i)
        pipe.hset("hash:%d" % i, mapping={"name": "user %d" % i, "visits": i})
    pipe.set("counter", 41)
    pipe.incr("counter")
    pipe.rpush("list", *["item %d" % i for i in range(100)])
    pipe.sadd("set", *["member %d" % i for i in range(50)])
    pipe.zadd("ranking", {"player %d" % i: i * 1.5 for i in range(50)})
    pipe.xadd("events", {"kind": "deploy", "revision": "r1"})
    pipe.set("binary", bytes(range(256)))
    for i in range(20):
        pipe.set("session:%d" % i, "token %d" % i, ex=3600)
    pipe.execute()


def snapshot(client):
    """Every key with its type, its value and whether it expires."""
    read = {"string": client.get, "hash": client.hgetall, "list": lambda k: client.lrange(k, 0, -1), "set": client.smembers,
            "zset": lambda k: client.zrange(k, 0, -1, withscores=True), "stream": lambda k: [fields for _id, fields in client.xrange(k)]}
    return {key: (client.type(key), read[client.type(key).decode()](key), client.ttl(key) > 3000) for key in client.scan_iter(count=1000)}


def test_a_data_set_survives_a_backup_a_flush_and_a_restore_and_a_backup_is_verified_in_a_scratch_instance(emulated):
    instances = setup(emulated, "cache", "cache-verify")
    source = connect(instances["cache"])
    write_data_set(source)
    before = snapshot(source)
    assert len(before) == 300 + 300 + 6 + 20

    backup = dict(WHERE, min_interval="1h")
    play = emulated.run(four_times(task("redis_backup", **backup)) + [task("redis_backup_info", **WHERE)])
    assert play.rc == 0, play.stdout
    assert [play.task(n).get("changed") for n in ("check 1", "apply 1", "check 2", "apply 2")] == [True, True, False, False]
    taken = play.task("apply 1")["backup"]
    assert taken["complete"] and taken["key_count"] == len(before) and taken["verified"] is None and taken["redis_version"] == "REDIS_7_0"
    assert play.task("apply 2")["backup"]["id"] == taken["id"] and "younger than min_interval 1h" in play.task("apply 2")["not_taken"]
    assert play.task("redis_backup_info")["backups"] == [taken] and play.task("redis_backup_info")["newest_verified"] is None
    manifest = json.loads(stored(emulated, FOLDER + taken["id"] + ".json"))
    rdb = stored(emulated, FOLDER + taken["id"] + ".rdb")
    assert manifest["rdb"]["size"] == len(rdb) == taken["size"] and rdb.startswith(b"REDIS")
    assert manifest["source"]["instance"] == "projects/orchestra-test/locations/us-central1/instances/cache"
    exports = [c for c in emulated.emulator.log() if c["path"].endswith(":export")]
    assert len(exports) == 1, "check mode and the run inside min_interval export nothing"

    # A restore without the confirmation changes nothing; with it, after a safety backup, the data comes back.
    source.flushall()
    marks = len(emulated.emulator.log())
    restore = dict(WHERE, backup=taken["id"])
    play = emulated.run([dict(task("redis_restore", **restore), name="unconfirmed", ignore_errors=True),
                         dict(task("redis_restore", confirm="cache", **restore), name="check", check_mode=True),
                         dict(task("redis_restore", confirm="cache", **restore), name="restore")])
    assert "set confirm to 'cache' to go ahead" in play.task("unconfirmed")["msg"] and "Nothing was changed" in play.task("unconfirmed")["msg"]
    assert play.task("check")["changed"] and play.task("check")["restored"]["id"] == taken["id"]
    restored = play.task("restore")
    assert restored["restored"]["id"] == taken["id"] and restored["safety_backup"]["key_count"] == 0
    assert [c["path"].rsplit("/", 1)[-1] for c in emulated.emulator.log()[marks:] if c["method"] == "POST" and ":" in c["path"]] == \
        ["cache:export", "cache:import"], "only the restore itself changed anything: its safety export, then the import"
    assert snapshot(connect(instances["cache"])) == before

    # Verification: the backup restored into a scratch instance compares equal, and its manifest says so.
    play = emulated.run([task("redis_restore", target="cache-verify", confirm="cache-verify", safety_backup=False, **restore),
                         task("redis_backup_verify", backup=taken["id"], target_host=instances["cache-verify"]["host"],
                              target_port=instances["cache-verify"]["port"], sample=50, **WHERE),
                         task("redis_backup_info", **WHERE)])
    assert play.rc == 0, play.stdout
    verified = play.task("redis_backup_verify")
    assert verified["passed"] and verified["measured"]["key_count"] == len(before) and verified["measured"]["sampled"] == 50
    catalog = play.task("redis_backup_info")
    assert catalog["newest_verified"]["id"] == taken["id"] and catalog["newest_verified"]["verification"]["state"] == "passed"

    # Redis cannot load a newer version's RDB: a restore into an older instance is refused before any change.
    play = emulated.run([task("redis_instance", name="cache-old", region="{{ region }}", tier="BASIC", memory_size_gb=1, redis_version="REDIS_6_X")])
    marks = len(emulated.emulator.log())
    play = emulated.run([dict(task("redis_restore", target="cache-old", confirm="cache-old", **restore), ignore_errors=True)])
    assert "is of REDIS_7_0, newer than the instance's REDIS_6_X" in play.task("redis_restore")["msg"]
    assert emulated.emulator.log()[marks:] == []

    # Backups back to back (ids are seconds): one that starts in the second of another waits for the next, never replacing its RDB.
    play = emulated.run([dict(task("redis_backup", **WHERE), name="one"), dict(task("redis_backup", **WHERE), name="two"),
                         task("redis_backup_info", **WHERE)])
    one, two = play.task("one")["backup"], play.task("two")["backup"]
    assert one["id"] < two["id"] and all(b["complete"] for b in play.task("redis_backup_info")["backups"])
