# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Memorystore for Redis instances: the logic behind the redis_instance module.

PRIVATE to this collection. An instance is read and written through google-cloud-redis (CloudRedisClient, the v1
API over REST). Some of its fields change in place (a patch naming them in its update mask), its Redis version only
goes up and through ``:upgrade``, and the rest are fixed at creation: changing one means deleting the instance and
creating it again, which loses its data, so it is done only when the task says ``recreate``.
"""

from __future__ import annotations

import ipaddress
import re

from ._gcp import (LOCATION_ARGSPEC, WAIT_ARGSPEC, GcpError, Option, argument_spec, changed_options, copy_message, given_keys_same, invalid,
                   label_problems, merge_labels, read_options, short_name, to_dict, write_options)

try:
    from google.cloud import redis_v1
    from google.protobuf import field_mask_pb2
    from google.type import dayofweek_pb2
except ImportError:  # reported by both doors: the specs below declare REDIS_LIBRARIES
    redis_v1 = field_mask_pb2 = dayofweek_pb2 = None

REDIS_LIBRARIES = (("google-cloud-redis", "google.cloud.redis_v1"),)

TIERS = ("BASIC", "STANDARD_HA")
# https://cloud.google.com/memorystore/docs/redis/redis-tiers: Basic Tier 1 to 300 GB, Standard Tier 5 to 300 GB;
# a Standard Tier instance has 1 replica, or 1 to 5 with read replicas.
MEMORY_GB = dict(BASIC=(1, 300), STANDARD_HA=(5, 300))
READ_REPLICAS = (1, 5)
# Instance.redisVersion (redis.v1.json), oldest first.
VERSIONS = ("REDIS_3_2", "REDIS_4_0", "REDIS_5_0", "REDIS_6_X", "REDIS_7_0", "REDIS_7_2")
# https://cloud.google.com/memorystore/docs/redis/supported-redis-configurations: the parameters Memorystore takes,
# by the first version that has them, and maxmemory-policy's values.
CONFIGS = {"maxmemory-policy": "REDIS_3_2", "notify-keyspace-events": "REDIS_3_2", "activedefrag": "REDIS_4_0", "lfu-decay-time": "REDIS_4_0",
           "lfu-log-factor": "REDIS_4_0", "maxmemory-gb": "REDIS_4_0", "stream-node-max-bytes": "REDIS_5_0", "stream-node-max-entries": "REDIS_5_0"}
MAXMEMORY_POLICIES = ("volatile-lru", "allkeys-lru", "volatile-lfu", "allkeys-lfu", "volatile-random", "allkeys-random", "volatile-ttl", "noeviction")
SNAPSHOT_PERIODS = ("ONE_HOUR", "SIX_HOURS", "TWELVE_HOURS", "TWENTY_FOUR_HOURS")
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
# https://cloud.google.com/memorystore/docs/redis/create-instance-gcloud: a lowercase letter, then up to 39
# lowercase letters, digits or hyphens, not ending with a hyphen.
INSTANCE_ID_RE = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
REGION_RE = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")


def _persistence(instance):
    config = instance.persistence_config
    mode = config.persistence_mode.name if config else "PERSISTENCE_MODE_UNSPECIFIED"
    if mode in ("PERSISTENCE_MODE_UNSPECIFIED", "DISABLED"):
        return dict(mode="DISABLED")  # Google reads an instance created without it as DISABLED
    period = config.rdb_snapshot_period.name
    return dict(mode=mode, rdb_snapshot_period=None if period == "SNAPSHOT_PERIOD_UNSPECIFIED" else period)


def _write_persistence(instance, value):
    instance.persistence_config = redis_v1.PersistenceConfig(
        persistence_mode=value["mode"], **({"rdb_snapshot_period": value["rdb_snapshot_period"]} if value.get("rdb_snapshot_period") else {}))


def _window(instance):
    windows = list(instance.maintenance_policy.weekly_maintenance_window) if instance.maintenance_policy else []
    if not windows:
        return None
    window = windows[0]
    return dict(day=dayofweek_pb2.DayOfWeek.Name(window.day), hour=window.start_time.hours, minute=window.start_time.minutes)


def _write_window(instance, value):
    instance.maintenance_policy = redis_v1.MaintenancePolicy(weekly_maintenance_window=[redis_v1.WeeklyMaintenanceWindow(
        day=dayofweek_pb2.DayOfWeek.Value(value["day"]), start_time=dict(hours=value["hour"], minutes=value.get("minute") or 0))])


# Every option of an instance once: argument spec, API field, and how it changes (the family's own tag ``change``:
# "patch" in place under the update mask path ``mask``, "upgrade" through :upgrade, "recreate" fixed at creation).
INSTANCE_OPTIONS = dict(
    tier=Option(dict(type="str", choices=list(TIERS)), "tier", read=lambda i: i.tier.name, write=lambda i, v: setattr(i, "tier", v),
                change="recreate"),
    memory_size_gb=Option(dict(type="int"), "memory_size_gb", change="patch", mask="memory_size_gb"),
    redis_version=Option(dict(type="str", choices=list(VERSIONS)), "redis_version", change="upgrade"),
    redis_configs=Option(dict(type="dict"), "redis_configs", read=lambda i: dict(i.redis_configs),
                         same=lambda want, have: {k: str(v) for k, v in (want or {}).items()} == (have or {}), change="patch", mask="redis_configs"),
    replica_count=Option(dict(type="int"), "replica_count", change="patch", mask="replica_count"),
    read_replicas=Option(dict(type="bool"), "read_replicas_mode", read=lambda i: i.read_replicas_mode.name == "READ_REPLICAS_ENABLED",
                         write=lambda i, v: setattr(i, "read_replicas_mode", "READ_REPLICAS_ENABLED" if v else "READ_REPLICAS_DISABLED"),
                         same=lambda want, have: bool(want) == bool(have), change="patch", mask="read_replicas_mode"),
    persistence=Option(dict(type="dict", options=dict(mode=dict(type="str", required=True, choices=["DISABLED", "RDB"]),
                                                      rdb_snapshot_period=dict(type="str", choices=list(SNAPSHOT_PERIODS)))),
                       read=_persistence, write=_write_persistence, same=given_keys_same, change="patch", mask="persistence_config"),
    maintenance_window=Option(dict(type="dict", options=dict(day=dict(type="str", required=True, choices=list(DAYS)),
                                                             hour=dict(type="int", required=True), minute=dict(type="int", default=0))),
                              read=_window, write=_write_window, same=given_keys_same, change="patch", mask="maintenance_policy"),
    auth_enabled=Option(dict(type="bool"), "auth_enabled", same=lambda want, have: bool(want) == bool(have), change="patch", mask="auth_enabled"),
    transit_encryption=Option(dict(type="bool"), "transit_encryption_mode",
                              read=lambda i: i.transit_encryption_mode.name == "SERVER_AUTHENTICATION",
                              write=lambda i, v: setattr(i, "transit_encryption_mode", "SERVER_AUTHENTICATION" if v else "DISABLED"),
                              same=lambda want, have: bool(want) == bool(have), change="recreate"),
    authorized_network=Option(dict(type="str"), "authorized_network", same=lambda want, have: short_name(want) == short_name(have), change="recreate"),
    connect_mode=Option(dict(type="str", choices=["DIRECT_PEERING", "PRIVATE_SERVICE_ACCESS"]), "connect_mode",
                        read=lambda i: i.connect_mode.name, write=lambda i, v: setattr(i, "connect_mode", v), change="recreate"),
    reserved_ip_range=Option(dict(type="str"), "reserved_ip_range", change="recreate"),
    zone=Option(dict(type="str"), "location_id", change="recreate"),
    alternative_zone=Option(dict(type="str"), "alternative_location_id", change="recreate"),
    customer_managed_key=Option(dict(type="str", no_log=False), "customer_managed_key", change="recreate"),
    display_name=Option(dict(type="str"), "display_name", change="patch", mask="display_name"),
)

INSTANCE_SPEC = dict(
    argument_spec=dict(
        LOCATION_ARGSPEC, **WAIT_ARGSPEC, **argument_spec(INSTANCE_OPTIONS),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        labels=dict(type="dict", default={}),
        purge_labels=dict(type="bool", default=False),
        recreate=dict(type="bool", default=False),
    ),
    libraries=REDIS_LIBRARIES,
)


def instance_path(project, region, name):
    return "projects/%s/locations/%s/instances/%s" % (project, region, name)


def describe_instance(region, name):
    return "Redis instance %s in %s" % (name, region)


# ---------------------------------------------------------------- validation

def validate_instance_params(p):
    """Every check that needs no API call; raises GcpError naming all problems."""
    problems = []
    if not INSTANCE_ID_RE.match(p["name"]):
        problems.append("name %r must start with a lowercase letter and hold up to 40 lowercase letters, digits and hyphens, not ending "
                        "with a hyphen" % p["name"])
    if not REGION_RE.match(p["region"]):
        problems.append("region %r is not a region name like us-central1" % p["region"])
    if p["state"] == "present":
        problems += _settings_problems(p)
    if problems:
        raise invalid(describe_instance(p["region"], p["name"]), problems)


def _settings_problems(p):
    problems = []
    tier, size, version = p["tier"], p["memory_size_gb"], p["redis_version"]
    if tier and size is not None and not MEMORY_GB[tier][0] <= size <= MEMORY_GB[tier][1]:
        problems.append("memory_size_gb %d is out of range for a %s instance: from %d through %d" % ((size, tier) + MEMORY_GB[tier]))
    if p["read_replicas"] and tier == "BASIC":
        problems.append("read_replicas needs tier STANDARD_HA")
    if p["replica_count"] is not None:
        if tier == "BASIC" and p["replica_count"]:
            problems.append("replica_count %d needs tier STANDARD_HA: a BASIC instance has no replica" % p["replica_count"])
        elif tier == "STANDARD_HA":
            low, high = READ_REPLICAS if p["read_replicas"] else (1, 1)
            if not low <= p["replica_count"] <= high:
                problems.append("replica_count %d must be from %d through %d for a STANDARD_HA instance %s read replicas"
                                % (p["replica_count"], low, high, "with" if p["read_replicas"] else "without"))
    for key, value in (p["redis_configs"] or {}).items():
        if key not in CONFIGS:
            problems.append("redis_configs has %r, which Memorystore does not take: one of %s" % (key, ", ".join(CONFIGS)))
        elif version and VERSIONS.index(CONFIGS[key]) > VERSIONS.index(version):
            problems.append("redis_configs %r needs %s or later, not %s" % (key, CONFIGS[key], version))
        elif key == "maxmemory-policy" and value not in MAXMEMORY_POLICIES:
            problems.append("maxmemory-policy %r is not one of %s" % (value, ", ".join(MAXMEMORY_POLICIES)))
        elif key == "maxmemory-gb" and not _positive_number(value):
            problems.append("maxmemory-gb %r must be a positive number of gigabytes" % (value,))
    persistence = p["persistence"]
    if persistence and persistence["mode"] == "DISABLED" and persistence.get("rdb_snapshot_period"):
        problems.append("persistence.rdb_snapshot_period needs persistence.mode RDB")
    window = p["maintenance_window"]
    if window and not (0 <= window["hour"] <= 23 and 0 <= (window.get("minute") or 0) <= 59):
        problems.append("maintenance_window %02d:%02d is not a time of day (hour 0-23, minute 0-59)" % (window["hour"], window.get("minute") or 0))
    if p["reserved_ip_range"] and p["connect_mode"] != "PRIVATE_SERVICE_ACCESS":
        try:
            prefix = ipaddress.IPv4Network(p["reserved_ip_range"]).prefixlen
        except ValueError:
            prefix = None
        largest = 28 if p["read_replicas"] else 29
        if prefix is None or prefix > largest:
            problems.append("reserved_ip_range %r must be an unused IPv4 range of /%d or larger, like 10.0.0.0/%d" % (p["reserved_ip_range"], largest, largest))
    return problems + label_problems(p["labels"])


def _positive_number(value):
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------- the instance

def _client(session):
    return session.client(redis_v1.CloudRedisClient)


def read_instance(session, path, resource):
    return session.get("read", resource, _client(session).get_instance, name=path)


def instance_view(instance):
    """The instance as Google returns it, less nothing secret (the AUTH string is never read), with its short name."""
    if instance is None:
        return None
    view = to_dict(instance)
    view["short_name"] = short_name(instance.name)
    return view


def _options(instance):
    return dict(read_options(INSTANCE_OPTIONS, instance), labels=dict(instance.labels)) if instance is not None else {}


def manage_instance(session):
    """redis_instance: the instance exists with the options given (patched in place, upgraded, or recreated when the
    task allows it), or is gone."""
    p = session.params
    validate_instance_params(p)
    client = _client(session)
    path = instance_path(session.project, p["region"], p["name"])
    resource = describe_instance(p["region"], p["name"])

    def read():
        return read_instance(session, path, resource)

    current = session.settle(read, resource, read(), PASSING_STATES, "instance")
    if p["state"] == "absent":
        if current is not None and current.state.name != "DELETING" and not session.check_mode:
            session.finish(session.call("delete", resource, client.delete_instance, name=path, idempotent=True), "delete", resource, read, "instance")
        return dict(changed=current is not None and current.state.name != "DELETING", instance=None, diff=dict(before=_options(current), after={}))
    if current is not None and current.state.name != "READY":
        raise GcpError("%s is %s%s: it cannot take a change now. Nothing was changed. Hint: wait until it is READY (or gone, when it is being "
                       "deleted), then re-run." % (resource, current.state.name, " (%s)" % current.status_message if current.status_message else ""),
                       instance=instance_view(current))

    want = {name: p[name] for name in INSTANCE_OPTIONS if p[name] is not None}
    if current is None:
        return _create(session, resource, _new_instance(want, p["labels"]), before=None, changed=sorted(want))
    labels, kinds = _plan(p, want, current)
    changed = sorted(sum(kinds.values(), []))
    if "recreate" in kinds:
        if not p["recreate"]:
            raise GcpError("Cannot change %s of %s in place: Google fixes %s when an instance is created. Nothing was changed. Hint: set "
                           "recreate=true to delete the instance and create it again; its data is lost, so back it up first "
                           "(orchestra.gcp.redis_backup) and restore it after (orchestra.gcp.redis_restore)."
                           % (", ".join(sorted(kinds["recreate"])), resource, "them" if len(kinds["recreate"]) > 1 else "it"))
        kept = {name: value for name, value in read_options(INSTANCE_OPTIONS, current).items() if value is not None}
        if not session.check_mode:
            session.wait(session.call("delete", resource, client.delete_instance, name=path, idempotent=True), "delete", resource, p["wait_timeout"])
        return _create(session, resource, _new_instance(dict(kept, **want), labels), before=current, changed=changed)
    final = current
    if "upgrade" in kinds and not session.check_mode:
        final = session.finish(session.call("upgrade", resource, client.upgrade_instance, name=path, redis_version=want["redis_version"],
                                            idempotent=True), "upgrade", resource, read, "instance")
    if "patch" in kinds:
        instance = copy_message(final)
        write_options(INSTANCE_OPTIONS, instance, {name: want[name] for name in kinds["patch"] if name != "labels"})
        instance.labels.clear()
        instance.labels.update(labels)
        final = instance
        if not session.check_mode:
            mask = field_mask_pb2.FieldMask(paths=sorted(INSTANCE_OPTIONS[name].tags["mask"] if name != "labels" else "labels" for name in kinds["patch"]))
            final = session.finish(session.call("update", resource, client.update_instance, update_mask=mask, instance=instance, idempotent=True),
                                   "update", resource, read, "instance")
    if "upgrade" in kinds and session.check_mode:
        final = copy_message(final)
        final.redis_version = want["redis_version"]
    return dict(changed=bool(changed), instance=instance_view(final), changed_options=changed, recreated=False,
                diff=dict(before=_options(current), after=_options(final)))


def _plan(p, want, current):
    """(labels to write, {change kind: [option names]}) of the task against the live instance."""
    have = read_options(INSTANCE_OPTIONS, current)
    kinds = {}
    for name in changed_options(INSTANCE_OPTIONS, want, have):
        kinds.setdefault(INSTANCE_OPTIONS[name].tags["change"], []).append(name)
    if "upgrade" in kinds and have["redis_version"] in VERSIONS and VERSIONS.index(want["redis_version"]) < VERSIONS.index(have["redis_version"]):
        kinds.setdefault("recreate", []).append(kinds.pop("upgrade")[0])  # Google upgrades only: a downgrade is a new instance
    labels = merge_labels(p["labels"], dict(current.labels), p["purge_labels"])
    if labels != dict(current.labels):
        kinds.setdefault("patch", []).append("labels")
    return labels, kinds


def _new_instance(want, labels):
    instance = redis_v1.Instance(labels=labels)
    write_options(INSTANCE_OPTIONS, instance, want)
    return instance


def _create(session, resource, instance, before, changed):
    """Create the instance (a tier and a memory size are needed); returns the module's result."""
    p = session.params
    missing = [name for name in ("tier", "memory_size_gb") if not getattr(instance, name)]
    if missing:
        raise invalid(resource, ["a new instance needs %s" % " and ".join(missing)])
    final = instance
    if not session.check_mode:
        operation = session.call("create", resource, _client(session).create_instance, parent="projects/%s/locations/%s" % (session.project, p["region"]),
                                 instance_id=p["name"], instance=instance, idempotent=True)
        path = instance_path(session.project, p["region"], p["name"])
        final = session.finish(operation, "create", resource, lambda: read_instance(session, path, resource), "instance")
    return dict(changed=True, instance=instance_view(final), changed_options=changed, recreated=before is not None,
                diff=dict(before=_options(before), after=_options(final)))


# States an instance leaves by itself: a change waits for them to end, as Google refuses one meanwhile.
PASSING_STATES = ("CREATING", "UPDATING", "IMPORTING", "FAILING_OVER", "MAINTENANCE", "REPAIRING")
