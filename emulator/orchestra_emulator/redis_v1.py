"""Memorystore for Redis API v1 (redis.v1.json): instances (create, get, list, patch, delete, upgrade, export,
import, getAuthString) and their operations, each instance backed by a real redis-server; clusters and their backups
are redis_clusters.py's, served here.

Stored under state["resources"]["redis.v1"]["instances"]: {instance name: {"instance": the Instance as Google returns
it, "settleAt": when its current operation ends, or null, "authString": its AUTH string or null}}. Shapes follow
k8s-config-connector's recording of a redisinstance (tests/fixtures/google/redis_instance_*.json): a create answers an
operation whose metadata (google.cloud.redis.v1.OperationMetadata) has apiVersion, createTime, target and verb, and
whose response is the READY instance with what Google fills in (locationId and currentLocationId a zone of the
region, authorizedNetwork the project's default network, connectMode DIRECT_PEERING, transitEncryptionMode DISABLED,
readReplicasMode READ_REPLICAS_DISABLED, persistenceConfig DISABLED, redisVersion REDIS_7_0, nodes, reservedIpRange,
persistenceIamIdentity `serviceAccount:service-{project number}@cloud-redis.iam.gserviceaccount.com`, port 6379 on
Google); a delete's response is google.protobuf.Empty. Meanwhile the instance is CREATING, UPDATING, IMPORTING or
DELETING; it settles when read after `operation_seconds`.

Each instance runs a redis-server (Debian's) on a free loopback port, its data under `<state dir>/redis/`: `host` is
127.0.0.1 and `port` that port. Its maxmemory is memorySizeGb (or redisConfigs' maxmemory-gb) scaled to MEGABYTES_PER_GB
megabytes, its other redisConfigs are the server's own settings, and with authEnabled it requires the instance's AUTH
string. `:export` SAVEs and writes the RDB file as a Cloud Storage object; `:import` stops the server, puts the object's
RDB in place and starts it again. A sampler writes each instance's memory usage ratio and connected clients, read from
its server's INFO, to the metrics sink every monitoring_sample_seconds.
"""

import copy
import ipaddress
import os
import re
import secrets
import shutil
import subprocess
import time

from orchestra_emulator import metrics, paging, redis_clusters, storage_v1
from orchestra_emulator.clock import timestamp
from orchestra_emulator.discovery import camel_case
from orchestra_emulator.errors import RPC_CODES, ApiError, already_exists, failed_precondition, invalid_argument, not_found
from orchestra_emulator.operations import done_time, typed
from orchestra_emulator.projects import project_number, regional_parent
from orchestra_emulator.registry import EmulatedApi, register
from orchestra_emulator.resp import Connection, RedisError, free_port, port_free

DOCUMENT = "redis.v1"
PACKAGE = "google.cloud.redis.v1"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
HOST = "127.0.0.1"
MEGABYTES_PER_GB = 4
SAVE_SECONDS = 600
READY, CREATING, UPDATING, DELETING, IMPORTING = "READY", "CREATING", "UPDATING", "DELETING", "IMPORTING"
# Instance.redisVersion (redis.v1.json), oldest first; REDIS_7_0 is the default.
VERSIONS = ("REDIS_3_2", "REDIS_4_0", "REDIS_5_0", "REDIS_6_X", "REDIS_7_0", "REDIS_7_2")
DEFAULT_VERSION = "REDIS_7_0"
# https://cloud.google.com/memorystore/docs/redis/redis-tiers: Basic Tier 1 to 300 GB, Standard Tier 5 to 300 GB.
MEMORY_GB = {"BASIC": (1, 300), "STANDARD_HA": (5, 300)}
# Instance.redisConfigs (redis.v1.json): the parameters Google accepts, by the first version that has them.
CONFIGS = {"maxmemory-policy": "REDIS_3_2", "notify-keyspace-events": "REDIS_3_2", "activedefrag": "REDIS_4_0", "lfu-decay-time": "REDIS_4_0",
           "lfu-log-factor": "REDIS_4_0", "maxmemory-gb": "REDIS_4_0", "stream-node-max-bytes": "REDIS_5_0", "stream-node-max-entries": "REDIS_5_0"}
