# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Memorystore for Redis Cluster: the logic behind the redis_cluster and redis_cluster_backup modules.

PRIVATE to this collection. A cluster is read and written through google-cloud-redis-cluster (CloudRedisClusterClient,
the v1 API over REST). Its shard count, replicas per shard, node type, persistence, Redis configuration, automated
backups and deletion protection change in place; Google takes one update mask path per patch ("exactly 1 update_mask
field must be specified per update request"), so each changed option is its own patch, run one after the other. The
network, authorization and in-transit encryption modes, zone distribution and key are fixed at creation: changing one
means deleting the cluster and creating it again, which loses its data, so it is done only when the task says
``recreate``.

Operations are polled through the discovery client (plain JSON): google-api-core's operations client and the library's
own ``get_operation`` parse an Operation strictly, and Google's answer holds Cluster fields the library's protos do not
know (``effectiveMaintenanceVersion``, ``satisfiesPzi``), which makes ``operation.result()`` fail on a done operation.

A cluster's managed backups live in its backup collection (``backup_collection``, set by Google on its first backup).
``redis_cluster_backup`` takes an on-demand backup, and only once it is ACTIVE applies a grandfather-father-son retention
(``_retention.select``) over the collection's backups, deleting what it prunes.
"""

from __future__ import annotations

import datetime
import re
import time

from . import _retention
from ._gcp import (LOCATION_ARGSPEC, WAIT_ARGSPEC, GcpError, Option, argument_spec, changed_options, copy_message, given_keys_same, invalid,
                   read_options, seconds, short_name, to_dict, write_options)

try:
    from google.cloud import redis_cluster_v1
    from google.protobuf import field_mask_pb2
except ImportError:  # reported by both doors: the specs below declare REDIS_CLUSTER_LIBRARIES
    redis_cluster_v1 = field_mask_pb2 = None

REDIS_CLUSTER_LIBRARIES = (("google-cloud-redis-cluster", "google.cloud.redis_cluster_v1"), ("google-api-python-client", "googleapiclient"))

# NodeType (redis.v1.json). https://cloud.google.com/memorystore/docs/cluster/cluster-node-specification documents the
# first four (1.4, 6.5, 13 and 58 GB a node); REDIS_HIGHMEM_MEDIUM is Google's default.
NODE_TYPES = ("REDIS_SHARED_CORE_NANO", "REDIS_STANDARD_SMALL", "REDIS_HIGHMEM_MEDIUM", "REDIS_HIGHMEM_XLARGE", "REDIS_HIGHCPU_MEDIUM",
              "REDIS_STANDARD_LARGE", "REDIS_HIGHMEM_2XLARGE")
# Shards 1 to 250; 0 to 2 replicas per shard
# (https://cloud.google.com/memorystore/docs/cluster/memorystore-for-redis-cluster-overview).
SHARDS = (1, 250)
REPLICAS = (0, 2)
# https://cloud.google.com/memorystore/docs/cluster/supported-instance-configurations: the parameters a cluster takes
# and maxmemory-policy's values.
CONFIGS = ("maxmemory-policy", "maxmemory-clients", "maxclients", "notify-keyspace-events", "slowlog-log-slower-than")
MAXMEMORY_POLICIES = ("noeviction", "allkeys-lfu", "allkeys-lru", "volatile-lfu", "volatile-lru", "allkeys-random", "volatile-random", "volatile-ttl")
SNAPSHOT_PERIODS = ("ONE_HOUR", "SIX_HOURS", "TWELVE_HOURS", "TWENTY_FOUR_HOURS")
APPEND_FSYNC = ("NO", "EVERYSEC", "ALWAYS")
DAY = 86400
# AutomatedBackupConfig.retention: 1 to 365 days; BackupClusterRequest.ttl: 1 day to 100 years (redis.v1.json).
RETENTION_DAYS = (1, 365)
TTL_DAYS = (1, 100 * 365)
CLUSTER_ID_RE = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
REGION_RE = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
NETWORK_RE = re.compile(r"^(projects/[a-z0-9][-a-z0-9.:]*/global/networks/)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
KMS_KEY_RE = re.compile(r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$")
# States a cluster leaves by itself: a change waits for them to end, as Google refuses one meanwhile.
PASSING_STATES = ("CREATING", "UPDATING")


def _persistence(cluster):
    config = cluster.persistence_config
    mode = config.mode.name if config else "PERSISTENCE_MODE_UNSPECIFIED"
    if mode == "RDB":
        period = config.rdb_config.rdb_snapshot_period.name
        return dict(mode="RDB", rdb_snapshot_period=None if period == "SNAPSHOT_PERIOD_UNSPECIFIED" else period, aof_append_fsync=None)
    if mode == "AOF":
        fsync = config.aof_config.append_fsync.name
        return dict(mode="AOF", rdb_snapshot_period=None, aof_append_fsync=None if fsync == "APPEND_FSYNC_UNSPECIFIED" else fsync)
    return dict(mode="DISABLED", rdb_snapshot_period=None, aof_append_fsync=None)  # Google reads a cluster created without it as DISABLED


def _write_persistence(cluster, value):
    # One of RDB and AOF only: "We can't send both RDB & AOF config to the backend" (gcloud's redis cluster update).
    config = redis_cluster_v1.ClusterPersistenceConfig(mode=value["mode"])
    if value["mode"] == "RDB":
        config.rdb_config = redis_cluster_v1.ClusterPersistenceConfig.RDBConfig(
            **({"rdb_snapshot_period": value["rdb_snapshot_period"]} if value.get("rdb_snapshot_period") else {}))
    elif value["mode"] == "AOF":
        config.aof_config = redis_cluster_v1.ClusterPersistenceConfig.AOFConfig(
            **({"append_fsync": value["aof_append_fsync"]} if value.get("aof_append_fsync") else {}))
    cluster.persistence_config = config


def _backups(cluster):
    config = cluster.automated_backup_config
    if not config or config.automated_backup_mode.name != "ENABLED":
        return dict(enabled=False, start_hour=None, retention=None)
    start = config.fixed_frequency_schedule.start_time if config.fixed_frequency_schedule else None
    retention = config.retention.total_seconds() if config.retention else None
    return dict(enabled=True, start_hour=start.hours if start else 0, retention="%dd" % (retention // DAY) if retention and not retention % DAY else
                ("%ds" % retention if retention else None))


def _write_backups(cluster, value):
    if not value["enabled"]:
        cluster.automated_backup_config = redis_cluster_v1.AutomatedBackupConfig(automated_backup_mode="DISABLED")
        return
    have = _backups(cluster)
    hour = value.get("start_hour") if value.get("start_hour") is not None else (have["start_hour"] or 0)
    retention = value.get("retention") or have["retention"]
    cluster.automated_backup_config = redis_cluster_v1.AutomatedBackupConfig(
        automated_backup_mode="ENABLED", fixed_frequency_schedule={"start_time": {"hours": hour}},
        **({"retention": datetime.timedelta(seconds=seconds(retention))} if retention else {}))


def _backups_same(want, have):
    if have is None or bool(want["enabled"]) != bool(have["enabled"]):
        return False
    if not want["enabled"]:
        return True
    return ((want.get("start_hour") is None or want["start_hour"] == have["start_hour"])
            and (want.get("retention") is None or seconds(want["retention"]) == seconds(have["retention"] or 0)))


def _network(cluster):
    endpoints = list(cluster.discovery_endpoints)
    if endpoints and endpoints[0].psc_config and endpoints[0].psc_config.network:
        return endpoints[0].psc_config.network  # Google never answers pscConfigs (recorded): the endpoint names the network
    configs = list(cluster.psc_configs)
    return configs[0].network if configs else None


def _zones(cluster):
    config = cluster.zone_distribution_config
    mode = config.mode.name if config else "ZONE_DISTRIBUTION_MODE_UNSPECIFIED"
    return dict(mode="MULTI_ZONE" if mode == "ZONE_DISTRIBUTION_MODE_UNSPECIFIED" else mode, zone=(config.zone or None) if config else None)


def _enum_name(field, unspecified):
    return lambda cluster: None if getattr(cluster, field).name == unspecified else getattr(cluster, field).name


# Every option of a cluster once: argument spec, API field, and how it changes (the family's own tags: ``change``
# "patch" in place under the update mask path ``mask``, or "recreate" fixed at creation).
CLUSTER_OPTIONS = dict(
    shard_count=Option(dict(type="int"), "shard_count", change="patch", mask="shard_count"),
    replica_count=Option(dict(type="int"), "replica_count", same=lambda want, have: want == (have or 0), change="patch", mask="replica_count"),
    node_type=Option(dict(type="str", choices=list(NODE_TYPES)), "node_type", read=_enum_name("node_type", "NODE_TYPE_UNSPECIFIED"),
                     write=lambda c, v: setattr(c, "node_type", v), change="patch", mask="node_type"),
    redis_configs=Option(dict(type="dict"), "redis_configs", read=lambda c: dict(c.redis_configs),
                         same=lambda want, have: {k: str(v) for k, v in (want or {}).items()} == (have or {}), change="patch", mask="redis_configs"),
    persistence=Option(dict(type="dict", options=dict(mode=dict(type="str", required=True, choices=["DISABLED", "RDB", "AOF"]),
                                                      rdb_snapshot_period=dict(type="str", choices=list(SNAPSHOT_PERIODS)),
                                                      aof_append_fsync=dict(type="str", choices=list(APPEND_FSYNC)))),
                       read=_persistence, write=_write_persistence, same=given_keys_same, change="patch", mask="persistence_config"),
    automated_backups=Option(dict(type="dict", options=dict(enabled=dict(type="bool", required=True), start_hour=dict(type="int"),
                                                            retention=dict(type="str"))),
                             read=_backups, write=_write_backups, same=_backups_same, change="patch", mask="automated_backup_config"),
    deletion_protection=Option(dict(type="bool"), "deletion_protection_enabled", same=lambda want, have: bool(want) == bool(have), change="patch",
                               mask="deletion_protection_enabled"),
    network=Option(dict(type="str"), read=_network, write=lambda c, v: setattr(c, "psc_configs", [redis_cluster_v1.PscConfig(network=v)]),
                   same=lambda want, have: short_name(want) == short_name(have), change="recreate"),
    authorization_mode=Option(dict(type="str", choices=["DISABLED", "IAM_AUTH"]), "authorization_mode",
                              read=lambda c: "IAM_AUTH" if c.authorization_mode.name == "AUTH_MODE_IAM_AUTH" else "DISABLED",
                              write=lambda c, v: setattr(c, "authorization_mode", "AUTH_MODE_" + v), change="recreate"),
    transit_encryption=Option(dict(type="bool"), "transit_encryption_mode",
                              read=lambda c: c.transit_encryption_mode.name == "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION",
                              write=lambda c, v: setattr(c, "transit_encryption_mode", "TRANSIT_ENCRYPTION_MODE_" + (
                                  "SERVER_AUTHENTICATION" if v else "DISABLED")),
                              same=lambda want, have: bool(want) == bool(have), change="recreate"),
    zone_distribution=Option(dict(type="dict", options=dict(mode=dict(type="str", required=True, choices=["MULTI_ZONE", "SINGLE_ZONE"]),
                                                            zone=dict(type="str"))),
                             read=_zones, write=lambda c, v: setattr(c, "zone_distribution_config", redis_cluster_v1.ZoneDistributionConfig(
                                 mode=v["mode"], **({"zone": v["zone"]} if v.get("zone") else {}))),
                             same=given_keys_same, change="recreate"),
    kms_key=Option(dict(type="str", no_log=False), "kms_key", change="recreate"),
)
# The order patches run in: deletion protection first (a task that turns it off may go on to recreate), then capacity.
PATCH_ORDER = ("deletion_protection", "node_type", "shard_count", "replica_count", "persistence", "redis_configs", "automated_backups")

CLUSTER_SPEC = dict(
    argument_spec=dict(
        LOCATION_ARGSPEC, **WAIT_ARGSPEC, **argument_spec(CLUSTER_OPTIONS),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        recreate=dict(type="bool", default=False),
    ),
    libraries=REDIS_CLUSTER_LIBRARIES,
)

BACKUP_SPEC = dict(
    argument_spec=dict(
        LOCATION_ARGSPEC, **WAIT_ARGSPEC,
        ttl=dict(type="str"),
        min_interval=dict(type="str"),
        retention=dict(type="dict", options=_retention.POLICY_SPEC),
    ),
    libraries=REDIS_CLUSTER_LIBRARIES,
)


def cluster_path(project, region, name):
    return "projects/%s/locations/%s/clusters/%s" % (project, region, name)


def describe_cluster(region, name):
    return "Redis cluster %s in %s" % (name, region)


# ---------------------------------------------------------------- validation

def _location_problems(p):
    problems = []
    if not CLUSTER_ID_RE.match(p["name"]):
        problems.append("name %r must start with a lowercase letter and hold up to 63 lowercase letters, digits and hyphens, not ending "
                        "with a hyphen" % p["name"])
    if not REGION_RE.match(p["region"]):
        problems.append("region %r is not a region name like us-central1" % p["region"])
    return problems


def validate_cluster_params(p):
    """Every check that needs no API call; raises GcpError naming all problems."""
    problems = _location_problems(p)
    if p["state"] == "present":
        problems += _settings_problems(p)
    if problems:
        raise invalid(describe_cluster(p["region"], p["name"]), problems)


def _days_problem(what, value, bounds, example):
    count = seconds(value)
    if count is None:
        return "%s %r is not a duration like %s (a number with s, m, h or d)" % (what, value, example)
    if not bounds[0] * DAY <= count <= bounds[1] * DAY:
        return "%s %r must be from %d day through %d days" % (what, value, bounds[0], bounds[1])
    return None


def _settings_problems(p):
    problems = []
    if p["shard_count"] is not None and not SHARDS[0] <= p["shard_count"] <= SHARDS[1]:
        problems.append("shard_count %d must be from %d through %d" % ((p["shard_count"],) + SHARDS))
    if p["replica_count"] is not None and not REPLICAS[0] <= p["replica_count"] <= REPLICAS[1]:
        problems.append("replica_count %d must be from %d through %d replicas per shard" % ((p["replica_count"],) + REPLICAS))
    for key, value in (p["redis_configs"] or {}).items():
        if key not in CONFIGS:
            problems.append("redis_configs has %r, which Memorystore for Redis Cluster does not take: one of %s" % (key, ", ".join(CONFIGS)))
        elif key == "maxmemory-policy" and value not in MAXMEMORY_POLICIES:
            problems.append("maxmemory-policy %r is not one of %s" % (value, ", ".join(MAXMEMORY_POLICIES)))
        elif key in ("maxclients", "maxmemory-clients", "slowlog-log-slower-than") and not re.match(r"^-?[0-9]+%?$", str(value)):
            problems.append("redis_configs %s %r must be a whole number" % (key, value))
    persistence = p["persistence"]
    if persistence:
        if persistence["mode"] != "RDB" and persistence.get("rdb_snapshot_period"):
            problems.append("persistence.rdb_snapshot_period needs persistence.mode RDB")
        if persistence["mode"] != "AOF" and persistence.get("aof_append_fsync"):
            problems.append("persistence.aof_append_fsync needs persistence.mode AOF")
    backups = p["automated_backups"]
    if backups:
        if not backups["enabled"] and (backups.get("start_hour") is not None or backups.get("retention")):
            problems.append("automated_backups.start_hour and retention need automated_backups.enabled true")
        if backups.get("start_hour") is not None and not 0 <= backups["start_hour"] <= 23:
            problems.append("automated_backups.start_hour %d is not an hour of the day (0-23, UTC)" % backups["start_hour"])
        if backups.get("retention"):
            problems.append(_days_problem("automated_backups.retention", backups["retention"], RETENTION_DAYS, "14d"))
    zones = p["zone_distribution"]
    if zones:
        if zones["mode"] == "SINGLE_ZONE" and not zones.get("zone"):
            problems.append("zone_distribution.mode SINGLE_ZONE needs zone_distribution.zone")
        if zones["mode"] == "MULTI_ZONE" and zones.get("zone"):
            problems.append("zone_distribution.zone applies to mode SINGLE_ZONE only")
        if zones.get("zone") and not zones["zone"].startswith(p["region"] + "-"):
            problems.append("zone_distribution.zone %r is not a zone of %s" % (zones["zone"], p["region"]))
    if p["network"] is not None and not NETWORK_RE.match(p["network"]):
        problems.append("network %r must be a VPC network name or projects/PROJECT/global/networks/NETWORK" % p["network"])
    if p["kms_key"] is not None and not KMS_KEY_RE.match(p["kms_key"]):
        problems.append("kms_key %r must be a Cloud KMS key: projects/P/locations/L/keyRings/R/cryptoKeys/K" % p["kms_key"])
    return [problem for problem in problems if problem]


# ---------------------------------------------------------------- the cluster

def _client(session):
    return session.client(redis_cluster_v1.CloudRedisClusterClient)


def read_cluster(session, path, resource):
    return session.get("read", resource, _client(session).get_cluster, name=path)


def cluster_view(cluster):
    """The cluster as Google returns it, with its short name and its discovery endpoint as host:port."""
    if cluster is None:
        return None
    view = to_dict(cluster)
    view["short_name"] = short_name(cluster.name)
    endpoints = list(cluster.discovery_endpoints)
    view["endpoint"] = "%s:%d" % (endpoints[0].address, endpoints[0].port) if endpoints and endpoints[0].address else None
    return view


def _options(cluster):
    return read_options(CLUSTER_OPTIONS, cluster) if cluster is not None else {}


def wait_operation(session, operation, action, resource, read, wait=True):
    """Wait for a cluster operation (polled as plain JSON through the discovery client, see the module docstring) and
    return ``read()`` once it is done; unless ``wait``, return ``read()`` at once. An operation error or a timeout is a
    GcpError carrying the cluster as it stands."""
    if not wait:
        return read()
    name = operation.operation.name
    api = session.discovery("redis", "v1")
    deadline = time.monotonic() + session.params["wait_timeout"]
    pause = 0.1
    while True:
        polled = session.execute("poll operation %s to %s" % (name, action), resource, api.projects().locations().operations().get(name=name),
                                 idempotent=True)
        if polled.get("done"):
            break
        if time.monotonic() >= deadline:
            raise GcpError("Timed out after %ss waiting to %s %s (operation %s is still running; the partial state is returned). Hint: re-run "
                           "to converge once it is done, or raise wait_timeout." % (session.params["wait_timeout"], action, resource, name),
                           cluster=cluster_view(read()))
        time.sleep(pause)
        pause = min(pause * 1.5, 5.0)
    if polled.get("error"):
        error = polled["error"]
        raise GcpError("Failed to %s %s: operation %s failed: code %s: %s" % (action, resource, name, error.get("code"), error.get("message")),
                       cluster=cluster_view(read()))
    return read()


def manage_cluster(session):
    """redis_cluster: the cluster exists with the options given (each change its own patch, or recreated when the task
    allows it), or is gone."""
    p = session.params
    validate_cluster_params(p)
    client = _client(session)
    path = cluster_path(session.project, p["region"], p["name"])
    resource = describe_cluster(p["region"], p["name"])

    def read():
        return read_cluster(session, path, resource)

    current = session.settle(read, resource, read(), PASSING_STATES, "cluster")
    if current is not None and current.state.name == "DELETING":
        current = None if p["state"] == "absent" else current
    if p["state"] == "absent":
        return _delete(session, client, path, resource, read, current)
    if current is not None and current.state.name != "ACTIVE":
        raise GcpError("%s is %s: it cannot take a change now. Nothing was changed. Hint: wait until it is ACTIVE (or gone, when it is being "
                       "deleted), then re-run." % (resource, current.state.name), cluster=cluster_view(current))

    want = {name: p[name] for name in CLUSTER_OPTIONS if p[name] is not None}
    if "network" in want and "/" not in want["network"]:
        want["network"] = "projects/%s/global/networks/%s" % (session.project, want["network"])
    if current is None:
        return _create(session, resource, want, before=None, changed=sorted(want))
    kinds = {}
    for name in changed_options(CLUSTER_OPTIONS, want, read_options(CLUSTER_OPTIONS, current)):
        kinds.setdefault(CLUSTER_OPTIONS[name].tags["change"], []).append(name)
    changed = sorted(sum(kinds.values(), []))
    if "recreate" in kinds:
        return _recreate(session, client, path, resource, read, current, want, kinds, changed)
    final = current
    for name in [option for option in PATCH_ORDER if option in kinds.get("patch", [])]:
        final = _patch(session, client, resource, read, final, name, want[name])
    return dict(changed=bool(changed), cluster=cluster_view(final), changed_options=changed, recreated=False,
                diff=dict(before=_options(current), after=_options(final)))


def _patch(session, client, resource, read, cluster, name, value):
    """One patch of one option (Google takes one update mask path per patch), waited for; returns the cluster after it."""
    updated = copy_message(cluster)
    write_options(CLUSTER_OPTIONS, updated, {name: value})
    if session.check_mode:
        return updated
    mask = field_mask_pb2.FieldMask(paths=[CLUSTER_OPTIONS[name].tags["mask"]])
    operation = session.call("update %s of" % name, resource, client.update_cluster, update_mask=mask, cluster=updated, idempotent=True)
    return wait_operation(session, operation, "update %s of" % name, resource, read)


def _delete(session, client, path, resource, read, current):
    if current is None:
        return dict(changed=False, cluster=None, diff=dict(before={}, after={}))
    before = _options(current)
    if current.deletion_protection_enabled:
        if session.params["deletion_protection"] is not False:
            raise GcpError("Cannot delete %s: its deletion protection is on. Nothing was changed. Hint: set deletion_protection=false in this task "
                           "to turn it off and delete the cluster; its data is lost, and its managed backups stay (orchestra.gcp.redis_cluster_backup "
                           "takes one first)." % resource, cluster=cluster_view(current))
        current = _patch(session, client, resource, read, current, "deletion_protection", False)
    if not session.check_mode:
        operation = session.call("delete", resource, client.delete_cluster, name=path, idempotent=True)
        wait_operation(session, operation, "delete", resource, read, session.params["wait"])
    return dict(changed=True, cluster=None, diff=dict(before=before, after={}))


def _recreate(session, client, path, resource, read, current, want, kinds, changed):
    fixed = sorted(kinds["recreate"])
    if not session.params["recreate"]:
        raise GcpError("Cannot change %s of %s in place: Google fixes %s when a cluster is created. Nothing was changed. Hint: set recreate=true "
                       "to delete the cluster and create it again; its data is lost, so take a backup first (orchestra.gcp.redis_cluster_backup)."
                       % (", ".join(fixed), resource, "them" if len(fixed) > 1 else "it"), cluster=cluster_view(current))
    if current.deletion_protection_enabled and want.get("deletion_protection") is not False:
        raise GcpError("Cannot recreate %s to change %s: its deletion protection is on. Nothing was changed. Hint: set deletion_protection=false "
                       "in this task (and true again in a later one) to allow it." % (resource, ", ".join(fixed)), cluster=cluster_view(current))
    kept = {name: value for name, value in read_options(CLUSTER_OPTIONS, current).items() if value is not None}
    if current.deletion_protection_enabled:
        current = _patch(session, client, resource, read, current, "deletion_protection", False)
    if not session.check_mode:
        operation = session.call("delete", resource, client.delete_cluster, name=path, idempotent=True)
        wait_operation(session, operation, "delete", resource, read)
    return _create(session, resource, dict(kept, **want), before=current, changed=changed)


def _create(session, resource, want, before, changed):
    """Create the cluster (a shard count and a network are needed); returns the module's result."""
    p = session.params
    missing = [name for name in ("shard_count", "network") if name not in want]
    if missing:
        raise invalid(resource, ["a new cluster needs %s" % " and ".join(missing)])
    cluster = redis_cluster_v1.Cluster()
    write_options(CLUSTER_OPTIONS, cluster, want)
    final = cluster
    if not session.check_mode:
        path = cluster_path(session.project, p["region"], p["name"])
        operation = session.call("create", resource, _client(session).create_cluster, parent="projects/%s/locations/%s" % (session.project, p["region"]),
                                 cluster_id=p["name"], cluster=cluster, idempotent=True)
        final = wait_operation(session, operation, "create", resource, lambda: read_cluster(session, path, resource), p["wait"])
    return dict(changed=True, cluster=cluster_view(final), changed_options=changed, recreated=before is not None,
                diff=dict(before=_options(before), after=_options(final)))


# ---------------------------------------------------------------- redis_cluster_backup

def _catalog(session, cluster, resource):
    """The managed backups of ``cluster`` as _retention takes them, newest first: id (the backup's name), time, complete
    (ACTIVE), verified (None: Google checks no restore), and the backup."""
    if not cluster.backup_collection:
        return []
    found = session.list("list the backups of", resource, _client(session).list_backups, parent=cluster.backup_collection)
    catalog = [dict(id=backup.name, time=backup.create_time, complete=backup.state.name == "ACTIVE", verified=None, backup=backup)
               for backup in found if backup.cluster in ("", cluster.name)]
    return sorted(catalog, key=lambda entry: (entry["time"], entry["id"]), reverse=True)


def _summary(entry):
    backup = entry["backup"]
    return dict(name=backup.name, id=short_name(backup.name), time=backup.create_time.strftime("%Y-%m-%dT%H:%M:%SZ"), type=backup.backup_type.name,
                state=backup.state.name, total_size_bytes=backup.total_size_bytes, shard_count=backup.shard_count,
                expire_time=backup.expire_time.strftime("%Y-%m-%dT%H:%M:%SZ") if backup.expire_time else None)


def backup_cluster(session):
    """redis_cluster_backup: an on-demand managed backup unless one is younger than min_interval, then retention over the
    cluster's managed backups, pruning only after the new backup is ACTIVE."""
    p = session.params
    resource = describe_cluster(p["region"], p["name"])
    problems = _location_problems(p)
    if p["ttl"] is not None:
        problems.append(_days_problem("ttl", p["ttl"], TTL_DAYS, "30d"))
    interval = seconds(p["min_interval"]) if p["min_interval"] is not None else 0
    if interval is None:
        problems.append("min_interval %r is not a duration like 6h, 30m or 86400" % p["min_interval"])
    if p["retention"] is not None:
        problems += _retention.policy_problems(p["retention"])
    problems = [problem for problem in problems if problem]
    if problems:
        raise invalid(resource, problems)
    client = _client(session)
    path = cluster_path(session.project, p["region"], p["name"])

    def read():
        return read_cluster(session, path, resource)

    cluster = session.settle(read, resource, read(), PASSING_STATES, "cluster")
    if cluster is None:
        raise GcpError("%s does not exist: nothing to back up. Nothing was changed. Hint: check the name, the project and the region." % resource)
    if cluster.state.name != "ACTIVE":
        raise GcpError("%s is %s: Google takes a backup of an ACTIVE cluster only. Nothing was changed. Hint: re-run once it is ACTIVE."
                       % (resource, cluster.state.name))
    catalog = _catalog(session, cluster, resource)
    newest = next((entry for entry in catalog if entry["complete"]), None)
    now = datetime.datetime.now(datetime.timezone.utc)
    if newest is not None and interval and (now - newest["time"]).total_seconds() < interval:
        return dict(changed=False, backup=_summary(newest), pruned=[], retention=None,
                    not_taken="the newest backup, %s, is younger than min_interval %s" % (short_name(newest["id"]), p["min_interval"]))
    if session.check_mode:
        planned = dict(id="(the new backup)", time=now, complete=True, verified=None)
        selection = _retention.select([planned] + catalog, p["retention"]) if p["retention"] else None
        return dict(changed=True, backup=None, not_taken=None, pruned=[short_name(b["id"]) for b in selection["prune"]] if selection else [],
                    retention=_retention.describe(p["retention"]) if p["retention"] else None)
    known = {entry["id"] for entry in catalog}
    request = dict(name=path, **({"ttl": datetime.timedelta(seconds=seconds(p["ttl"]))} if p["ttl"] else {}))
    operation = session.call("back up", resource, client.backup_cluster, request=request, idempotent=False)
    cluster = wait_operation(session, operation, "back up", resource, read)
    catalog = _catalog(session, cluster, resource)
    taken = [entry for entry in catalog if entry["id"] not in known]
    if len(taken) != 1 or not taken[0]["complete"]:
        raise GcpError("Backed up %s, but %s. Nothing was pruned. Hint: list the cluster's backups (gcloud redis clusters backups list) and "
                       "re-run." % (resource, "found %d new backups" % len(taken) if len(taken) != 1 else "the new backup is %s, not ACTIVE"
                                    % taken[0]["backup"].state.name), backups=[_summary(entry) for entry in taken])
    pruned, selection = [], None
    if p["retention"]:
        selection = _retention.select(catalog, p["retention"])
        for entry in selection["prune"]:
            deletion = session.call("delete backup %s of" % short_name(entry["id"]), resource, client.delete_backup, name=entry["id"], idempotent=True)
            wait_operation(session, deletion, "delete backup %s of" % short_name(entry["id"]), resource, read)
            pruned.append(short_name(entry["id"]))
    return dict(changed=True, backup=_summary(taken[0]), pruned=pruned, not_taken=None,
                retention=dict(policy=_retention.describe(p["retention"]), kept=[short_name(b["id"]) for b in selection["keep"]],
                               reasons={short_name(key): value for key, value in selection["reasons"].items()}) if selection else None)
