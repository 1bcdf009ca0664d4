"""IAM policies (google.iam.v1.Policy) of any API's resources, stored per resource name under
`state["policies"][API]`, and the getIamPolicy / setIamPolicy / testIamPermissions methods over them.

- A resource without a policy answers `{"etag": "ACAB"}`, as a real Cloud Run service does
  (tests/fixtures/google/run_v2_iam_policy_empty.json).
- setIamPolicy replaces the fields of `updateMask` (default `bindings,etag`, as the discovery document
  says) and gives the policy a new etag (8 random bytes in base64, as Google's `BwX...=` look) and
  `version` 3 when a binding has a condition, else 1. A policy carrying an etag other than the
  current one is 409 ABORTED with Google's message (tests/fixtures/google/iam_concurrent_policy_changes.json).
- getIamPolicy takes `options.requestedPolicyVersion` 0, 1 or 3; a conditional policy needs 3.
- testIamPermissions answers the permissions asked that belong to the API: the emulator checks no
  permission on its API calls, so any caller holds them all.
"""

import base64
import copy
import re
import secrets

from orchestra_emulator.errors import aborted, invalid_argument
from orchestra_emulator.resources import apply_mask, check_etag

EMPTY = {"etag": "ACAB"}
CONCURRENT_CHANGES = "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff."
# Member and role forms of https://cloud.google.com/iam/docs/reference/rest/v1/Policy#Binding.
_MEMBER = re.compile(r"^(allUsers|allAuthenticatedUsers|(user|serviceAccount|group|domain|deleted:user|deleted:serviceAccount"
                     r"|deleted:group):[^:\s]+|principal(Set)?://\S+)$")
_ROLE = re.compile(r"^((projects|organizations)/[^/]+/)?roles/[A-Za-z0-9_.]+$")


class Policies:
    """The IAM policies of one API's resources (`api`: its discovery document name)."""

    def __init__(self, store, api):
        self._store = store
        self._api = api

    def members(self, data, resource, role):
        """The members `role` is granted to on `resource`, in the state `data`."""
        bindings = self._policies(data).get(resource, EMPTY).get("bindings", [])
        return {member for binding in bindings if binding["role"] == role for member in binding.get("members", [])}

    def forget(self, data, resource):
        """Drop the policy of a deleted resource (a new one of the same name starts without)."""
        self._policies(data).pop(resource, None)

    def handlers(self, prefix, resource, permission_prefix):
        """Handlers of `{prefix}getIamPolicy|setIamPolicy|testIamPermissions`. `resource(data, path
        variables)` is the resource's name, or raises NOT_FOUND; `permission_prefix` (e.g. "run.") is the
        one of the API's permissions."""
        return {
            prefix + "getIamPolicy": (lambda request: self._get(resource, request), None),
            prefix + "setIamPolicy": (lambda request: self._set(resource, request), ""),
            prefix + "testIamPermissions": (lambda request: self._test(resource, request, permission_prefix), ""),
        }

    def _get(self, resource, request):
        requested = request.query.get("options.requestedPolicyVersion", 0)
        if requested not in (0, 1, 3):
            raise invalid_argument(f"Invalid requested policy version {requested}: valid versions are 0, 1 and 3.",
                                   field="options.requested_policy_version")
        with self._store.lock:
            policy = copy.deepcopy(self._policies(self._store.data).get(resource(self._store.data, request.variables), EMPTY))
        if requested < 3 and _conditional(policy):
            raise invalid_argument("The policy has conditional role bindings: request policy version 3.",
                                   field="options.requested_policy_version")
        return policy

    def _set(self, resource, request):
        sent = request.body.get("policy", {})
        _check(sent)
        with self._store.mutate() as data:
            name = resource(data, request.variables)
            current = self._policies(data).get(name, EMPTY)
            check_etag(sent.get("etag"), current["etag"], lambda _message: aborted(CONCURRENT_CHANGES))
            policy = apply_mask(current, sent, request.body.get("updateMask") or "bindings,etag")
            policy.update(version=3 if _conditional(policy) else 1, etag=base64.b64encode(secrets.token_bytes(8)).decode())
            self._policies(data)[name] = policy
            return copy.deepcopy(policy)

    def _test(self, resource, request, permission_prefix):
        with self._store.lock:
            resource(self._store.data, request.variables)
        permissions = request.body.get("permissions", [])
        for permission in permissions:
            if not permission.startswith(permission_prefix) or permission.count(".") != 2:
                raise invalid_argument(f"Permission {permission} is not valid for this resource.", field="permissions")
        return {"permissions": list(dict.fromkeys(permissions))}

    def _policies(self, data):
        return data["policies"].setdefault(self._api, {})


def _conditional(policy):
    return any("condition" in binding for binding in policy.get("bindings", []))


def _check(policy):
    """400 INVALID_ARGUMENT for a binding without a valid role or member, or conditions below version 3
    (the messages are the emulator's)."""
    for index, binding in enumerate(policy.get("bindings", [])):
        field = f"policy.bindings[{index}]"
        if not _ROLE.match(binding.get("role", "")):
            raise invalid_argument(f"Role '{binding.get('role', '')}' is not a valid role name.", field=f"{field}.role")
        for member in binding.get("members", []):
            if not _MEMBER.match(member):
                raise invalid_argument(f"Invalid member '{member}'.", field=f"{field}.members")
    if _conditional(policy) and policy.get("version", 0) < 3:
        raise invalid_argument("A policy with conditional role bindings must have version 3.", field="policy.version")