# https://cloud.google.com/memorystore/docs/redis/supported-redis-configurations: maxmemory-policy's values.
MAXMEMORY_POLICIES = ("volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu", "volatile-random", "allkeys-random", "volatile-ttl", "noeviction")
# instances.patch's updateMask (redis.v1.json names displayName, labels, memorySizeGb, redisConfig, replica_count; the
# REST reference adds the rest). Fields not here are fixed at creation: a mask naming them is refused.
UPDATABLE = ("displayName", "labels", "memorySizeGb", "redisConfigs", "replicaCount", "readReplicasMode", "secondaryIpRange", "persistenceConfig",
             "maintenancePolicy", "authEnabled")
_MASK_ALIASES = {"redisConfig": "redisConfigs"}
# Instance ids: https://cloud.google.com/memorystore/docs/redis/create-instance-gcloud - a lowercase letter, then up to
# 39 lowercase letters, digits or hyphens, not ending with a hyphen.
_INSTANCE_ID = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
_GCS_URI = re.compile(r"^gs://([^/]+)/(.+)$")
_TRANSIENT = {CREATING: READY, UPDATING: READY, IMPORTING: READY}
# Memorystore's metrics (https://cloud.google.com/monitoring/api/metrics_gcp, redis), GAUGE, sampled from every instance's
# server every monitoring_sample_seconds on the redis_instance resource: project_id, region, instance_id (the instance's
# full name, as a real timeSeries.list answer has it: tests/fixtures/google/monitoring_redis_time_series.json) and
# node_id; metric label role.
USAGE_RATIO = "redis.googleapis.com/stats/memory/usage_ratio"
CONNECTED_CLIENTS = "redis.googleapis.com/clients/connected"
RESOURCE_TYPE = "redis_instance"


