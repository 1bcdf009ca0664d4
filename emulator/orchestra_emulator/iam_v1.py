"""IAM API v1 (iam.v1.json): service accounts, their keys and IAM policies, and workload identity pools and
their OIDC providers.

Stored under state["resources"]["iam.v1"]: "serviceAccounts" {email: {"account": the ServiceAccount as Google
returns it, "keys": {key id: ServiceAccountKey without its private part}}}, "pools" {pool name: pool} and
"providers" {provider name: provider}. Shapes follow real recordings (k8s-config-connector's
iamserviceaccount, iamserviceaccountkey and oidcworkloadidentitypoolprovider logs, kept as
tests/fixtures/google/iam_*.json): an account is named by the project as the caller named it, its email is
`{accountId}@{project}.iam.gserviceaccount.com` and its uniqueId is its oauth2ClientId; a PATCH answers the
name and the fields it changed only. Pools and providers are named by project NUMBER, and their create,
patch, delete and undelete are long-running operations named `{resource}/operations/{id}` that end `done`
with no response (as recorded). A deleted pool or provider is soft-deleted: state DELETED and an expireTime
30 days ahead (the discovery document's description), kept out of lists unless showDeleted, undeletable.
"""

import base64
import copy
import datetime
import json
import re
import secrets
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from orchestra_emulator import paging
from orchestra_emulator.discovery import camel_case, snake_case
from orchestra_emulator.errors import ApiError, already_exists, failed_precondition, invalid_argument, not_found
from orchestra_emulator.projects import project_number
from orchestra_emulator.registry import EmulatedApi, register
from orchestra_emulator.resources import apply_mask

DOCUMENT = "iam.v1"
ETAG = "MDEwMjE5MjA="  # what Google shows for every service account (see emulator/README.md)
NEVER = "9999-12-31T23:59:59Z"  # a user-managed key's validBeforeTime (recorded)
SYSTEM_KEY_SECONDS = 2 * 365 * 86400  # assumed lifetime of a system-managed key
MAX_USER_KEYS = 10  # https://cloud.google.com/iam/quotas: 10 keys per service account
SOFT_DELETE_SECONDS = 30 * 86400
MAX_PAGE_SIZE = 100
TOKEN_URI = "https://oauth2.googleapis.com/token"
ACTIVE, DELETED = "ACTIVE", "DELETED"

# CreateServiceAccountRequest.accountId: 6 to 30 characters matching [a-z]([-a-z0-9]*[a-z0-9]).
_ACCOUNT_ID = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
# Pool and provider ids: 4 to 32 lowercase letters, digits or hyphens; the prefix gcp- is reserved.
_POOL_ID = re.compile(r"^[a-z0-9-]{4,32}$")
# attributeMapping keys: google.subject, google.groups, google.display_name, google.profile_photo, attribute.NAME.
_MAPPING_KEY = re.compile(r"^(google\.(subject|groups|display_name|profile_photo)|attribute\.[a-z0-9_]{1,90})$")
MAX_AUDIENCES = 10
MAX_CUSTOM_ATTRIBUTES = 50
MAX_MAPPING_EXPRESSION = 2048
MAX_CONDITION = 4096
_ACCOUNT_FIELDS = ("displayName", "description")
_POOL_FIELDS = frozenset({"displayName", "description", "disabled"})
_PROVIDER_FIELDS = frozenset({"displayName", "description", "disabled", "attributeMapping", "attributeCondition", "oidc"})


