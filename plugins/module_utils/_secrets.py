# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret Manager secrets and their versions: the logic behind the secret, secret_version and secret_info modules.

PRIVATE to this collection. A secret's value never leaves this file's functions: it is compared and sent, never
returned, warned about or put in a message.
"""

from __future__ import annotations

import datetime
import hmac
import re
import secrets
import string

from ._gcp import (GcpError, Option, argument_spec, changed_options, copy_message, invalid, label_problems, merge_labels,
                   read_options, seconds, short_name, to_dict, write_options)

try:
    from google.cloud import secretmanager_v1 as sm
    from google.protobuf import field_mask_pb2
except ImportError:  # reported by both doors: the specs below declare SECRET_LIBRARIES
    sm = None

SECRET_LIBRARIES = (("google-cloud-secret-manager", "google.cloud.secretmanager_v1"),)

SECRET_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
TOPIC_RE = re.compile(r"^projects/[^/]+/topics/[^/]+$")
LOCATION_RE = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
MAX_PAYLOAD = 64 * 1024  # bytes (https://cloud.google.com/secret-manager/quotas)
MIN_ROTATION = 3600  # seconds: Google refuses a shorter rotation period
MIN_ROTATION_LEAD = 300  # seconds: "Cannot be set to less than 300s (5 min) in the future" (Rotation.next_rotation_time)
STATES = dict(enabled="ENABLED", disabled="DISABLED", destroyed="DESTROYED")
# What a generated value may be made of.
CHARSETS = dict(alphanumeric=string.ascii_letters + string.digits, hex="0123456789abcdef",
                urlsafe=string.ascii_letters + string.digits + "-_", printable=string.ascii_letters + string.digits + string.punctuation)


# ---------------------------------------------------------------- names and conversions

def secret_path(project, name):
    return "projects/%s/secrets/%s" % (project, name)


def _timestamp(text):
    try:
        moment = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _stamp(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def crc32c(data):
    """CRC-32C (Castagnoli) of ``data``, as Secret Manager checks a payload (``dataCrc32c``)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _unused in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


# ---------------------------------------------------------------- the options of a secret

def _read_locations(secret):
    return sorted(r.location for r in secret.replication.user_managed.replicas) or None


def _write_locations(secret, locations):
    if locations:
        secret.replication = sm.Replication(user_managed=sm.Replication.UserManaged(
            replicas=[sm.Replication.UserManaged.Replica(location=location) for location in sorted(locations)]))


def _read_kms(secret):
    return secret.replication.automatic.customer_managed_encryption.kms_key_name or None


def _write_kms(secret, key):
    secret.replication.automatic.customer_managed_encryption.kms_key_name = key


def _write_topics(secret, topics):
    secret.topics = [sm.Topic(name=topic) for topic in topics]


def _read_period(secret):
    period = secret.rotation.rotation_period
    return int(period.total_seconds()) if period else None


def _write_period(secret, period):
    secret.rotation.rotation_period = datetime.timedelta(seconds=seconds(period))


def _read_duration(field):
    return lambda secret: int(getattr(secret, field).total_seconds()) if getattr(secret, field) else None


def _write_duration(field):
    return lambda secret, value: setattr(secret, field, datetime.timedelta(seconds=seconds(value)))


def _same_duration(want, have):
    return seconds(want) == have


def _same_time(want, have):
    return _timestamp(want) == _timestamp(have) if have else False


