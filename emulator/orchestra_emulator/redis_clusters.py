"""Memorystore for Redis Cluster (redis.v1.json: projects.locations.clusters, backupCollections and their backups),
served by redis_v1.RedisV1 beside the instances, each cluster backed by a real Redis Cluster of redis-server processes.

Stored under state["resources"]["redis.v1"]: "clusters" {cluster name: {"cluster": the Cluster as Google returns it,
"settleAt": when its current operation ends or null, "nodes": [{"key", "port", "id"}], "lastAutomated": epoch seconds of
the last automated backup (or of enabling them)}}, "backupCollections" {name: BackupCollection} and "backups" {backup
name: {"backup": the Backup, "settleAt"}}.

Shapes follow k8s-config-connector's recordings of a RedisCluster against redis.googleapis.com
(tests/fixtures/google/redis_cluster_*.json): operation metadata google.cloud.redis.cluster.v1.OperationMetadata (apiVersion,
createTime, requestedCancellation false, target, verb), a done create's response the ACTIVE Cluster with what Google
fills in (nodeType REDIS_HIGHMEM_MEDIUM, replicaCount 0, authorizationMode AUTH_MODE_DISABLED, transitEncryptionMode
TRANSIT_ENCRYPTION_MODE_DISABLED, persistenceConfig DISABLED, automatedBackupConfig DISABLED, zoneDistributionConfig
MULTI_ZONE, deletionProtectionEnabled false, sizeGb from the node type, discoveryEndpoints, pscConnections, uid, ...),
pscConfigs never answered, enums answered by name inside an operation even when numbers are asked, and a patch applying
only the field its mask names. Google takes one update mask path per patch (`exactly 1 update_mask field must be
specified per update request`) and names the paths it allows when one is not (both quoted from Google's 400s in
terraform-provider-google issues 27002 and 20187).

Each shard is one redis-server started with `--cluster-enabled yes` on a free loopback port (its cluster bus on the port
+ 10000), its data under `<state dir>/redis-clusters/`; the nodes meet and the 16384 slots are split in contiguous
ranges, and the cluster is ACTIVE once every node answers `cluster_state:ok`. A new shard count moves slots (and their
keys, with MIGRATE) between the nodes. Replicas are metadata only: `replicaCount` is kept and reported, no replica
process runs. A node's maxmemory is its node type's capacity scaled to MEGABYTES_PER_GB megabytes; redisConfigs and
persistence (RDB `save`, AOF `appendonly`/`appendfsync`) are the servers' settings. `:backup` SAVEs every node and keeps
the RDB files as a managed backup of the cluster's backup collection; with automated backups enabled the emulator takes
one at every due start time as its clock passes it (clock.py), and backups past their expireTime are removed.
"""

import copy
import datetime
import math
import os
import re
import shutil
import subprocess
import time
import uuid

from orchestra_emulator import clock, paging
from orchestra_emulator.discovery import camel_case, snake_case
from orchestra_emulator.errors import ApiError, already_exists, failed_precondition, invalid_argument, not_found
from orchestra_emulator.operations import done_time, typed
from orchestra_emulator.projects import project_number, regional_parent
from orchestra_emulator.resources import check_labels
from orchestra_emulator.resp import Connection, RedisError, free_port, port_free

DOCUMENT = "redis.v1"
PACKAGE = "google.cloud.redis.cluster.v1"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
HOST = "127.0.0.1"
SLOTS = 16384
MEGABYTES_PER_GB = 4
CREATING, ACTIVE, UPDATING, DELETING = "CREATING", "ACTIVE", "UPDATING", "DELETING"
# https://cloud.google.com/memorystore/docs/cluster/cluster-node-specification: total node capacity (GB) of the node
# types it documents. redis.v1.json has three more (REDIS_HIGHCPU_MEDIUM, REDIS_STANDARD_LARGE, REDIS_HIGHMEM_2XLARGE)
# whose capacity is not known here: they are taken, without sizeGb, and their nodes get DEFAULT_GB.
NODE_GB = {"REDIS_SHARED_CORE_NANO": 1.4, "REDIS_STANDARD_SMALL": 6.5, "REDIS_HIGHMEM_MEDIUM": 13.0, "REDIS_HIGHMEM_XLARGE": 58.0}
DEFAULT_GB = 13.0
NODE_TYPES = ("REDIS_SHARED_CORE_NANO", "REDIS_HIGHMEM_MEDIUM", "REDIS_HIGHMEM_XLARGE", "REDIS_STANDARD_SMALL", "REDIS_HIGHCPU_MEDIUM",
              "REDIS_STANDARD_LARGE", "REDIS_HIGHMEM_2XLARGE")