@register
class RedisV1(EmulatedApi):
    document = DOCUMENT
    proto_package = PACKAGE

    def __init__(self, shared):
        super().__init__(shared)
        self._store = shared.store
        self._servers = Servers(os.path.join(os.path.dirname(shared.store.path), "redis"))
        self._clusters = redis_clusters.Clusters(shared.store, os.path.join(os.path.dirname(shared.store.path), "redis-clusters"), self.operations)
        self._metrics = shared.metrics
        self._metrics.describe(USAGE_RATIO, "GAUGE", "DOUBLE", "")
        self._metrics.describe(CONNECTED_CLIENTS, "GAUGE", "INT64", "1")
        self._sampler = metrics.Every("memorystore-metrics", lambda: metrics.sample_seconds(self._store), self._sample)
        prefix = "redis.projects.locations."
        self.handlers = {
            prefix + "instances.create": (self.create, "instance"),
            prefix + "instances.get": (self.get, None),
            prefix + "instances.list": (self.list, None),
            prefix + "instances.patch": (self.patch, "instance"),
            prefix + "instances.delete": (self.delete, None),
            prefix + "instances.upgrade": (self.upgrade, ""),
            prefix + "instances.export": (self.export, ""),
            prefix + "instances.import": (self.import_, ""),
            prefix + "instances.getAuthString": (self.get_auth_string, None),
            **self.operations.handlers(prefix, regional_parent),
            **self._clusters.handlers(prefix),
        }

    def restore(self):
        """Start the server of every instance of the saved state, on its port when that port is free."""
        with self._store.mutate() as data:
            for name, entry in _instances(data).items():
                entry["instance"]["port"] = self._servers.start(name, entry["instance"], entry["authString"], entry["instance"]["port"])
        self._clusters.restore()
        self._sampler.start()

    def close(self):
        self._sampler.stop()
        self._servers.stop_all()
        self._clusters.close()

    def _sample(self):
        """Write each instance's memory usage ratio (used_memory / maxmemory) and connected clients (without the
        sampler's own connection), read from its server's INFO; an instance whose server does not answer (importing,
        deleting) is skipped."""
        with self._store.lock:
            names = [name for name, entry in _instances(self._store.data).items() if entry["instance"]["state"] != DELETING]
        for name in names:
            try:
                info = self._servers.info(name)
            except (OSError, RedisError, KeyError):
                continue
            project, region, _instance_id = name.split("/")[1::2]
            resource = {"project_id": project, "region": region, "instance_id": name, "node_id": "node-0"}
            role = {"role": "primary"}
            if int(info["maxmemory"]):
                self._metrics.write(USAGE_RATIO, role, RESOURCE_TYPE, resource, int(info["used_memory"]) / int(info["maxmemory"]))
            self._metrics.write(CONNECTED_CLIENTS, role, RESOURCE_TYPE, resource, int(info["connected_clients"]) - 1)

    def create(self, request):
        instance_id = request.query.get("instanceId", "")
        if not _INSTANCE_ID.match(instance_id):
            raise invalid_argument(f"Invalid instance id [{instance_id}]: it must start with a lowercase letter, hold up to 40 lowercase letters, "
                                   "digits and hyphens, and not end with a hyphen.", field="instance_id")
        parent = regional_parent(request.variables)
        name = f"{parent}/instances/{instance_id}"
        instance = _checked(_with_defaults(request.body, parent))
        with self._store.mutate() as data:
            instances = _settle(data, self._servers)
            if name in instances:
                raise already_exists(f"Resource '{name}' already exists.")
            auth = secrets.token_urlsafe(24) if instance.get("authEnabled") else None
            instance.update(name=name, host=HOST, createTime=timestamp(time.time()), state=CREATING)
            instance["port"] = self._servers.start(name, instance, auth)
            instance = _filled(instance)
            instances[name] = {"instance": instance, "settleAt": done_time(data), "authString": auth}
            self._sampler.start()
            return self._operation(data, name, "create", typed(f"{PACKAGE}.Instance", {**instance, "state": READY}))

    def get(self, request):
        with self._store.mutate() as data:
            return copy.deepcopy(_entry(data, _name(request.variables), self._servers)["instance"])

    def list(self, request):
        parent = regional_parent(request.variables)
        with self._store.mutate() as data:
            instances = [copy.deepcopy(entry["instance"]) for name, entry in sorted(_settle(data, self._servers).items()) if name.startswith(parent + "/")]
        page, next_token = paging.page(instances, request.query.get("pageSize"), request.query.get("pageToken"))
        return {"instances": page, "nextPageToken": next_token}

    def patch(self, request):
        fields = [_MASK_ALIASES.get(field, field) for field in (camel_case(path.strip()) for path in request.query.get("updateMask", "").split(",")) if field]
        if not fields:
            raise invalid_argument("updateMask must name at least one field.", field="update_mask")
        fixed = sorted(set(fields) - set(UPDATABLE))
        if fixed:
            raise invalid_argument(f"These fields of an instance cannot be updated: {', '.join(fixed)}.", field="update_mask")
        name = _name(request.variables)
        with self._store.mutate() as data:
            entry = _ready(data, name, self._servers)
            current = entry["instance"]
            updated = _checked({**{key: value for key, value in current.items() if key not in fields},
                                **{field: request.body[field] for field in fields if field in request.body}})
            if updated.get("authEnabled") and not entry["authString"]:
                entry["authString"] = secrets.token_urlsafe(24)
            elif not updated.get("authEnabled"):
                entry["authString"] = None
            self._servers.configure(name, updated, entry["authString"])
            entry["instance"] = {**_filled(updated), "state": UPDATING}
            entry["settleAt"] = done_time(data)
            return self._operation(data, name, "update", typed(f"{PACKAGE}.Instance", {**entry["instance"], "state": READY}))

    def delete(self, request):
        name = _name(request.variables)
        with self._store.mutate() as data:
            entry = _entry(data, name, self._servers)
            self._servers.stop(name, remove=True)
            entry["instance"]["state"] = DELETING
            entry["settleAt"] = done_time(data)
            return self._operation(data, name, "delete", typed("google.protobuf.Empty", {}))

    def upgrade(self, request):
        version = request.body.get("redisVersion", "")
        name = _name(request.variables)
        with self._store.mutate() as data:
            entry = _ready(data, name, self._servers)
            current = entry["instance"]["redisVersion"]
            if version not in VERSIONS or VERSIONS.index(version) <= VERSIONS.index(current):
                raise invalid_argument(f"Invalid redis version [{version}]: an instance on {current} upgrades to one of "
                                       f"{', '.join(VERSIONS[VERSIONS.index(current) + 1:]) or 'no later version'}.", field="redis_version")
            entry["instance"].update(redisVersion=version, state=UPDATING)
            entry["settleAt"] = done_time(data)
            return self._operation(data, name, "upgrade", typed(f"{PACKAGE}.Instance", {**entry["instance"], "state": READY}))

    def export(self, request):
        bucket, object_name = _gcs(request.body.get("outputConfig", {}).get("gcsDestination", {}).get("uri", ""), "output_config.gcs_destination.uri")
        name = _name(request.variables)
        with self._store.mutate() as data:
            entry = _ready(data, name, self._servers)
            try:
                storage_v1.put_object(self._store, bucket, object_name, self._servers.save(name))
            except ApiError as error:
                return self._operation(data, name, "export", error=_operation_error(error, f"gs://{bucket}/{object_name}"))
            return self._operation(data, name, "export", typed(f"{PACKAGE}.Instance", copy.deepcopy(entry["instance"])))

    def import_(self, request):
        bucket, object_name = _gcs(request.body.get("inputConfig", {}).get("gcsSource", {}).get("uri", ""), "input_config.gcs_source.uri")
        name = _name(request.variables)
        with self._store.mutate() as data:
            entry = _ready(data, name, self._servers)
            try:
                rdb = storage_v1.read_object(self._store, bucket, object_name)
            except ApiError as error:
                return self._operation(data, name, "import", error=_operation_error(error, f"gs://{bucket}/{object_name}"))
            entry["instance"]["port"], loaded = self._servers.load(name, entry["instance"], entry["authString"], rdb)
            entry["instance"]["state"] = IMPORTING
            entry["settleAt"] = done_time(data)
            if not loaded:
                return self._operation(data, name, "import", error={
                    "code": RPC_CODES["INVALID_ARGUMENT"], "message": f"gs://{bucket}/{object_name}: the instance's Redis cannot load this RDB file."})
            return self._operation(data, name, "import", typed(f"{PACKAGE}.Instance", {**entry["instance"], "state": READY}))

    def get_auth_string(self, request):
        with self._store.mutate() as data:
            auth = _entry(data, _name(request.variables), self._servers)["authString"]
        return {"authString": auth} if auth else {}

    def _operation(self, data, target, verb, response=None, error=None):
        metadata = typed(f"{PACKAGE}.OperationMetadata", {"apiVersion": "v1", "createTime": timestamp(time.time()), "target": target, "verb": verb})
        return self.operations.start(data, target.rsplit("/instances/", 1)[0], metadata=metadata, response=response, error=error)


