"""IAM policies (google.iam.v1.Policy) of any API's resources, stored per resource name under
`state["policies"][API]`, and the getIamPolicy / setIamPolicy / testIamPermissions methods over them.

- A resource without a policy answers its API's starting policy: `{"etag": "ACAB"}` by default, as a
  real Cloud Run service does (tests/fixtures/google/run_v2_iam_policy_empty.json).
- setIamPolicy replaces the fields of `updateMask` (default `bindings,etag`, as the discovery document
  says: `auditConfigs` change only when the mask names them) and gives the policy a new etag (8 random
  bytes in base64, as Google's `BwX...=` look) and `version` 3 when a binding has a condition, else 1. A
  policy carrying an etag other than the current one is 409 ABORTED with Google's message
  (tests/fixtures/google/iam_concurrent_policy_changes.json); one carrying the current etag with a version
  below 3 over a conditional policy is 400 with Google's message
  (tests/fixtures/google/resourcemanager_set_policy_version_below_existing.json). Without an etag the
  version checks against the stored policy are skipped, as the Policy.version description says.
- getIamPolicy takes `options.requestedPolicyVersion` (a query parameter or in the body, as the API
  declares it) 0, 1 or 3; a conditional policy needs 3, else 400 with Google's message
  (tests/fixtures/google/resourcemanager_get_policy_version_below_existing.json).
- Limits of every allow policy (https://cloud.google.com/iam/quotas): 1,500 principals and 250 of them
  Google groups, each appearance in a binding counted. Some resources (projects) refuse `allUsers` and
  `allAuthenticatedUsers` (`public_members=False`); Cloud Storage also takes its convenience members
  `projectOwner:`, `projectEditor:` and `projectViewer:` PROJECT (`project_members=True`).
- An API may differ in its etags (`etag(current policy)`: the next one; Cloud Storage counts) and in its answer
  to a stale one (`stale()`: the error; Cloud Storage answers 412 conditionNotMet).
- Admin `policy-writers` rules play another writer: a setIamPolicy on a matching resource (one in
  `every`) first finds the policy changed by someone else (a member added to a role, a new etag), as if
  their write landed between the caller's read and write; a caller that sent the etag it read is then
  refused as above.
- testIamPermissions answers the permissions asked that belong to the API: the emulator checks no
  permission on its API calls, so any caller holds them all.
"""

import base64
import copy
import re
import secrets

from orchestra_emulator.admin import take_rule
from orchestra_emulator.errors import aborted, invalid_argument
from orchestra_emulator.resources import apply_mask, check_etag

EMPTY = {"etag": "ACAB"}
CONCURRENT_CHANGES = "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff."
VERSIONS_URL = "https://cloud.google.com/iam/docs/policies#versions"
MAX_PRINCIPALS = 1500
MAX_GROUPS = 250
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})
# Member and role forms of https://cloud.google.com/iam/docs/reference/rest/v1/Policy#Binding.
_MEMBER = re.compile(r"^(allUsers|allAuthenticatedUsers|(user|serviceAccount|group|domain|deleted:user|deleted:serviceAccount"
                     r"|deleted:group):[^:\s]+|principal(Set)?://\S+)$")
_PROJECT_MEMBER = re.compile(r"^project(Owner|Editor|Viewer):[^:\s]+$")
_ROLE = re.compile(r"^((projects|organizations)/[^/]+/)?roles/[A-Za-z0-9_.]+$")