@register
class IamV1(EmulatedApi):
    document = DOCUMENT
    proto_package = "google.iam.admin.v1"

    def __init__(self, shared):
        super().__init__(shared)
        self._store = shared.store
        accounts = "iam.projects.serviceAccounts."
        pools = "iam.projects.locations.workloadIdentityPools."
        self.handlers = {
            accounts + "create": (self.create_account, ""),
            accounts + "get": (self.get_account, None),
            accounts + "list": (self.list_accounts, None),
            accounts + "patch": (self.patch_account, ""),
            accounts + "disable": (lambda request: self.set_disabled(request, True), ""),
            accounts + "enable": (lambda request: self.set_disabled(request, False), ""),
            accounts + "delete": (self.delete_account, None),
            accounts + "keys.create": (self.create_key, ""),
            accounts + "keys.get": (self.get_key, None),
            accounts + "keys.list": (self.list_keys, None),
            accounts + "keys.delete": (self.delete_key, None),
            **self.policies.handlers(accounts, lambda data, variables: _account(data, variables)["account"]["name"], "iam."),
            pools + "create": (lambda request: self.create(request, "pools", "workloadIdentityPoolId", _check_pool), "workload_identity_pool"),
            pools + "get": (lambda request: self.get(request, "pools"), None),
            pools + "list": (lambda request: self.list(request, "pools", "workloadIdentityPools"), None),
            pools + "patch": (lambda request: self.patch(request, "pools", _POOL_FIELDS, _check_pool), "workload_identity_pool"),
            pools + "delete": (lambda request: self.set_state(request, "pools", DELETED), None),
            pools + "undelete": (lambda request: self.set_state(request, "pools", ACTIVE), ""),
            pools + "operations.get": (lambda request: self.operations.get(_operation(request.variables)), None),
            pools + "providers.create": (lambda request: self.create(request, "providers", "workloadIdentityPoolProviderId", _check_provider),
                                         "workload_identity_pool_provider"),
            pools + "providers.get": (lambda request: self.get(request, "providers"), None),
            pools + "providers.list": (lambda request: self.list(request, "providers", "workloadIdentityPoolProviders"), None),
            pools + "providers.patch": (lambda request: self.patch(request, "providers", _PROVIDER_FIELDS, _check_provider),
                                        "workload_identity_pool_provider"),
            pools + "providers.delete": (lambda request: self.set_state(request, "providers", DELETED), None),
            pools + "providers.undelete": (lambda request: self.set_state(request, "providers", ACTIVE), ""),
            pools + "providers.operations.get": (lambda request: self.operations.get(_operation(request.variables)), None),
        }

    # -- service accounts ----------------------------------------------------------------------

    def create_account(self, request):
        project, account_id = request.variables["projectsId"], request.body.get("accountId", "")
        if not _ACCOUNT_ID.match(account_id):
            raise invalid_argument(f"Invalid account id [{account_id}]: it must have 6 to 30 lowercase letters, digits or hyphens, "
                                   "start with a letter and not end with a hyphen.", field="account_id")
        email = f"{account_id}@{project}.iam.gserviceaccount.com"
        with self._store.mutate() as data:
            if email in _accounts(data):
                raise already_exists(f"Service account {account_id} already exists within project projects/{project}.")
            unique_id = str(secrets.randbelow(9 * 10**20) + 10**20)  # 21 digits, as Google's
            sent = request.body.get("serviceAccount", {})
            account = {"name": f"projects/{project}/serviceAccounts/{email}", "projectId": project, "uniqueId": unique_id, "email": email,
                       **{field: sent[field] for field in _ACCOUNT_FIELDS if field in sent}, "etag": ETAG, "oauth2ClientId": unique_id}
            _accounts(data)[email] = {"account": account, "keys": {}}
            system_key = _key(account, "SYSTEM_MANAGED", "KEY_ALG_RSA_2048", time.time(), time.time() + SYSTEM_KEY_SECONDS)
            _accounts(data)[email]["keys"][system_key["name"].rsplit("/", 1)[1]] = system_key
            return copy.deepcopy(account)

    def get_account(self, request):
        with self._store.lock:
            return copy.deepcopy(_account(self._store.data, request.variables)["account"])

    def list_accounts(self, request):
        project = request.variables["projectsId"]
        with self._store.lock:
            entries = _accounts(self._store.data)
            accounts = [copy.deepcopy(entries[email]["account"]) for email in sorted(entries) if entries[email]["account"]["projectId"] == project]
        page, next_token = paging.page(accounts, min(request.query.get("pageSize") or 20, MAX_PAGE_SIZE), request.query.get("pageToken"))
        return {"accounts": page, "nextPageToken": next_token}

    def patch_account(self, request):
        """Only displayName and description change; Google answers the name and the fields the mask named."""
        mask = request.body.get("updateMask", "")
        fields = [camel_case(path.strip()) for path in mask.split(",") if path.strip()]
        if not fields or set(fields) - set(_ACCOUNT_FIELDS):
            raise invalid_argument(f"The update mask must name displayName or description only, not [{mask}].", field="update_mask")
        sent = request.body.get("serviceAccount", {})
        with self._store.mutate() as data:
            account = _account(data, request.variables)["account"]
            for field in fields:
                if field in sent:
                    account[field] = sent[field]
                else:
                    account.pop(field, None)
            return {"name": account["name"], **{field: account[field] for field in fields if field in account}}

    def set_disabled(self, request, disabled):
        with self._store.mutate() as data:
            account = _account(data, request.variables)["account"]
            if disabled:
                account["disabled"] = True
            else:
                account.pop("disabled", None)
            return {}

    def delete_account(self, request):
        with self._store.mutate() as data:
            entry = _account(data, request.variables)
            del _accounts(data)[entry["account"]["email"]]
            self.policies.forget(data, entry["account"]["name"])
            return {}

    # -- keys ----------------------------------------------------------------------------------

    def create_key(self, request):
        algorithm = request.body.get("keyAlgorithm", "KEY_ALG_RSA_2048")
        file_type = request.body.get("privateKeyType", "TYPE_GOOGLE_CREDENTIALS_FILE")
        if file_type != "TYPE_GOOGLE_CREDENTIALS_FILE":
            raise ApiError("UNIMPLEMENTED", "The emulator makes JSON key files (TYPE_GOOGLE_CREDENTIALS_FILE) only.")
        with self._store.mutate() as data:
            entry = _account(data, request.variables)
            if sum(key["keyType"] == "USER_MANAGED" for key in entry["keys"].values()) >= MAX_USER_KEYS:
                raise failed_precondition("Precondition check failed.")
            private = rsa.generate_private_key(public_exponent=65537, key_size=1024 if algorithm == "KEY_ALG_RSA_1024" else 2048)
            key = _key(entry["account"], "USER_MANAGED", algorithm, time.time(), None)
            key_id = key["name"].rsplit("/", 1)[1]
            entry["keys"][key_id] = key
            account = entry["account"]
            credentials = {
                "type": "service_account", "project_id": account["projectId"], "private_key_id": key_id,
                "private_key": private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()).decode(),
                "client_email": account["email"], "client_id": account["uniqueId"],
                "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": TOKEN_URI,
                "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
                "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/" + account["email"].replace("@", "%40"),
                "universe_domain": "googleapis.com",
            }
            return {**copy.deepcopy(key), "privateKeyType": file_type,
                    "privateKeyData": base64.b64encode(json.dumps(credentials, indent=2).encode()).decode()}

    def get_key(self, request):
        with self._store.lock:
            return copy.deepcopy(_stored_key(self._store.data, request.variables))

    def list_keys(self, request):
        types = request.query.get("keyTypes") or ["USER_MANAGED", "SYSTEM_MANAGED"]
        if "KEY_TYPE_UNSPECIFIED" in types or len(set(types)) != len(types):
            raise invalid_argument("Key types must be USER_MANAGED or SYSTEM_MANAGED, each at most once.", field="key_types")
        with self._store.lock:
            keys = _account(self._store.data, request.variables)["keys"].values()
            return {"keys": [copy.deepcopy(key) for key in keys if key["keyType"] in types]}

    def delete_key(self, request):
        with self._store.mutate() as data:
            key = _stored_key(data, request.variables)
            if key["keyType"] == "SYSTEM_MANAGED":
                raise invalid_argument("A system-managed key cannot be deleted.")
            del _account(data, request.variables)["keys"][request.variables["keysId"]]
            return {}

    # -- workload identity pools and providers -------------------------------------------------

    def create(self, request, kind, id_parameter, check):
        resource_id = request.query.get(id_parameter, "")
        if not _POOL_ID.match(resource_id) or resource_id.startswith("gcp-"):
            raise invalid_argument(f"Invalid id [{resource_id}]: it must have 4 to 32 lowercase letters, digits or hyphens and not start with "
                                   "gcp-.", field=snake_case(id_parameter))
        parent = _name(request.variables)
        name = f"{parent}/{'workloadIdentityPools' if kind == 'pools' else 'providers'}/{resource_id}"
        check(request.body)
        with self._store.mutate() as data:
            if kind == "providers":
                _found(data, "pools", parent)
            if name in _stored(data, kind):
                raise already_exists(f"Resource '{name}' already exists.")  # a soft-deleted one included
            resource = {**copy.deepcopy(request.body), "name": name, "state": ACTIVE}
            _stored(data, kind)[name] = resource
            return self.operations.start(data, name)

    def get(self, request, kind):
        with self._store.lock:
            return copy.deepcopy(_found(self._store.data, kind, _name(request.variables)))

    def list(self, request, kind, field):
        parent = _name(request.variables)
        with self._store.lock:
            items = [copy.deepcopy(item) for name, item in sorted(_stored(self._store.data, kind).items())
                     if name.rsplit("/", 2)[0] == parent and (item["state"] == ACTIVE or request.query.get("showDeleted"))]
        page, next_token = paging.page(items, min(request.query.get("pageSize") or 50, MAX_PAGE_SIZE), request.query.get("pageToken"))
        return {field: page, "nextPageToken": next_token}

    def patch(self, request, kind, updatable, check):
        mask = request.query.get("updateMask", "")
        fields = {camel_case(path.strip().split(".")[0]) for path in mask.split(",") if path.strip()}
        if not fields or fields - updatable:
            raise invalid_argument(f"The update mask must name fields among {sorted(updatable)}, not [{mask}].", field="update_mask")
        with self._store.mutate() as data:
            resource = _found(data, kind, _name(request.variables))
            if resource["state"] == DELETED:
                raise failed_precondition(f"Resource '{resource['name']}' is deleted.")
            changed = apply_mask(resource, request.body, mask)
            check(changed)
            resource.clear()
            resource.update(changed)
            return self.operations.start(data, resource["name"])

    def set_state(self, request, kind, state):
        """delete (soft: DELETED with an expireTime) and undelete (back to ACTIVE)."""
        with self._store.mutate() as data:
            resource = _found(data, kind, _name(request.variables))
            if resource["state"] == state:
                raise failed_precondition(f"Resource '{resource['name']}' is already {state}.")
            resource["state"] = state
            if state == DELETED:
                resource["expireTime"] = _timestamp(time.time() + SOFT_DELETE_SECONDS)
            else:
                resource.pop("expireTime", None)
            return self.operations.start(data, resource["name"])