# Every option of a secret once: argument spec, API field, comparison. ``mask`` is the field's update mask path;
# ``immutable`` marks what Google cannot change once the secret exists; ``create_only`` what is applied only then.
SECRET_OPTIONS = dict(
    replica_locations=Option(dict(type="list", elements="str"), read=_read_locations, write=_write_locations,
                             same=lambda want, have: sorted(want) == (have or []), mask="replication", immutable=True),
    kms_key_name=Option(dict(type="str"), read=_read_kms, write=_write_kms, mask="replication", immutable=True),
    labels=Option(dict(type="dict"), "labels", mask="labels"),
    annotations=Option(dict(type="dict"), "annotations", mask="annotations"),
    topics=Option(dict(type="list", elements="str"), read=lambda s: [t.name for t in s.topics], write=_write_topics,
                  same=lambda want, have: sorted(want) == sorted(have or []), mask="topics"),
    rotation_period=Option(dict(type="str"), read=_read_period, write=_write_period, same=_same_duration,
                           mask="rotation.rotation_period"),
    next_rotation_time=Option(dict(type="str"), read=lambda s: _stamp(s.rotation.next_rotation_time),
                              write=lambda s, v: setattr(s.rotation, "next_rotation_time", _timestamp(v)), same=_same_time,
                              mask="rotation.next_rotation_time"),
    version_aliases=Option(dict(type="dict"), read=lambda s: {k: int(v) for k, v in s.version_aliases.items()},
                           write=lambda s, v: setattr(s, "version_aliases", {k: int(n) for k, n in v.items()}),
                           same=lambda want, have: {k: int(v) for k, v in want.items()} == (have or {}), mask="version_aliases"),
    expire_time=Option(dict(type="str"), read=lambda s: _stamp(s.expire_time), write=lambda s, v: setattr(s, "expire_time", _timestamp(v)),
                       same=_same_time, mask="expire_time"),
    ttl=Option(dict(type="str"), read=lambda s: None, write=_write_duration("ttl"), same=lambda want, have: True, create_only=True),
    version_destroy_ttl=Option(dict(type="str"), read=_read_duration("version_destroy_ttl"), write=_write_duration("version_destroy_ttl"),
                               same=_same_duration, mask="version_destroy_ttl"),
)

NAME_ARGSPEC = dict(name=dict(type="str", required=True))

SECRET_SPEC = dict(
    argument_spec=dict(
        NAME_ARGSPEC, **argument_spec(SECRET_OPTIONS),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        purge_labels=dict(type="bool", default=True),
        purge_annotations=dict(type="bool", default=True),
        recreate=dict(type="bool", default=False),
    ),
    mutually_exclusive=[("replica_locations", "kms_key_name"), ("ttl", "expire_time")],
    libraries=SECRET_LIBRARIES,
)

GENERATE_SPEC = dict(
    length=dict(type="int", default=32),
    charset=dict(type="str", default="alphanumeric", choices=sorted(CHARSETS)),
)

VERSION_SPEC = dict(
    argument_spec=dict(
        secret=dict(type="str", required=True, no_log=False),  # the secret's name
        value=dict(type="str", no_log=True),
        generate=dict(type="dict", options=GENERATE_SPEC),
        version=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "enabled", "disabled", "destroyed"]),
        aliases=dict(type="list", elements="str", default=[]),
    ),
    mutually_exclusive=[("value", "generate", "version")],
    required_one_of=[("value", "generate", "version")],
    libraries=SECRET_LIBRARIES,
)

INFO_SPEC = dict(
    argument_spec=dict(
        name=dict(type="str"),
        filter=dict(type="str"),
        versions=dict(type="bool", default=True),
    ),
    mutually_exclusive=[("name", "filter")],
    libraries=SECRET_LIBRARIES,
)


# ---------------------------------------------------------------- validation

def _duration_problems(p, key, minimum=1):
    value = p.get(key)
    if value is not None and (seconds(value) is None or seconds(value) < minimum):
        return ["%s %r must be a whole number of seconds, minutes, hours or days (like 3600s, 90m, 12h, 30d) of at least %ds"
                % (key, value, minimum)]
    return []


