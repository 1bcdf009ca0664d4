"""Cloud Storage JSON API v1 (storage.v1.json): buckets (insert, get, list, patch, delete, lockRetentionPolicy) and their IAM policies,
and objects (get, with `alt=media` for the bytes; list; delete) written by other APIs (Memorystore's export: `put_object`).

Stored under state["resources"]["storage.v1"]["buckets"] {name: the Bucket as Google returns it with
`projection=noAcl`}; bucket names are global, as on Google. Shapes follow real answers kept as
tests/fixtures/google/storage_*.json: a bucket's `id` is its name, `projectNumber` and `metageneration` are
int64 strings, its `etag` is like a policy's (below) and counts its metageneration. Objects are kept under
state["resources"]["storage.v1"]["objects"] {bucket: {name: the Object as Google returns it}}, their bytes in
`<state dir>/storage/<generation>`; an object's shape follows tests/fixtures/google/storage_object_get.json (its
generation in microseconds, md5Hash and crc32c in base64, an etag of generation and metageneration).

Storage is not a google.rpc API: every error, the request checks of discovery.py and iam.py included, answers
`{"error": {"code", "message", "errors": [{"message", "domain": "global", "reason"}]}}` without `status`
(`StorageError`), the reason named after the HTTP status as Google's status-codes page does.

A bucket's IAM policy (iam.Policies, rules shared with the other APIs) has `kind: storage#policy` and
`resourceId: projects/_/buckets/NAME`; a new bucket's grants the legacy roles to the project's convenience
members (projectOwner:, projectEditor:, projectViewer: the project as `?project=` named it). Its etag is the
base64 of a protobuf varint counter (field 1): `CAE=` for a new bucket, `CAI=` after one write, and so on; a
stale one is 412 conditionNotMet. getIamPolicy takes `optionsRequestedPolicyVersion`, setIamPolicy is a PUT of
the Policy itself, testIamPermissions answers the `storage.` permissions asked.
"""

import base64
import copy
import dataclasses
import datetime
import hashlib
import os
import re
import time
import urllib.parse

from orchestra_emulator import paging
from orchestra_emulator.discovery import Api
from orchestra_emulator.errors import ApiError
from orchestra_emulator.projects import project_number
from orchestra_emulator.iam import Policies
from orchestra_emulator.registry import EmulatedApi, register

DOCUMENT = "storage.v1"
SELF_LINK = "https://www.googleapis.com/storage/v1/b/"
MULTI_REGIONS = frozenset({"US", "EU", "ASIA"})
MAX_RESULTS = 1000
# https://cloud.google.com/storage/docs/soft-delete: a new bucket's soft delete policy keeps deleted objects 7 days
# (recorded as "604800" with an effectiveTime in storage_bucket_insert.json).
DEFAULT_SOFT_DELETE = "604800"
# https://cloud.google.com/storage/docs/buckets#naming: 3 to 63 lowercase letters, digits, '-', '_' and '.',
# starting and ending with a letter or digit (names with dots may have up to 222 characters: not served here).
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
# The reasons of https://cloud.google.com/storage/docs/json_api/v1/status-codes, by HTTP status.
REASONS = {400: "invalid", 401: "required", 403: "forbidden", 404: "notFound", 409: "conflict", 412: "conditionNotMet",
           429: "rateLimitExceeded", 501: "notImplemented", 503: "backendError"}
NOT_FOUND = "The specified bucket does not exist."
NO_OBJECT = "No such object: %s/%s"
NOT_EMPTY = "The bucket you tried to delete is not empty."
DOWNLOAD_LINK = "https://www.googleapis.com/download/storage/v1/b/"
PRECONDITION = "At least one of the pre-conditions you specified did not hold."
OWNED = "You already own this bucket. Please select another name."
TAKEN = "Sorry, that name is not available. Please try a different one."
LEGACY = (("roles/storage.legacyBucketOwner", ("projectEditor", "projectOwner")), ("roles/storage.legacyBucketReader", ("projectViewer",)))


