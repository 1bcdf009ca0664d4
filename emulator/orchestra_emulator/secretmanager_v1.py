"""Secret Manager API v1 (secretmanager.v1.json): secrets, their versions and payloads, and their IAM policies.

Stored under state["resources"]["secretmanager.v1"]["secrets"]: {secret name: {"secret": the Secret as
Google returns it, "versions": {number: SecretVersion}, "payloads": {number: SecretPayload},
"lastVersion": the last number given}}. Names hold the project NUMBER whatever the caller named the
project by, as Google's do (tests/fixtures/google/secretmanager_*.json). Time is the emulator's clock
(clock.py) and makes three changes, applied when the state is read: a secret whose expireTime has passed is
gone, a version whose scheduledDestroyTime has passed is DESTROYED, and a secret whose
rotation.nextRotationTime has passed has a SECRET_ROTATE message published to its topics (kept under
state["resources"]["secretmanager.v1"]["notifications"], served by GET /_emulator/secretmanager/notifications)
and its nextRotationTime advanced by its rotationPeriod.

The emulator is Secret Manager's global endpoint: the regional paths (projects/*/locations/*/secrets) are
refused as that endpoint refuses them (tests/fixtures/google/secretmanager_error_name_format.json).

A successful versions.access (and Cloud Run's read of a revision's secrets, run_v2) writes a Data Access audit entry
(logs.py) when the project's IAM policy turns DATA_READ audit logs on for Secret Manager and does not exempt the caller.
"""

import base64
import binascii
import copy
import datetime
import json
import re
import shlex
import time

from orchestra_emulator import clock, iam, logs, paging
from orchestra_emulator.discovery import camel_case
from orchestra_emulator.errors import already_exists, failed_precondition, invalid_argument, not_found
from orchestra_emulator.projects import project_number
from orchestra_emulator.registry import EmulatedApi, register
from orchestra_emulator.resources import apply_mask, check_etag, check_labels

DOCUMENT = "secretmanager.v1"
SERVICE = "secretmanager.googleapis.com"
ACCESS_METHOD = "google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion"
MAX_PAYLOAD = 65536  # SecretPayload.data: "Must be no larger than 64KiB."
MAX_ALIASES = 50
MAX_TOPICS = 10
MAX_PAGE_SIZE = 25000
MIN_ROTATION_PERIOD = 3600
MAX_SECONDS = 3153600000  # 100 years, the bound of rotationPeriod and nextRotationTime
MIN_ROTATION_LEAD = 300  # nextRotationTime "Cannot be set to less than 300s (5 min) in the future"
ENABLED, DISABLED, DESTROYED = "ENABLED", "DISABLED", "DESTROYED"

# Secret ids: letters, digits, '-' and '_', at most 255 (https://cloud.google.com/secret-manager/docs/creating-and-accessing-secrets).
_SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
# Secret.versionAliases: at most 63 letters, digits, '-' or '_' starting with a letter; not 'latest' nor 'NEW'.
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
_RESERVED_ALIASES = ("latest", "NEW")
# Secret.annotations: keys of 1 to 63 characters, alphanumeric at both ends, '-', '_' and '.' inside;
# keys and values together under 16 KiB.
_ANNOTATION_KEY = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
MAX_ANNOTATIONS_BYTES = 16 * 1024
_TOPIC = re.compile(r"^projects/[^/]+/topics/[^/]+$")
# Fields a caller sets; `ttl` is turned into `expireTime` and `tags` are input only.
_SPEC_FIELDS = ("annotations", "customerManagedEncryption", "expireTime", "labels", "replication", "rotation", "secretType",
                "topics", "versionAliases", "versionDestroyTtl")
_UPDATABLE = frozenset(_SPEC_FIELDS) | {"ttl"}
_STATE_FIELDS = frozenset({"name", "state"})  # what a versions.list filter may name
_SECRET_FILTER_FIELDS = frozenset({"name"})  # and labels.KEY


