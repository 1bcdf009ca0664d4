# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloud Storage buckets: the logic behind the storage_bucket module.

PRIVATE to this collection. A bucket is handled as Google's JSON API v1 shows it (the Bucket resource), through
google-api-python-client's storage v1 discovery document, as _iam.py reads and writes bucket policies (no
google-cloud-storage dependency). A change is a PATCH of the fields that differ, guarded by the bucket's
metageneration (``ifMetagenerationMatch``) and re-read when someone else changed the bucket in between.
"""

from __future__ import annotations

import io
import re
import types

from ._gcp import GcpError, invalid, label_problems, seconds

STORAGE_LIBRARIES = (("google-api-python-client", "googleapiclient"),)

# https://cloud.google.com/storage/docs/buckets#naming: lowercase letters, digits, '-', '_' and '.', starting and
# ending with a letter or digit; 3 to 63 characters, or up to 222 with dots, each dot-separated part at most 63;
# not starting with "goog" nor holding "google"; not an IP address.
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*[a-z0-9]$")
IP_RE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
# https://cloud.google.com/storage/docs/locations: multi-regions, predefined dual-regions and regions.
MULTI_REGIONS = ("US", "EU", "ASIA")
DUAL_REGIONS = ("ASIA1", "EUR4", "EUR5", "EUR7", "EUR8", "NAM4")
REGION_RE = re.compile(r"^[A-Z]+-[A-Z]+[0-9]+$")
STORAGE_CLASSES = ("STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE")
# https://cloud.google.com/storage/docs/bucket-lock: a retention period of at most 3,155,760,000 seconds (100 years);
# https://cloud.google.com/storage/docs/soft-delete: a soft delete duration of 0 (off) or 7 to 90 days.
MAX_RETENTION = 3155760000
SOFT_DELETE_DAYS = (7, 90)
# https://cloud.google.com/storage/docs/lifecycle: at most 100 rules; the actions and their storage classes.
MAX_RULES = 100
ACTIONS = ("Delete", "SetStorageClass", "AbortIncompleteMultipartUpload")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# The lifecycle conditions this module takes: option name -> the JSON API's field (Bucket.lifecycle.rule[].condition).
CONDITIONS = dict(age="age", created_before="createdBefore", custom_time_before="customTimeBefore",
                  days_since_custom_time="daysSinceCustomTime", days_since_noncurrent_time="daysSinceNoncurrentTime",
                  is_live="isLive", matches_prefix="matchesPrefix", matches_suffix="matchesSuffix",
                  matches_storage_class="matchesStorageClass", noncurrent_time_before="noncurrentTimeBefore",
                  num_newer_versions="numNewerVersions")
COUNTS = ("age", "days_since_custom_time", "days_since_noncurrent_time", "num_newer_versions")
DATES = ("created_before", "custom_time_before", "noncurrent_time_before")
LISTS = ("matches_prefix", "matches_suffix", "matches_storage_class")

_CONDITION_SPEC = {name: dict(type="int") for name in COUNTS}
_CONDITION_SPEC.update({name: dict(type="str") for name in DATES})
_CONDITION_SPEC.update({name: dict(type="list", elements="str") for name in LISTS})
_CONDITION_SPEC["is_live"] = dict(type="bool")

BUCKET_SPEC = dict(
    argument_spec=dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        location=dict(type="str"),
        storage_class=dict(type="str", choices=list(STORAGE_CLASSES)),
        versioning=dict(type="bool"),
        retention_period=dict(type="str"),
        lock_retention_policy=dict(type="bool", default=False),
        lifecycle_rules=dict(type="list", elements="dict", options=dict(
            action=dict(type="dict", required=True, options=dict(
                type=dict(type="str", required=True, choices=list(ACTIONS)),
                storage_class=dict(type="str", choices=list(STORAGE_CLASSES)))),
            condition=dict(type="dict", required=True, options=_CONDITION_SPEC))),
        uniform_bucket_level_access=dict(type="bool"),
        public_access_prevention=dict(type="str", choices=["enforced", "inherited"]),
        labels=dict(type="dict"),
        soft_delete_retention=dict(type="str"),
    ),
    required_if=[("state", "present", ("location",))],
    libraries=STORAGE_LIBRARIES,
)

# The options a live bucket is compared on, in the order a diff shows them.
COMPARED = ("storage_class", "versioning", "retention_period", "lifecycle_rules", "uniform_bucket_level_access",
            "public_access_prevention", "labels", "soft_delete_retention")


# ---------------------------------------------------------------- validation and normalisation

def location_type(location):
    """The location type Google gives a bucket in ``location`` (upper-cased)."""
    return "multi-region" if location in MULTI_REGIONS else "dual-region" if location in DUAL_REGIONS else "region"


def name_problems(name):
    if (not NAME_RE.match(name) or ".." in name or IP_RE.match(name) or not 3 <= len(name) <= (222 if "." in name else 63)
            or any(len(part) > 63 for part in name.split("."))):
        return ["bucket name %r must have 3 to 63 lowercase letters, digits, '-', '_' or '.' (up to 222 with dots, 63 between them), "
                "start and end with a letter or digit, and not be an IP address" % name]
    if name.startswith("goog") or "google" in name:
        return ["bucket name %r must not start with 'goog' nor hold 'google'" % name]
    return []


def _rule_problems(index, rule):
    action, condition = rule["action"], {k: v for k, v in rule["condition"].items() if v is not None}
    where = "lifecycle_rules[%d]" % index
    problems = []
    if not condition:
        problems.append("%s needs at least one condition (%s)" % (where, ", ".join(sorted(CONDITIONS))))
    if action["type"] == "SetStorageClass" and not action.get("storage_class"):
        problems.append("%s: a SetStorageClass action needs its storage_class" % where)
    if action["type"] != "SetStorageClass" and action.get("storage_class"):
        problems.append("%s: only a SetStorageClass action takes a storage_class" % where)
    problems += ["%s: condition %s %r must be a whole number of 0 or more" % (where, key, condition[key]) for key in COUNTS
                 if key in condition and condition[key] < 0]
    problems += ["%s: condition %s %r must be a date like 2025-01-31" % (where, key, condition[key]) for key in DATES
                 if key in condition and not DATE_RE.match(condition[key])]
    return problems


def validate_bucket_params(p):
    """Every check that needs no API call; raises GcpError naming all problems."""
    problems = name_problems(p["name"])
    if p["state"] == "present":
        location = p["location"].upper()
        if location not in MULTI_REGIONS + DUAL_REGIONS and not REGION_RE.match(location):
            problems.append("location %r is not a region (europe-west1), a dual-region (%s) or a multi-region (%s)"
                            % (p["location"], ", ".join(DUAL_REGIONS), ", ".join(MULTI_REGIONS)))
        retention = p["retention_period"]
        if retention is not None and (seconds(retention) is None or seconds(retention) > MAX_RETENTION):
            problems.append("retention_period %r must be 0 (no policy) or a duration of at most %d seconds (100 years), in seconds or "
                            "like 7d, 12h, 30m" % (retention, MAX_RETENTION))
        if p["lock_retention_policy"] and not seconds(retention or 0):
            problems.append("lock_retention_policy needs a retention_period to lock")
        soft = p["soft_delete_retention"]
        if soft is not None and (seconds(soft) is None or seconds(soft) and not
                                 SOFT_DELETE_DAYS[0] * 86400 <= seconds(soft) <= SOFT_DELETE_DAYS[1] * 86400):
            problems.append("soft_delete_retention %r must be 0 (off) or from %d to %d days, like 7d" % ((soft,) + SOFT_DELETE_DAYS))
        rules = p["lifecycle_rules"] or []
        if len(rules) > MAX_RULES:
            problems.append("%d lifecycle rules is more than the %d a bucket can hold" % (len(rules), MAX_RULES))
        for index, rule in enumerate(rules):
            problems += _rule_problems(index, rule)
        problems += label_problems(p["labels"])
    if problems:
        raise invalid("bucket %s" % p["name"], problems)


def rule_json(rule):
    """A lifecycle rule of the task as the JSON API writes it."""
    action = {"type": rule["action"]["type"]}
    if rule["action"].get("storage_class"):
        action["storageClass"] = rule["action"]["storage_class"]
    return {"action": action, "condition": {CONDITIONS[key]: value for key, value in rule["condition"].items() if value is not None}}


def wanted(p):
    """The options the task sets, as a live bucket's ``bucket_options`` holds them (those left out are not compared)."""
    want = dict(storage_class=p["storage_class"], versioning=p["versioning"], uniform_bucket_level_access=p["uniform_bucket_level_access"],
                public_access_prevention=p["public_access_prevention"], labels=p["labels"])
    if p["retention_period"] is not None:
        want["retention_period"] = seconds(p["retention_period"])
    if p["soft_delete_retention"] is not None:
        want["soft_delete_retention"] = seconds(p["soft_delete_retention"])
    if p["lifecycle_rules"] is not None:
        want["lifecycle_rules"] = [rule_json(rule) for rule in p["lifecycle_rules"]]
    return {key: value for key, value in want.items() if value is not None}