class StorageError(ApiError):
    """An error in Cloud Storage's JSON API shape."""

    def __init__(self, http_status, message):
        super().__init__("UNKNOWN", message, http_status=http_status)

    def body(self):
        reason = REASONS.get(self.http_status, "backendError" if self.http_status >= 500 else "invalid")
        return {"error": {"code": self.http_status, "message": self.message,
                          "errors": [{"message": self.message, "domain": "global", "reason": reason}]}}


def _storage_errors(call):
    """`call` with every ApiError it raises in Storage's shape."""
    def wrapped(*args):
        try:
            return call(*args)
        except StorageError:
            raise
        except ApiError as error:
            raise StorageError(error.http_status, error.message) from None
    return wrapped


class _StorageDocument(Api):
    """The discovery document, its request checks answering in Storage's shape. Storage is no proto3 JSON front
    end: a field set to its default is kept, in requests and answers (`"enabled": false` is recorded), and so is a
    null one."""

    def __init__(self, name, proto_package):
        super().__init__(name, proto_package)
        self.decode_query = _storage_errors(self.decode_query)
        self.decode_body = _storage_errors(self.decode_body)

    def _is_default(self, prop, value):
        return False

    def _decode_message(self, schema, value, path, ref=None):
        """A null field is kept: a PATCH clears the field it names (a retention policy is removed so)."""
        decoded = super()._decode_message(schema, value, path, ref)
        decoded.update({key: None for key, item in value.items() if item is None})
        return decoded

    def decode_query(self, method, query):
        """The method's parameters, and `alt` (a parameter of the whole document): `alt=media` downloads an object."""
        decoded = super().decode_query(method, query)
        if "alt" in query:
            decoded["alt"] = query["alt"][-1]
        return decoded


def counter_etag(count):
    """`count` as Storage shows it: protobuf field 1 holding a varint, in base64 (1 -> CAE=)."""
    return base64.b64encode(bytes([0x08]) + _varint(count)).decode()


def etag_count(etag):
    """The counter of an etag `counter_etag` made."""
    count = 0
    for shift, byte in enumerate(base64.b64decode(etag)[1:]):
        count |= (byte & 0x7F) << (7 * shift)
    return count