DEFAULT_NODE_TYPE = "REDIS_HIGHMEM_MEDIUM"
# Shards: the recording creates one; 250 as the largest is an assumption. Replicas per shard: 0, 1 or 2
# (https://cloud.google.com/memorystore/docs/cluster/memorystore-for-redis-cluster-overview).
SHARDS = (1, 250)
REPLICAS = (0, 2)
# https://cloud.google.com/memorystore/docs/cluster/supported-instance-configurations: maxmemory-policy's values (the
# default volatile-lru) and the parameters a cluster takes, with the value a server gets back when one is removed.
MAXMEMORY_POLICIES = ("noeviction", "allkeys-lfu", "allkeys-lru", "volatile-lfu", "volatile-lru", "allkeys-random", "volatile-random", "volatile-ttl")
CONFIG_DEFAULTS = {"maxmemory-policy": "volatile-lru", "maxmemory-clients": "0", "notify-keyspace-events": "", "slowlog-log-slower-than": "10000"}
# maxclients too; a server keeps the last value set when it is removed (its limit depends on the host's open files).
CONFIGS = tuple(CONFIG_DEFAULTS) + ("maxclients",)
# The update mask paths Google names in its refusal (terraform-provider-google issue 20187), and the later fields of
# redis.v1.json taken in place here (automated backups, node type, labels): snake_case path -> the Cluster field.
ALLOWED_PATHS = ("persistence_config", "deletion_protection_enabled", "maintenance_policy.weekly_maintenance_window", "cross_cluster_replication_config",
                 "display_name", "shard_count", "replica_count", "redis_configs", "maintenance_window", "maintenance_policy.deny_maintenance_periods",
                 "cluster_endpoints", "automated_backup_config", "node_type", "labels")
_PATH_FIELDS = {"maintenance_policy.weekly_maintenance_window": "maintenancePolicy", "maintenance_policy.deny_maintenance_periods": "maintenancePolicy",
                "maintenance_window": "maintenancePolicy", "display_name": None}
_MAPS = ("redisConfigs", "labels")
# Cluster ids: a lowercase letter, then up to 62 lowercase letters, digits or hyphens, not ending with a hyphen (the
# emulator's rule, as for instances; Google's exact bounds are not known here).
_CLUSTER_ID = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_BACKUP_ID = re.compile(r"^[A-Za-z0-9]([-_A-Za-z0-9]{0,61}[A-Za-z0-9])?$")
_NETWORK = re.compile(r"^projects/[^/]+/global/networks/[^/]+$")
_DURATION = re.compile(r"^(\d+)(\.\d+)?s$")
_DAY = 86400
TTL_BOUNDS = (_DAY, 100 * 365 * _DAY)  # BackupClusterRequest.ttl: 1 day to 100 years, 100 years by default
RETENTION_BOUNDS = (_DAY, 365 * _DAY)  # AutomatedBackupConfig.retention: 1 to 365 days
DEFAULT_RETENTION = 35 * _DAY  # assumed: the default retention of automated backups is not known here
ENGINE_VERSION = "redis-7.2"  # Backup.engineVersion's example; the processes are Debian's redis-server
NODE_TIMEOUT_MS = 2000