@register
class SecretManagerV1(EmulatedApi):
    """Handlers for secretmanager.v1 methods, keyed by discovery method id."""

    document = DOCUMENT
    proto_package = "google.cloud.secretmanager.v1"

    def __init__(self, shared):
        super().__init__(shared)
        self._store = shared.store
        self.admin = {("GET", "secretmanager/notifications"): self._notifications}
        prefix = "secretmanager.projects.secrets."
        self.handlers = {
            prefix + "create": (self.create_secret, "secret"),
            prefix + "get": (self.get_secret, None),
            prefix + "list": (self.list_secrets, None),
            prefix + "patch": (self.update_secret, "secret"),
            prefix + "delete": (self.delete_secret, None),
            prefix + "addVersion": (self.add_version, ""),
            prefix + "versions.get": (self.get_version, None),
            prefix + "versions.list": (self.list_versions, None),
            prefix + "versions.access": (self.access_version, None),
            prefix + "versions.enable": (lambda request: self.set_state(request, ENABLED), ""),
            prefix + "versions.disable": (lambda request: self.set_state(request, DISABLED), ""),
            prefix + "versions.destroy": (self.destroy_version, ""),
            **self.policies.handlers(prefix, lambda data, variables: _entry(data, variables)["secret"]["name"], "secretmanager."),
            **{method.id: (_regional, None) for method in self.api.methods if ".locations.secrets." in method.id},
        }

    # -- secrets ---------------------------------------------------------------------------

    def create_secret(self, request):
        secret_id = request.query.get("secretId", "")
        if not _SECRET_ID.match(secret_id):
            raise invalid_argument(f"Invalid secret id [{secret_id}]: it must have 1 to 255 letters, digits, '-' or '_'.",
                                   field="secret_id")
        name = f"{_project(request.variables)}/secrets/{secret_id}"
        with self._store.mutate() as data:
            now = settle(data)
            spec = _spec(request.body, now)
            if name in _secrets(data):
                raise already_exists(f"Secret [{name}] already exists.")
            _check_replication(spec.get("replication"))
            entry = {"secret": {}, "versions": {}, "payloads": {}, "lastVersion": 0}
            _check_spec(spec, entry, set(spec), now)
            entry["secret"] = {"name": name, "createTime": _timestamp(now), **spec, "etag": new_etag()}
            _secrets(data)[name] = entry
            return copy.deepcopy(entry["secret"])

    def get_secret(self, request):
        with self._store.lock:
            return copy.deepcopy(_entry(self._settled(), request.variables)["secret"])

    def list_secrets(self, request):
        parent = _project(request.variables)
        query = request.query
        with self._store.lock:
            secrets = [copy.deepcopy(entry["secret"]) for name, entry in sorted(_secrets(self._settled()).items())
                       if name.startswith(parent + "/")]
        return _page("secrets", secrets, query, _filter(query.get("filter", ""), _SECRET_FILTER_FIELDS, labels=True))

    def update_secret(self, request):
        mask = request.query.get("updateMask")
        if not mask:
            raise invalid_argument("An update mask is required to update a secret.", field="update_mask")
        paths = [path.strip() for path in mask.split(",")]
        named = _UPDATABLE if mask == "*" else {camel_case(path.split(".")[0]) for path in paths}
        if named - _UPDATABLE:
            raise invalid_argument(f"These fields of a secret cannot be updated: {sorted(named - _UPDATABLE)}.", field="update_mask")
        with self._store.mutate() as data:
            now = settle(data)
            entry = _entry(data, request.variables)
            current = entry["secret"]
            check_etag(request.body.get("etag"), current["etag"], failed_precondition)
            mask = ",".join("expire_time" if camel_case(path) == "ttl" else path for path in paths)
            spec = apply_mask(_spec(current, now), _spec(request.body, now), mask)
            if spec.get("replication") != current.get("replication"):
                raise invalid_argument("The replication policy of a secret is immutable.", field="secret.replication")
            changed = {key for key in set(spec) | set(_spec(current, now)) if spec.get(key) != current.get(key)}
            _check_spec(spec, entry, changed, now)
            entry["secret"] = {"name": current["name"], "createTime": current["createTime"], **spec, "etag": new_etag()}
            return copy.deepcopy(entry["secret"])

    def delete_secret(self, request):
        with self._store.mutate() as data:
            settle(data)
            entry = _entry(data, request.variables)
            check_etag(request.query.get("etag"), entry["secret"]["etag"], failed_precondition)
            _remove(data, entry["secret"]["name"])
            return {}

    # -- versions --------------------------------------------------------------------------

    def add_version(self, request):
        payload = request.body.get("payload", {})
        raw = _decode(payload.get("data", ""))
        if len(raw) > MAX_PAYLOAD:
            raise invalid_argument(f"Secret payload data is {len(raw)} bytes: it must be no larger than 64 KiB ({MAX_PAYLOAD} bytes).",
                                   field="payload.data")
        checksum = crc32c(raw)
        sent = payload.get("dataCrc32c")
        if sent is not None and int(sent) != checksum:
            raise invalid_argument("Checksum mismatch: payload.data_crc32c does not match the CRC32C of payload.data.",
                                   field="payload.data_crc32c")
        with self._store.mutate() as data:
            now = settle(data)
            entry = _entry(data, request.variables)
            secret = entry["secret"]
            entry["lastVersion"] += 1
            number = str(entry["lastVersion"])
            version = {
                "name": f"{secret['name']}/versions/{number}",
                "createTime": _timestamp(now),
                "state": ENABLED,
                "replicationStatus": _replication_status(secret["replication"]),
                "clientSpecifiedPayloadChecksum": sent is not None,
                "etag": new_etag(),
            }
            entry["versions"][number] = version
            entry["payloads"][number] = {"data": base64.b64encode(raw).decode(), "dataCrc32c": str(checksum)}
            return copy.deepcopy(version)

    def get_version(self, request):
        with self._store.lock:
            data = self._settled()
            return copy.deepcopy(_version(_entry_or_none(data, request.variables), _secret_name(request.variables),
                                          request.variables["versionsId"]))

    def list_versions(self, request):
        with self._store.lock:
            entry = _entry(self._settled(), request.variables)
            versions = [copy.deepcopy(entry["versions"][number]) for number in sorted(entry["versions"], key=int, reverse=True)]
        return _page("versions", versions, request.query, _filter(request.query.get("filter", ""), _STATE_FIELDS))

    def access_version(self, request):
        """The payload; with Data Access audit logs on for DATA_READ, an audit entry of the caller (the identity of its
        access token)."""
        variables = request.variables
        with self._store.lock:
            data = self._settled()
            answer = access(data, _secret_name(variables), variables["versionsId"])
            entry = audit_access(data, variables["projectsId"], variables["secretsId"], variables["versionsId"],
                                 self.shared.tokens.caller(request.headers), (request.headers or {}).get("User-Agent"))
        if entry:
            self.shared.logs.write([entry])
        return answer

    def set_state(self, request, state):
        """versions.enable and versions.disable: the state changes, and so does the etag, even when the
        version already was in that state (tests/fixtures/google/secretmanager_version_enable_already_enabled.json).
        Enabling a version scheduled for destruction cancels its destruction."""
        with self._store.mutate() as data:
            version = self._changeable(data, request)
            version["state"] = state
            if state == ENABLED:
                version.pop("scheduledDestroyTime", None)
            version["etag"] = new_etag()
            return copy.deepcopy(version)

    def destroy_version(self, request):
        """With the secret's versionDestroyTtl, the version is DISABLED and scheduled for destruction that
        long from now; without, it is DESTROYED at once and its data is gone."""
        with self._store.mutate() as data:
            version = self._changeable(data, request)
            now = clock.now(data)
            entry = _entry(data, request.variables)
            ttl = entry["secret"].get("versionDestroyTtl")
            if ttl:
                version.update(state=DISABLED, scheduledDestroyTime=_timestamp(now + _seconds(ttl), 9), etag=new_etag())
            else:
                _destroy(entry, _number(version), _timestamp(now, 9))
            return copy.deepcopy(version)

    def _changeable(self, data, request):
        """The version an enable, disable or destroy names (by number or `latest`; aliases serve reads only,
        as the versionAliases description says), after the etag check; a DESTROYED version cannot change."""
        settle(data)
        version_id = request.variables["versionsId"]
        secret_name = _secret_name(request.variables)
        if not (version_id.isdigit() or version_id == "latest"):
            raise _bad_version_name(f"{secret_name}/versions/{version_id}")
        version = _version(_entry_or_none(data, request.variables), secret_name, version_id)
        check_etag(request.body.get("etag"), version["etag"], failed_precondition)
        if version["state"] == DESTROYED:
            raise _in_state(version)
        return version

    def _settled(self):
        """The state with what time made due applied; use it under the store's lock."""
        with self._store.lock:
            if _due(self._store.data):
                with self._store.mutate() as data:
                    settle(data)
            return self._store.data

    def _notifications(self, _body):
        """The messages Secret Manager published to Pub/Sub topics, oldest first (today: SECRET_ROTATE)."""
        with self._store.lock:
            return {"notifications": copy.deepcopy(_notifications_of(self._settled()))}