@register
class StorageV1(EmulatedApi):
    document = DOCUMENT
    proto_package = "google.storage.v1"

    def __init__(self, shared):
        super().__init__(shared)
        self.api = _StorageDocument(self.document, self.proto_package)
        self._store = shared.store
        self.policies = Policies(shared.store, DOCUMENT, initial=self._initial_policy, project_members=True,
                                 etag=lambda current: counter_etag(etag_count(current["etag"]) + 1),
                                 stale=lambda: StorageError(412, PRECONDITION))
        policy = self.policies.handlers("storage.buckets.", lambda data, variables: _resource(_bucket(data, variables["bucket"])["name"]),
                                        "storage.")
        prefix = "storage.buckets."
        handlers = {
            prefix + "insert": (self.insert, ""),
            prefix + "get": (self.get, None),
            prefix + "list": (self.list, None),
            prefix + "patch": (self.patch, ""),
            prefix + "delete": (self.delete, None),
            prefix + "lockRetentionPolicy": (self.lock_retention_policy, None),
            "storage.objects.get": (self.get_object, None),
            "storage.objects.list": (self.list_objects, None),
            "storage.objects.delete": (self.delete_object, None),
            # google.iam.v1's requests carry what Storage's carry in other places: the policy methods get them there.
            prefix + "getIamPolicy": (lambda request: policy[prefix + "getIamPolicy"][0](dataclasses.replace(
                request, query={"options.requestedPolicyVersion": request.query.get("optionsRequestedPolicyVersion", 0)})), None),
            prefix + "setIamPolicy": (lambda request: policy[prefix + "setIamPolicy"][0](dataclasses.replace(request, body={"policy": request.body})), ""),
            prefix + "testIamPermissions": (lambda request: {"kind": "storage#testIamPermissionsResponse", **policy[prefix + "testIamPermissions"][0](
                dataclasses.replace(request, body={"permissions": request.query.get("permissions", [])}))}, None),
        }
        self.handlers = {method: (_storage_errors(handler), body) for method, (handler, body) in handlers.items()}

    def _initial_policy(self, resource):
        """A new bucket's policy: the legacy roles of its project's convenience members."""
        project = _buckets(self._store.data)[resource.rsplit("/", 1)[1]]["project"]
        return {"kind": "storage#policy", "resourceId": resource, "version": 1, "etag": counter_etag(1),
                "bindings": [{"role": role, "members": [f"{member}:{project}" for member in members]} for role, members in LEGACY]}

    def insert(self, request):
        project, sent = request.query.get("project", ""), {field: value for field, value in request.body.items() if value is not None}
        name = sent.get("name", "")
        if not project:
            raise StorageError(400, "Required parameter: project")
        if not _NAME.match(name) or ".." in name or name.startswith("goog"):
            raise StorageError(400, "Invalid bucket name: '%s'" % name)
        now = _now()
        location = sent.get("location", "US").upper()
        bucket = {**copy.deepcopy(sent), "kind": "storage#bucket", "id": name, "selfLink": SELF_LINK + name, "projectNumber": str(project_number(project)),
                  "name": name, "timeCreated": now, "updated": now, "metageneration": "1", "location": location,
                  "locationType": "multi-region" if location in MULTI_REGIONS else "region", "storageClass": sent.get("storageClass", "STANDARD"),
                  "rpo": "DEFAULT", "etag": counter_etag(1)}
        bucket.setdefault("iamConfiguration", {}).setdefault("uniformBucketLevelAccess", {"enabled": False})
        bucket["iamConfiguration"].setdefault("publicAccessPrevention", "inherited")
        bucket.setdefault("softDeletePolicy", {"retentionDurationSeconds": DEFAULT_SOFT_DELETE})
        _fill_policies(bucket, {}, now)
        with self._store.mutate() as data:
            existing = _buckets(data).get(name)
            if existing:
                raise StorageError(409, OWNED if existing["project"] == project else TAKEN)
            _buckets(data)[name] = {"bucket": bucket, "project": project}
            return copy.deepcopy(bucket)

    def get(self, request):
        with self._store.lock:
            bucket = _bucket(self._store.data, request.variables["bucket"])
            _check_metageneration(bucket, request.query)
            return copy.deepcopy(bucket)

    def list(self, request):
        project = request.query.get("project", "")
        if not project:
            raise StorageError(400, "Required parameter: project")
        number, prefix = str(project_number(project)), request.query.get("prefix", "")
        with self._store.lock:
            items = [copy.deepcopy(entry["bucket"]) for name, entry in sorted(_buckets(self._store.data).items())
                     if entry["bucket"]["projectNumber"] == number and name.startswith(prefix)]
        page, next_token = paging.page(items, min(request.query.get("maxResults") or MAX_RESULTS, MAX_RESULTS), request.query.get("pageToken"))
        # Google leaves out an empty list and the token of a last page.
        return {"kind": "storage#buckets", **({"items": page} if page else {}), **({"nextPageToken": next_token} if next_token else {})}

    def patch(self, request):
        """The fields sent replace the bucket's (a label map is merged); the name and the output fields stay."""
        sent = request.body
        if sent.get("name", request.variables["bucket"]) != request.variables["bucket"]:
            raise StorageError(400, "A bucket cannot be renamed.")
        with self._store.mutate() as data:
            bucket = _bucket(data, request.variables["bucket"])
            _check_metageneration(bucket, request.query)
            _check_locked(bucket, sent)
            before, now = copy.deepcopy(bucket), _now()
            for field, value in sent.items():
                if field == "labels":
                    bucket.setdefault("labels", {}).update(value)
                elif value is None or field == "lifecycle" and not value.get("rule"):
                    bucket.pop(field, None)
                elif field not in ("kind", "id", "selfLink", "projectNumber", "timeCreated", "metageneration", "etag", "locationType", "location"):
                    bucket[field] = copy.deepcopy(value)
            _fill_policies(bucket, before, now)
            return _next_metageneration(bucket, now)

    def lock_retention_policy(self, request):
        """Locks the retention policy for good; `ifMetagenerationMatch` is required (the document says so)."""
        with self._store.mutate() as data:
            bucket = _bucket(data, request.variables["bucket"])
            _check_metageneration(bucket, request.query)
            if not bucket.get("retentionPolicy"):
                raise StorageError(400, "Bucket %s has no retention policy to lock." % bucket["name"])
            bucket["retentionPolicy"]["isLocked"] = True
            return _next_metageneration(bucket, _now())

    def delete(self, request):
        with self._store.mutate() as data:
            bucket = _bucket(data, request.variables["bucket"])
            _check_metageneration(bucket, request.query)
            if _objects(data, bucket["name"]):
                raise StorageError(409, NOT_EMPTY)
            del _buckets(data)[bucket["name"]]
            self.policies.forget(data, _resource(bucket["name"]))
            return {}

    def get_object(self, request):
        """The object's metadata, or its bytes with `alt=media`."""
        with self._store.lock:
            found = _object(self._store.data, request.variables["bucket"], _object_name(request.variables))
            _check_generation(found, request.query)
            if request.query.get("alt") == "media":
                return object_data(self._store, found)
            return copy.deepcopy(found)

    def list_objects(self, request):
        bucket, prefix = request.variables["bucket"], request.query.get("prefix", "")
        with self._store.lock:
            _bucket(self._store.data, bucket)
            items = [copy.deepcopy(found) for name, found in sorted(_objects(self._store.data, bucket).items()) if name.startswith(prefix)]
        page, next_token = paging.page(items, min(request.query.get("maxResults") or MAX_RESULTS, MAX_RESULTS), request.query.get("pageToken"))
        return {"kind": "storage#objects", **({"items": page} if page else {}), **({"nextPageToken": next_token} if next_token else {})}

    def delete_object(self, request):
        with self._store.mutate() as data:
            found = _object(data, request.variables["bucket"], _object_name(request.variables))
            _check_generation(found, request.query)
            del _objects(data, found["bucket"])[found["name"]]
            path = _object_path(self._store, found)
            if os.path.exists(path):
                os.remove(path)
            return {}