def bucket_options(bucket):
    """A bucket as Google returns it, read as this module's options. int64 fields are JSON strings; a policy Google
    holds none of, or an empty rule list, is left out of its answer."""
    iam = bucket.get("iamConfiguration", {})
    retention = bucket.get("retentionPolicy", {})
    return dict(
        location=bucket.get("location"), location_type=bucket.get("locationType"), storage_class=bucket.get("storageClass"),
        versioning=bucket.get("versioning", {}).get("enabled", False),
        retention_period=int(retention.get("retentionPeriod", 0)), retention_locked=retention.get("isLocked", False),
        lifecycle_rules=bucket.get("lifecycle", {}).get("rule", []),
        uniform_bucket_level_access=iam.get("uniformBucketLevelAccess", {}).get("enabled", False),
        public_access_prevention=iam.get("publicAccessPrevention"),
        labels=bucket.get("labels", {}),
        soft_delete_retention=int(bucket.get("softDeletePolicy", {}).get("retentionDurationSeconds", 0)),
    )


def changed_keys(want, have):
    """The options of ``want`` that the live options ``have`` hold otherwise; labels the task leaves out stay as they are."""
    return [key for key in COMPARED if key in want and
            (any(have["labels"].get(k) != v for k, v in want["labels"].items()) if key == "labels" else want[key] != have[key])]