# -- what Cloud Run reads ----------------------------------------------------------------------


def access(data, secret_name, version_id):
    """versions.access of `secret_name` (projects/{number}/secrets/{id}) at `version_id` (a number,
    `latest` or an alias) in the state `data`: {"name": the numbered version, "payload": {"data",
    "dataCrc32c"}}. Raises NOT_FOUND, or FAILED_PRECONDITION for a version that is not ENABLED. Time's
    changes count even when the state has not been settled yet."""
    now = clock.now(data)
    entry = _secrets(data).get(secret_name)
    if entry is not None and _passed(entry["secret"].get("expireTime"), now):
        entry = None
    version = _version(entry, secret_name, version_id)
    state = DESTROYED if _passed(version.get("scheduledDestroyTime"), now) else version["state"]
    if state != ENABLED:
        raise _in_state(version, state)
    return {"name": version["name"], "payload": copy.deepcopy(entry["payloads"][_number(version)])}


def audit_access(data, project, secret, version, email, user_agent=None):
    """The Data Access audit entry of a successful AccessSecretVersion of `projects/{project}/secrets/{secret}/versions/{version}`
    (named as the caller named them) by `email` (None: unknown), or None when the project's audit configs do not log it
    (tests/fixtures/google/logging_audit_secret_access.json is a recorded one)."""
    if not logs.data_access_logged(data, project, SERVICE, "DATA_READ", logs.member(email)):
        return None
    name = f"projects/{project}/secrets/{secret}/versions/{version}"
    request = {"name": name, "@type": "type.googleapis.com/google.cloud.secretmanager.v1.AccessSecretVersionRequest"}
    return logs.audit_entry(project, {"service": SERVICE, "method": ACCESS_METHOD, "resourceName": name, "request": request,
                                      "resourceType": "secretmanager.googleapis.com/SecretVersion", "principal": email,
                                      "permission": "secretmanager.versions.access", "permissionType": "DATA_READ"}, user_agent)