class Servers:
    """The redis-server processes of the instances, by instance name; each one's data directory under `root`."""

    def __init__(self, root):
        self._root = root
        self._processes = {}
        self._ports = {}
        self._auth = {}

    def start(self, name, instance, auth, port=0):
        """Start the instance's server on `port` (a free one when 0 or taken); returns the port."""
        directory = self._directory(name)
        os.makedirs(directory, exist_ok=True)
        port = port if port and port_free(port) else free_port()
        command = [REDIS_SERVER, "--port", str(port), "--bind", HOST, "--dir", directory, "--dbfilename", "dump.rdb", "--save", "",
                   "--appendonly", "no", "--daemonize", "no", "--maxmemory", f"{_megabytes(instance)}mb"]
        for key, value in _server_configs(instance).items():
            command += [f"--{key}", value]
        if auth:
            command += ["--requirepass", auth]
        self._processes[name] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # pylint: disable=consider-using-with
        self._ports[name], self._auth[name] = port, auth
        deadline = time.time() + 10
        while True:
            try:
                with Connection(port, auth) as connection:
                    connection.command("PING")
                return port
            except OSError:
                if time.time() > deadline or self._processes[name].poll() is not None:
                    raise ApiError("INTERNAL", f"The Redis server of {name} did not start.") from None
                time.sleep(0.02)
            except RedisError as error:  # it answers LOADING while it reads its RDB file (after an import)
                if not str(error).startswith("LOADING") or time.time() > deadline:
                    raise ApiError("INTERNAL", f"The Redis server of {name} did not load its data: {error}.") from None
                time.sleep(0.02)

    def configure(self, name, instance, auth):
        """Apply the instance's memory, redisConfigs and AUTH to its running server."""
        settings = {"maxmemory": f"{_megabytes(instance)}mb", **_server_configs(instance), "requirepass": auth or ""}
        with self._connect(name) as connection:
            for key, value in settings.items():
                connection.command("CONFIG", "SET", key, value)
        self._auth[name] = auth

    def info(self, name):
        """The fields of the server's INFO ({name: text})."""
        with self._connect(name) as connection:
            text = connection.command("INFO").decode()
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))

    def save(self, name):
        """SAVE, and the RDB file's bytes. SAVE blocks the server while it writes: seconds for a few hundred MB (its LZF
        compression tried on every value), so it has a timeout of its own."""
        with self._connect(name, timeout=SAVE_SECONDS) as connection:
            connection.command("SAVE")
        with open(os.path.join(self._directory(name), "dump.rdb"), "rb") as handle:
            return handle.read()

    def load(self, name, instance, auth, rdb):
        """Stop the server, put `rdb` in place of its data and start it again (on its port); returns (the port, whether
        it loaded `rdb`). A server that refuses `rdb` starts again without data: "If an import fails for any reason, the
        instance is brought online, but the data may be fully flushed" (Google's import-export-overview)."""
        self.stop(name)
        path = os.path.join(self._directory(name), "dump.rdb")
        with open(path, "wb") as handle:
            handle.write(rdb)
        try:
            return self.start(name, instance, auth, instance["port"]), True
        except ApiError:
            if self._processes[name].poll() is None:  # still loading when start gave up: not a refusal
                raise
        os.remove(path)
        return self.start(name, instance, auth, instance["port"]), False

    def stop(self, name, remove=False):
        process = self._processes.pop(name, None)
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if remove:
            shutil.rmtree(self._directory(name), ignore_errors=True)

    def stop_all(self):
        for name in list(self._processes):
            self.stop(name)

    def _connect(self, name, timeout=5.0):
        """A connection to the server of `name`, authenticated with the password it runs with."""
        return Connection(self._ports[name], self._auth[name], timeout=timeout)

    def _directory(self, name):
        return os.path.join(self._root, name.replace("/", "_"))