def fixed_problems(name, want_location, have):
    """What the task asks that Google cannot do to the live bucket: move it, or shorten or remove a locked retention policy."""
    problems = []
    if want_location.upper() != have["location"]:
        problems.append("Cannot move bucket %s from %s to %s: a bucket's location is set when it is created. Hint: create a bucket "
                        "under another name in %s and copy the objects over (or keep location %s)."
                        % (name, have["location"], want_location.upper(), want_location.upper(), have["location"]))
    return problems


def locked_problems(name, want, have):
    if have["retention_locked"] and "retention_period" in want and want["retention_period"] < have["retention_period"]:
        verb = "shorten" if want["retention_period"] else "remove"
        return ["Cannot %s the locked retention policy of bucket %s (%d seconds): Google never shortens nor removes a locked policy. "
                "Hint: set retention_period to %d seconds or more." % (verb, name, have["retention_period"], have["retention_period"])]
    return []


def patch_body(bucket, want, keys):
    """The PATCH of the fields behind ``keys``, built on the live ``bucket`` (nested objects are sent whole)."""
    body = {}
    for key in keys:
        if key == "storage_class":
            body["storageClass"] = want[key]
        elif key == "versioning":
            body["versioning"] = {"enabled": want[key]}
        elif key == "retention_period":
            body["retentionPolicy"] = {"retentionPeriod": str(want[key])} if want[key] else None
        elif key == "lifecycle_rules":
            body["lifecycle"] = {"rule": want[key]}
        elif key == "labels":
            body["labels"] = want[key]
        elif key == "soft_delete_retention":
            body["softDeletePolicy"] = {"retentionDurationSeconds": str(want[key])}
    if "uniform_bucket_level_access" in keys or "public_access_prevention" in keys:
        have = bucket_options(bucket)
        body["iamConfiguration"] = {
            "uniformBucketLevelAccess": {"enabled": want.get("uniform_bucket_level_access", have["uniform_bucket_level_access"])},
            "publicAccessPrevention": want.get("public_access_prevention", have["public_access_prevention"] or "inherited")}
    return body


def insert_body(p, want):
    body = dict(patch_body({}, want, [key for key in COMPARED if key in want]), name=p["name"], location=p["location"].upper())
    if body.get("retentionPolicy", False) is None:
        del body["retentionPolicy"]
    return body


def _diff(options):
    return {key: options[key] for key in ("location",) + COMPARED + ("retention_locked",)} if options else {}


# ---------------------------------------------------------------- the bucket

def _buckets(session):
    return session.discovery("storage", "v1").buckets()


def read_bucket(session, name, resource):
    """The bucket as Google returns it, or None."""
    try:
        return session.execute("read", resource, _buckets(session).get(bucket=name), idempotent=True)
    except GcpError as e:
        if e.status == "NOT_FOUND":
            return None
        raise


def _delete(session, bucket, resource):
    try:
        session.execute("delete", resource, _buckets(session).delete(bucket=bucket["name"], ifMetagenerationMatch=bucket["metageneration"]),
                        idempotent=True)
    except GcpError as e:
        if e.status == "ALREADY_EXISTS":  # Google's 409 conflict: "The bucket you tried to delete is not empty."
            raise GcpError("Cannot delete %s: it is not empty, and Google deletes only an empty bucket. Nothing was changed. Hint: delete its "
                           "objects and their noncurrent versions first (a retention policy keeps each object until it is old enough); "
                           "Google said: %s" % (resource, e.msg), status=e.status)
        raise