# The predefined roles that hold secretmanager.versions.access (https://cloud.google.com/iam/docs/roles-permissions/secretmanager).
# Whether basic roles do is not known here: they are not counted (a recorded Cloud Run refusal names the default compute
# service account, which projects used to grant Editor).
ACCESSOR_ROLES = ("roles/secretmanager.secretAccessor", "roles/secretmanager.admin")


def may_access(data, secret, member):
    """Whether `member` may read the payloads of `secret` (projects/{number}/secrets/{id}): a role of
    ACCESSOR_ROLES on the secret or on its project (folders and organizations are not emulated)."""
    project = "/".join(secret.split("/")[:2])
    return (iam.granted(data, DOCUMENT, secret, member, ACCESSOR_ROLES)
            or iam.granted(data, "cloudresourcemanager.v3", project, member, ACCESSOR_ROLES))


def secret_name(project, secret):
    """The name Google gives a secret that `secret` names, in `project` when it is a bare id
    (Cloud Run's secretKeyRef takes `id` or `projects/{project}/secrets/{id}`)."""
    parts = secret.split("/")
    if len(parts) == 4 and parts[0] == "projects" and parts[2] == "secrets":
        project, secret = parts[1], parts[3]
    return f"projects/{project_number(project)}/secrets/{secret}"