class Clusters:
    """The clusters of redis.v1, their backups and backup collections: handlers for redis_v1.RedisV1."""

    def __init__(self, store, root, operations):
        self._store = store
        self._operations = operations
        self._nodes = Nodes(root)
        self._backups_root = os.path.join(root, "backups")

    def handlers(self, prefix):
        return {
            prefix + "clusters.create": (self.create, "cluster"),
            prefix + "clusters.get": (self.get, None),
            prefix + "clusters.list": (self.list, None),
            prefix + "clusters.patch": (self.patch, "cluster"),
            prefix + "clusters.delete": (self.delete, None),
            prefix + "clusters.backup": (self.backup, ""),
            prefix + "backupCollections.get": (self.get_collection, None),
            prefix + "backupCollections.list": (self.list_collections, None),
            prefix + "backupCollections.backups.get": (self.get_backup, None),
            prefix + "backupCollections.backups.list": (self.list_backups, None),
            prefix + "backupCollections.backups.delete": (self.delete_backup, None),
        }

    def restore(self):
        """Start the nodes of every saved cluster on their ports (their nodes.conf holds the cluster's layout)."""
        with self._store.mutate() as data:
            for name, entry in _clusters(data).items():
                if entry["nodes"]:
                    entry["nodes"] = self._nodes.restart(name, entry["nodes"], entry["cluster"])
                    _fill_endpoints(entry)

    def close(self):
        self._nodes.stop_all()

    # -- clusters ------------------------------------------------------------------------

    def create(self, request):
        cluster_id = request.query.get("clusterId", "")
        if not _CLUSTER_ID.match(cluster_id):
            raise invalid_argument(f"Invalid cluster id [{cluster_id}]: it must start with a lowercase letter, hold up to 63 lowercase letters, "
                                   "digits and hyphens, and not end with a hyphen.", field="cluster_id")
        parent = regional_parent(request.variables)
        name = f"{parent}/clusters/{cluster_id}"
        cluster = _checked(_with_defaults(request.body), parent)
        with self._store.mutate() as data:
            clusters = self._settle(data)
            if name in clusters:
                raise already_exists(f"Resource '{name}' already exists.")
            cluster.update(name=name, createTime=clock.timestamp(clock.now(data)), state=CREATING, uid=str(uuid.uuid4()))
            clusters[name] = {"cluster": cluster, "settleAt": None, "nodes": [], "lastAutomated": clock.now(data)}
        try:  # outside the lock: a cluster takes about two seconds to agree that it is up
            nodes = self._nodes.create(name, cluster, cluster["shardCount"])
        except ApiError:
            with self._store.mutate() as data:
                _clusters(data).pop(name, None)
            raise
        with self._store.mutate() as data:
            entry = _clusters(data).get(name)
            if entry is None or entry["cluster"]["state"] != CREATING:  # deleted meanwhile
                self._nodes.stop(name, nodes, remove=True)
                raise not_found(f"Resource '{name}' was not found")
            entry["nodes"] = nodes
            _fill_endpoints(entry)
            entry["settleAt"] = done_time(data)
            return self._operation(data, name, "create", typed(f"{PACKAGE}.Cluster", _answer({**entry["cluster"], "state": ACTIVE})))

    def get(self, request):
        with self._store.mutate() as data:
            return _answer(self._entry(data, _cluster_name(request.variables))["cluster"])

    def list(self, request):
        parent = regional_parent(request.variables)
        with self._store.mutate() as data:
            clusters = [_answer(entry["cluster"]) for name, entry in sorted(self._settle(data).items()) if name.startswith(parent + "/")]
        page, next_token = paging.page(clusters, request.query.get("pageSize"), request.query.get("pageToken"))
        return {"clusters": page, "nextPageToken": next_token}

    def patch(self, request):
        paths = [path.strip() for path in request.query.get("updateMask", "").split(",") if path.strip()]
        if len(paths) != 1:
            raise invalid_argument("exactly 1 update_mask field must be specified per update request", field="update_mask")
        path = ".".join(snake_case(part) for part in paths[0].split("."))
        if path not in ALLOWED_PATHS:
            raise invalid_argument(f"unsupported path in fieldMask: {path}. Allowed values are {', '.join(ALLOWED_PATHS)}", field=path)
        field = _PATH_FIELDS.get(path, camel_case(path))
        name = _cluster_name(request.variables)
        with self._store.mutate() as data:
            entry = self._ready(data, name)
            current = entry["cluster"]
            if field is not None and field not in request.body and field not in _MAPS:
                raise invalid_argument(f"update mask contained field path: {path} but value not provided in request", field=path)
            updated = copy.deepcopy(current)
            if field is not None:
                updated.pop(field, None)
                if field in request.body:
                    updated[field] = copy.deepcopy(request.body[field])
            updated = _checked(updated, name.rsplit("/clusters/", 1)[0])
            if field == "automatedBackupConfig" and _automated(updated) and not _automated(current):
                entry["lastAutomated"] = clock.now(data)
            reshard = updated["shardCount"] != current["shardCount"]
            entry["cluster"] = {**updated, "state": UPDATING}
            if reshard:
                entry["cluster"]["stateInfo"] = {"updateInfo": {"targetShardCount": updated["shardCount"]}}
            nodes = entry["nodes"]
        if reshard:  # outside the lock: slots and keys move between the nodes
            nodes = self._nodes.reshard(name, nodes, updated)
        else:
            self._nodes.configure(nodes, updated)
        with self._store.mutate() as data:
            entry = _clusters(data).get(name)
            if entry is None:
                raise not_found(f"Resource '{name}' was not found")
            entry["nodes"] = nodes
            entry["cluster"].pop("stateInfo", None)
            _fill_endpoints(entry)
            entry["settleAt"] = done_time(data)
            return self._operation(data, name, "update", typed(f"{PACKAGE}.Cluster", _answer({**entry["cluster"], "state": ACTIVE})))

    def delete(self, request):
        name = _cluster_name(request.variables)
        with self._store.mutate() as data:
            entry = self._entry(data, name)
            if entry["cluster"].get("deletionProtectionEnabled"):
                # k8s-config-connector's mock of the API answers these words; Google's own are not recorded.
                raise failed_precondition("The cluster is deletion protected. Please disable deletion protection to delete the cluster. "
                                          "To disable, update DeleteProtectionEnabled to false via the Update API")
            self._nodes.stop(name, entry["nodes"], remove=True)
            entry["nodes"] = []
            entry["cluster"]["state"] = DELETING
            entry["cluster"].pop("discoveryEndpoints", None)
            entry["settleAt"] = done_time(data)
            return self._operation(data, name, "delete", typed("google.protobuf.Empty", {}))

    # -- backups -------------------------------------------------------------------------

    def backup(self, request):
        name = _cluster_name(request.variables)
        ttl = _seconds(request.body.get("ttl"), TTL_BOUNDS, "ttl", "from 1 day to 100 years") if "ttl" in request.body else TTL_BOUNDS[1]
        backup_id = request.body.get("backupId")
        if backup_id is not None and not _BACKUP_ID.match(backup_id):
            raise invalid_argument(f"Invalid backup id [{backup_id}]: up to 63 letters, digits, hyphens and underscores, starting and ending "
                                   "with a letter or digit.", field="backup_id")
        with self._store.mutate() as data:
            entry = self._ready(data, name)
            if any(b["settleAt"] is not None and b["backup"]["cluster"] == name for b in _backups(data).values()):
                raise failed_precondition(f"A backup of {name} is in progress: a cluster takes one backup at a time.")
            self._take_backup(data, entry, "ON_DEMAND", clock.now(data), ttl, backup_id)
            return self._operation(data, name, "backup", typed(f"{PACKAGE}.Cluster", _answer(entry["cluster"])))

    def get_collection(self, request):
        with self._store.mutate() as data:
            self._settle(data)
            name = _collection_name(request.variables)
            collection = _collections(data).get(name)
            if collection is None:
                raise not_found(f"Resource '{name}' was not found")
            return _collection_view(data, collection)

    def list_collections(self, request):
        parent = regional_parent(request.variables)
        with self._store.mutate() as data:
            self._settle(data)
            collections = [_collection_view(data, c) for n, c in sorted(_collections(data).items()) if n.startswith(parent + "/")]
        page, next_token = paging.page(collections, request.query.get("pageSize"), request.query.get("pageToken"))
        return {"backupCollections": page, "nextPageToken": next_token}

    def get_backup(self, request):
        name = f"{_collection_name(request.variables)}/backups/{request.variables['backupsId']}"
        with self._store.mutate() as data:
            self._settle(data)
            entry = _backups(data).get(name)
            if entry is None:
                raise not_found(f"Resource '{name}' was not found")
            return copy.deepcopy(entry["backup"])

    def list_backups(self, request):
        collection = _collection_name(request.variables)
        with self._store.mutate() as data:
            self._settle(data)
            if collection not in _collections(data):
                raise not_found(f"Resource '{collection}' was not found")
            backups = [copy.deepcopy(e["backup"]) for n, e in sorted(_backups(data).items()) if n.startswith(collection + "/backups/")]
        page, next_token = paging.page(backups, request.query.get("pageSize"), request.query.get("pageToken"))
        return {"backups": page, "nextPageToken": next_token}

    def delete_backup(self, request):
        name = f"{_collection_name(request.variables)}/backups/{request.variables['backupsId']}"
        with self._store.mutate() as data:
            self._settle(data)
            entry = _backups(data).get(name)
            if entry is None:
                raise not_found(f"Resource '{name}' was not found")
            if entry["backup"]["state"] == CREATING:
                raise failed_precondition(f"The backup {name} is being created: it can be deleted once ACTIVE.")
            self._remove_backup(data, name)
            return self._operation(data, name, "delete", typed("google.protobuf.Empty", {}))

    def _take_backup(self, data, entry, backup_type, when, ttl, backup_id=None, settled=False):
        """SAVE every node of the cluster of `entry` and keep the RDB files as a backup taken at `when` (ACTIVE at once when
        `settled`, else once the backup operation ends); returns its name."""
        cluster = entry["cluster"]
        collection = cluster.get("backupCollection")
        if collection is None:
            collection = cluster["backupCollection"] = f"{cluster['name'].rsplit('/clusters/', 1)[0]}/backupCollections/{uuid.uuid4()}"
            _collections(data)[collection] = {"name": collection, "cluster": cluster["name"], "clusterUid": cluster["uid"], "uid": str(uuid.uuid4()),
                                              "createTime": clock.timestamp(when)}
        backup_id = backup_id or f"{datetime.datetime.fromtimestamp(when, datetime.timezone.utc):%Y%m%d%H%M%S}_{cluster['uid'][:8]}"
        name = f"{collection}/backups/{backup_id}"
        if name in _backups(data):
            raise already_exists(f"Resource '{name}' already exists.")
        directory = os.path.join(self._backups_root, str(uuid.uuid4()))
        files = self._nodes.save(entry["nodes"], directory)
        stamp = clock.timestamp(when)
        backup = {"name": name, "createTime": stamp, "cluster": cluster["name"], "clusterUid": cluster["uid"],
                  "totalSizeBytes": str(sum(size for _file, size in files)), "expireTime": clock.timestamp(when + ttl), "engineVersion": ENGINE_VERSION,
                  "backupFiles": [{"fileName": os.path.basename(path), "sizeBytes": str(size), "createTime": stamp} for path, size in files],
                  "nodeType": cluster["nodeType"], "replicaCount": cluster.get("replicaCount", 0), "shardCount": cluster["shardCount"],
                  "backupType": backup_type, "state": ACTIVE if settled else CREATING, "encryptionInfo": {"encryptionType": "GOOGLE_DEFAULT_ENCRYPTION"},
                  "uid": str(uuid.uuid4())}
        _backups(data)[name] = {"backup": backup, "settleAt": None if settled else done_time(data), "directory": directory}
        return name

    def _remove_backup(self, data, name):
        entry = _backups(data).pop(name)
        shutil.rmtree(entry["directory"], ignore_errors=True)

    # -- state ---------------------------------------------------------------------------

    def _settle(self, data):
        """Every cluster and backup whose operation is over in its settled state (a deleted cluster gone), automated backups
        that came due on the emulator's clock taken, expired backups removed; returns the clusters."""
        clusters = _clusters(data)
        now = clock.now(data)
        for name, entry in list(clusters.items()):
            if entry["settleAt"] is not None and time.time() >= entry["settleAt"]:
                if entry["cluster"]["state"] == DELETING:
                    del clusters[name]
                    continue
                entry["cluster"]["state"] = ACTIVE
                entry["settleAt"] = None
            if entry["cluster"]["state"] == ACTIVE and _automated(entry["cluster"]):
                self._automated_backups(data, entry, now)
        for name, entry in list(_backups(data).items()):
            if entry["settleAt"] is not None and time.time() >= entry["settleAt"]:
                entry["backup"]["state"] = ACTIVE
                entry["settleAt"] = None
            if entry["settleAt"] is None and _epoch(entry["backup"]["expireTime"]) <= now:
                self._remove_backup(data, name)
        return clusters

    def _automated_backups(self, data, entry, now):
        """Take the automated backups due since the last one: every day at the schedule's start hour (UTC)."""
        config = entry["cluster"]["automatedBackupConfig"]
        start = config.get("fixedFrequencySchedule", {}).get("startTime", {})
        retention = _parse_seconds(config.get("retention")) or DEFAULT_RETENTION
        last = datetime.datetime.fromtimestamp(entry["lastAutomated"], datetime.timezone.utc)
        day = last.replace(hour=start.get("hours", 0), minute=0, second=0, microsecond=0)
        due = day.timestamp() if day.timestamp() > entry["lastAutomated"] else day.timestamp() + _DAY
        while due <= now:
            if due + retention > now:  # one that would already have expired is not worth taking
                self._take_backup(data, entry, "AUTOMATED", due, retention, settled=True)
            entry["lastAutomated"] = due
            due += _DAY

    def _entry(self, data, name):
        entry = self._settle(data).get(name)
        if entry is None:
            raise not_found(f"Resource '{name}' was not found")  # Google's words (tests/fixtures/google/redis_cluster_not_found.json)
        return entry

    def _ready(self, data, name):
        entry = self._entry(data, name)
        if entry["cluster"]["state"] != ACTIVE:
            raise failed_precondition(f"The cluster is {entry['cluster']['state']}: only an ACTIVE cluster can take this request.")
        return entry

    def _operation(self, data, target, verb, response):
        metadata = typed(f"{PACKAGE}.OperationMetadata", {"apiVersion": "v1", "createTime": clock.timestamp(time.time()), "requestedCancellation": False,
                                                          "target": target, "verb": verb})
        return self._operations.start(data, "/".join(target.split("/")[:4]), metadata=metadata, response=response)


