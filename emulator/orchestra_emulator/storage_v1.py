"""Cloud Storage JSON API v1 (storage.v1.json): buckets (insert, get, list, patch, delete, lockRetentionPolicy) and their IAM policies,
and objects: insert on its upload path (`uploadType` media, multipart or resumable), get (with `alt=media` for the bytes,
whole or a `Range`), list and delete, with the generation preconditions; other APIs write them too (Memorystore's export:
`put_object`).

Stored under state["resources"]["storage.v1"]["buckets"] {name: the Bucket as Google returns it with
`projection=noAcl`}; bucket names are global, as on Google. Shapes follow real answers kept as
tests/fixtures/google/storage_*.json: a bucket's `id` is its name, `projectNumber` and `metageneration` are
int64 strings, its `etag` is like a policy's (below) and counts its metageneration. Objects are kept under
state["resources"]["storage.v1"]["objects"] {bucket: {name: the Object as Google returns it}}, their bytes in
`<state dir>/storage/<generation>` (downloaded and hashed a block at a time: objects may be hundreds of MB);
an object's shape follows tests/fixtures/google/storage_object_get.json (its generation in microseconds, md5Hash and
crc32c in base64, an etag of generation and metageneration). Resumable upload sessions are kept under
state["resources"]["storage.v1"]["uploads"] {upload_id: ...}, their bytes in `<state dir>/storage/uploads/<upload_id>`.

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
import email.message
import email.parser
import hashlib
import json
import os
import re
import secrets
import time
import urllib.parse

import google_crc32c

from orchestra_emulator import paging
from orchestra_emulator.discovery import Api
from orchestra_emulator.errors import ApiError
from orchestra_emulator.projects import project_number
from orchestra_emulator.iam import Policies
from orchestra_emulator.registry import EmulatedApi, Media, register

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
           416: "requestedRangeNotSatisfiable", 429: "rateLimitExceeded", 501: "notImplemented", 503: "backendError"}
NOT_FOUND = "The specified bucket does not exist."
NO_OBJECT = "No such object: %s/%s"
NOT_EMPTY = "The bucket you tried to delete is not empty."
DOWNLOAD_LINK = "https://www.googleapis.com/download/storage/v1/b/"
PRECONDITION = "At least one of the pre-conditions you specified did not hold."
# objects.insert outside its upload path: the reason Google APIs' standard errors give an upload sent there
# (https://developers.google.com/youtube/v3/docs/core_errors lists wrongUrlForUpload); the message is the emulator's.
WRONG_URL = "Upload requests must be sent to the upload path: /upload/storage/v1/b/BUCKET/o?uploadType=media|multipart|resumable."
# gsutil's help (`gsutil help cp`) quotes Google's MD5 wording; the CRC32C one is assumed alike.
BAD_MD5 = 'Provided MD5 hash "%s" doesn\'t match calculated MD5 hash "%s".'
BAD_CRC32C = 'Provided CRC32C "%s" doesn\'t match calculated CRC32C "%s".'
BLOCK = 4 << 20  # bytes read from an object's file at a time
_CONTENT_RANGE = re.compile(r"^bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
PRECONDITIONS = ("ifGenerationMatch", "ifGenerationNotMatch", "ifMetagenerationMatch", "ifMetagenerationNotMatch")
OWNED = "You already own this bucket. Please select another name."
TAKEN = "Sorry, that name is not available. Please try a different one."
LEGACY = (("roles/storage.legacyBucketOwner", ("projectEditor", "projectOwner")), ("roles/storage.legacyBucketReader", ("projectViewer",)))


class StorageError(ApiError):
    """An error in Cloud Storage's JSON API shape."""

    def __init__(self, http_status, message, reason=None, location=None):
        """`reason` when it is not the HTTP status's; `location`: (locationType, location), as Google names the
        If-Match header of an object's failed precondition."""
        super().__init__("UNKNOWN", message, http_status=http_status)
        self.reason = reason or REASONS.get(http_status, "backendError" if http_status >= 500 else "invalid")
        self.location = location

    def body(self):
        entry = {"message": self.message, "domain": "global", "reason": self.reason}
        if self.location:
            entry.update(locationType=self.location[0], location=self.location[1])
        return {"error": {"code": self.http_status, "message": self.message, "errors": [entry]}}


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
        """The method's parameters, `alt` and `uploadType` (parameters of the whole document: `alt=media` downloads an
        object) and a resumable upload session's `upload_id`."""
        decoded = super().decode_query(method, query)
        decoded.update({name: query[name][-1] for name in ("alt", "uploadType", "upload_id") if name in query})
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
            "storage.objects.insert": (self.insert_object, None),
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
        self._insert = next(method for method in self.api.methods if method.id == "storage.objects.insert")

    def restore(self):
        """Remove the files no object nor upload session of the loaded state holds (left by a reset or a crash)."""
        objects_directory, uploads_directory = os.path.dirname(_data_path(self._store, "")), os.path.dirname(_upload_path(self._store, ""))
        with self._store.lock:
            resources = self._store.data["resources"].get(DOCUMENT, {})
            held = {found["generation"] for by_name in resources.get("objects", {}).values() for found in by_name.values()}
            for directory, kept in ((objects_directory, held | {"uploads"}), (uploads_directory, set(resources.get("uploads", {})))):
                for name in set(os.listdir(directory) if os.path.isdir(directory) else ()) - kept:
                    _remove(os.path.join(directory, name))

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

    def insert_object(self, request):
        """objects.insert, served on its upload path only: `uploadType=media` (the body is the object, `name` in the
        query), `multipart` (multipart/related: the Object's JSON, then the bytes) or `resumable` (a session, then the
        chunks PUT to its URI, which carries `upload_id`)."""
        if request.data is None:
            raise StorageError(400, WRONG_URL, reason="wrongUrlForUpload")
        if "upload_id" in request.query:
            return self._upload_chunk(request)
        bucket, kind, headers = request.variables["bucket"], request.query.get("uploadType"), request.headers or {}
        with self._store.lock:
            _bucket(self._store.data, bucket)
        if kind == "media":
            sent, media, content_type = {}, request.data, headers.get("Content-Type")
        elif kind == "multipart":
            metadata, media, content_type = _multipart(request.data, headers.get("Content-Type") or "")
            sent = self._metadata(metadata)
        elif kind == "resumable":
            return self._start_session(request, self._metadata(request.data) if request.data else {})
        else:
            raise StorageError(400, "Unsupported uploadType %r: media, multipart or resumable." % kind)
        name = _new_object_name(sent, request.query)
        source = _upload_path(self._store, secrets.token_hex(16))
        _write_file(source, media)
        return _commit(self._store, bucket, name, source, sent, content_type, request.query)

    def _metadata(self, raw):
        """The Object sent with an upload (JSON), checked against the discovery document."""
        try:
            value = json.loads(bytes(raw))
        except ValueError:
            raise StorageError(400, "Invalid JSON payload received in the upload's metadata.") from None
        return self.api.decode_body(self._insert, value, "")

    def _start_session(self, request, sent):
        """A resumable upload session: 200 with its URI in `Location` (the request's query and `upload_id`). The
        preconditions are checked when the last byte arrives, not now (as Google does)."""
        bucket, headers = request.variables["bucket"], request.headers or {}
        name = _new_object_name(sent, request.query)
        size = headers.get("X-Upload-Content-Length")
        if size is not None and not str(size).isdigit():
            raise StorageError(400, "Invalid X-Upload-Content-Length: %r" % size)
        upload_id = secrets.token_urlsafe(32)
        _write_file(_upload_path(self._store, upload_id), b"")
        with self._store.mutate() as data:
            _uploads(data)[upload_id] = {"bucket": bucket, "name": name, "metadata": sent, "contentType": headers.get("X-Upload-Content-Type"),
                                         "query": {key: request.query[key] for key in PRECONDITIONS if key in request.query},
                                         "received": 0, "size": int(size) if size is not None else None}
        query = urllib.parse.urlencode({**request.query, "upload_id": upload_id})
        location = f"http://{headers.get('Host', '127.0.0.1')}/upload/storage/v1/b/{urllib.parse.quote(bucket, safe='')}/o?{query}"
        return Media(200, {"Location": location, "X-GUploader-UploadID": upload_id})

    def _upload_chunk(self, request):
        """A chunk of a resumable upload (`Content-Range: bytes a-b/total` or `a-b/*`; `bytes */total` asks how far it
        is; none: the whole object): 308 with `Range: bytes=0-N` (what the session holds; no Range while it holds
        nothing) until the last byte, then the object as an insert answers it. Bytes the session already holds are
        skipped; a chunk that starts past them is refused."""
        chunk, upload_id = request.data, request.query["upload_id"]
        content_range = (request.headers or {}).get("Content-Range") or (f"bytes 0-{len(chunk) - 1}/{len(chunk)}" if chunk else "bytes */0")
        found = _CONTENT_RANGE.match(content_range.strip())
        first, last, total = found.groups() if found else (None, None, None)
        if not found or (first is None) != (not chunk) or first is not None and int(last) - int(first) + 1 != len(chunk):
            raise StorageError(400, "Invalid Content-Range %r for a chunk of %d bytes." % (content_range, len(chunk)))
        with self._store.mutate() as data:
            session = _uploads(data).get(upload_id)
            if session is None:
                raise StorageError(404, "No such upload session: %s" % upload_id)
            size = session["size"] if total == "*" else int(total)
            if session["size"] is not None and size != session["size"]:
                raise StorageError(400, "The upload's total size was %d bytes, not %d." % (session["size"], size))
            received = session["received"]
            if first is not None:
                if int(first) > received:
                    raise StorageError(400, "The chunk starts at byte %s; the session holds %d bytes." % (first, received))
                if size is not None and int(last) >= size:
                    raise StorageError(400, "The chunk ends at byte %s, past the upload's %d bytes." % (last, size))
                if int(last) >= received:
                    with open(_upload_path(self._store, upload_id), "r+b") as handle:
                        handle.seek(received)
                        handle.write(memoryview(chunk)[received - int(first):])
                    received = int(last) + 1
            session.update(size=size, received=received)
            if size is None or received < size:
                return Media(308, {"Range": f"bytes=0-{received - 1}"} if received else {})
            del _uploads(data)[upload_id]
        return _commit(self._store, session["bucket"], session["name"], _upload_path(self._store, upload_id), session["metadata"],
                       session["contentType"], session["query"])

    def get_object(self, request):
        """The object's metadata, or its bytes with `alt=media` (206 and a part with a `Range: bytes=a-b` header)."""
        with self._store.lock:
            found = _object(self._store.data, request.variables["bucket"], _object_name(request.variables))
            _check_generation(found, request.query)
            if request.query.get("alt") == "media":
                return _download(self._store, found, (request.headers or {}).get("Range"))
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
            _remove(_object_path(self._store, found))
            return {}