# -- time ------------------------------------------------------------------------------------


def _due(data):
    """Whether time made a change due: an expired secret, a version whose destruction is due or a rotation."""
    now = clock.now(data)
    return any(_passed(entry["secret"].get("expireTime"), now)
               or any(_passed(v.get("scheduledDestroyTime"), now) for v in entry["versions"].values())
               or _rotation_due(entry, now)
               for entry in _secrets(data).values())


def settle(data):
    """Apply what time made due, and answer the emulator's now: expired secrets are deleted, versions whose
    scheduled destruction has come are DESTROYED (destroyTime: the scheduled time), rotations that came due
    are notified."""
    now = clock.now(data)
    for name, entry in list(_secrets(data).items()):
        if _passed(entry["secret"].get("expireTime"), now):
            _remove(data, name)
            continue
        for number, version in entry["versions"].items():
            if _passed(version.get("scheduledDestroyTime"), now):
                _destroy(entry, number, version.pop("scheduledDestroyTime"))
        while _rotation_due(entry, now):
            _rotate(data, entry)
    return now


def _rotation_due(entry, now):
    """Whether the secret's nextRotationTime has passed and was not notified yet (a time without a period is
    notified once)."""
    due = entry["secret"].get("rotation", {}).get("nextRotationTime")
    return _passed(due, now) and due != entry.get("rotationNotified")


def _rotate(data, entry):
    """What Secret Manager does at nextRotationTime (Rotation in the secretmanager.v1 discovery document,
    https://cloud.google.com/secret-manager/docs/secret-rotation): it publishes SECRET_ROTATE to each of the
    secret's topics, then advances nextRotationTime by rotationPeriod. The message is Pub/Sub's PubsubMessage
    as Secret Manager's event notifications make it (https://cloud.google.com/secret-manager/docs/event-notifications):
    `data` the Secret's JSON (base64, as PubsubMessage.data is bytes), attributes eventType, secretId (the
    secret's full name) and dataFormat; publishTime the rotation time."""
    secret = entry["secret"]
    rotation = secret["rotation"]
    due = rotation["nextRotationTime"]
    message = {
        "data": base64.b64encode(json.dumps(secret).encode()).decode(),
        "attributes": {"eventType": "SECRET_ROTATE", "secretId": secret["name"], "dataFormat": "JSON_API_V1"},
        "publishTime": due,
    }
    _notifications_of(data).extend({"topic": topic["name"], "message": copy.deepcopy(message)} for topic in secret.get("topics", []))
    if "rotationPeriod" in rotation:
        rotation["nextRotationTime"] = _whole_seconds(_timestamp(_parse_time(due) + _seconds(rotation["rotationPeriod"])))
        secret["etag"] = new_etag()
    else:
        entry["rotationNotified"] = due


def _destroy(entry, number, destroy_time):
    version = entry["versions"][number]
    version.update(state=DESTROYED, destroyTime=destroy_time, etag=new_etag())
    version.pop("scheduledDestroyTime", None)
    entry["payloads"].pop(number, None)


def _remove(data, name):
    del _secrets(data)[name]
    data["policies"].get(DOCUMENT, {}).pop(name, None)


def _passed(timestamp, now):
    return bool(timestamp) and _parse_time(timestamp) <= now


# -- checks ----------------------------------------------------------------------------------


def _spec(secret, now):
    """The fields of a secret its caller sets; an input `ttl` becomes `expireTime` (Google never returns `ttl`)."""
    spec = {key: copy.deepcopy(value) for key, value in secret.items() if key in _SPEC_FIELDS}
    if "ttl" in secret:
        ttl = _seconds(secret["ttl"])
        if ttl <= 0:
            raise invalid_argument("The ttl of a secret must be positive.", field="secret.ttl")
        spec["expireTime"] = _timestamp(now + ttl)
    return spec


