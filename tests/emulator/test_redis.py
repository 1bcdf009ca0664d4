"""Memorystore for Redis v1 with Google's API client (google-api-python-client's redis v1 discovery client): instances
backed by real redis-server processes, export to and import from the emulator's Cloud Storage, checked against
Google's recorded answers (tests/fixtures/google/redis_*.json, storage_object_get.json)."""

import base64
import json
import pathlib
import shutil
import time
import urllib.request

import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from orchestra_emulator import redis_v1
from orchestra_emulator.errors import ApiError
from orchestra_emulator.resp import Connection, RedisError
from orchestra_emulator.storage_v1 import crc32c

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs Debian's redis-server")

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google"
PARENT = "projects/demo/locations/europe-west1"
NAME = PARENT + "/instances/cache"
BUCKET = "demo-redis-backups"


def fixture(name):
    return json.loads((FIXTURES / name).read_text())["response"]


def client(emulator, api, path):
    return build(api, "v1", credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": emulator.endpoint + path})


@pytest.fixture
def redis_api(emulator):
    return client(emulator, "redis", "/")


@pytest.fixture
def storage(emulator):
    return client(emulator, "storage", "/storage/v1/")


def done(redis_api, operation):
    """The operation once done (the emulator's operations end at once by default)."""
    while not operation.get("done"):
        time.sleep(0.05)
        operation = redis_api.projects().locations().operations().get(name=operation["name"]).execute()
    return operation


def instances(redis_api):
    return redis_api.projects().locations().instances()


def error(call):
    with pytest.raises(HttpError) as raised:
        call.execute()
    return raised.value.resp.status, json.loads(raised.value.content)["error"]


def fill(connection):
    connection.command("SET", "greeting", "hello")
    connection.command("HSET", "user:1", "name", "Ada", "lang", "en")
    connection.command("RPUSH", "queue", "a", "b", "c")
    connection.command("SET", "session", "token", "EX", "3600")


def contents(connection):
    return (connection.command("GET", "greeting"), connection.command("HGETALL", "user:1"), connection.command("LRANGE", "queue", "0", "-1"),
            connection.command("GET", "session"), 3000 < connection.command("TTL", "session") <= 3600, connection.command("DBSIZE"))


def test_an_instance_is_a_real_redis_exported_flushed_imported_patched_and_deleted(redis_api, storage, emulator):
    emulator.admin("config", {"operation_seconds": 0.2})
    storage.buckets().insert(project="demo", body={"name": BUCKET, "location": "europe-west1"}).execute()
    created = instances(redis_api).create(parent=PARENT, instanceId="cache", body={
        "tier": "BASIC", "memorySizeGb": 1, "authEnabled": True, "redisConfigs": {"maxmemory-policy": "allkeys-lru"}}).execute()
    real = fixture("redis_instance_create_request.json")
    # Memorystore prints `"done": false`; the emulator's operations leave a false `done` out (see emulator/README.md).
    assert set(created) | {"done"} == set(real) and set(created["metadata"]) == set(real["metadata"])
    assert (created["metadata"]["verb"], created["metadata"]["target"], created["metadata"]["apiVersion"]) == ("create", NAME, "v1")
    assert instances(redis_api).get(name=NAME).execute()["state"] == "CREATING"
    instance = done(redis_api, created)["response"]
    real = fixture("redis_instance_create_done.json")["response"]
    assert set(real) - {"displayName"} <= set(instance)
    defaults = ("connectMode", "readReplicasMode", "redisVersion", "state", "tier", "transitEncryptionMode", "persistenceConfig")
    assert {key: instance[key] for key in defaults} == {key: real[key] for key in defaults}
    assert (instance["locationId"], instance["currentLocationId"]) == ("europe-west1-a", "europe-west1-a")
    assert instance["nodes"] == [{"id": "node-0", "zone": "europe-west1-a"}]
    identity = instance["persistenceIamIdentity"]
    assert identity.startswith("serviceAccount:service-") and identity.endswith("@cloud-redis.iam.gserviceaccount.com")
    assert instance["authorizedNetwork"] == "projects/demo/global/networks/default" and instance["reservedIpRange"].endswith("/29")
    assert instances(redis_api).get(name=NAME).execute() == {key: value for key, value in instance.items() if key != "@type"}
    assert [found["name"] for found in instances(redis_api).list(parent=PARENT).execute()["instances"]] == [NAME]

    auth = instances(redis_api).getAuthString(name=NAME).execute()["authString"]
    with pytest.raises(RedisError, match="NOAUTH"), Connection(instance["port"], host=instance["host"]) as anonymous:
        anonymous.command("GET", "greeting")
    with Connection(instance["port"], auth, host=instance["host"]) as connection:
        assert connection.command("CONFIG", "GET", "maxmemory-policy") == [b"maxmemory-policy", b"allkeys-lru"]
        assert connection.command("CONFIG", "GET", "maxmemory") == [b"maxmemory", str(4 * 1024 * 1024).encode()]
        fill(connection)
        before = contents(connection)

        uri = f"gs://{BUCKET}/backups/cache.rdb"
        exported = done(redis_api, instances(redis_api).export(name=NAME, body={"outputConfig": {"gcsDestination": {"uri": uri}}}).execute())
        assert exported["metadata"]["verb"] == "export" and "error" not in exported
        backup = storage.objects().get(bucket=BUCKET, object="backups/cache.rdb").execute()
        real = fixture("storage_object_get.json")
        assert set(backup) == set(real) and backup["etag"].endswith("EAE=") and backup["id"] == f"{BUCKET}/backups/cache.rdb/{backup['generation']}"
        rdb = storage.objects().get_media(bucket=BUCKET, object="backups/cache.rdb").execute()
        assert rdb.startswith(b"REDIS") and backup["size"] == str(len(rdb))
        assert backup["crc32c"] == base64.b64encode(crc32c(rdb).to_bytes(4, "big")).decode()
        assert [item["name"] for item in storage.objects().list(bucket=BUCKET, prefix="backups/").execute()["items"]] == ["backups/cache.rdb"]

        connection.command("FLUSHALL")
        assert connection.command("DBSIZE") == 0
    imported = done(redis_api, instances(redis_api).import_(name=NAME, body={"inputConfig": {"gcsSource": {"uri": uri}}}).execute())
    assert imported["metadata"]["verb"] == "import" and imported["response"]["state"] == "READY"
    with Connection(instance["port"], auth) as connection:
        assert contents(connection) == before

        patched = done(redis_api, instances(redis_api).patch(name=NAME, updateMask="redisConfigs,memorySizeGb", body={
            "redisConfigs": {"maxmemory-policy": "volatile-ttl"}, "memorySizeGb": 2}).execute())
        assert (patched["metadata"]["verb"], patched["response"]["memorySizeGb"]) == ("update", 2)
        assert connection.command("CONFIG", "GET", "maxmemory-policy") == [b"maxmemory-policy", b"volatile-ttl"]
        assert connection.command("CONFIG", "GET", "maxmemory") == [b"maxmemory", str(8 * 1024 * 1024).encode()]
    upgraded = done(redis_api, instances(redis_api).upgrade(name=NAME, body={"redisVersion": "REDIS_7_2"}).execute())
    assert upgraded["response"]["redisVersion"] == "REDIS_7_2"

    missing = done(redis_api, instances(redis_api).import_(name=NAME, body={"inputConfig": {"gcsSource": {"uri": f"gs://{BUCKET}/nothing.rdb"}}}).execute())
    assert missing["error"]["code"] == 5 and "nothing.rdb" in missing["error"]["message"]
    # A file its Redis cannot load: the import fails, and the instance is brought online without its data (Google's
    # import-export-overview: "If an import fails for any reason, the instance is brought online, but the data may be fully flushed").
    upload = urllib.request.Request(f"{emulator.endpoint}/upload/storage/v1/b/{BUCKET}/o?uploadType=media&name=backups/half.rdb", data=rdb[:len(rdb) // 2],
                                    method="POST", headers={"Content-Type": "application/octet-stream"})
    urllib.request.urlopen(upload, timeout=10).close()
    half = {"inputConfig": {"gcsSource": {"uri": f"gs://{BUCKET}/backups/half.rdb"}}}
    refused = done(redis_api, instances(redis_api).import_(name=NAME, body=half).execute())
    assert refused["error"]["code"] == 3 and "backups/half.rdb" in refused["error"]["message"]
    assert instances(redis_api).get(name=NAME).execute()["state"] == "READY"
    with Connection(instance["port"], auth) as connection:
        assert connection.command("DBSIZE") == 0
    nowhere = done(redis_api, instances(redis_api).export(name=NAME, body={"outputConfig": {"gcsDestination": {"uri": "gs://no-such-bucket/x.rdb"}}}).execute())
    assert nowhere["error"]["code"] == 5

    deleted = done(redis_api, instances(redis_api).delete(name=NAME).execute())
    assert deleted["response"] == fixture("redis_instance_delete_done.json")["response"]
    with pytest.raises(OSError):
        Connection(instance["port"], auth, timeout=1)
    status, body = error(instances(redis_api).get(name=NAME))
    real = fixture("redis_instance_not_found.json")["error"]
    assert (status, body["status"], body["message"]) == (real["code"], real["status"], f"Resource '{NAME}' was not found")
    storage.objects().delete(bucket=BUCKET, object="backups/cache.rdb").execute()
    assert error(storage.objects().get(bucket=BUCKET, object="backups/cache.rdb"))[0] == 404


@pytest.mark.parametrize("instance_id, body, field", [
    ("cache", {"tier": "BASIC", "memorySizeGb": 0}, "instance.memory_size_gb"),
    ("cache", {"tier": "STANDARD_HA", "memorySizeGb": 4}, "instance.memory_size_gb"),
    ("cache", {"memorySizeGb": 1}, "instance.tier"),
    ("cache", {"tier": "BASIC", "memorySizeGb": 1, "redisVersion": "REDIS_9_9"}, "instance.redis_version"),
    ("cache", {"tier": "BASIC", "memorySizeGb": 1, "replicaCount": 2}, "instance.replica_count"),
    ("cache", {"tier": "BASIC", "memorySizeGb": 1, "readReplicasMode": "READ_REPLICAS_ENABLED"}, "instance.read_replicas_mode"),
    ("cache", {"tier": "STANDARD_HA", "memorySizeGb": 5, "readReplicasMode": "READ_REPLICAS_ENABLED", "replicaCount": 6}, "instance.replica_count"),
    ("cache", {"tier": "BASIC", "memorySizeGb": 1, "redisConfigs": {"maxmemory": "1gb"}}, "instance.redis_configs"),
    ("cache", {"tier": "BASIC", "memorySizeGb": 1, "redisConfigs": {"maxmemory-policy": "evict-everything"}}, "instance.redis_configs"),
    ("cache", {"tier": "BASIC", "memorySizeGb": 1, "redisVersion": "REDIS_4_0", "redisConfigs": {"stream-node-max-entries": "100"}}, "instance.redis_configs"),
    ("Cache-", {"tier": "BASIC", "memorySizeGb": 1}, "instance_id"),
    ("cache", {"tier": "BASIC", "memorySizeGb": 1, "reservedIpRange": "10.0.0.0/30"}, "instance.reserved_ip_range"),
])
def test_bad_instances_are_refused(redis_api, instance_id, body, field):
    status, found = error(instances(redis_api).create(parent=PARENT, instanceId=instance_id, body=body))
    assert (status, found["status"], found["details"][0]["fieldViolations"][0]["field"]) == (400, "INVALID_ARGUMENT", field)


def test_fixed_fields_downgrades_and_read_replicas(redis_api):
    operation = instances(redis_api).create(parent=PARENT, instanceId="ha", body={
        "tier": "STANDARD_HA", "memorySizeGb": 5, "readReplicasMode": "READ_REPLICAS_ENABLED"}).execute()
    instance = done(redis_api, operation)["response"]
    assert (instance["replicaCount"], len(instance["nodes"]), instance["readEndpoint"], instance["readEndpointPort"]) == (2, 3, "127.0.0.1", instance["port"])
    assert instance["reservedIpRange"].endswith("/28") and "authString" not in instances(redis_api).getAuthString(name=PARENT + "/instances/ha").execute()
    for mask, body in (("tier", {"tier": "BASIC"}), ("reservedIpRange", {"reservedIpRange": "10.9.0.0/28"}),
                       ("connectMode", {"connectMode": "PRIVATE_SERVICE_ACCESS"}),
                       ("transitEncryptionMode", {"transitEncryptionMode": "SERVER_AUTHENTICATION"}),
                       ("locationId", {"locationId": "europe-west1-b"})):
        status, found = error(instances(redis_api).patch(name=PARENT + "/instances/ha", updateMask=mask, body=body))
        assert (status, found["status"], mask in found["message"]) == (400, "INVALID_ARGUMENT", True)
    status, found = error(instances(redis_api).upgrade(name=PARENT + "/instances/ha", body={"redisVersion": "REDIS_6_X"}))
    assert (status, found["status"]) == (400, "INVALID_ARGUMENT")
    status, found = error(instances(redis_api).create(parent=PARENT, instanceId="ha", body={"tier": "BASIC", "memorySizeGb": 1}))
    assert (status, found["status"]) == (409, "ALREADY_EXISTS")


@pytest.mark.parametrize("replies, fails", [(["LOADING Redis is loading the dataset in memory"] * 3, False), (["ERR unknown command"], True)])
def test_a_server_still_loading_its_rdb_is_waited_for(tmp_path, monkeypatch, replies, fails):
    """A server answers LOADING while it reads a large RDB file (after an import): its start waits for it; another error
    reply fails at once."""
    replies = list(replies)

    class Loading(Connection):
        def command(self, *args):
            if args == ("PING",) and replies:
                raise RedisError(replies.pop())
            return super().command(*args)

    monkeypatch.setattr(redis_v1, "Connection", Loading)
    servers = redis_v1.Servers(str(tmp_path))
    try:
        if fails:
            with pytest.raises(ApiError, match="did not load its data: ERR unknown command"):
                servers.start(NAME, {"memorySizeGb": 1}, None)
        else:
            port = servers.start(NAME, {"memorySizeGb": 1}, None)
            with Connection(port) as connection:
                assert connection.command("PING") == b"PONG"
        assert not replies
    finally:
        servers.stop_all()