def _with_defaults(sent, parent):
    """A new instance as Google fills it in (see the module's docstring)."""
    project, region = parent.split("/")[1], parent.split("/")[3]
    instance = {key: value for key, value in sent.items() if key != "name"}
    instance.setdefault("locationId", f"{region}-a")
    instance.setdefault("redisVersion", DEFAULT_VERSION)
    instance.setdefault("authorizedNetwork", f"projects/{project}/global/networks/default")
    instance.setdefault("connectMode", "DIRECT_PEERING")
    instance.setdefault("transitEncryptionMode", "DISABLED")
    instance.setdefault("readReplicasMode", "READ_REPLICAS_DISABLED")
    instance.setdefault("persistenceConfig", {"persistenceMode": "DISABLED"})
    if "replicaCount" not in instance and instance.get("tier") == "STANDARD_HA":
        instance["replicaCount"] = 2 if instance["readReplicasMode"] == "READ_REPLICAS_ENABLED" else 1
    instance["currentLocationId"] = instance["locationId"]
    instance["persistenceIamIdentity"] = f"serviceAccount:service-{project_number(project)}@cloud-redis.iam.gserviceaccount.com"
    instance.setdefault("reservedIpRange", _reserved_range(instance))
    return instance


def _checked(instance):
    """The instance after the checks Google makes on its settings."""
    tier = instance.get("tier")
    if tier not in MEMORY_GB:
        raise invalid_argument("tier is required: BASIC or STANDARD_HA.", field="instance.tier")
    low, high = MEMORY_GB[tier]
    if not low <= instance.get("memorySizeGb", 0) <= high:
        raise invalid_argument(f"memorySizeGb of a {tier} instance must be from {low} through {high} GB, not {instance.get('memorySizeGb', 0)}.",
                               field="instance.memory_size_gb")
    version = instance["redisVersion"]
    if version not in VERSIONS:
        raise invalid_argument(f"Invalid redis version [{version}]: one of {', '.join(VERSIONS)}.", field="instance.redis_version")
    read_replicas = instance["readReplicasMode"] == "READ_REPLICAS_ENABLED"
    if read_replicas and tier != "STANDARD_HA":
        raise invalid_argument("Read replicas are only available on STANDARD_HA instances.", field="instance.read_replicas_mode")
    replicas, allowed = instance.get("replicaCount", 0), (range(1, 6) if read_replicas else range(1, 2)) if tier == "STANDARD_HA" else range(0, 1)
    if replicas not in allowed:
        raise invalid_argument(f"replicaCount {replicas} is not valid for this instance: from {allowed.start} through {allowed.stop - 1}.",
                               field="instance.replica_count")
    for key, value in instance.get("redisConfigs", {}).items():
        if key not in CONFIGS or VERSIONS.index(CONFIGS[key]) > VERSIONS.index(version):
            raise invalid_argument(f"Invalid redis config [{key}] for {version}: one of "
                                   f"{', '.join(k for k, since in CONFIGS.items() if VERSIONS.index(since) <= VERSIONS.index(version))}.",
                                   field="instance.redis_configs")
        if key == "maxmemory-policy" and value not in MAXMEMORY_POLICIES:
            raise invalid_argument(f"Invalid value [{value}] of maxmemory-policy: one of {', '.join(MAXMEMORY_POLICIES)}.", field="instance.redis_configs")
    if instance["connectMode"] == "DIRECT_PEERING":
        try:
            prefix = ipaddress.IPv4Network(instance["reservedIpRange"]).prefixlen
        except ValueError:
            prefix = None
        if prefix is None or prefix > (28 if read_replicas else 29):
            raise invalid_argument(f"Invalid reserved IP range [{instance['reservedIpRange']}]: an IPv4 range of at least "
                                   f"/{28 if read_replicas else 29}.", field="instance.reserved_ip_range")
    return _filled(instance)