def _check_replication(replication):
    """Required on create: exactly one of automatic and userManaged, the latter with replicas in distinct
    locations (the messages are the emulator's)."""
    kinds = [kind for kind in ("automatic", "userManaged") if kind in (replication or {})]
    if len(kinds) != 1:
        raise invalid_argument("A secret needs a replication policy: automatic or userManaged.", field="secret.replication")
    if kinds == ["userManaged"]:
        replicas = replication["userManaged"].get("replicas", [])
        if not replicas:
            raise invalid_argument("A user-managed replication policy needs at least one replica.",
                                   field="secret.replication.user_managed.replicas")
        locations = [replica.get("location", "") for replica in replicas]
        if not all(locations) or len(set(locations)) != len(locations):
            raise invalid_argument("Each replica needs a location, and locations must be distinct.",
                                   field="secret.replication.user_managed.replicas")


def _check_spec(spec, entry, changed, now):
    """Google's rules for a secret's fields (the descriptions of secretmanager.v1's Secret and Rotation);
    times are checked when they change. The messages are the emulator's."""
    check_labels("secret.labels", spec.get("labels", {}))
    _check_annotations(spec.get("annotations", {}))
    topics = spec.get("topics", [])
    if len(topics) > MAX_TOPICS:
        raise invalid_argument(f"At most {MAX_TOPICS} topics are allowed.", field="secret.topics")
    for index, topic in enumerate(topics):
        if not _TOPIC.match(topic.get("name", "")):
            raise invalid_argument(f"Invalid topic [{topic.get('name', '')}]: expected projects/*/topics/*.",
                                   field=f"secret.topics[{index}].name")
    if "expireTime" in changed and "expireTime" in spec and _parse_time(spec["expireTime"]) <= now:
        raise invalid_argument("The expire time of a secret must be in the future.", field="secret.expire_time")
    if "rotation" in changed and spec.get("rotation"):
        _check_rotation(spec["rotation"], topics, now)
    if "versionDestroyTtl" in spec and _seconds(spec["versionDestroyTtl"]) <= 0:
        raise invalid_argument("The version destroy ttl must be positive.", field="secret.version_destroy_ttl")
    _check_aliases(spec.get("versionAliases", {}), entry)


def _check_annotations(annotations):
    for key in annotations:
        if not _ANNOTATION_KEY.match(key) or len(key.encode()) > 128:
            raise invalid_argument(f"Invalid annotation key [{key}]: 1 to 63 characters, alphanumeric at both ends, "
                                   "with '-', '_' and '.' in between.", field=f"secret.annotations[{key}]")
    if sum(len(key.encode()) + len(value.encode()) for key, value in annotations.items()) >= MAX_ANNOTATIONS_BYTES:
        raise invalid_argument("The annotations of a secret must total less than 16 KiB.", field="secret.annotations")


def _check_rotation(rotation, topics, now):
    field = "secret.rotation"
    if "rotationPeriod" in rotation:
        period = _seconds(rotation["rotationPeriod"])
        if not MIN_ROTATION_PERIOD <= period <= MAX_SECONDS:
            raise invalid_argument(f"The rotation period must be between {MIN_ROTATION_PERIOD}s and {MAX_SECONDS}s.",
                                   field=f"{field}.rotation_period")
        if "nextRotationTime" not in rotation:
            raise invalid_argument("A rotation period needs a next rotation time.", field=f"{field}.next_rotation_time")
    if "nextRotationTime" in rotation:
        lead = _parse_time(rotation["nextRotationTime"]) - now
        if not MIN_ROTATION_LEAD <= lead <= MAX_SECONDS:
            raise invalid_argument(f"The next rotation time must be at least {MIN_ROTATION_LEAD}s and at most {MAX_SECONDS}s "
                                   "in the future.", field=f"{field}.next_rotation_time")
    if not topics:
        raise invalid_argument("A secret with a rotation policy needs at least one topic.", field="secret.topics")