class Nodes:
    """The redis-server processes of the clusters' shards, by cluster name and node key; each one's data under `root`."""

    def __init__(self, root):
        self._root = root
        self._processes = {}

    def create(self, name, cluster, shards):
        """Start `shards` nodes, join them and split the slots between them; returns the nodes once the cluster is ok."""
        nodes = [self._start(name, f"node-{index}", cluster) for index in range(shards)]
        try:
            with Connection(nodes[0]["port"]) as first:
                for node in nodes[1:]:
                    first.command("CLUSTER", "MEET", HOST, node["port"])
            for node, (low, high) in zip(nodes, _ranges(shards)):
                with Connection(node["port"]) as connection:
                    connection.command("CLUSTER", "ADDSLOTSRANGE", low, high)
            _wait_ok(nodes, _layout(nodes))
        except (OSError, RedisError) as error:
            self.stop(name, nodes, remove=True)
            raise ApiError("INTERNAL", f"The Redis Cluster of {name} did not start: {error}") from None
        return nodes

    def reshard(self, name, nodes, cluster):
        """Grow or shrink the cluster to `cluster`'s shardCount, moving slots and their keys; returns the nodes."""
        wanted = cluster["shardCount"]
        keys = [node["key"] for node in nodes]
        added = [self._start(name, _next_key(keys, count), cluster) for count in range(wanted - len(nodes))]
        kept = (nodes + added)[:wanted]
        removed = nodes[wanted:]
        try:
            with Connection(nodes[0]["port"]) as first:
                for node in added:
                    first.command("CLUSTER", "MEET", HOST, node["port"])
            owners = _slot_owners(nodes[0]["port"])
            _wait_ok(nodes + added, owners)  # a new node takes keys once it sees every slot served (about two seconds)
            target = {}
            for node, (low, high) in zip(kept, _ranges(wanted)):
                for slot in range(low, high + 1):
                    target[slot] = node["id"]
            every = nodes + added
            by_id = {node["id"]: node for node in every}
            for (source, destination), slots in _moves(owners, target).items():
                _migrate(by_id[source], by_id[destination], slots, every)
            _wait_ok(kept, target)
            for node in kept:
                with Connection(node["port"]) as connection:
                    for gone in removed:
                        connection.command("CLUSTER", "FORGET", gone["id"])
            self.stop(name, removed, remove=True)
            self.configure(kept, cluster)
        except (OSError, RedisError) as error:
            raise ApiError("INTERNAL", f"The Redis Cluster of {name} could not be resharded: {error}") from None
        return kept

    def configure(self, nodes, cluster):
        """Apply the cluster's node type (maxmemory), redisConfigs and persistence to its running nodes."""
        for node in nodes:
            with Connection(node["port"]) as connection:
                for key, value in _settings(cluster).items():
                    connection.command("CONFIG", "SET", key, value)

    def save(self, nodes, directory):
        """SAVE every node and copy its RDB file under `directory`; returns [(path, size)]."""
        os.makedirs(directory, exist_ok=True)
        files = []
        for index, node in enumerate(nodes):
            with Connection(node["port"]) as connection:
                connection.command("SAVE")
            path = os.path.join(directory, f"shard-{index}.rdb")
            shutil.copyfile(os.path.join(self._directory(node["cluster"], node["key"]), "dump.rdb"), path)
            files.append((path, os.path.getsize(path)))
        return files

    def restart(self, name, nodes, cluster):
        """Start saved nodes again from their data (on their ports when free) and introduce any that moved."""
        started = [self._start(name, node["key"], cluster, port=node["port"], keep=True) for node in nodes]
        moved = [new for new, old in zip(started, nodes) if new["port"] != old["port"]]
        if moved:
            with Connection(started[0]["port"]) as first:
                for node in started[1:]:
                    first.command("CLUSTER", "MEET", HOST, node["port"])
        return started

    def stop(self, name, nodes, remove=False):
        for node in nodes:
            process = self._processes.pop((name, node["key"]), None)
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if remove:
                shutil.rmtree(self._directory(name, node["key"]), ignore_errors=True)

    def stop_all(self):
        for (name, key) in list(self._processes):
            self.stop(name, [{"key": key}])

    def _start(self, name, key, cluster, port=0, keep=False):
        directory = self._directory(name, key)
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)
        port = port if port and port_free(port, HOST) and port_free(port + 10000, HOST) else _free_port()
        command = [REDIS_SERVER, "--port", str(port), "--bind", HOST, "--dir", directory, "--dbfilename", "dump.rdb", "--daemonize", "no",
                   "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                   "--cluster-allow-replica-migration", "no",
                   "--appendfilename", "appendonly.aof"]
        for setting, value in _settings(cluster).items():
            command += [f"--{setting}", value]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # pylint: disable=consider-using-with
        self._processes[(name, key)] = process
        deadline = time.time() + 10
        while True:
            try:
                with Connection(port) as connection:
                    node_id = connection.command("CLUSTER", "MYID").decode()
                return {"key": key, "port": port, "id": node_id, "cluster": name}
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise ApiError("INTERNAL", f"A Redis node of {name} did not start.") from None
                time.sleep(0.02)

    def _directory(self, name, key):
        return os.path.join(self._root, name.replace("/", "_"), key)