def validate_secret_params(p, now):
    """Every check that needs no API call; raises GcpError naming all problems."""
    resource = "secret %s" % p["name"]
    problems = []
    if not SECRET_ID_RE.match(p["name"]):
        problems.append("name %r must hold 1 to 255 letters, digits, '_' or '-'" % p["name"])
    if p["state"] == "present":
        problems += label_problems(p["labels"])
        for key in p["annotations"] or {}:
            if not re.match(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$", str(key)):
                problems.append("annotation key %r must hold at most 63 letters, digits, '.', '_' or '-', starting and ending "
                                "with a letter or digit" % key)
        if len(repr(p["annotations"] or {})) > 16 * 1024:
            problems.append("annotations must hold at most 16 KiB in all")
        for location in p["replica_locations"] or []:
            if not LOCATION_RE.match(location):
                problems.append("replica location %r is not a Google Cloud region like us-central1" % location)
        if p["replica_locations"] is not None and not p["replica_locations"]:
            problems.append("replica_locations must name at least one region (leave it out for automatic replication)")
        for topic in p["topics"] or []:
            if not TOPIC_RE.match(topic):
                problems.append("topic %r must be a Pub/Sub topic name projects/PROJECT/topics/TOPIC" % topic)
        problems += _duration_problems(p, "rotation_period", MIN_ROTATION)
        problems += _duration_problems(p, "ttl") + _duration_problems(p, "version_destroy_ttl", 86400)
        for key in ("next_rotation_time", "expire_time"):
            if p[key] is not None:
                moment = _timestamp(p[key])
                if moment is None:
                    problems.append("%s %r must be an RFC 3339 time with a zone, like 2026-12-01T00:00:00Z" % (key, p[key]))
                elif moment <= now:
                    problems.append("%s %s is not in the future" % (key, p[key]))
                elif key == "next_rotation_time" and (moment - now).total_seconds() < MIN_ROTATION_LEAD:
                    problems.append("next_rotation_time %s is less than 5 minutes ahead: Google refuses that" % p[key])
        for alias, version in (p["version_aliases"] or {}).items():
            problems += _alias_problems(alias)
            if not str(version).isdigit() or int(version) < 1:
                problems.append("version_aliases %r must name a version number, not %r" % (alias, version))
    if problems:
        raise invalid(resource, problems)


def rotation_problems(spec):
    """Google's rules between the rotation options, on what the secret will hold (the live values and the new ones)."""
    problems = []
    if (spec.get("rotation_period") or spec.get("next_rotation_time")) and not spec.get("topics"):
        problems.append("a rotation needs topics: Secret Manager publishes SECRET_ROTATE to them when it is due")
    if spec.get("rotation_period") and not spec.get("next_rotation_time"):
        problems.append("rotation_period needs next_rotation_time, the first time the rotation is due")
    return problems


def _alias_problems(alias):
    if alias == "latest":
        return ["alias 'latest' is reserved by Secret Manager for the newest version"]
    if not ALIAS_RE.match(str(alias)) or str(alias).isdigit():
        return ["alias %r must start with a letter and hold at most 63 letters, digits, '_' or '-'" % alias]
    return []


def validate_version_params(p):
    resource = "secret %s" % p["secret"]
    problems = [] if SECRET_ID_RE.match(p["secret"]) else ["secret %r must hold 1 to 255 letters, digits, '_' or '-'" % p["secret"]]
    for alias in p["aliases"]:
        problems += _alias_problems(alias)
    if p["value"] is not None:
        size = len(p["value"].encode("utf-8"))
        if not size or size > MAX_PAYLOAD:
            problems.append("value must hold 1 to %d bytes, not %d" % (MAX_PAYLOAD, size))
    if p["generate"] is not None and not 8 <= p["generate"]["length"] <= MAX_PAYLOAD:
        problems.append("generate length %d must be from 8 (a shorter value is guessed) to %d" % (p["generate"]["length"], MAX_PAYLOAD))
    if (p["value"] is not None or p["generate"] is not None) and p["state"] != "present":
        problems.append("a new version (value or generate) is always enabled: leave state at present")
    if p["version"] is not None:
        if p["state"] == "present":
            problems.append("with version, state must say what to make of it: enabled, disabled or destroyed")
        if p["state"] == "destroyed" and p["aliases"]:
            problems.append("aliases cannot point at a destroyed version")
        if p["version"] != "latest" and not p["version"].isdigit() and _alias_problems(p["version"]):
            problems.append("version %r must be a number, 'latest' or an alias" % p["version"])
    if problems:
        raise invalid(resource, problems)


# ---------------------------------------------------------------- secrets

def _client(session):
    return session.client(sm.SecretManagerServiceClient)


def read_secret(session, path, resource):
    return session.get("read", resource, _client(session).get_secret, name=path)


def desired_secret(p, have):
    want = {k: p[k] for k in SECRET_OPTIONS if p.get(k) is not None}
    for key in ("labels", "annotations"):
        if key in want:
            want[key] = merge_labels(want[key], have.get(key), p["purge_" + key])
    return want


def manage_secret(session):
    """secret: make the secret match the options; an immutable change needs ``recreate``."""
    p = session.params
    now = datetime.datetime.now(datetime.timezone.utc)
    validate_secret_params(p, now)
    client = _client(session)
    path = secret_path(session.project, p["name"])
    resource = "secret %s" % p["name"]
    if p["state"] == "absent":
        return _delete_secret(session, path, resource)

    def build(current):
        """The change: the Secret to write, the options it changes, and whether it must be created anew."""
        have = read_options(SECRET_OPTIONS, current) if current else {}
        want = desired_secret(p, have)
        keys = [k for k in changed_options(SECRET_OPTIONS, want, have) if current is None or not SECRET_OPTIONS[k].tags.get("create_only")]
        if current is not None and not keys:
            return None, keys
        problems = rotation_problems(dict(have, **want))
        if problems:
            raise invalid(resource, problems)
        recreate = current is not None and [k for k in keys if SECRET_OPTIONS[k].tags.get("immutable")]
        if recreate and not p["recreate"]:
            raise GcpError("Cannot change %s of %s: Google cannot change replication once a secret exists. Nothing was changed. "
                           "Hint: set recreate=true to delete the secret with all its versions and create it again (consumers "
                           "pinned to its versions break until they get new ones)." % (", ".join(recreate), resource))
        if "version_aliases" in keys:
            _check_alias_targets(session, current, want["version_aliases"], resource)
        if current is None or recreate:
            secret = sm.Secret(replication=sm.Replication(automatic=sm.Replication.Automatic()))
            write_options(SECRET_OPTIONS, secret, dict((k, v) for k, v in want.items() if k != "version_aliases" or not recreate))
        else:
            secret = copy_message(current)
            write_options(SECRET_OPTIONS, secret, {k: want[k] for k in keys})
        return dict(secret=secret, keys=keys, recreate=bool(recreate)), keys

    def write(current, change):
        secret = change["secret"]
        if current is not None and not change["recreate"]:
            mask = sorted(set(SECRET_OPTIONS[k].tags["mask"] for k in change["keys"]))
            return session.call("update", resource, client.update_secret, secret=secret,
                                update_mask=field_mask_pb2.FieldMask(paths=mask), idempotent=True)
        if current is not None:
            session.call("delete", resource, client.delete_secret, request=dict(name=current.name, etag=current.etag), idempotent=True)
        return session.call("create", resource, client.create_secret, parent="projects/" + session.project,
                            secret_id=p["name"], secret=secret, idempotent=True)

    # A stale etag: Secret Manager says FAILED_PRECONDITION (ABORTED as other Google APIs do, just in case); a
    # create that meets one made meanwhile says ALREADY_EXISTS. Each is read again and rebuilt.
    current, change, keys, written = session.read_modify_write(
        resource, lambda: read_secret(session, path, resource), build, write,
        conflicts=("FAILED_PRECONDITION", "ABORTED", "ALREADY_EXISTS"))
    final = written or (change["secret"] if change else current)
    return dict(changed=change is not None, secret=_secret_view(final), changed_options=keys,
                recreated=bool(change and change["recreate"]),
                diff=dict(before=_secret_diff(current), after=_secret_diff(final)))


def _check_alias_targets(session, current, aliases, resource):
    """Aliases name versions the secret has and has not destroyed (a new secret has none)."""
    versions = {} if current is None else {int(short_name(v.name)): v.state.name for v in session.list(
        "list versions of", resource, _client(session).list_secret_versions, parent=current.name)}
    wrong = ["alias %r names version %s, which %s" % (alias, number, "is destroyed" if versions.get(int(number)) else "does not exist")
             for alias, number in sorted(aliases.items()) if versions.get(int(number)) in (None, "DESTROYED")]
    if wrong:
        raise invalid(resource, wrong)


def _secret_view(secret):
    if secret is None:
        return None
    view = to_dict(secret)
    view["short_name"] = short_name(secret.name)
    return view


def _secret_diff(secret):
    return read_options(SECRET_OPTIONS, secret) if secret is not None else {}


def _delete_secret(session, path, resource):
    current = read_secret(session, path, resource)
    if current is None:
        return dict(changed=False, secret=None, diff=dict(before={}, after={}))
    if not session.check_mode:
        session.call("delete", resource, _client(session).delete_secret, request=dict(name=current.name, etag=current.etag),
                     idempotent=True)
    return dict(changed=True, secret=None, diff=dict(before=_secret_diff(current), after={}))


# ---------------------------------------------------------------- versions

def _version_view(version, aliases):
    number = int(short_name(version.name))
    return dict(name=version.name, version=number, state=version.state.name, aliases=sorted(a for a, n in aliases.items() if n == number),
                create_time=_stamp(version.create_time), destroy_time=_stamp(version.destroy_time),
                scheduled_destroy_time=_stamp(version.scheduled_destroy_time))


def _aliases(secret):
    return {alias: int(number) for alias, number in secret.version_aliases.items()}


def _generated(spec):
    charset = CHARSETS[spec["charset"]]
    return "".join(secrets.choice(charset) for _unused in range(spec["length"]))


def _holds(session, version, value, resource):
    """Whether the enabled ``version`` holds ``value``: its payload is read and compared here, and goes no further."""
    if version is None or version.state.name != "ENABLED":
        return False
    answer = session.call("read the value of version %s of" % short_name(version.name), resource, _client(session).access_secret_version,
                          name=version.name, idempotent=True)
    return hmac.compare_digest(answer.payload.data, value.encode("utf-8"))


def manage_version(session):
    """secret_version: add a version from a value or a generator (once), or enable, disable or destroy one; point aliases."""
    p = session.params
    validate_version_params(p)
    resource = "secret %s" % p["secret"]
    path = secret_path(session.project, p["secret"])
    secret = read_secret(session, path, resource)
    if secret is None and session.check_mode and p["version"] is None:
        # A check run of a play that creates the secret in an earlier task: its first version would be added.
        return dict(changed=True, added=True, moved_aliases=sorted(p["aliases"]), version=None,
                    diff=dict(before={}, after=dict(aliases={a: 1 for a in p["aliases"]})))
    if secret is None:
        raise GcpError("Cannot manage versions of %s: the secret does not exist. Nothing was changed. Hint: create it with "
                       "orchestra.gcp.secret first." % resource)
    aliases = _aliases(secret)
    if p["version"] is not None:
        return _set_state(session, p, secret, aliases, resource)
    # The version the request is about now: the one the first alias names, else the newest.
    ref = "%s/versions/%s" % (secret.name, aliases[p["aliases"][0]]) if p["aliases"] and p["aliases"][0] in aliases else None
    current = session.get("read the version of", resource, _client(session).get_secret_version,
                          name=ref or secret.name + "/versions/latest") if ref or not p["aliases"] else None
    if p["generate"] is not None:
        # A generated value is made once: while the aliases name one enabled version (or, without aliases, while the
        # secret has an enabled newest version), there is nothing to add.
        pointed = set(aliases.get(a) for a in p["aliases"])
        needed = current is None or current.state.name != "ENABLED" or (p["aliases"] and (None in pointed or len(pointed) > 1))
        value = _generated(p["generate"]) if needed else None
    else:
        value = None if _holds(session, current, p["value"], resource) else p["value"]
    added = None
    if value is not None and not session.check_mode:
        data = value.encode("utf-8")
        # Not idempotent: a repeat would add a second version. It runs once; a failure says what to do.
        try:
            added = session.call("add a version to", resource, _client(session).add_secret_version, parent=secret.name,
                                 payload=sm.SecretPayload(data=data, data_crc32c=crc32c(data)), idempotent=False)
        except GcpError as e:
            raise add_failure(e, p["aliases"])
    number = int(short_name((added or current).name)) if (added or current) else None
    moved = _point_aliases(session, path, resource, p["aliases"], number) if number is not None else sorted(p["aliases"])
    after = dict(aliases, **{a: number for a in p["aliases"]}) if number is not None else aliases
    version = added or current
    return dict(changed=value is not None or bool(moved), added=value is not None, moved_aliases=moved,
                version=_version_view(version, after) if version is not None else None,
                diff=dict(before=dict(aliases=aliases, latest=_number(current) if not p["aliases"] else None),
                          after=dict(aliases=after, latest=number if not p["aliases"] else None)))


# Statuses after which an addVersion may have been applied: the call failed on the way back, or its outcome is unknown.
UNSURE_STATUSES = ("INTERNAL", "UNKNOWN", "UNAVAILABLE", "DEADLINE_EXCEEDED")


def add_failure(error, aliases):
    """The error of an addVersion that failed. It was not retried, since Google does not say whether such a call was
    applied, and a version's metadata holds no checksum to recognise it by; after a status that leaves it unknown, the
    message says how to find the version it may have added before re-running."""
    if error.status not in UNSURE_STATUSES:
        return error
    message = error.msg.split(" Hint: ")[0]
    moved = ("; no alias was moved (%s)" % ", ".join(aliases)) if aliases else ""
    return GcpError("%s Not retried: Secret Manager may have added the version before failing, and a repeat would add a second "
                    "one%s. Hint: list the versions (orchestra.gcp.secret_info); an enabled version created just now that no alias "
                    "names is this call's: disable it, then re-run, which adds a new version." % (message, moved), status=error.status)


def _number(version):
    return int(short_name(version.name)) if version is not None else None


def _point_aliases(session, path, resource, names, number):
    """Point ``names`` at version ``number`` in one etag-guarded update of the secret; the aliases it moved."""
    if not names:
        return []

    def build(secret):
        moved = sorted(a for a in names if _aliases(secret).get(a) != number)
        if not moved:
            return None, moved
        change = copy_message(secret)
        change.version_aliases = dict(_aliases(secret), **{a: number for a in names})
        return change, moved

    def write(current, change):
        return session.call("point aliases %s of" % ", ".join(names), resource, _client(session).update_secret, secret=change,
                            update_mask=field_mask_pb2.FieldMask(paths=["version_aliases"]), idempotent=True)
    return session.read_modify_write(resource, lambda: read_secret(session, path, resource), build, write,
                                     conflicts=("FAILED_PRECONDITION", "ABORTED"))[2]


def _set_state(session, p, secret, aliases, resource):
    name = "%s/versions/%s" % (secret.name, aliases.get(p["version"], p["version"]))
    want = STATES[p["state"]]

    def read():
        version = session.get("read version %s of" % p["version"], resource, _client(session).get_secret_version, name=name)
        if version is None:
            raise GcpError("Cannot make version %s of %s %s: it does not exist. Nothing was changed. Hint: list the versions with "
                           "orchestra.gcp.secret_info." % (p["version"], resource, p["state"]))
        return version

    def build(version):
        """The version to change, or None when it is in that state already; its number."""
        number = _number(version)
        # With a destroy delay, a destroyed version stays DISABLED until its scheduled destruction.
        if version.state.name == want or (want == "DESTROYED" and version.scheduled_destroy_time):
            return None, number
        if version.state.name == "DESTROYED":
            raise GcpError("Cannot make version %d of %s %s: it is destroyed, and a destroyed version cannot come back. Nothing was "
                           "changed. Hint: add a new version." % (number, resource, p["state"]))
        if want != "ENABLED" and any(n == number for a, n in aliases.items() if a not in p["aliases"]):
            pointing = sorted(a for a, n in aliases.items() if n == number)
            raise GcpError("Cannot make version %d of %s %s: aliases %s point at it, so its consumers would break. Nothing was "
                           "changed. Hint: point the aliases at another version first." % (number, resource, p["state"], ", ".join(pointing)))
        return version, number

    def write(version, _unused):
        method = dict(ENABLED=_client(session).enable_secret_version, DISABLED=_client(session).disable_secret_version,
                      DESTROYED=_client(session).destroy_secret_version)[want]
        return session.call("make version %d %s of" % (_number(version), p["state"]), resource, method,
                            request=dict(name=version.name, etag=version.etag), idempotent=True)

    # The change is guarded by the version's etag: when another writer changed the version since it was read, or a retry
    # repeats a change Google made but whose answer was lost, Secret Manager says FAILED_PRECONDITION; the version is
    # read again, and may be found in that state already.
    version, change, number, written = session.read_modify_write(resource, read, build, write,
                                                                 conflicts=("FAILED_PRECONDITION", "ABORTED"))
    # The secret read before names the aliases already pointing there: no second read for them.
    moved = (_point_aliases(session, secret_path(session.project, p["secret"]), resource, p["aliases"], number)
             if any(aliases.get(a) != number for a in p["aliases"]) else [])
    after = dict(aliases, **{a: number for a in p["aliases"]})
    return dict(changed=change is not None or bool(moved), added=False, moved_aliases=moved, version=_version_view(written or version, after),
                diff=dict(before=dict(state=version.state.name, aliases=aliases), after=dict(state=want if change else version.state.name, aliases=after)))


# ---------------------------------------------------------------- info

def describe_secrets(session):
    """secret_info: the secrets (one by name, or those a filter selects), with their versions; never a value."""
    p = session.params
    client = _client(session)
    if p["name"]:
        resource = "secret %s" % p["name"]
        found = read_secret(session, secret_path(session.project, p["name"]), resource)
        listed = [found] if found is not None else []
    else:
        resource = "the secrets of project %s" % session.project
        listed = session.list("list", resource, client.list_secrets,
                              request=dict(parent="projects/" + session.project, filter=p["filter"] or ""))
    result = []
    for secret in listed:
        view = _secret_view(secret)
        view["options"] = read_options(SECRET_OPTIONS, secret)
        if p["versions"]:
            aliases = _aliases(secret)
            view["versions"] = sorted((_version_view(v, aliases) for v in session.list(
                "list versions of", "secret %s" % short_name(secret.name), client.list_secret_versions, parent=secret.name)),
                key=lambda v: -v["version"])
        result.append(view)
    return dict(changed=False, exists=bool(result), secrets=result)