def _check_aliases(aliases, entry):
    if len(aliases) > MAX_ALIASES:
        raise invalid_argument(f"At most {MAX_ALIASES} version aliases are allowed.", field="secret.version_aliases")
    for alias, number in aliases.items():
        field = f"secret.version_aliases[{alias}]"
        if not _ALIAS.match(alias) or alias in _RESERVED_ALIASES:
            raise invalid_argument(f"Invalid alias [{alias}]: at most 63 letters, digits, '-' or '_' starting with a letter, "
                                   "and not 'latest' nor 'NEW'.", field=field)
        version = entry["versions"].get(number)
        if version is None or version["state"] == DESTROYED:
            raise invalid_argument(f"The alias [{alias}] must name a version of the secret that is not destroyed; "
                                   f"version [{number}] is not one.", field=field)


# -- lookups ---------------------------------------------------------------------------------


def _version(entry, secret_name, version_id):
    """The version `version_id` (a number, `latest`: the most recently created, or an alias) names."""
    if version_id == "latest":
        if entry is None or not entry["versions"]:
            raise not_found(f"Secret [{secret_name}] not found or has no versions.")
        return entry["versions"][str(entry["lastVersion"])]
    if entry is None:
        raise not_found(f"Secret [{secret_name}] not found.")
    if version_id.isdigit():
        number = str(int(version_id))
    elif _ALIAS.match(version_id):
        number = entry["secret"].get("versionAliases", {}).get(version_id, version_id)
    else:
        raise _bad_version_name(f"{secret_name}/versions/{version_id}")
    version = entry["versions"].get(number)
    if version is None:
        raise not_found(f"Secret Version [{secret_name}/versions/{number}] not found.")
    return version


def _entry_or_none(data, variables):
    return _secrets(data).get(_secret_name(variables))


def _entry(data, variables):
    entry = _entry_or_none(data, variables)
    if entry is None:
        raise not_found(f"Secret [{_secret_name(variables)}] not found.")
    return entry


def _secrets(data):
    return data["resources"].setdefault(DOCUMENT, {}).setdefault("secrets", {})


def _notifications_of(data):
    return data["resources"].setdefault(DOCUMENT, {}).setdefault("notifications", [])


def _project(variables):
    return f"projects/{project_number(variables['projectsId'])}"


def _secret_name(variables):
    return f"{_project(variables)}/secrets/{variables['secretsId']}"


def _number(version):
    return version["name"].rsplit("/", 1)[-1]


def _in_state(version, state=None):
    return failed_precondition(f"Secret Version [{version['name']}] is in {state or version['state']} state.")


def _bad_version_name(name):
    return invalid_argument(f"The provided Secret Version ID [{name}] does not match the expected format "
                            "[projects/*/secrets/*/versions/*]")


def _regional(request):
    """The global endpoint refuses regional names, with the format it expects."""
    variables = request.variables
    name = f"projects/{variables['projectsId']}/locations/{variables['locationsId']}"
    if "secretsId" not in variables:
        raise invalid_argument(f"The provided Project ID [{name}] does not match the expected format [projects/*]")
    name += f"/secrets/{variables['secretsId']}"
    if "versionsId" not in variables:
        raise invalid_argument(f"The provided Secret ID [{name}] does not match the expected format [projects/*/secrets/*]")
    raise _bad_version_name(f"{name}/versions/{variables['versionsId']}")


def _replication_status(replication):
    """A version's replicationStatus: the secret's replication, each CMEK key as the key version that
    encrypted the data (the emulator has no KMS: version 1 of the key)."""
    if "automatic" in replication:
        return {"automatic": _encryption_status(replication["automatic"])}
    return {"userManaged": {"replicas": [{"location": replica["location"], **_encryption_status(replica)}
                                         for replica in replication["userManaged"]["replicas"]]}}


def _encryption_status(policy):
    key = policy.get("customerManagedEncryption", {}).get("kmsKeyName")
    return {"customerManagedEncryption": {"kmsKeyVersionName": f"{key}/cryptoKeyVersions/1"}} if key else {}


# -- listing ---------------------------------------------------------------------------------


