"""Memorystore for Redis Cluster with Google's client (google-cloud-redis-cluster over REST): clusters backed by a real
Redis Cluster of redis-server processes, patches of one update mask path, resharding with the keys kept, deletion
protection, on-demand and automated managed backups, checked against Google's recorded answers
(tests/fixtures/google/redis_cluster_*.json)."""

from __future__ import annotations

import json
import pathlib
import shutil
import time
import urllib.error
import urllib.request

import proto
import pytest
import redis
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import redis_cluster_v1
from google.protobuf import field_mask_pb2
from google.protobuf.json_format import ParseError

from orchestra_emulator.discovery import EXPLICIT_PRESENCE, Api
from orchestra_emulator.resp import Connection

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs Debian's redis-server")

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google"
PARENT = "projects/demo/locations/europe-west1"
NAME = PARENT + "/clusters/cache"
NETWORK = "projects/demo/global/networks/default"


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def clusters(emulator):
    return redis_cluster_v1.CloudRedisClusterClient(transport="rest", credentials=AnonymousCredentials(),
                                                    client_options=ClientOptions(api_endpoint=emulator.endpoint))


def raw(emulator, method, path, body=None, query=""):
    """(status, JSON answer) of a call as it goes over the wire, enum numbers asked as the official clients do."""
    request = urllib.request.Request(f"{emulator.endpoint}/v1/{path}?%24alt=json%3Benum-encoding%3Dint{query}", method=method,
                                     data=None if body is None else json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def new_cluster(**fields):
    return redis_cluster_v1.Cluster(psc_configs=[redis_cluster_v1.PscConfig(network=NETWORK)], **fields)


def finished(clusters, operation):
    """The operation (JSON) once done, polled over plain HTTP: google-api-core's operations client and the client's own
    get_operation parse an Operation strictly and refuse the fields of a Cluster that google-cloud-redis-cluster does not
    know (effectiveMaintenanceVersion, satisfiesPzi), in the emulator's answers as in Google's (recorded)."""
    endpoint = clusters.api_endpoint
    while True:
        with urllib.request.urlopen(f"{endpoint}/v1/{operation.operation.name}", timeout=30) as answer:
            polled = json.load(answer)
        if polled.get("done"):
            assert "error" not in polled, polled
            return polled
        time.sleep(0.05)


def patch(clusters, cluster, path):
    finished(clusters, clusters.update_cluster(update_mask=field_mask_pb2.FieldMask(paths=[path]), cluster=cluster))
    return clusters.get_cluster(name=cluster.name)


def keys_through_the_cluster(cluster, count=300):
    """Write `count` keys through a cluster-aware client on the discovery endpoint; returns the client."""
    endpoint = cluster.discovery_endpoints[0]
    client = redis.RedisCluster(host=endpoint.address, port=endpoint.port)
    for index in range(count):
        client.set(f"key:{index}", index)
    return client


def test_enum_numbers_match_the_cluster_protos():
    api = Api("redis.v1", "google.cloud.redis.cluster.v1")
    checked = 0
    for message in vars(redis_cluster_v1).values():
        if not (isinstance(message, type) and issubclass(message, proto.Message)):
            continue
        descriptors = [message.pb().DESCRIPTOR]
        descriptors += descriptors[0].nested_types
        for descriptor in descriptors:
            schema = descriptor.name
            if schema not in api.schemas or schema in ("PersistenceConfig",):  # redis.v1's PersistenceConfig is the instances'
                continue
            for field in descriptor.fields:
                prop = api.schemas[schema]["properties"].get(field.json_name)
                if not field.enum_type or field.is_repeated or prop is None:
                    continue
                for value in prop["enum"]:
                    if value in field.enum_type.values_by_name:
                        number = field.enum_type.values_by_name[value].number
                        expected = {field.json_name: number} if number or field.json_name in EXPLICIT_PRESENCE.get(schema, ()) else {}
                        assert api.encode_response(schema, {field.json_name: value}, enum_numbers=True) == expected, (schema, field.json_name, value)
                        checked += 1
    assert checked > 40


def test_a_cluster_is_a_real_redis_cluster_answered_as_google_does_and_resharded_with_its_keys(clusters, emulator):
    operation = clusters.create_cluster(parent=PARENT, cluster_id="cache", cluster=new_cluster(shard_count=1))
    finished(clusters, operation)
    created = clusters.get_cluster(name=NAME)
    recorded = fixture("redis_cluster_create_done.json")
    status, running = raw(emulator, "GET", operation.operation.name)
    assert status == 200 and set(running["metadata"]) == set(recorded["response"]["metadata"]) - {"endTime"}
    assert running["metadata"]["requestedCancellation"] is False and running["metadata"]["verb"] == "create"
    real = recorded["response"]["response"]
    answered = running["response"]
    assert set(answered) == set(real)
    defaults = ("authorizationMode", "automatedBackupConfig", "deletionProtectionEnabled", "encryptionInfo", "nodeType", "persistenceConfig",
                "preciseSizeGb", "replicaCount", "serverCaMode", "shardCount", "sizeGb", "state", "transitEncryptionMode", "zoneDistributionConfig")
    assert {key: answered[key] for key in defaults} == {key: real[key] for key in defaults}  # enum names inside the operation, as recorded

    status, got = raw(emulator, "GET", NAME)
    real = fixture("redis_cluster_get_enum_numbers.json")["response"]
    assert status == 200 and "pscConfigs" not in got and set(got) == set(real)
    assert {key: got[key] for key in ("authorizationMode", "nodeType", "state", "replicaCount", "deletionProtectionEnabled", "serverCaMode",
                                      "transitEncryptionMode", "persistenceConfig", "zoneDistributionConfig", "sizeGb")} == \
        {key: real[key] for key in ("authorizationMode", "nodeType", "state", "replicaCount", "deletionProtectionEnabled", "serverCaMode",
                                    "transitEncryptionMode", "persistenceConfig", "zoneDistributionConfig", "sizeGb")}
    assert got["discoveryEndpoints"][0]["pscConfig"] == {"network": NETWORK} and len(got["pscConnections"]) == 2
    status, missing = raw(emulator, "GET", PARENT + "/clusters/nothing")
    assert (status, missing) == (404, {"error": {"code": 404, "message": f"Resource '{PARENT}/clusters/nothing' was not found", "status": "NOT_FOUND"}})

    endpoint = created.discovery_endpoints[0]
    with Connection(endpoint.port, host=endpoint.address) as node:
        info = node.command("CLUSTER", "INFO").decode()
        assert "cluster_state:ok" in info and "cluster_slots_assigned:16384" in info and "cluster_known_nodes:1" in info
        assert node.command("CONFIG", "GET", "maxmemory") == [b"maxmemory", str(52 * 1024 * 1024).encode()]  # 13 GB at 4 MB per GB
    client = keys_through_the_cluster(created)
    assert client.get("key:7") == b"7"

    # One update mask path per patch, as Google takes them; the path named must be one Google updates, with a value.
    body = {"shardCount": 2, "replicaCount": 1}
    refusals = [raw(emulator, "PATCH", NAME, body, "&updateMask=shardCount,replicaCount"), raw(emulator, "PATCH", NAME, body, "&updateMask=kmsKey"),
                raw(emulator, "PATCH", NAME, {"replicaCount": 1}, "&updateMask=shardCount")]
    recorded = fixture("redis_cluster_update_mask_refused.json")["responses"]
    assert refusals[0][0] == 400 and refusals[0][1]["error"]["message"] == recorded[0]["error"]["message"]
    assert refusals[1][1]["error"]["message"].startswith("unsupported path in fieldMask: kms_key. Allowed values are persistence_config, ")
    assert refusals[2][1]["error"]["message"] == "update mask contained field path: shard_count but value not provided in request"

    live = clusters.get_cluster(name=NAME)
    live.replica_count = 1
    live.shard_count = 3  # not in the mask: not applied, as recorded
    patched = patch(clusters, live, "replica_count")
    assert (patched.replica_count, patched.shard_count, patched.size_gb) == (1, 1, 13)
    patched.persistence_config = redis_cluster_v1.ClusterPersistenceConfig(
        mode="RDB", rdb_config=redis_cluster_v1.ClusterPersistenceConfig.RDBConfig(rdb_snapshot_period="ONE_HOUR"))
    patched = patch(clusters, patched, "persistence_config")
    assert patched.persistence_config.rdb_config.rdb_snapshot_period.name == "ONE_HOUR"  # 1 on the wire, 3 for an instance
    with Connection(endpoint.port) as node:
        assert node.command("CONFIG", "GET", "save") == [b"save", b"3600 1"]

    patched.shard_count = 3
    resharded = patch(clusters, patched, "shard_count")
    assert (resharded.shard_count, resharded.size_gb, resharded.precise_size_gb, resharded.state.name) == (3, 39, 39.0, "ACTIVE")
    client = redis.RedisCluster(host=endpoint.address, port=resharded.discovery_endpoints[0].port)
    assert all(client.get(f"key:{index}") == str(index).encode() for index in range(300))
    with Connection(resharded.discovery_endpoints[0].port) as node:
        info = node.command("CLUSTER", "INFO").decode()
        assert "cluster_state:ok" in info and "cluster_known_nodes:3" in info and "cluster_size:3" in info
    client.set("after", "reshard")
    assert client.get("after") == b"reshard"

    finished(clusters, clusters.delete_cluster(name=NAME))
    with pytest.raises(exceptions.NotFound):
        clusters.get_cluster(name=NAME)
    with pytest.raises(OSError):
        Connection(endpoint.port).command("PING")


def test_managed_backups_deletion_protection_automated_backups_and_expiry(clusters, emulator):
    finished(clusters, clusters.create_cluster(parent=PARENT, cluster_id="cache", cluster=new_cluster(
        shard_count=2, node_type="REDIS_SHARED_CORE_NANO", deletion_protection_enabled=True)))
    created = clusters.get_cluster(name=NAME)
    assert (created.size_gb, created.precise_size_gb, created.deletion_protection_enabled) == (3, 2.8, True)
    keys_through_the_cluster(created, 50)

    emulator.admin("config", {"operation_seconds": 0.5})
    operation = clusters.backup_cluster(request={"name": NAME, "backup_id": "before-upgrade", "ttl": "172800s"})
    status, again = raw(emulator, "POST", NAME + ":backup", {})
    assert status == 400 and again["error"]["status"] == "FAILED_PRECONDITION"  # one backup at a time
    polled = finished(clusters, operation)
    emulator.admin("config", {"operation_seconds": 0})
    with pytest.raises(ParseError):  # google-api-core's own polling refuses what its protos do not know, as against Google
        operation.result(timeout=10)
    assert polled["response"]["@type"] == "type.googleapis.com/google.cloud.redis.cluster.v1.Cluster"
    cluster = clusters.get_cluster(name=NAME)
    collection = cluster.backup_collection
    assert collection.startswith(PARENT + "/backupCollections/")
    backups = list(clusters.list_backups(parent=collection))
    assert [b.name.rsplit("/", 1)[1] for b in backups] == ["before-upgrade"]
    backup = backups[0]
    assert (backup.cluster, backup.cluster_uid, backup.backup_type.name, backup.state.name, backup.shard_count, backup.node_type.name) == \
        (NAME, created.uid, "ON_DEMAND", "ACTIVE", 2, "REDIS_SHARED_CORE_NANO")
    assert [f.file_name for f in backup.backup_files] == ["shard-0.rdb", "shard-1.rdb"]
    assert backup.total_size_bytes == sum(f.size_bytes for f in backup.backup_files) > 0
    assert (backup.expire_time - backup.create_time).total_seconds() == 172800
    status, documented = raw(emulator, "GET", backup.name)
    assert status == 200 and set(documented) | {"replicaCount"} == set(fixture("redis_cluster_backup_docs.json")["response"])  # 0 replicas: not printed
    finished(clusters, clusters.backup_cluster(name=NAME))
    default = clusters.get_cluster(name=NAME)
    named = sorted(b.name.rsplit("/", 1)[1] for b in clusters.list_backups(parent=collection))
    assert named[0].endswith("_" + created.uid[:8]) and len(named[0].split("_")[0]) == 14 and named[1] == "before-upgrade"
    assert [c.name for c in clusters.list_backup_collections(parent=PARENT)] == [default.backup_collection]
    assert clusters.get_backup_collection(name=collection).cluster == NAME

    # Deletion protection: the delete is refused until a patch turns it off.
    status, refused = raw(emulator, "DELETE", NAME)
    assert status == 400 and refused["error"]["status"] == "FAILED_PRECONDITION" and "deletion protected" in refused["error"]["message"]

    # Automated backups: taken at the schedule's hour as the emulator's clock passes it, removed past their retention.
    cluster = clusters.get_cluster(name=NAME)
    cluster.automated_backup_config = redis_cluster_v1.AutomatedBackupConfig(
        automated_backup_mode="ENABLED", retention="86400s",
        fixed_frequency_schedule=redis_cluster_v1.AutomatedBackupConfig.FixedFrequencySchedule(start_time={"hours": 3}))
    patch(clusters, cluster, "automated_backup_config")
    emulator.admin("clock", {"offset_seconds": 3 * 86400})
    automated = [b for b in clusters.list_backups(parent=collection) if b.backup_type.name == "AUTOMATED"]
    assert len(automated) == 1 and automated[0].create_time.hour == 3  # the ones before it have expired already
    assert (automated[0].expire_time - automated[0].create_time).total_seconds() == 86400
    assert [b.name.rsplit("/", 1)[1] for b in clusters.list_backups(parent=collection) if b.backup_type.name == "ON_DEMAND"] == [named[0]]  # 2 days

    deleted = finished(clusters, clusters.delete_backup(name=automated[0].name))
    assert deleted["response"] == {"@type": "type.googleapis.com/google.protobuf.Empty"}
    with pytest.raises(exceptions.NotFound):
        clusters.get_backup(name=automated[0].name)

    cluster = clusters.get_cluster(name=NAME)
    cluster.deletion_protection_enabled = False
    assert patch(clusters, cluster, "deletion_protection_enabled").deletion_protection_enabled is False
    finished(clusters, clusters.delete_cluster(name=NAME))
    assert [b.name.rsplit("/", 1)[1] for b in clusters.list_backups(parent=collection)] == [named[0]]  # backups outlive their cluster


BAD = [
    ({"shardCount": 0, "pscConfigs": [{"network": NETWORK}]}, "shard_count must be from 1 through 250"),
    ({"shardCount": 1, "replicaCount": 3, "pscConfigs": [{"network": NETWORK}]}, "replica_count must be from 0 through 2"),
    ({"shardCount": 1}, "psc_configs must hold one PscConfig"),
    ({"shardCount": 1, "pscConfigs": [{"network": "default"}]}, "psc_configs must hold one PscConfig"),
    ({"shardCount": 1, "pscConfigs": [{"network": NETWORK}], "nodeType": "REDIS_TINY"}, "Invalid value at 'cluster.node_type'"),
    ({"shardCount": 1, "pscConfigs": [{"network": NETWORK}], "zoneDistributionConfig": {"mode": "SINGLE_ZONE"}}, "A SINGLE_ZONE cluster needs"),
    ({"shardCount": 1, "pscConfigs": [{"network": NETWORK}], "persistenceConfig": {"mode": "AOF", "aofConfig": {}, "rdbConfig": {}}},
     "unable to update RDB and AOF config at the same time"),
    ({"shardCount": 1, "pscConfigs": [{"network": NETWORK}], "redisConfigs": {"save": "60 1"}}, "Invalid redis config [save]"),
    ({"shardCount": 1, "pscConfigs": [{"network": NETWORK}], "redisConfigs": {"maxmemory-policy": "lru"}}, "Invalid value [lru] of maxmemory-policy"),
    ({"shardCount": 1, "pscConfigs": [{"network": NETWORK}], "automatedBackupConfig": {"automatedBackupMode": "ENABLED"}}, "start_time is required"),
    ({"shardCount": 1, "pscConfigs": [{"network": NETWORK}], "automatedBackupConfig": {
        "automatedBackupMode": "ENABLED", "fixedFrequencySchedule": {"startTime": {"hours": 1}}, "retention": "40000000s"}}, "from 1 day to 365 days"),
    ({"shardCount": 1, "pscConfigs": [{"network": NETWORK}], "labels": {"Env": "x"}}, "label"),
]


@pytest.mark.parametrize(("body", "words"), BAD)
def test_bad_clusters_are_refused_and_nothing_runs(emulator, body, words):
    status, answer = raw(emulator, "POST", PARENT + "/clusters", body, "&clusterId=cache")
    assert status == 400 and answer["error"]["status"] == "INVALID_ARGUMENT" and words in answer["error"]["message"], answer
    assert raw(emulator, "GET", NAME)[0] == 404


def test_a_bad_cluster_id_and_a_bad_backup_ttl_are_refused(emulator):
    status, answer = raw(emulator, "POST", PARENT + "/clusters", {"shardCount": 1, "pscConfigs": [{"network": NETWORK}]}, "&clusterId=Cache_1")
    assert status == 400 and "Invalid cluster id [Cache_1]" in answer["error"]["message"]
    status, answer = raw(emulator, "POST", NAME + ":backup", {"ttl": "60s"})
    assert status == 400 and answer["error"]["message"] == "ttl must be from 1 day to 100 years, not 60s."
    assert raw(emulator, "POST", NAME + ":backup", {"ttl": "86400s"})[0] == 404
