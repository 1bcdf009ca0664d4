# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups of Memorystore for Redis instances: the logic behind redis_backup, redis_backup_info, redis_backup_verify
and redis_restore.

PRIVATE to this collection. Memorystore exports an instance's data as an RDB file to Cloud Storage and imports one
back, and keeps no catalog. This file keeps one in the bucket: each backup is two objects under
``<prefix>/<region>/<instance>/``, ``<id>.rdb`` (the export) and ``<id>.json`` (its manifest: when, from which
instance and Redis version, the RDB's size, sha256 and generation, its key count, and its verification). The id is
the export's start time (UTC, ``20261201T060000Z``), so names sort in time order.

A manifest is written only once its RDB is exported, read back, hashed and checked by ``redis-check-rdb``, and
only if it does not exist yet (generation 0); a verification is recorded by rewriting it at the generation read.
So a backup without a manifest, or whose RDB is not the one its manifest names, is incomplete: never listed as
good, never restored, and removed only after a later backup succeeds.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from . import _retention
from ._gcp import WAIT_ARGSPEC, GcpError, invalid, seconds
from ._redis import INSTANCE_ID_RE, PASSING_STATES, REDIS_LIBRARIES, REGION_RE, VERSIONS, describe_instance, instance_path, read_instance
from ._storage import NAME_RE as BUCKET_RE
from ._storage import STORAGE_LIBRARIES, delete_object, download, list_objects, read_text, write_text

try:
    from google.cloud import redis_v1
except ImportError:  # reported by both doors: the specs below declare the libraries
    redis_v1 = None
try:
    import redis
except ImportError:  # reported by redis_backup_verify's doors, whose spec declares it
    redis = None

BACKUP_LIBRARIES = REDIS_LIBRARIES + STORAGE_LIBRARIES
MANIFEST_FORMAT = "orchestra.gcp/redis-backup/v1"
ID_FORMAT = "%Y%m%dT%H%M%SZ"
ID_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z$")
PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")
CHECK_TOOL = "redis-check-rdb"
SERVER_TOOL = "redis-server"
MAX_SAMPLE = 10000

LOCATION = dict(
    instance=dict(type="str", required=True),
    region=dict(type="str", required=True, aliases=["location"]),
    bucket=dict(type="str", required=True),
    prefix=dict(type="str", default="redis"),
)
BACKUP_SPEC = dict(
    argument_spec=dict(LOCATION, **WAIT_ARGSPEC, min_interval=dict(type="str"),
                       retention=dict(type="dict", options=_retention.POLICY_SPEC)),
    libraries=BACKUP_LIBRARIES,
)
INFO_SPEC = dict(argument_spec=dict(LOCATION), libraries=BACKUP_LIBRARIES)
VERIFY_SPEC = dict(
    argument_spec=dict(LOCATION, backup=dict(type="str"), target_host=dict(type="str", required=True), target_port=dict(type="int", default=6379),
                       target_password=dict(type="str", no_log=True), sample=dict(type="int", default=100)),
    libraries=BACKUP_LIBRARIES + (("redis", "redis"),),
)
RESTORE_SPEC = dict(
    argument_spec=dict(LOCATION, **WAIT_ARGSPEC, backup=dict(type="str", required=True), target=dict(type="str"),
                       confirm=dict(type="str"), safety_backup=dict(type="bool", default=True)),
    libraries=BACKUP_LIBRARIES,
)


def _folder(p):
    return "%s/%s/%s/" % (p["prefix"], p["region"], p["instance"])


def _uri(bucket, name):
    return "gs://%s/%s" % (bucket, name)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


# ---------------------------------------------------------------- validation

def _location_problems(p, instance_key="instance"):
    problems = []
    if not INSTANCE_ID_RE.match(p[instance_key] or ""):
        problems.append("%s %r is not a Memorystore instance ID (a lowercase letter, then lowercase letters, digits and hyphens)"
                        % (instance_key, p[instance_key]))
    if not REGION_RE.match(p["region"]):
        problems.append("region %r is not a region name like us-central1" % p["region"])
    if p["bucket"].startswith("gs://") or "/" in p["bucket"]:
        problems.append("bucket %r must be a bucket name, not a gs:// URI or a path (the objects go under prefix)" % p["bucket"])
    elif not BUCKET_RE.match(p["bucket"]):
        problems.append("bucket %r is not a Cloud Storage bucket name" % p["bucket"])
    if not PREFIX_RE.match(p["prefix"]):
        problems.append("prefix %r must be an object name prefix of lowercase letters, digits, '.', '_', '-' and '/', without a leading, "
                        "trailing or doubled '/'" % p["prefix"])
    return problems


def _tool(name, problems, why):
    found = shutil.which(name) or (os.path.exists("/usr/bin/" + name) and "/usr/bin/" + name)
    if not found:
        problems.append("%s is not installed on the machine this runs on; it is needed %s (Debian and Ubuntu: apt-get install redis-server, "
                        "which brings redis-tools)" % (name, why))
    return found


def _backup_problems(backup):
    if backup is not None and backup not in ("newest", "newest_verified") and not ID_RE.match(backup):
        return ["backup %r is not a backup id like 20261201T060000Z, nor newest or newest_verified; list them with "
                "orchestra.gcp.redis_backup_info" % backup]
    return []


# ---------------------------------------------------------------- the catalog

def read_catalog(session, p, resource):
    """The backups under the instance's folder, newest first: each a dict with ``id``, ``time``, ``complete``,
    ``verified`` (True, False, or None when never verified), ``uri``, ``manifest`` (None without one) and ``problem``
    (why an incomplete one is)."""
    folder = _folder(p)
    objects = {item["name"][len(folder):]: item for item in list_objects(session, p["bucket"], folder, resource)}
    ids = sorted({name.rsplit(".", 1)[0] for name in objects if ID_RE.match(name.rsplit(".", 1)[0]) and name.endswith((".rdb", ".json"))},
                 reverse=True)
    catalog = []
    for backup_id in ids:
        rdb, manifest_object = objects.get(backup_id + ".rdb"), objects.get(backup_id + ".json")
        manifest, problem = None, None
        if manifest_object is not None:
            try:
                manifest = json.loads(read_text(session, p["bucket"], folder + backup_id + ".json", resource))
            except ValueError:
                problem = "its manifest is not JSON"
        if manifest is None:
            problem = problem or ("it has no manifest: its export did not finish, or its check failed" if rdb else "its RDB is missing")
        elif rdb is None:
            problem = "its RDB is missing"
        elif str(manifest.get("rdb", {}).get("generation")) != str(rdb["generation"]):
            problem = "its RDB was replaced after the backup (generation %s, the manifest names %s)" % (
                rdb["generation"], manifest.get("rdb", {}).get("generation"))
        verification = (manifest or {}).get("verification") or {}
        catalog.append(dict(
            id=backup_id, time=datetime.datetime.strptime(backup_id, ID_FORMAT).replace(tzinfo=datetime.timezone.utc),
            complete=problem is None, problem=problem, uri=_uri(p["bucket"], folder + backup_id + ".rdb"),
            verified={"passed": True, "failed": False}.get(verification.get("state")), manifest=manifest,
            manifest_generation=manifest_object["generation"] if manifest_object else None))
    return catalog


def _summary(backup):
    """A catalog entry as a module returns it (plain data)."""
    if backup is None:
        return None
    manifest = backup["manifest"] or {}
    return dict(id=backup["id"], time=backup["time"].strftime("%Y-%m-%dT%H:%M:%SZ"), uri=backup["uri"], complete=backup["complete"],
                problem=backup["problem"], verified=backup["verified"], verification=manifest.get("verification"),
                size=manifest.get("rdb", {}).get("size"), sha256=manifest.get("rdb", {}).get("sha256"), key_count=manifest.get("key_count"),
                redis_version=manifest.get("source", {}).get("redis_version"), memory_size_gb=manifest.get("source", {}).get("memory_size_gb"),
                reason=manifest.get("reason"))


def _pick(catalog, wanted, resource):
    """The complete backup ``wanted`` names (an id, newest, newest_verified), or a GcpError saying why there is none."""
    complete = [backup for backup in catalog if backup["complete"]]
    if wanted in (None, "newest"):
        found = complete[0] if complete else None
    elif wanted == "newest_verified":
        found = next((backup for backup in complete if backup["verified"]), None)
    else:
        found = next((backup for backup in catalog if backup["id"] == wanted), None)
        if found is not None and not found["complete"]:
            raise invalid(resource, ["backup %s is incomplete (%s): it cannot be used" % (wanted, found["problem"])])
    if found is None:
        named = wanted not in (None, "newest", "newest_verified")
        kind = "such" if named else "verified" if wanted == "newest_verified" else "complete"
        raise invalid(resource, ["there is no %s backup of it%s" % (kind, " (%s); list them with orchestra.gcp.redis_backup_info" % wanted if named else "")])
    return found


# ---------------------------------------------------------------- RDB files

def check_rdb(path, tool):
    """(number of keys, None) when ``redis-check-rdb`` accepts the file; (None, its last words) when it does not."""
    try:
        run = subprocess.run([tool, path], capture_output=True, text=True, timeout=3600, check=False)
    except subprocess.TimeoutExpired:
        return None, "redis-check-rdb did not finish within an hour"
    output = run.stdout + run.stderr
    keys = re.search(r"\[info\] ([0-9]+) keys read", output)
    if run.returncode != 0 or "RDB looks OK" not in output or keys is None:
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        return None, " / ".join(lines[-3:]) or "exit status %d" % run.returncode
    return int(keys.group(1)), None


def _fetch(session, p, name, directory, resource):
    """Download object ``name`` into ``directory``; returns (path, sha256, size)."""
    path = os.path.join(directory, "backup.rdb")
    digest = hashlib.sha256()

    class Hashing:  # a file that hashes what is written to it
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            digest.update(data)
            return self.handle.write(data)

    with open(path, "wb") as handle:
        download(session, p["bucket"], name, Hashing(handle), resource)
    return path, digest.hexdigest(), os.path.getsize(path)


# ---------------------------------------------------------------- redis_backup

def _redis_client(session):
    return session.client(redis_v1.CloudRedisClient)


def take_backup(session, p, instance, resource, check_tool, reason=None):
    """Export ``instance`` to a new backup, check it and write its manifest; returns its catalog entry. A failure
    leaves every older backup as it was."""
    folder = _folder(p)
    started = _now()
    # Ids are seconds: a backup started in the second of another (a safety backup right after one) waits for the next,
    # so that its export never replaces the other's RDB.
    while list_objects(session, p["bucket"], folder + started.strftime(ID_FORMAT) + ".", resource):
        time.sleep(1.0 - started.microsecond / 1e6)
        started = _now()
    backup_id = started.strftime(ID_FORMAT)
    name = folder + backup_id + ".rdb"
    uri = _uri(p["bucket"], name)
    operation = session.call("export", resource, _redis_client(session).export_instance, name=instance.name,
                             output_config=dict(gcs_destination=dict(uri=uri)), idempotent=False)
    try:
        session.wait(operation, "export", resource, p["wait_timeout"])
    except GcpError as e:
        raise GcpError("%s No backup was listed for it, and older backups were left as they were. Hint: check that the instance's "
                       "persistence identity (%s) may write to bucket %s (roles/storage.objectAdmin), then re-run."
                       % (e.msg, instance.persistence_iam_identity or "service-PROJECT_NUMBER@cloud-redis.iam.gserviceaccount.com", p["bucket"]),
                       status=e.status)
    rdb = next((item for item in list_objects(session, p["bucket"], name, resource) if item["name"] == name), None)
    if rdb is None:
        raise GcpError("The export of %s finished, but %s is not in the bucket. No backup was listed for it, and older backups were left "
                       "as they were. Hint: re-run; if it happens again, check the bucket's lifecycle and retention rules." % (resource, uri))
    directory = tempfile.mkdtemp(prefix="orchestra-redis-backup-")
    try:
        path, sha256, size = _fetch(session, p, name, directory, resource)
        keys, problem = check_rdb(path, check_tool)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    if problem:
        raise GcpError("The export of %s wrote an RDB that redis-check-rdb refuses (%s): %s. It is not listed as a backup (it has no manifest), "
                       "and older backups were left as they were. Hint: re-run; the next successful backup removes it." % (resource, uri, problem))
    manifest = dict(
        format=MANIFEST_FORMAT, id=backup_id, time=started.strftime("%Y-%m-%dT%H:%M:%SZ"), finished=_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        reason=reason, key_count=keys,
        source=dict(instance=instance.name, redis_version=instance.redis_version, tier=instance.tier.name, memory_size_gb=instance.memory_size_gb),
        rdb=dict(uri=uri, size=size, sha256=sha256, generation=str(rdb["generation"]), md5=rdb.get("md5Hash")),
        verification=None)
    written = write_text(session, p["bucket"], folder + backup_id + ".json", json.dumps(manifest, indent=2, sort_keys=True), resource)
    return dict(id=backup_id, time=started.replace(microsecond=0), complete=True, problem=None, uri=uri, verified=None, manifest=manifest,
                manifest_generation=written["generation"])


def _prune(session, p, catalog, resource):
    """Apply the retention policy to ``catalog`` (newest first, holding the backup just taken) and delete what it
    prunes, the manifest first (a backup without one is incomplete, never listed as good), and the incomplete
    backups older than the newest (left by runs that died or failed). Returns the ids deleted."""
    selection = _retention.select(catalog, p["retention"])
    newest = catalog[0]["time"]
    doomed = selection["prune"] + [backup for backup in selection["incomplete"] if backup["time"] < newest]
    folder = _folder(p)
    for backup in doomed:
        delete_object(session, p["bucket"], folder + backup["id"] + ".json", resource, backup["manifest_generation"])
        delete_object(session, p["bucket"], folder + backup["id"] + ".rdb", resource)
    return [backup["id"] for backup in doomed], selection


def _read_source(session, p, resource):
    path = instance_path(session.project, p["region"], p["instance"])
    instance = session.settle(lambda: read_instance(session, path, resource), resource, read_instance(session, path, resource), PASSING_STATES,
                              "instance")
    if instance is None:
        raise GcpError("%s does not exist: nothing to back up or restore into. Nothing was changed. Hint: check the name, the project and "
                       "the region." % resource)
    if instance.state.name != "READY":
        raise GcpError("%s is %s: it can be exported or imported only when READY. Nothing was changed. Hint: re-run once it is READY."
                       % (resource, instance.state.name))
    return instance


def backup_instance(session):
    """redis_backup: a new backup unless one is younger than min_interval, then retention."""
    p = session.params
    resource = describe_instance(p["region"], p["instance"])
    problems = _location_problems(p)
    interval = seconds(p["min_interval"]) if p["min_interval"] is not None else 0
    if interval is None:
        problems.append("min_interval %r is not a duration like 6h, 30m or 86400" % p["min_interval"])
    if p["retention"] is not None:
        problems += _retention.policy_problems(p["retention"])
    tool = _tool(CHECK_TOOL, problems, "to check every RDB file before it is listed as a backup")
    if problems:
        raise invalid(resource, problems)
    instance = _read_source(session, p, resource)
    catalog = read_catalog(session, p, resource)
    newest = next((backup for backup in catalog if backup["complete"]), None)
    if newest is not None and interval and (_now() - newest["time"]).total_seconds() < interval:
        return dict(changed=False, backup=_summary(newest), pruned=[], not_taken="the newest backup, %s, is younger than min_interval %s"
                    % (newest["id"], p["min_interval"]), retention=None)
    if session.check_mode:
        return dict(changed=True, backup=None, pruned=[], not_taken=None, retention=_retention.describe(p["retention"]) if p["retention"] else None)
    backup = take_backup(session, p, instance, resource, tool)
    pruned, selection = _prune(session, p, [backup] + catalog, resource) if p["retention"] else ([], None)
    return dict(changed=True, backup=_summary(backup), pruned=pruned, not_taken=None,
                retention=dict(policy=_retention.describe(p["retention"]), kept=[b["id"] for b in selection["keep"]],
                               reasons=selection["reasons"]) if selection else None)


# ---------------------------------------------------------------- redis_backup_info

def describe_backups(session):
    """redis_backup_info: the catalog, newest first."""
    p = session.params
    resource = describe_instance(p["region"], p["instance"])
    problems = _location_problems(p)
    if problems:
        raise invalid(resource, problems)
    catalog = read_catalog(session, p, resource)
    backups = [_summary(backup) for backup in catalog]
    complete = [backup for backup in backups if backup["complete"]]
    return dict(changed=False, backups=backups, newest=complete[0] if complete else None,
                newest_verified=next((backup for backup in complete if backup["verified"]), None))


# ---------------------------------------------------------------- redis_restore

def restore_instance(session):
    """redis_restore: import a backup of ``instance`` into ``target`` (``instance`` itself by default), confirmed,
    after a safety backup of the target."""
    p = session.params
    target = p["target"] or p["instance"]
    resource = describe_instance(p["region"], target)
    problems = _location_problems(p) + _backup_problems(p["backup"])
    if p["target"] and not INSTANCE_ID_RE.match(p["target"]):
        problems.append("target %r is not a Memorystore instance ID" % p["target"])
    if p["confirm"] != target:
        problems.append("a restore replaces every key of %s: set confirm to %r to go ahead" % (target, target))
    tool = _tool(CHECK_TOOL, problems, "to check the safety backup") if p["safety_backup"] else None
    if problems:
        raise invalid(resource, problems)
    instance = _read_source(session, dict(p, instance=target), resource)
    catalog = read_catalog(session, p, resource)
    backup = _pick(catalog, p["backup"], resource)
    if backup["verified"] is False:
        raise invalid(resource, ["backup %s failed its verification (%s): restore another one, or verify it again first"
                                 % (backup["id"], (backup["manifest"].get("verification") or {}).get("reason"))])
    version = backup["manifest"].get("source", {}).get("redis_version")
    if version in VERSIONS and instance.redis_version in VERSIONS and VERSIONS.index(version) > VERSIONS.index(instance.redis_version):
        raise invalid(resource, ["backup %s is of %s, newer than the instance's %s: Redis cannot load it; upgrade the instance first "
                                 "(orchestra.gcp.redis_instance redis_version)" % (backup["id"], version, instance.redis_version)])
    if session.check_mode:
        return dict(changed=True, restored=_summary(backup), safety_backup=None)
    safety = take_backup(session, dict(p, instance=target), instance, resource, tool, reason="before restoring %s" % backup["id"]) \
        if p["safety_backup"] else None
    operation = session.call("import", resource, _redis_client(session).import_instance, name=instance.name,
                             input_config=dict(gcs_source=dict(uri=backup["uri"])), idempotent=False)
    try:
        session.wait(operation, "import %s into" % backup["uri"], resource, p["wait_timeout"])
    except GcpError as e:
        raise GcpError("%s%s" % (e.msg, " The data as it was before is in backup %s." % safety["id"] if safety else ""), status=e.status,
                       safety_backup=_summary(safety))
    return dict(changed=True, restored=_summary(backup), safety_backup=_summary(safety))


# ---------------------------------------------------------------- redis_backup_verify

def _values(client, key):
    """A key's type, value (in a form that compares) and whether it expires."""
    kind = client.type(key).decode()
    read = {"string": client.get, "hash": client.hgetall, "list": lambda k: client.lrange(k, 0, -1),
            "set": lambda k: sorted(client.smembers(k)), "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
            "stream": client.xrange}.get(kind, client.dump)
    return kind, read(key), client.pttl(key) > 0


class LocalServer:
    """A redis-server on this machine loading an RDB file, on a free loopback port, as the reference of a verification."""

    def __init__(self, path, tool):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        directory, name = os.path.split(path)
        self.process = subprocess.Popen([tool, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", directory, "--dbfilename", name,  # noqa: SIM115
                                         "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 600
        while True:
            try:
                if self.client.ping():
                    return
            except (redis.ConnectionError, redis.BusyLoadingError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise GcpError("redis-server could not load the backup's RDB file on this machine (a Redis older than the backup's?).")
                time.sleep(0.05)

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def _keyspace(client):
    """(keys, keys with an expiry) of database 0."""
    found = client.info("keyspace").get("db0") or {}
    return found.get("keys", 0), found.get("expires", 0)


def compare(reference, target, sample):
    """Compare the target's data with the reference's: key counts (the keys without an expiry exactly; those with
    one may have expired since), and ``sample`` keys drawn from the reference, each with its type, value and whether
    it expires. Returns (mismatches, measured)."""
    keys, expiring = _keyspace(reference)
    target_keys, target_expiring = _keyspace(target)
    mismatches = []
    if keys - expiring != target_keys - target_expiring:
        mismatches.append("%d keys without an expiry, %d in the backup" % (target_keys - target_expiring, keys - expiring))
    if target_expiring > expiring:
        mismatches.append("%d keys with an expiry, more than the %d in the backup" % (target_expiring, expiring))
    drawn = set()
    for _attempt in range(sample * 3):
        if len(drawn) >= min(sample, keys):
            break
        key = reference.randomkey()
        if key is not None:
            drawn.add(key)
    for key in sorted(drawn):
        want = _values(reference, key)
        have = _values(target, key) if target.exists(key) else None
        if have is None and want[2]:
            continue  # it expired since the backup
        if have != want:
            mismatches.append("key %r differs%s" % (key.decode("utf-8", "replace"), " (missing)" if have is None else ""))
    return mismatches[:20], dict(key_count=keys, expiring=expiring, target_keys=target_keys, target_expiring=target_expiring, sampled=len(drawn))


def verify_backup(session):
    """redis_backup_verify: check a backup against an instance it was restored into, and record the result in its
    manifest."""
    p = session.params
    resource = describe_instance(p["region"], p["instance"])
    problems = _location_problems(p) + _backup_problems(p["backup"])
    if not 1 <= p["sample"] <= MAX_SAMPLE:
        problems.append("sample %d must be from 1 through %d keys" % (p["sample"], MAX_SAMPLE))
    check_tool = _tool(CHECK_TOOL, problems, "to check the backup's RDB file")
    server_tool = _tool(SERVER_TOOL, problems, "to load the backup's RDB file as the reference")
    if problems:
        raise invalid(resource, problems)
    catalog = read_catalog(session, p, resource)
    backup = _pick(catalog, p["backup"], resource)
    if session.check_mode:
        return dict(changed=True, backup=_summary(backup), passed=None, mismatches=[], measured=None)
    manifest = backup["manifest"]
    folder = _folder(p)
    directory = tempfile.mkdtemp(prefix="orchestra-redis-verify-")
    measured, mismatches, reason = None, [], None
    try:
        path, sha256, _size = _fetch(session, p, folder + backup["id"] + ".rdb", directory, resource)
        keys, problem = check_rdb(path, check_tool)
        if sha256 != manifest["rdb"]["sha256"]:
            reason = "its RDB's sha256 is %s, not the %s recorded when it was taken" % (sha256, manifest["rdb"]["sha256"])
        elif problem:
            reason = "redis-check-rdb refuses its RDB: %s" % problem
        elif keys != manifest.get("key_count"):
            reason = "its RDB holds %s keys, not the %s recorded when it was taken" % (keys, manifest.get("key_count"))
        else:
            local = LocalServer(path, server_tool)
            try:
                target = redis.Redis(host=p["target_host"], port=p["target_port"], password=p["target_password"], socket_timeout=30)
                mismatches, measured = compare(local.client, target, p["sample"])
            except redis.RedisError as e:
                raise GcpError("Could not read %s:%s, where backup %s was restored, to compare it: %s. Nothing was recorded. Hint: run this "
                               "where the instance's network is reachable." % (p["target_host"], p["target_port"], backup["id"], e))
            finally:
                local.close()
            reason = "; ".join(mismatches) or None
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    verification = dict(state="failed" if reason else "passed", time=_now().strftime("%Y-%m-%dT%H:%M:%SZ"), reason=reason, measured=measured,
                        target="%s:%s" % (p["target_host"], p["target_port"]))
    manifest = dict(manifest, verification=verification)
    write_text(session, p["bucket"], folder + backup["id"] + ".json", json.dumps(manifest, indent=2, sort_keys=True), resource,
               generation=backup["manifest_generation"])
    summary = _summary(dict(backup, manifest=manifest, verified=reason is None))
    if reason:
        raise GcpError("Backup %s of %s failed its verification: %s. This is recorded in its manifest: it will not be restored, and retention "
                       "keeps an older verified backup. Hint: take a new backup, then verify it." % (backup["id"], resource, reason),
                       changed=True, backup=summary, passed=False, mismatches=mismatches, measured=measured)
    return dict(changed=True, backup=summary, passed=True, mismatches=[], measured=measured)