def _page(field, items, query, matches):
    """A page of the items `matches` keeps; totalSize counts them all when there is no filter, as the
    discovery document says ("0 when the filter field is set")."""
    size = query.get("pageSize") or 0
    if size < 0:
        raise invalid_argument("The page size must not be negative.", field="page_size")
    kept = [item for item in items if matches(item)]
    page, next_token = paging.page(kept, min(size, MAX_PAGE_SIZE), query.get("pageToken"))
    return {field: page, "nextPageToken": next_token, "totalSize": 0 if query.get("filter") else len(kept)}


def _filter(text, fields, labels=False):
    """A predicate for Secret Manager's list filter (https://cloud.google.com/secret-manager/docs/filtering),
    the part the emulator takes: terms `field:value` (has: a substring of a name, else equal; `:*` present)
    or `field=value` (equal; a name equals its full name or its last part), joined by spaces or AND, on the
    given fields and, with `labels`, `labels.KEY`. Anything else is 400 INVALID_ARGUMENT."""
    try:
        words = shlex.split(text)
    except ValueError:
        raise invalid_argument(f"Invalid filter [{text}]: unbalanced quotes.", field="filter") from None
    terms = []
    for word in words:
        if word == "AND":
            continue
        found = re.fullmatch(r"([A-Za-z_][\w.-]*)([:=])(.+)", word)
        field = found and found.group(1)
        if not found or not (field in fields or (labels and field.startswith("labels.") and len(field) > 7)):
            raise invalid_argument(f"Invalid filter term [{word}]: the emulator filters on {sorted(fields)}"
                                   f"{' and labels.KEY' if labels else ''} with ':' or '='.", field="filter")
        terms.append(found.groups())
    return lambda item: all(_term_matches(item, *term) for term in terms)


def _term_matches(item, field, operator, value):
    if field.startswith("labels."):
        actual = item.get("labels", {}).get(field[len("labels."):])
    else:
        actual = item.get(field)
    if actual is None:
        return False
    if operator == ":" and value == "*":
        return True
    if field == "name":
        return value in actual if operator == ":" else value in (actual, actual.rsplit("/", 1)[-1])
    return actual == value


# -- values ----------------------------------------------------------------------------------


_last_etag = 0


def new_etag():
    """A fresh etag as Secret Manager's look: a quoted hex string, 2**52 plus the microseconds of the
    change since the epoch ("\\"163c1efce157c3\\"" in tests/fixtures/google/secretmanager_secret_create_automatic.json),
    always more than the last one given."""
    global _last_etag  # noqa: PLW0603 - one clock for the process, so two etags never repeat
    _last_etag = max(time.time_ns() // 1000, _last_etag + 1)
    return f'"{2**52 + _last_etag:x}"'


def _crc_table():
    table = []
    for byte in range(256):
        crc = byte
        for _unused in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc32c(data):
    """CRC-32C (Castagnoli), the checksum of SecretPayload.dataCrc32c."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _decode(data):
    """Base64 payload data, standard or URL-safe, padding optional (the codec has already checked it)."""
    urlsafe = data.replace("+", "-").replace("/", "_")
    try:
        return base64.urlsafe_b64decode(urlsafe + "=" * (-len(urlsafe) % 4))
    except binascii.Error:
        raise invalid_argument("Invalid base64 payload data.", field="payload.data") from None


def _seconds(duration):
    return float(duration[:-1])


def _parse_time(timestamp):
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def _whole_seconds(timestamp):
    """A Timestamp as proto3's JSON prints one of whole seconds, without fractional digits (Google's
    "2026-05-01T00:00:00Z" in tests/fixtures/google/secretmanager_secret_get_aliases_destroy_ttl.json)."""
    return timestamp.replace(".000000Z", "Z")


def _timestamp(seconds, digits=6):
    """RFC 3339 in UTC with `digits` fractional digits: Google gives createTime microseconds and destroyTime
    nanoseconds."""
    nanos = round(seconds * 1e9)
    whole, fraction = divmod(nanos, 10**9)
    base = datetime.datetime.fromtimestamp(whole, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{fraction // 10 ** (9 - digits):0{digits}d}Z"