def _accounts(data):
    return data["resources"].setdefault(DOCUMENT, {}).setdefault("serviceAccounts", {})


def _account(data, variables):
    """The entry of the account a path names by email or uniqueId, with the project as sent or `-`. A missing
    account is 404 `Unknown service account` (recorded), or 403 through `-`, as the ServiceAccount.name
    description says."""
    wanted, project = variables["serviceAccountsId"], variables["projectsId"]
    for entry in _accounts(data).values():
        account = entry["account"]
        if wanted in (account["email"], account["uniqueId"]) and project in ("-", account["projectId"]):
            return entry
    if project == "-":
        raise ApiError("PERMISSION_DENIED", f"Permission 'iam.serviceAccounts.get' denied on resource (or it may not exist): {wanted}.")
    raise not_found("Unknown service account")


def _stored_key(data, variables):
    key = _account(data, variables)["keys"].get(variables["keysId"])
    if key is None:
        raise not_found(f"Service account key {variables['keysId']} does not exist.")
    return key


def _key(account, key_type, algorithm, valid_after, valid_before):
    return {"name": f"{account['name']}/keys/{secrets.token_hex(20)}", "validAfterTime": _timestamp(valid_after),
            "validBeforeTime": _timestamp(valid_before) if valid_before else NEVER, "keyAlgorithm": algorithm,
            "keyOrigin": "GOOGLE_PROVIDED", "keyType": key_type}