def _filled(instance):
    """The output fields that follow the settings: the nodes, and the read endpoint with read replicas."""
    filled = {key: value for key, value in instance.items() if key not in ("readEndpoint", "readEndpointPort")}
    zone = filled["locationId"]
    filled["nodes"] = [{"id": f"node-{index}", "zone": zone if index == 0 else filled.get("alternativeLocationId", zone[:-1] + "b")}
                       for index in range(1 + filled.get("replicaCount", 0))]
    if filled["readReplicasMode"] == "READ_REPLICAS_ENABLED" and "port" in filled:
        filled.update(readEndpoint=HOST, readEndpointPort=filled["port"])
    return filled


def _reserved_range(instance):
    """A /29 (a /28 with read replicas) Google would choose, here from the instance's zone and the time."""
    prefix = 28 if instance["readReplicasMode"] == "READ_REPLICAS_ENABLED" else 29
    return f"10.{time.time_ns() % 250}.{sum(instance['locationId'].encode()) % 250}.0/{prefix}"


def _server_configs(instance):
    """redisConfigs as redis-server settings: every one but maxmemory-gb (Google's own, see _megabytes)."""
    return {key: value for key, value in instance.get("redisConfigs", {}).items() if key != "maxmemory-gb"}


def _megabytes(instance):
    gigabytes = float(instance.get("redisConfigs", {}).get("maxmemory-gb", instance["memorySizeGb"]))
    return max(1, int(gigabytes * MEGABYTES_PER_GB))


def _gcs(uri, field):
    found = _GCS_URI.match(uri)
    if not found:
        raise invalid_argument(f"Invalid Cloud Storage URI [{uri}]: gs://BUCKET/OBJECT.", field=field)
    return found.groups()


def _operation_error(error, uri):
    """The error a failed export or import operation carries (google.rpc.Status in JSON): NOT_FOUND for a missing
    bucket or object."""
    return {"code": RPC_CODES["NOT_FOUND" if error.http_status == 404 else "FAILED_PRECONDITION"], "message": f"{uri}: {error.message}"}


def _instances(data):
    return data["resources"].setdefault(DOCUMENT, {}).setdefault("instances", {})


def _settle(data, servers):
    """Every instance whose operation is over in its settled state (a deleted one gone); returns them."""
    instances = _instances(data)
    for name, entry in list(instances.items()):
        if entry["settleAt"] is not None and time.time() >= entry["settleAt"]:
            if entry["instance"]["state"] == DELETING:
                servers.stop(name, remove=True)
                del instances[name]
                continue
            entry["instance"]["state"] = _TRANSIENT.get(entry["instance"]["state"], entry["instance"]["state"])
            entry["settleAt"] = None
    return instances


def _entry(data, name, servers):
    entry = _settle(data, servers).get(name)
    if entry is None:
        raise not_found(f"Resource '{name}' was not found")  # Google's words (tests/fixtures/google/redis_instance_not_found.json)
    return entry


def _ready(data, name, servers):
    entry = _entry(data, name, servers)
    if entry["instance"]["state"] != READY:
        raise failed_precondition(f"The instance is {entry['instance']['state']}: only a READY instance can take this request.")
    return entry


def _name(variables):
    return f"{regional_parent(variables)}/instances/{variables['instancesId']}"