def _settings(cluster):
    """The redis-server settings of a cluster: memory from its node type, redisConfigs, persistence."""
    settings = {"maxmemory": f"{max(1, int(NODE_GB.get(cluster['nodeType'], DEFAULT_GB) * MEGABYTES_PER_GB))}mb",
                **CONFIG_DEFAULTS, **cluster.get("redisConfigs", {})}
    persistence = cluster.get("persistenceConfig", {})
    mode = persistence.get("mode", "DISABLED")
    settings["save"] = "3600 1" if mode == "RDB" else ""
    settings["appendonly"] = "yes" if mode == "AOF" else "no"
    settings["appendfsync"] = {"ALWAYS": "always", "NO": "no"}.get(persistence.get("aofConfig", {}).get("appendFsync"), "everysec")
    return settings


def _ranges(shards):
    """The contiguous slot range of each of `shards` shards, as (first, last)."""
    return [(SLOTS * index // shards, SLOTS * (index + 1) // shards - 1) for index in range(shards)]


def _layout(nodes):
    return {slot: node["id"] for node, (low, high) in zip(nodes, _ranges(len(nodes))) for slot in range(low, high + 1)}


def _slot_owners(port):
    """{slot: node id} as the node on `port` sees the cluster."""
    owners = {}
    with Connection(port) as connection:
        for low, high, master, *_replicas in connection.command("CLUSTER", "SLOTS"):
            for slot in range(low, high + 1):
                owners[slot] = master[2].decode()
    return owners


def _moves(owners, target):
    moves = {}
    for slot, destination in target.items():
        if owners.get(slot) != destination:
            moves.setdefault((owners[slot], destination), []).append(slot)
    return moves


def _migrate(source, destination, slots, every):
    """Move `slots` (and their keys) from `source` to `destination` (node dicts), as redis-cli --cluster reshard does."""
    with Connection(source["port"]) as src, Connection(destination["port"]) as dst:
        counts = src.pipeline([("CLUSTER", "COUNTKEYSINSLOT", slot) for slot in slots])
        full = [slot for slot, count in zip(slots, counts) if count]
        _pipelined(dst, [("CLUSTER", "SETSLOT", slot, "IMPORTING", source["id"]) for slot in full])
        _pipelined(src, [("CLUSTER", "SETSLOT", slot, "MIGRATING", destination["id"]) for slot in full])
        for slot in full:
            while True:
                keys = src.command("CLUSTER", "GETKEYSINSLOT", slot, 1000)
                if not keys:
                    break
                src.command("MIGRATE", HOST, destination["port"], "", 0, 10000, "REPLACE", "KEYS", *keys)
        _pipelined(dst, [("CLUSTER", "SETSLOT", slot, "NODE", destination["id"]) for slot in slots])
        _pipelined(src, [("CLUSTER", "SETSLOT", slot, "NODE", destination["id"]) for slot in slots])
        dst.command("CLUSTER", "BUMPEPOCH")
    for node in every:
        if node["id"] not in (source["id"], destination["id"]):
            with Connection(node["port"]) as other:
                _pipelined(other, [("CLUSTER", "SETSLOT", slot, "NODE", destination["id"]) for slot in slots])


def _pipelined(connection, commands, chunk=1000):
    for start in range(0, len(commands), chunk):
        for reply in connection.pipeline(commands[start:start + chunk]):
            if isinstance(reply, RedisError):
                raise reply


def _wait_ok(nodes, target, seconds=30):
    """Until every node answers cluster_state:ok and sees the slots as `target` ({slot: node id}) has them."""
    deadline = time.time() + seconds
    while True:
        ready = True
        for node in nodes:
            with Connection(node["port"]) as connection:
                if b"cluster_state:ok" not in connection.command("CLUSTER", "INFO"):
                    ready = False
                    break
            if _slot_owners(node["port"]) != target:
                ready = False
                break
        if ready:
            return
        if time.time() > deadline:
            raise RedisError("the cluster did not reach cluster_state:ok")
        time.sleep(0.05)


def _next_key(keys, count):
    numbers = [int(key.split("-")[1]) for key in keys]
    return f"node-{max(numbers, default=-1) + 1 + count}"


def _with_defaults(sent):
    """A new cluster as Google fills it in (tests/fixtures/google/redis_cluster_create_done.json)."""
    cluster = {key: value for key, value in sent.items() if key != "name"}
    cluster.setdefault("nodeType", DEFAULT_NODE_TYPE)
    cluster.setdefault("replicaCount", 0)
    cluster.setdefault("authorizationMode", "AUTH_MODE_DISABLED")
    cluster.setdefault("transitEncryptionMode", "TRANSIT_ENCRYPTION_MODE_DISABLED")
    cluster.setdefault("deletionProtectionEnabled", False)
    cluster.setdefault("persistenceConfig", {})
    cluster["persistenceConfig"].setdefault("mode", "DISABLED")
    cluster.setdefault("automatedBackupConfig", {})
    cluster["automatedBackupConfig"].setdefault("automatedBackupMode", "DISABLED")
    cluster.setdefault("zoneDistributionConfig", {})
    cluster["zoneDistributionConfig"].setdefault("mode", "MULTI_ZONE")
    cluster.setdefault("serverCaMode", "SERVER_CA_MODE_UNSPECIFIED")
    cluster["encryptionInfo"] = {"encryptionType": "GOOGLE_DEFAULT_ENCRYPTION"}
    cluster["effectiveMaintenanceVersion"] = "REDISCLUSTER_20260626_00_01"
    cluster["satisfiesPzi"] = True
    return cluster


def _checked(cluster, parent):
    """The cluster (to be) under `parent` after the checks Google makes on its settings (the messages are the emulator's)."""
    region = parent.split("/")[3]
    shards = cluster.get("shardCount")
    if shards is None or not SHARDS[0] <= shards <= SHARDS[1]:
        raise invalid_argument(f"shard_count must be from {SHARDS[0]} through {SHARDS[1]}, not {shards}.", field="cluster.shard_count")
    if not REPLICAS[0] <= cluster.get("replicaCount", 0) <= REPLICAS[1]:
        raise invalid_argument(f"replica_count must be from {REPLICAS[0]} through {REPLICAS[1]}, not {cluster['replicaCount']}.",
                               field="cluster.replica_count")
    if cluster["nodeType"] not in NODE_TYPES:
        raise invalid_argument(f"node_type {cluster['nodeType']} is not a node type of Redis Cluster.", field="cluster.node_type")
    psc = cluster.get("pscConfigs", [])
    if len(psc) != 1 or not _NETWORK.match(psc[0].get("network", "")):
        raise invalid_argument("psc_configs must hold one PscConfig whose network is projects/{project}/global/networks/{network}.",
                               field="cluster.psc_configs")
    zones = cluster["zoneDistributionConfig"]
    if zones["mode"] == "SINGLE_ZONE" and not zones.get("zone", "").startswith(region + "-"):
        raise invalid_argument(f"A SINGLE_ZONE cluster needs zone_distribution_config.zone, a zone of {region}.",
                               field="cluster.zone_distribution_config.zone")
    if zones["mode"] == "MULTI_ZONE" and zones.get("zone"):
        raise invalid_argument("zone_distribution_config.zone applies to SINGLE_ZONE clusters only.", field="cluster.zone_distribution_config.zone")
    persistence = cluster["persistenceConfig"]
    if "rdbConfig" in persistence and "aofConfig" in persistence:
        raise invalid_argument("unable to update RDB and AOF config at the same time", field="cluster.persistence_config")
    for key, value in cluster.get("redisConfigs", {}).items():
        if key not in CONFIGS:
            raise invalid_argument(f"Invalid redis config [{key}]: one of {', '.join(CONFIGS)}.", field="cluster.redis_configs")
        if key == "maxmemory-policy" and value not in MAXMEMORY_POLICIES:
            raise invalid_argument(f"Invalid value [{value}] of maxmemory-policy: one of {', '.join(MAXMEMORY_POLICIES)}.", field="cluster.redis_configs")
    backups = cluster["automatedBackupConfig"]
    if _automated(cluster):
        start = backups.get("fixedFrequencySchedule", {}).get("startTime")
        if start is None or any(start.get(part) for part in ("minutes", "seconds", "nanos")) or not 0 <= start.get("hours", 0) <= 23:
            raise invalid_argument("automated_backup_config.fixed_frequency_schedule.start_time is required and must be the start of an hour.",
                                   field="cluster.automated_backup_config.fixed_frequency_schedule.start_time")
        if "retention" in backups:
            _seconds(backups["retention"], RETENTION_BOUNDS, "automated_backup_config.retention", "from 1 day to 365 days")
    check_labels("cluster.labels", cluster.get("labels", {}))
    gigabytes = NODE_GB.get(cluster["nodeType"])
    if gigabytes is not None:
        precise = round(gigabytes * shards, 2)
        cluster["preciseSizeGb"] = int(precise) if precise == int(precise) else precise  # printed 13, not 13.0, as recorded
        cluster["sizeGb"] = math.ceil(gigabytes * shards - 1e-9)
    else:
        cluster.pop("preciseSizeGb", None)
        cluster.pop("sizeGb", None)
    return cluster


def _fill_endpoints(entry):
    """The endpoints Google gives a cluster, here its first node: discoveryEndpoints, pscConnections and service attachments."""
    cluster = entry["cluster"]
    if not entry["nodes"]:
        return
    network = cluster["pscConfigs"][0]["network"]
    project, region = network.split("/")[1], cluster["name"].split("/")[3]
    number = project_number(cluster["name"].split("/")[1])
    attachments = [f"projects/{number}/regions/{region}/serviceAttachments/gcp-memorystore-auto-{cluster['uid'][:16].replace('-', '')}-psc-sa{suffix}"
                   for suffix in ("", "-2")]
    cluster["discoveryEndpoints"] = [{"address": HOST, "port": entry["nodes"][0]["port"], "pscConfig": {"network": network}}]
    connections = [{"address": HOST, "forwardingRule": f"https://www.googleapis.com/compute/v1/projects/{project}/regions/{region}/forwardingRules/"
                    f"sca-auto-fr-{cluster['uid'][:8]}-{index}", "network": network, "projectId": project,
                    "pscConnectionId": str(int(cluster["uid"].replace("-", "")[:15], 16) + index), "serviceAttachment": attachment}
                   for index, attachment in enumerate(attachments)]
    cluster["pscConnections"] = connections
    cluster["pscServiceAttachments"] = [{"serviceAttachment": attachment, **({"connectionType": "CONNECTION_TYPE_DISCOVERY"} if index == 0 else {})}
                                        for index, attachment in enumerate(attachments)]
    cluster["clusterEndpoints"] = [{"connections": [{"pscAutoConnection": {
        **connection, "pscConnectionStatus": "PSC_CONNECTION_STATUS_ACTIVE", **({"connectionType": "CONNECTION_TYPE_DISCOVERY"} if index == 0 else {})}}
        for index, connection in enumerate(connections)]}]


def _answer(cluster):
    """The cluster as Google answers it: without pscConfigs (never answered, recorded)."""
    return {key: copy.deepcopy(value) for key, value in cluster.items() if key != "pscConfigs"}


def _collection_view(data, collection):
    backups = [entry["backup"] for name, entry in _backups(data).items() if name.startswith(collection["name"] + "/backups/")]
    view = dict(collection, totalBackupCount=str(len(backups)), totalBackupSizeBytes=str(sum(int(b["totalSizeBytes"]) for b in backups)))
    if backups:
        view["lastBackupTime"] = max(b["createTime"] for b in backups)
    return view


def _automated(cluster):
    return cluster.get("automatedBackupConfig", {}).get("automatedBackupMode") == "ENABLED"


def _parse_seconds(value):
    found = _DURATION.match(value or "")
    return int(found.group(1)) if found else None


def _seconds(value, bounds, field, words):
    seconds = _parse_seconds(value)
    if seconds is None or not bounds[0] <= seconds <= bounds[1]:
        raise invalid_argument(f"{field} must be {words}, not {value}.", field=field)
    return seconds


def _clusters(data):
    return data["resources"].setdefault(DOCUMENT, {}).setdefault("clusters", {})


def _collections(data):
    return data["resources"].setdefault(DOCUMENT, {}).setdefault("backupCollections", {})


def _backups(data):
    return data["resources"].setdefault(DOCUMENT, {}).setdefault("backups", {})


def _cluster_name(variables):
    return f"{regional_parent(variables)}/clusters/{variables['clustersId']}"


def _collection_name(variables):
    return f"{regional_parent(variables)}/backupCollections/{variables['backupCollectionsId']}"


def _free_port():
    """A free port whose cluster bus port (+ 10000) is free too."""
    for _attempt in range(100):
        port = free_port(HOST)
        if port + 10000 < 65536 and port_free(port + 10000, HOST):
            return port
    raise ApiError("INTERNAL", "No free port pair for a Redis Cluster node.")


def _epoch(stamp):
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