def _stored(data, kind):
    return data["resources"].setdefault(DOCUMENT, {}).setdefault(kind, {})


def _found(data, kind, name):
    resource = _stored(data, kind).get(name)
    if resource is None:
        raise not_found(f"Resource '{name}' was not found")
    return resource


def _name(variables):
    """The pool or provider (or the parent of a list or create) a path names, by project number."""
    name = f"projects/{project_number(variables['projectsId'])}/locations/{variables['locationsId']}"
    if variables["locationsId"] != "global":
        raise invalid_argument(f"Workload identity pools live in the global location, not {variables['locationsId']}.")
    if "workloadIdentityPoolsId" in variables:
        name += f"/workloadIdentityPools/{variables['workloadIdentityPoolsId']}"
    if "providersId" in variables:
        name += f"/providers/{variables['providersId']}"
    return name


def _operation(variables):
    return f"{_name(variables)}/operations/{variables['operationsId']}"


def _check_pool(pool):
    if len(pool.get("displayName", "")) > 32 or len(pool.get("description", "")) > 256:
        raise invalid_argument("A pool's displayName has at most 32 characters and its description at most 256.")


def _check_provider(provider):
    """OIDC providers, as the WorkloadIdentityPoolProvider and Oidc descriptions of the discovery document say."""
    _check_pool(provider)
    if any(kind in provider for kind in ("aws", "saml", "x509")):
        raise ApiError("UNIMPLEMENTED", "The emulator serves OIDC providers only.")
    oidc = provider.get("oidc")
    if oidc is None:
        raise invalid_argument("A provider needs oidc (the emulator serves OIDC providers only).", field="workload_identity_pool_provider.oidc")
    if not oidc.get("issuerUri", "").startswith("https://"):
        raise invalid_argument("oidc.issuerUri is required and must be an HTTPS URL.", field="workload_identity_pool_provider.oidc.issuer_uri")
    audiences = oidc.get("allowedAudiences", [])
    if len(audiences) > MAX_AUDIENCES or any(len(audience) > 256 for audience in audiences):
        raise invalid_argument("At most 10 allowed audiences of at most 256 characters.", field="workload_identity_pool_provider.oidc.allowed_audiences")
    mapping = provider.get("attributeMapping", {})
    if "google.subject" not in mapping:
        raise invalid_argument("An OIDC provider's attributeMapping must map google.subject.", field="workload_identity_pool_provider.attribute_mapping")
    for key, expression in mapping.items():
        if not _MAPPING_KEY.match(key) or len(key) > 100:
            raise invalid_argument(f"Invalid attribute mapping key '{key}'.", field="workload_identity_pool_provider.attribute_mapping")
        if not expression or len(expression) > MAX_MAPPING_EXPRESSION:
            raise invalid_argument(f"The mapping of '{key}' must be a CEL expression of 1 to 2048 characters.",
                                   field="workload_identity_pool_provider.attribute_mapping")
    if sum(key.startswith("attribute.") for key in mapping) > MAX_CUSTOM_ATTRIBUTES:
        raise invalid_argument("At most 50 custom attributes.", field="workload_identity_pool_provider.attribute_mapping")
    if len(provider.get("attributeCondition", "")) > MAX_CONDITION:
        raise invalid_argument("The attribute condition has at most 4096 characters.", field="workload_identity_pool_provider.attribute_condition")


def _timestamp(seconds):
    """RFC 3339 in UTC with whole seconds, as key validity times are recorded."""
    return datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