class Policies:
    """The IAM policies of one API's resources (`api`: its discovery document name)."""

    def __init__(self, store, api, public_members=True, initial=lambda _resource: EMPTY, **differences):
        """`public_members`: whether `allUsers` and `allAuthenticatedUsers` may be granted; `initial(resource
        name)`: the policy of a resource nobody wrote one for; `differences`: `project_members`, `etag` and
        `stale`, for an API whose policies differ from google.iam.v1's (see above)."""
        self._store = store
        self._api = api
        self._public_members = public_members
        self._initial = initial
        self._project_members = differences.get("project_members", False)
        self._etag = differences.get("etag", lambda _current: _new_etag())
        self._stale = differences.get("stale", lambda: aborted(CONCURRENT_CHANGES))

    def members(self, data, resource, role):
        """The members `role` is granted to on `resource`, in the state `data`."""
        bindings = self._current(data, resource).get("bindings", [])
        return {member for binding in bindings if binding["role"] == role for member in binding.get("members", [])}

    def forget(self, data, resource):
        """Drop the policy of a deleted resource (a new one of the same name starts without)."""
        self._policies(data).pop(resource, None)

    def handlers(self, prefix, resource, permission_prefix):
        """Handlers of `{prefix}getIamPolicy|setIamPolicy|testIamPermissions`. `resource(data, path
        variables)` is the resource's name, or raises NOT_FOUND; `permission_prefix` (e.g. "run.") is the
        one of the API's permissions."""
        return {
            prefix + "getIamPolicy": (lambda request: self._get(resource, request), ""),
            prefix + "setIamPolicy": (lambda request: self._set(resource, request), ""),
            prefix + "testIamPermissions": (lambda request: self._test(resource, request, permission_prefix), ""),
        }

    def _get(self, resource, request):
        requested = request.query.get("options.requestedPolicyVersion", request.body.get("options", {}).get("requestedPolicyVersion", 0))
        if requested not in (0, 1, 3):
            raise invalid_argument(f"Invalid requested policy version {requested}: valid versions are 0, 1 and 3.",
                                   field="options.requested_policy_version")
        with self._store.lock:
            policy = copy.deepcopy(self._current(self._store.data, resource(self._store.data, request.variables)))
        if requested < 3 and _conditional(policy):
            raise invalid_argument(f"Requested policy version ({requested}) cannot be less than the existing policy version (3). "
                                   f"For more information, please refer to {VERSIONS_URL}.")
        return policy

    def _set(self, resource, request):
        sent = request.body.get("policy", {})
        _check(sent, self._public_members, self._project_members)
        with self._store.mutate() as data:
            name = resource(data, request.variables)
            writer = take_rule(data, "policy_writers", lambda rule: re.search(rule["resource"], name) and _its_turn(rule))
            if writer:
                self._write_as_another(data, name, writer)
            current = self._current(data, name)
            check_etag(sent.get("etag"), current["etag"], lambda _message: self._stale())
            if sent.get("etag") and _conditional(current) and sent.get("version", 0) < 3:
                raise invalid_argument(f"Specified policy version ({sent.get('version', 0)}) cannot be less than the existing policy "
                                       f"version (3). For more information, please refer to {VERSIONS_URL}")
            policy = apply_mask(current, sent, request.body.get("updateMask") or "bindings,etag")
            policy.update(version=3 if _conditional(policy) else 1, etag=self._etag(current))
            self._policies(data)[name] = policy
            return copy.deepcopy(policy)

    def _write_as_another(self, data, name, writer):
        """Another writer's change of the policy of `name`: `writer`'s member (its `{n}` a fresh number) added
        to its role, without a condition."""
        current = self._current(data, name)
        policy = copy.deepcopy(current)
        bindings = policy.setdefault("bindings", [])
        binding = next((b for b in bindings if b["role"] == writer["role"] and "condition" not in b), None)
        if binding is None:
            binding = {"role": writer["role"], "members": []}
            bindings.append(binding)
        binding["members"] = sorted(set(binding["members"]) | {writer["member"].replace("{n}", secrets.token_hex(4))})
        policy.update(version=3 if _conditional(policy) else 1, etag=self._etag(current))
        self._policies(data)[name] = policy

    def _test(self, resource, request, permission_prefix):
        with self._store.lock:
            resource(self._store.data, request.variables)
        permissions = request.body.get("permissions", [])
        for permission in permissions:
            if not permission.startswith(permission_prefix) or permission.count(".") != 2:
                raise invalid_argument(f"Permission {permission} is not valid for this resource.", field="permissions")
        return {"permissions": list(dict.fromkeys(permissions))}

    def _current(self, data, resource):
        return self._policies(data).get(resource) or self._initial(resource)

    def _policies(self, data):
        return data["policies"].setdefault(self._api, {})


def granted(data, api, resource, member, roles):
    """Whether `member` holds one of `roles` in the policy of `resource` stored for `api` (its discovery document
    name) in the state `data`. A conditional binding counts: the emulator does not evaluate conditions."""
    policy = data["policies"].get(api, {}).get(resource, {})
    return any(binding["role"] in roles and member in binding.get("members", []) for binding in policy.get("bindings", []))


def _its_turn(writer):
    """Whether a policy writer acts before this write to a resource it matches: one write in `every`, from the first."""
    writer["seen"] += 1
    return (writer["seen"] - 1) % writer["every"] == 0


def _new_etag():
    return base64.b64encode(secrets.token_bytes(8)).decode()


def _conditional(policy):
    return any("condition" in binding for binding in policy.get("bindings", []))


def _check(policy, public_members, project_members):
    """400 INVALID_ARGUMENT for a binding without a valid role or member, a public member where the resource
    refuses them, too many principals or groups, or conditions below version 3. The messages are the
    emulator's, but for public members on a project: Google's words ("Request contains an invalid argument.",
    hashicorp/terraform-provider-google pull request 859 quotes them)."""
    members = []
    for index, binding in enumerate(policy.get("bindings", [])):
        field = f"policy.bindings[{index}]"
        if not _ROLE.match(binding.get("role", "")):
            raise invalid_argument(f"Role '{binding.get('role', '')}' is not a valid role name.", field=f"{field}.role")
        _check_members(binding.get("members", []), f"{field}.members", public_members, project_members)
        members += binding.get("members", [])
    for index, config in enumerate(policy.get("auditConfigs", [])):
        if not config.get("service"):
            raise invalid_argument("An audit config needs a service (a service name or allServices).", field=f"policy.audit_configs[{index}].service")
        for number, log_config in enumerate(config.get("auditLogConfigs", [])):
            _check_members(log_config.get("exemptedMembers", []), f"policy.audit_configs[{index}].audit_log_configs[{number}].exempted_members",
                           public_members, False)
    if len(members) > MAX_PRINCIPALS:
        raise invalid_argument(f"The policy has {len(members)} principals in its bindings: at most {MAX_PRINCIPALS} are allowed.",
                               field="policy.bindings")
    groups = sum(member.startswith("group:") for member in members)
    if groups > MAX_GROUPS:
        raise invalid_argument(f"The policy has {groups} groups in its bindings: at most {MAX_GROUPS} are allowed.", field="policy.bindings")
    if _conditional(policy) and policy.get("version", 0) < 3:
        raise invalid_argument("A policy with conditional role bindings must have version 3.", field="policy.version")


def _check_members(members, field, public_members, project_members):
    for member in members:
        if not (_MEMBER.match(member) or project_members and _PROJECT_MEMBER.match(member)):
            raise invalid_argument(f"Invalid member '{member}'.", field=field)
        if member in PUBLIC_MEMBERS and not public_members:
            raise invalid_argument("Request contains an invalid argument.")