def put_object(store, bucket, name, data, content_type="application/octet-stream"):
    """Write object `name` of `bucket` holding `data` (a new generation), as an upload would; 404 when the bucket does
    not exist. Returns its metadata."""
    with store.mutate() as state:
        _bucket(state, bucket)
        generation = str(time.time_ns() // 1000)
        now = _now_milliseconds()
        quoted = urllib.parse.quote(name, safe="")
        found = {"kind": "storage#object", "id": f"{bucket}/{name}/{generation}", "selfLink": f"{SELF_LINK}{bucket}/o/{quoted}",
                 "mediaLink": f"{DOWNLOAD_LINK}{bucket}/o/{quoted}?generation={generation}&alt=media", "name": name, "bucket": bucket,
                 "generation": generation, "metageneration": "1", "contentType": content_type, "storageClass": _bucket(state, bucket)["storageClass"],
                 "size": str(len(data)), "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),
                 "crc32c": base64.b64encode(crc32c(data).to_bytes(4, "big")).decode(), "etag": object_etag(int(generation), 1),
                 "timeCreated": now, "updated": now, "timeStorageClassUpdated": now}
        path = _object_path(store, found)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
        _objects(state, bucket)[name] = found
        return copy.deepcopy(found)


def read_object(store, bucket, name):
    """The bytes of object `name` of `bucket`; 404 in Storage's shape when the bucket or the object does not exist."""
    with store.lock:
        return object_data(store, _object(store.data, bucket, name))


def object_data(store, found):
    with open(_object_path(store, found), "rb") as handle:
        return handle.read()


def object_etag(generation, metageneration):
    """An object's etag: protobuf fields 1 (generation) and 2 (metageneration) as varints, in base64
    (`CPis3Zvy+ewCEAE=` is generation 1605077118178936, metageneration 1)."""
    return base64.b64encode(bytes([0x08]) + _varint(generation) + bytes([0x10]) + _varint(metageneration)).decode()


def _varint(value):
    encoded = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        encoded.append(low | (0x80 if value else 0))
        if not value:
            return bytes(encoded)


def crc32c(data):
    """CRC-32C (Castagnoli), the checksum Storage reports as `crc32c`."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _crc32c_entry(index):
    for _bit in range(8):
        index = (index >> 1) ^ 0x82F63B78 if index & 1 else index >> 1
    return index


_CRC32C_TABLE = [_crc32c_entry(index) for index in range(256)]


def _objects(data, bucket):
    return data["resources"].setdefault(DOCUMENT, {}).setdefault("objects", {}).setdefault(bucket, {})


def _object(data, bucket, name):
    _bucket(data, bucket)
    found = _objects(data, bucket).get(name)
    if found is None:
        raise StorageError(404, NO_OBJECT % (bucket, name))
    return found


def _object_name(variables):
    """The object a path names: its name is URL-encoded in the path (`backups%2Fcache.rdb`)."""
    return urllib.parse.unquote(variables["object"])


def _object_path(store, found):
    return os.path.join(os.path.dirname(store.path), "storage", found["generation"])


def _check_generation(found, query):
    if query.get("generation") is not None and str(query["generation"]) != found["generation"]:
        raise StorageError(404, NO_OBJECT % (found["bucket"], found["name"]))


def _buckets(data):
    return data["resources"].setdefault(DOCUMENT, {}).setdefault("buckets", {})


def _bucket(data, name):
    entry = _buckets(data).get(name)
    if entry is None:
        raise StorageError(404, NOT_FOUND)
    return entry["bucket"]


def _resource(name):
    return f"projects/_/buckets/{name}"


def _check_metageneration(bucket, query):
    match, not_match = query.get("ifMetagenerationMatch"), query.get("ifMetagenerationNotMatch")
    if match is not None and str(match) != bucket["metageneration"] or not_match is not None and str(not_match) == bucket["metageneration"]:
        raise StorageError(412, PRECONDITION)


def _fill_policies(bucket, before, now):
    """What Google fills in the policies sent: a retention policy's `effectiveTime` and `isLocked` (its locked state kept
    across PATCHes), a soft delete policy's `effectiveTime` while its duration is not 0 (recorded without one at 0)."""
    for field, duration in (("retentionPolicy", "retentionPeriod"), ("softDeletePolicy", "retentionDurationSeconds")):
        policy, kept = bucket.get(field), before.get(field) or {}
        if policy:
            policy.pop("effectiveTime", None)
            if policy.get(duration, "0") != "0":
                policy["effectiveTime"] = kept["effectiveTime"] if kept.get(duration) == policy[duration] and "effectiveTime" in kept else now
    if bucket.get("retentionPolicy"):
        bucket["retentionPolicy"]["isLocked"] = (before.get("retentionPolicy") or {}).get("isLocked", False)


def _check_locked(bucket, sent):
    """A locked retention policy is never shortened nor removed: PERMISSION_DENIED, as storage.v1.json's Bucket says."""
    policy = bucket.get("retentionPolicy") or {}
    if policy.get("isLocked") and "retentionPolicy" in sent and int((sent["retentionPolicy"] or {}).get("retentionPeriod", 0)) < int(policy["retentionPeriod"]):
        raise StorageError(403, "The retention policy of bucket %s is locked: it cannot be shortened or removed." % bucket["name"])


def _next_metageneration(bucket, now):
    metageneration = int(bucket["metageneration"]) + 1
    bucket.update(metageneration=str(metageneration), etag=counter_etag(metageneration), updated=now)
    return copy.deepcopy(bucket)


def _now():
    """RFC 3339 in UTC with microseconds, as Storage's times are recorded."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now_milliseconds():
    """RFC 3339 in UTC with milliseconds, as an object's times are recorded."""
    return _now()[:-4] + "Z"
