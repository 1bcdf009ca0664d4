# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IAM identities: service accounts, workload identity pools and their OIDC providers; the logic behind the
service_account, workload_identity_pool and workload_identity_provider modules.

PRIVATE to this collection. Beside ``_iam`` (allow policies): these are resources with a life of their own (created,
changed, disabled, deleted), reached like service accounts' policies through google-api-python-client's iam v1
discovery document (google-cloud-iam's iam_admin_v1 speaks gRPC only). Resources are handled as Google's JSON shows
them. No user-managed key is ever created here: keys are what this collection wants users to avoid, in favour of
Workload Identity Federation; an account's user-managed keys are only counted and aged, for audits.
"""

from __future__ import annotations

import copy
import datetime
import re
import types

from ._gcp import WAIT_ARGSPEC, GcpError, Option, argument_spec, changed_options, invalid, read_options, write_options
from ._iam import ACCOUNT_ID_RE

try:
    from google.api_core import exceptions as gexc
except ImportError:  # reported by both doors: BASE_LIBRARIES holds google-api-core
    gexc = None

ACCOUNTS_LIBRARIES = (("google-api-python-client", "googleapiclient"),)

# https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts: displayName at most 100 UTF-8 bytes,
# description at most 256.
MAX_ACCOUNT_NAME, MAX_DESCRIPTION = 100, 256
# https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools (and .providers):
# ids of 4 to 32 lowercase letters, digits or hyphens, gcp- reserved; displayName at most 32 characters; at most 10
# allowed audiences; attributeMapping keys google.subject (required for OIDC), google.groups, google.display_name,
# google.profile_photo or attribute.NAME.
POOL_ID_RE = re.compile(r"^[a-z0-9-]{4,32}$")
MAX_POOL_NAME, MAX_AUDIENCES = 32, 10
MAPPING_KEY_RE = re.compile(r"^(google\.(subject|groups|display_name|profile_photo)|attribute\.[a-z0-9_]{1,90})$")
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
# GitHub's rules: an owner of at most 39 letters, digits or hyphens, a repository of at most 100 letters, digits, '.', '_' or '-'.
GITHUB_REPOSITORY_RE = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9._-]{1,100})$")
GITHUB_MAPPING = {
    "google.subject": "assertion.sub",
    "attribute.repository": "assertion.repository",
    "attribute.repository_owner": "assertion.repository_owner",
    "attribute.ref": "assertion.ref",
}
ACTIVE, DELETED = "ACTIVE", "DELETED"
# A create that meets one made meanwhile: read again, and change what is there.
CONFLICTS = ("ALREADY_EXISTS",)


def _put(*path):
    """Write a value at ``path`` of a resource held as Google's JSON (nested dicts made as needed)."""
    def write(resource, value):
        for key in path[:-1]:
            resource = resource.setdefault(key, {})
        resource[path[-1]] = value
    return write


def _flag(resource):
    return bool(resource.get("disabled"))  # Google leaves out disabled: false


DISABLED = Option(dict(type="bool"), read=_flag, write=_put("disabled"), mask="disabled")
ACCOUNT_OPTIONS = dict(
    display_name=Option(dict(type="str"), "displayName", mask="displayName"),
    description=Option(dict(type="str"), "description", mask="description"),
    disabled=DISABLED,
)
POOL_OPTIONS = dict(ACCOUNT_OPTIONS)
PROVIDER_OPTIONS = dict(
    POOL_OPTIONS,
    issuer_uri=Option(dict(type="str", default=GITHUB_ISSUER), "oidc.issuerUri", write=_put("oidc", "issuerUri"), mask="oidc.issuerUri"),
    allowed_audiences=Option(dict(type="list", elements="str"), "oidc.allowedAudiences", write=_put("oidc", "allowedAudiences"),
                             same=lambda want, have: sorted(want) == sorted(have or []), mask="oidc.allowedAudiences"),
    attribute_mapping=Option(dict(type="dict"), "attributeMapping", mask="attributeMapping"),
    attribute_condition=Option(dict(type="str"), "attributeCondition", mask="attributeCondition"),
)

STATE_ARGSPEC = dict(state=dict(type="str", default="present", choices=["present", "absent"]))
ACCOUNT_SPEC = dict(
    argument_spec=dict(account_id=dict(type="str", required=True), **argument_spec(ACCOUNT_OPTIONS), **STATE_ARGSPEC),
    libraries=ACCOUNTS_LIBRARIES,
)
POOL_SPEC = dict(
    argument_spec=dict(pool_id=dict(type="str", required=True), **argument_spec(POOL_OPTIONS), **STATE_ARGSPEC, **WAIT_ARGSPEC),
    libraries=ACCOUNTS_LIBRARIES,
)
PROVIDER_SPEC = dict(
    argument_spec=dict(pool_id=dict(type="str", required=True), provider_id=dict(type="str", required=True),
                       **argument_spec(PROVIDER_OPTIONS), github_repository=dict(type="str"),
                       allow_unconditioned=dict(type="bool", default=False), **STATE_ARGSPEC, **WAIT_ARGSPEC),
    mutually_exclusive=[("github_repository", "attribute_mapping"), ("github_repository", "attribute_condition")],
    libraries=ACCOUNTS_LIBRARIES,
)


# ---------------------------------------------------------------- validation (no API call needed)

def _text_problems(p, limit_name):
    problems = []
    if p["display_name"] is not None and len(p["display_name"].encode("utf-8")) > limit_name:
        problems.append("display_name must have at most %d characters" % limit_name)
    if p["description"] is not None and len(p["description"].encode("utf-8")) > MAX_DESCRIPTION:
        problems.append("description must have at most %d characters" % MAX_DESCRIPTION)
    return problems


def account_problems(p):
    problems = _text_problems(p, MAX_ACCOUNT_NAME)
    if "@" in p["account_id"]:
        problems.insert(0, "account_id %r is an email: give the account ID, the part before the @" % p["account_id"])
    elif not ACCOUNT_ID_RE.match(p["account_id"]):
        problems.insert(0, "account_id %r must have 6 to 30 lowercase letters, digits or hyphens, start with a letter and not "
                           "end with a hyphen" % p["account_id"])
    return problems


def _id_problems(what, value):
    if POOL_ID_RE.match(value) and not value.startswith("gcp-"):
        return []
    return ["%s %r must have 4 to 32 lowercase letters, digits or hyphens and not start with gcp- (reserved by Google)" % (what, value)]


def pool_problems(p):
    return _id_problems("pool_id", p["pool_id"]) + _text_problems(p, MAX_POOL_NAME)


def github_mapping(repository):
    """The attribute mapping and condition of a GitHub Actions provider that trusts the workflows of ``repository`` (OWNER/REPO) only."""
    return dict(GITHUB_MAPPING), "assertion.repository == '%s'" % repository


def provider_problems(p):
    problems = pool_problems(p) + _id_problems("provider_id", p["provider_id"])
    if p["state"] == "absent":
        return problems
    if not p["issuer_uri"].startswith("https://"):
        problems.append("issuer_uri %r must be an https:// URL" % p["issuer_uri"])
    audiences = p["allowed_audiences"] or []
    if len(audiences) > MAX_AUDIENCES or any(not 0 < len(a) <= 256 for a in audiences):
        problems.append("allowed_audiences must hold at most %d audiences of 1 to 256 characters" % MAX_AUDIENCES)
    if p["github_repository"] is not None and not GITHUB_REPOSITORY_RE.match(p["github_repository"]):
        problems.append("github_repository %r must be OWNER/REPO, like ai-orchestra/orchestra" % p["github_repository"])
    mapping = p["attribute_mapping"]
    if mapping is not None:
        if "google.subject" not in mapping:
            problems.append("attribute_mapping must map google.subject (like assertion.sub)")
        problems += ["attribute_mapping key %r must be google.subject, google.groups, google.display_name, google.profile_photo "
                     "or attribute.NAME (lowercase letters, digits, _)" % key for key in sorted(mapping) if not MAPPING_KEY_RE.match(key)]
        problems += ["attribute_mapping of %r must be a CEL expression like assertion.sub" % key
                     for key in sorted(mapping) if not str(mapping[key] or "").strip()]
    if p["attribute_condition"] is not None and not p["attribute_condition"].strip() and not p["allow_unconditioned"]:
        problems.append(UNCONDITIONED)
    return problems


UNCONDITIONED = ("a provider needs an attribute_condition (or github_repository, which pins one repository): without one it "
                 "trusts every token of its issuer, and for GitHub every repository; Google refuses a GitHub provider without a "
                 "condition on its claims. Set allow_unconditioned=true if this is meant")


def principal_set(pool_name, repository):
    """The member to grant roles to the workflows of GitHub ``repository`` through the pool named ``pool_name`` (by project number)."""
    return "principalSet://iam.googleapis.com/%s/attribute.repository/%s" % (pool_name, repository)


def key_ages(keys, now):
    """Each user-managed key's id, creation time and age in whole days, oldest first."""
    found = []
    for key in keys:
        created = datetime.datetime.fromisoformat(key["validAfterTime"].replace("Z", "+00:00"))
        found.append(dict(key_id=key["name"].rsplit("/", 1)[-1], valid_after_time=key["validAfterTime"],
                          age_days=(now - created).days))
    return sorted(found, key=lambda k: k["valid_after_time"])


def wanted_provider(p):
    """The provider options the task manages: those given, the GitHub mapping and condition for ``github_repository``."""
    want = {k: p[k] for k in PROVIDER_OPTIONS if p.get(k) is not None}
    if p["github_repository"]:
        want["attribute_mapping"], want["attribute_condition"] = github_mapping(p["github_repository"])
    return want


# ---------------------------------------------------------------- calls

def _iam(session):
    return session.discovery("iam", "v1").projects()


def _read(session, label, request):
    """A discovery read; a missing resource is None."""
    try:
        return session.execute("read", label, request, idempotent=True)
    except GcpError as e:
        if e.status == "NOT_FOUND":
            return None
        raise


class Operation:
    """An IAM v1 long-running operation (Google's JSON) polled as ``Session.wait`` polls google.api_core's.

    Pools' and providers' operations end done with no response (tests/fixtures/google/iam_workload_identity_pool_operation_done.json):
    ``result()`` is then None and the caller reads the resource."""

    def __init__(self, session, collection, answer, label):
        self.operation = types.SimpleNamespace(name=answer["name"])
        self._session, self._collection, self._answer, self._label = session, collection, answer, label

    def done(self, retry=None):
        del retry  # Session.execute applies the session's retry policy
        if not self._answer.get("done"):
            self._answer = self._session.execute("poll operation %s of" % self.operation.name, self._label,
                                                 self._collection.operations().get(name=self.operation.name), idempotent=True)
        return self._answer.get("done", False)

    def exception(self):
        error = self._answer.get("error")
        return gexc.from_grpc_status(error.get("code", 2), error.get("message", "")) if error else None

    def result(self):
        return self._answer.get("response")


def _finished(session, collection, answer, action, label, read, key):
    """The resource once the operation ``answer`` started is done (or at once when wait is off)."""
    return session.finish(Operation(session, collection, answer, label), action, label, read, key) or read()


def _fields(options, want, keys):
    body = {}
    write_options(options, body, {k: want[k] for k in keys})
    return body


# ---------------------------------------------------------------- service accounts

def manage_service_account(session):
    """service_account: the account's display name, description and disabled flag; never a key."""
    p = session.params
    problems = account_problems(p)
    label = "service account %s" % p["account_id"]
    if problems:
        raise invalid(label, problems)
    project = session.project
    email = "%s@%s.iam.gserviceaccount.com" % (p["account_id"], project)
    name = "projects/%s/serviceAccounts/%s" % (project, email)
    accounts = _iam(session).serviceAccounts()

    def read():
        return _read(session, label, accounts.get(name=name))

    if p["state"] == "absent":
        current = read()
        if current is not None and not session.check_mode:
            session.execute("delete", label, accounts.delete(name=name), idempotent=True)
        return dict(changed=current is not None, account=None, user_managed_keys=[],
                    diff=dict(before=read_options(ACCOUNT_OPTIONS, current) if current else {}, after={}))

    want = {k: p[k] for k in ACCOUNT_OPTIONS if p[k] is not None}

    def build(current):
        keys = changed_options(ACCOUNT_OPTIONS, want, read_options(ACCOUNT_OPTIONS, current) if current else {})
        if current is not None and not keys:
            return None, keys
        after = copy.deepcopy(current) if current else dict(name=name, email=email, projectId=project)
        write_options(ACCOUNT_OPTIONS, after, {k: want[k] for k in keys})
        return dict(after=after, keys=keys), keys

    def write(current, change):
        after, keys = change["after"], change["keys"]
        fields = _fields(ACCOUNT_OPTIONS, want, [k for k in keys if k != "disabled"])
        if current is None:
            after = dict(after, **session.execute("create", label, accounts.create(
                name="projects/%s" % project, body=dict(accountId=p["account_id"], serviceAccount=fields)), idempotent=True))
        elif fields:
            mask = ",".join(ACCOUNT_OPTIONS[k].tags["mask"] for k in keys if k != "disabled")
            session.execute("update", label, accounts.patch(name=name, body=dict(serviceAccount=fields, updateMask=mask)), idempotent=True)
        if "disabled" in keys and (current is not None or want["disabled"]):  # a new account is enabled
            verb = "disable" if want["disabled"] else "enable"
            session.execute(verb, label, getattr(accounts, verb)(name=name, body={}), idempotent=True)
        return after

    current, change, _unused, written = session.read_modify_write(label, read, build, write, conflicts=CONFLICTS)
    final = written or (change["after"] if change else current)
    keys = []
    if current is not None:  # a new account has no user-managed key
        listed = session.execute("list keys of", label, accounts.keys().list(name=name, keyTypes=["USER_MANAGED"]), idempotent=True)
        keys = key_ages(listed.get("keys", []), datetime.datetime.now(datetime.timezone.utc))
    if keys:
        session.warn("%s has %d user-managed key(s), the oldest %d days old: keys are long-lived secrets; prefer Workload "
                     "Identity Federation and delete them" % (email, len(keys), keys[0]["age_days"]))
    return dict(changed=change is not None, account=dict(final, unique_id=final.get("uniqueId"), disabled=_flag(final)),
                user_managed_keys=keys,
                diff=dict(before=read_options(ACCOUNT_OPTIONS, current) if current else {}, after=read_options(ACCOUNT_OPTIONS, final)))


# ---------------------------------------------------------------- workload identity pools and providers

def _manage(session, kind, options, collection, parent, resource_id, want, check=None):
    """A pool or a provider (``kind``), named ``{parent}/{collection's}/{resource_id}``: created, changed, undeleted when
    soft-deleted (state DELETED) and asked present, or deleted. ``check(current, after)`` refuses what only the live
    resource tells, before any change. Returns the module's result, the resource under ``kind``."""
    p = session.params
    plural = "workloadIdentityPools" if kind == "pool" else "providers"
    name = "%s/%s/%s" % (parent, plural, resource_id)
    label = "workload identity %s %s" % (kind, name)
    id_parameter = "workloadIdentityPoolId" if kind == "pool" else "workloadIdentityPoolProviderId"

    def read():
        return _read(session, label, collection.get(name=name))

    def view(resource):
        return read_options(options, resource) if resource and resource["state"] == ACTIVE else {}

    if p["state"] == "absent":
        current = read()
        if current is None or current["state"] == DELETED:
            return {"changed": False, kind: current, "diff": dict(before={}, after={})}
        final = dict(current, state=DELETED)
        if not session.check_mode:
            final = _finished(session, collection, session.execute("delete", label, collection.delete(name=name), idempotent=True),
                              "delete", label, read, kind)
        return {"changed": True, kind: final, "diff": dict(before=view(current), after={})}

    def build(current):
        keys = changed_options(options, want, read_options(options, current) if current else {})
        undelete = current is not None and current["state"] == DELETED
        if current is not None and not keys and not undelete:
            return None, keys
        after = copy.deepcopy(current) if current else dict(name=name)
        write_options(options, after, {k: want[k] for k in keys})
        after["state"] = ACTIVE
        after.pop("expireTime", None)
        if check:
            check(current, after)
        return dict(after=after, keys=keys, undelete=undelete), keys

    def write(current, change):
        if current is None:
            answer = session.execute("create", label, collection.create(
                parent=parent, body=_fields(options, want, change["keys"]), **{id_parameter: resource_id}), idempotent=True)
            return _finished(session, collection, answer, "create", label, read, kind)
        found = current
        if change["undelete"]:
            found = _finished(session, collection, session.execute("undelete", label, collection.undelete(name=name, body={}),
                                                                   idempotent=True), "undelete", label, read, kind)
        if change["keys"]:
            mask = ",".join(sorted(options[k].tags["mask"] for k in change["keys"]))
            found = _finished(session, collection, session.execute("update", label, collection.patch(
                name=name, updateMask=mask, body=_fields(options, want, change["keys"])), idempotent=True), "update", label, read, kind)
        return found

    current, change, keys, written = session.read_modify_write(label, read, build, write, conflicts=CONFLICTS)
    final = written or (change["after"] if change else current)
    return {"changed": change is not None, kind: final, "changed_options": keys, "undeleted": bool(change and change["undelete"]),
            "diff": dict(before=view(current), after=view(final))}


def _pools(session):
    return _iam(session).locations().workloadIdentityPools()


def manage_pool(session):
    """workload_identity_pool: a pool's display name, description and disabled flag; a soft-deleted pool asked present is undeleted."""
    p = session.params
    problems = pool_problems(p)
    if problems:
        raise invalid("workload identity pool %s" % p["pool_id"], problems)
    want = {k: p[k] for k in POOL_OPTIONS if p[k] is not None}
    return _manage(session, "pool", POOL_OPTIONS, _pools(session), "projects/%s/locations/global" % session.project, p["pool_id"], want)


def manage_provider(session):
    """workload_identity_provider: an OIDC provider of a pool (GitHub Actions by default), and the member to grant roles to."""
    p = session.params
    label = "workload identity provider %s of pool %s" % (p["provider_id"], p["pool_id"])
    problems = provider_problems(p)
    if problems:
        raise invalid(label, problems)
    pool_name = "projects/%s/locations/global/workloadIdentityPools/%s" % (session.project, p["pool_id"])
    pools = _pools(session)
    want = wanted_provider(p) if p["state"] == "present" else {}
    found = {}

    def check(current, after):
        if current is None:
            pool = _read(session, label, pools.get(name=pool_name))
            if (pool is None or pool["state"] == DELETED) and not session.check_mode:
                raise GcpError("Cannot create %s: the pool %s. Nothing was changed. Hint: make the pool present with "
                               "orchestra.gcp.workload_identity_pool first." % (label, "does not exist" if pool is None else "is deleted"))
            if pool is None or pool["state"] == DELETED:  # an earlier task of the play would make it present
                session.warn("%s: pool %s %s yet; check mode takes it as present, named by project ID (Google names it by "
                             "project number)" % (label, p["pool_id"], "does not exist" if pool is None else "is not undeleted"))
                pool = dict(name=pool_name)
            found["pool"] = pool["name"]
            if "attribute_mapping" not in want:
                raise invalid(label, ["a new provider needs attribute_mapping (mapping google.subject) or github_repository"])
        if not (after.get("attributeCondition") or "").strip() and not p["allow_unconditioned"]:
            raise invalid(label, [UNCONDITIONED])

    result = _manage(session, "provider", PROVIDER_OPTIONS, pools.providers(), pool_name, p["provider_id"], want, check)
    provider = result["provider"]
    # Google names pools and providers by project number: the principal set is named so.
    pool = found.get("pool") or (provider["name"].rsplit("/providers/", 1)[0] if provider else None)
    result["principal_set"] = principal_set(pool, p["github_repository"]) if pool and p["github_repository"] and p["state"] == "present" else None
    result["principal_set_prefix"] = "principalSet://iam.googleapis.com/%s" % pool if pool else None
    return result