def put_object(store, bucket, name, data, content_type="application/octet-stream"):
    """Write object `name` of `bucket` holding `data` (a new generation), as an upload does; 404 when the bucket does
    not exist. Returns its metadata."""
    with store.lock:
        _bucket(store.data, bucket)
    source = _upload_path(store, secrets.token_hex(16))
    _write_file(source, data)
    return _commit(store, bucket, name, source, {}, content_type, {})


def read_object(store, bucket, name):
    """The bytes of object `name` of `bucket`; 404 in Storage's shape when the bucket or the object does not exist."""
    with store.lock:
        return object_data(store, _object(store.data, bucket, name))


def object_data(store, found):
    with open(_object_path(store, found), "rb") as handle:
        return handle.read()


def _commit(store, bucket, name, source, sent, content_type, query):
    """Make the file `source` (moved, not copied) the new generation of object `name` of `bucket`: the Object `sent`
    with what Storage computes (size, md5Hash and crc32c, which must match the ones sent), once `query`'s
    preconditions hold. The previous generation's bytes go (versioning is not emulated). Returns the Object."""
    try:
        size, md5, crc = _file_digests(source)
        for field, computed, message in (("md5Hash", md5, BAD_MD5), ("crc32c", crc, BAD_CRC32C)):
            if sent.get(field) is not None and sent[field] != computed:
                raise StorageError(400, message % (sent[field], computed))
        with store.mutate() as state:
            settings, previous = _bucket(state, bucket), _objects(state, bucket).get(name)
            _check_generation(previous, query)
            generation = max(time.time_ns() // 1000, int(previous["generation"]) + 1 if previous else 0)
            while os.path.exists(_data_path(store, generation)):
                generation += 1
            now, quoted = _now_milliseconds(), urllib.parse.quote(name, safe="")
            found = {**{field: value for field, value in sent.items() if value is not None}, "kind": "storage#object",
                     "id": f"{bucket}/{name}/{generation}", "selfLink": f"{SELF_LINK}{bucket}/o/{quoted}",
                     "mediaLink": f"{DOWNLOAD_LINK}{bucket}/o/{quoted}?generation={generation}&alt=media", "name": name, "bucket": bucket,
                     "generation": str(generation), "metageneration": "1", "contentType": sent.get("contentType") or content_type or "application/octet-stream",
                     "storageClass": sent.get("storageClass") or settings["storageClass"], "size": str(size), "md5Hash": md5, "crc32c": crc,
                     "etag": object_etag(generation, 1), "timeCreated": now, "updated": now, "timeStorageClassUpdated": now}
            os.replace(source, _data_path(store, generation))
            if previous:
                _remove(_object_path(store, previous))
            _objects(state, bucket)[name] = found
            return copy.deepcopy(found)
    finally:
        _remove(source)


def _download(store, found, range_header):
    """An object's bytes streamed from its file: all of them (200), or the part a `Range` header names (206 with
    `Content-Range`; 416 with `Content-Range: bytes */SIZE` when none of it exists), with the x-goog headers of the
    JSON API (https://cloud.google.com/storage/docs/json_api/v1/parameters; X-Goog-Hash as google-cloud-storage reads it)."""
    size = int(found["size"])
    headers = {"Content-Type": found["contentType"], "X-Goog-Generation": found["generation"], "X-Goog-Metageneration": found["metageneration"],
               "X-Goog-Hash": f"crc32c={found['crc32c']},md5={found['md5Hash']}", "X-Goog-Stored-Content-Length": found["size"],
               "X-Goog-Stored-Content-Encoding": found.get("contentEncoding", "identity")}
    wanted = _byte_range(range_header, size)
    if wanted is False:
        error = StorageError(416, "The requested range cannot be satisfied.")
        return Media(416, {"Content-Type": "application/json; charset=UTF-8", "Content-Range": f"bytes */{size}"}, json.dumps(error.body()).encode())
    first, last = wanted or (0, size - 1)
    if wanted:
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    stream = open(_object_path(store, found), "rb")  # pylint: disable=consider-using-with  # Media.write closes it once sent
    stream.seek(first)
    return Media(206 if wanted else 200, headers, stream=stream, length=last - first + 1)


def _byte_range(header, size):
    """(first, last) byte of a `Range: bytes=a-b` header (`a-`: to the end, `-n`: the last n bytes; the last byte cut
    to the object's); None without one or for one that is not a single byte range (the whole object is answered, as
    RFC 9110 lets a server ignore Range); False when none of the range exists."""
    found = _RANGE.match((header or "").strip())
    if not found or found.groups() == ("", ""):
        return None
    first, last = found.groups()
    if not first:
        return (max(size - int(last), 0), size - 1) if int(last) and size else False
    if last and int(last) < int(first):
        return None
    if int(first) >= size:
        return False
    return int(first), min(int(last), size - 1) if last else size - 1


def _multipart(body, content_type):
    """(the first part, the second part as a memoryview of `body`, the second part's Content-Type) of a
    multipart/related body: the Object's JSON, then its bytes. Lines may end in CRLF or LF (google-api-python-client's)."""
    message = email.message.Message()
    message["Content-Type"] = content_type
    boundary = message.get_param("boundary") if message.get_content_type() == "multipart/related" else None
    if not boundary:
        raise StorageError(400, "A multipart upload needs a multipart/related Content-Type with a boundary.")
    delimiter, view, parts = b"--" + boundary.encode(), memoryview(body), []
    position = body.find(delimiter)
    while position >= 0 and body[position + len(delimiter):position + len(delimiter) + 2] != b"--":
        cursor = body.find(b"\n", position) + 1  # past the delimiter's line
        end = body.find(b"\n" + delimiter, cursor)  # the part ends where the next delimiter's line break starts
        if not cursor or end < 0:
            break
        lines = []  # the part's header lines, up to an empty one
        while line_end := body.find(b"\n", cursor, end) + 1:
            line, cursor = body[cursor:line_end - 1].rstrip(b"\r"), line_end
            if not line:
                break
            lines.append(line)
        else:
            break
        headers = email.parser.BytesHeaderParser().parsebytes(b"\n".join(lines) + b"\n\n")
        parts.append((headers, view[cursor:end - 1 if end > cursor and body[end - 1:end] == b"\r" else end]))
        position = end + 1
    if len(parts) != 2:
        raise StorageError(400, "A multipart upload has two parts, the metadata and the media: %d found." % len(parts))
    return parts[0][1], parts[1][1], parts[1][0].get("Content-Type")


def _new_object_name(sent, query):
    """The name of the object an upload writes: the metadata's, else the `name` parameter's. Names are 1 to 1024 bytes
    of UTF-8 without carriage return or line feed, nor `.` or `..` (https://cloud.google.com/storage/docs/objects#naming)."""
    name = sent.get("name") or query.get("name") or ""
    if not name:
        raise StorageError(400, "Required parameter: name")
    if len(name.encode()) > 1024 or "\r" in name or "\n" in name or name in (".", ".."):
        raise StorageError(400, "Invalid object name: %r" % name)
    return name


def _write_file(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


def _remove(path):
    if os.path.exists(path):
        os.remove(path)


def _file_digests(path):
    """(size, md5Hash, crc32c) of a file, as Storage shows them (base64), read a block at a time."""
    md5, crc, size = hashlib.md5(), 0, 0
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            md5.update(block)
            crc = google_crc32c.extend(crc, block)
            size += len(block)
    return size, base64.b64encode(md5.digest()).decode(), base64.b64encode(crc.to_bytes(4, "big")).decode()


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
    return google_crc32c.value(bytes(data))


def _objects(data, bucket):
    return data["resources"].setdefault(DOCUMENT, {}).setdefault("objects", {}).setdefault(bucket, {})


def _uploads(data):
    """Resumable upload sessions by upload_id: {bucket, name, metadata, contentType, query (preconditions), received, size}."""
    return data["resources"].setdefault(DOCUMENT, {}).setdefault("uploads", {})


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
    return _data_path(store, found["generation"])


def _data_path(store, generation):
    return os.path.join(os.path.dirname(store.path), "storage", str(generation))


def _upload_path(store, token):
    """The file of an upload on its way: a resumable session's bytes, or a one-request upload's before its commit."""
    return os.path.join(os.path.dirname(store.path), "storage", "uploads", token)


def _check_generation(found, query):
    """`generation` (another one than `found`'s is 404, no such object) and the preconditions of objects.get, delete and
    insert, checked against `found`, the live object or None when there is none: ifGenerationMatch (0: there must be
    none), ifGenerationNotMatch (0: there must be one), ifMetagenerationMatch, ifMetagenerationNotMatch (without a live
    object every one but ifGenerationMatch=0 fails, as the document says of ifGenerationNotMatch). One that does not
    hold is 412 conditionNotMet, on the If-Match header, as tests/fixtures/google/storage_object_precondition_failed.json."""
    if found is not None and query.get("generation") is not None and str(query["generation"]) != found["generation"]:
        raise StorageError(404, NO_OBJECT % (found["bucket"], found["name"]))
    generation, metageneration = (int(found["generation"]), int(found["metageneration"])) if found else (0, None)
    holds = {"ifGenerationMatch": lambda value: value == generation,
             "ifGenerationNotMatch": lambda value: found is not None and value != generation,
             "ifMetagenerationMatch": lambda value: value == metageneration,
             "ifMetagenerationNotMatch": lambda value: found is not None and value != metageneration}
    if not all(holds[key](int(query[key])) for key in PRECONDITIONS if query.get(key) is not None):
        raise StorageError(412, PRECONDITION, location=("header", "If-Match"))


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