def manage_bucket(session):
    """storage_bucket: the bucket exists with the options given, or is gone."""
    p = session.params
    validate_bucket_params(p)
    name = p["name"]
    resource = "bucket %s" % name
    buckets = _buckets(session)

    def read():
        return read_bucket(session, name, resource)

    current = read()
    if p["state"] == "absent":
        if current is not None and not session.check_mode:
            _delete(session, current, resource)
        return dict(changed=current is not None, bucket=None, diff=dict(before=_diff(current and bucket_options(current)), after={}))

    want = wanted(p)
    if current is None:
        body = insert_body(p, want)
        created = body
        if not session.check_mode:
            created = session.execute("create", resource, buckets.insert(project=session.project, body=body), idempotent=True)
            if p["lock_retention_policy"]:
                created = session.execute("lock the retention policy of", resource,
                                          buckets.lockRetentionPolicy(bucket=name, ifMetagenerationMatch=created["metageneration"]), idempotent=True)
        after = bucket_options(dict(created, locationType=location_type(body["location"]))) if session.check_mode else bucket_options(created)
        return dict(changed=True, bucket=None if session.check_mode else created, changed_options=sorted(want),
                    diff=dict(before={}, after=_diff(after)))

    problems = fixed_problems(name, p["location"], bucket_options(current))
    if problems:
        raise GcpError(" ".join(problems) + " Nothing was changed.")

    def build(live):
        have = bucket_options(live)
        keys = changed_keys(want, have)
        refused = locked_problems(name, want, have)
        if refused:
            raise GcpError(" ".join(refused) + " Nothing was changed.")
        lock = p["lock_retention_policy"] and not have["retention_locked"]
        return (patch_body(live, want, keys) if keys or lock else None), (keys, lock)

    def write(live, body):
        return session.execute("update", resource, buckets.patch(bucket=name, ifMetagenerationMatch=live["metageneration"], body=body),
                               idempotent=True) if body else live

    live, _body, (keys, lock), written = session.read_modify_write(resource, read, build, write, conflicts=("FAILED_PRECONDITION",))
    final = written or live
    if lock and not session.check_mode:
        final = session.execute("lock the retention policy of", resource,
                                buckets.lockRetentionPolicy(bucket=name, ifMetagenerationMatch=final["metageneration"]), idempotent=True)
    before = bucket_options(live)
    if session.check_mode:
        after = dict(before, **{key: want[key] for key in keys}, retention_locked=before["retention_locked"] or lock)
        after["labels"] = dict(before["labels"], **want.get("labels", {}))
    else:
        after = bucket_options(final)
    return dict(changed=bool(keys or lock), bucket=final, changed_options=keys + (["lock_retention_policy"] if lock else []),
                diff=dict(before=_diff(before), after=_diff(after)))


# ---------------------------------------------------------------- objects (what other families keep in a bucket)

def _objects(session):
    return session.discovery("storage", "v1").objects()


def list_objects(session, bucket, prefix, resource):
    """Every object of ``bucket`` whose name starts with ``prefix``, as the JSON API lists them."""
    return session.execute_all("list the objects of", resource, lambda token: _objects(session).list(bucket=bucket, prefix=prefix, pageToken=token),
                               "items")


def read_text(session, bucket, name, resource):
    """The content of a small object, as text."""
    return session.execute("read gs://%s/%s of" % (bucket, name), resource, _objects(session).get_media(bucket=bucket, object=name),
                           idempotent=True).decode("utf-8")


def download(session, bucket, name, handle, resource, chunk_size=64 * 1024 * 1024):
    """Write object ``name`` into the open binary file ``handle``, in ranges of ``chunk_size`` bytes, each retried."""
    from googleapiclient.http import MediaIoBaseDownload
    downloader = MediaIoBaseDownload(handle, _objects(session).get_media(bucket=bucket, object=name), chunksize=chunk_size)
    step = types.SimpleNamespace(execute=downloader.next_chunk)
    while not session.execute("download gs://%s/%s of" % (bucket, name), resource, step, idempotent=True)[1]:
        pass


def write_text(session, bucket, name, text, resource, generation=0, content_type="application/json"):
    """Write a small object only if its generation is still ``generation`` (0: only if it does not exist yet), so
    that a write never replaces what someone else wrote since it was read; returns the object's metadata. A stale
    generation fails with status FAILED_PRECONDITION."""
    from googleapiclient.http import MediaIoBaseUpload
    media = MediaIoBaseUpload(io.BytesIO(text.encode("utf-8")), mimetype=content_type)
    return session.execute("write gs://%s/%s of" % (bucket, name), resource,
                           _objects(session).insert(bucket=bucket, name=name, media_body=media, ifGenerationMatch=str(generation)), idempotent=True)


def delete_object(session, bucket, name, resource, generation=None):
    """Delete an object (only its ``generation``, when given); one already gone is no error."""
    try:
        session.execute("delete gs://%s/%s of" % (bucket, name), resource,
                        _objects(session).delete(bucket=bucket, object=name, **({"ifGenerationMatch": str(generation)} if generation else {})),
                        idempotent=True)
    except GcpError as e:
        if e.status != "NOT_FOUND":
            raise
