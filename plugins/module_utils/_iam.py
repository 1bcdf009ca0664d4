# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IAM allow policies of projects, Cloud Run services, secrets, service accounts and Cloud Storage buckets: the logic behind the
iam_binding, iam_policy and iam_audit_config modules.

PRIVATE to this collection. A policy is handled as Google's JSON shows it (google.iam.v1.Policy: ``bindings`` of a
``role``, ``members`` and an optional ``condition``; ``auditConfigs``; a base64 ``etag``; ``version``), whichever
client reads it. Every change is an etag-guarded read-modify-write of the whole policy, read at version 3 so that
conditional bindings are seen, written back at the version it needs.
"""

from __future__ import annotations

import re

from ._gcp import GcpError, invalid

try:
    from google.cloud import resourcemanager_v3, run_v2, secretmanager_v1
    from google.iam.v1 import iam_policy_pb2, options_pb2, policy_pb2
    from google.protobuf import field_mask_pb2, json_format
except ImportError:  # reported by both doors: the specs below declare IAM_LIBRARIES
    run_v2 = None

# Service accounts' IAM has no google-cloud-* library over REST (google-cloud-iam's iam_admin_v1 speaks gRPC only):
# it goes through google-api-python-client's iam v1 discovery document; buckets' through its storage v1 document (no
# google-cloud-storage dependency for two calls).
IAM_LIBRARIES = (("google-cloud-resource-manager", "google.cloud.resourcemanager_v3"), ("google-cloud-run", "google.cloud.run_v2"),
                 ("google-cloud-secret-manager", "google.cloud.secretmanager_v1"), ("google-api-python-client", "googleapiclient"))

# The forms of https://cloud.google.com/iam/docs/reference/rest/v1/Policy#Binding (members) and of role names.
EMAIL_KINDS = ("user", "serviceAccount", "group")
EMAIL_RE = re.compile(r"^[^@\s:/]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
DOMAIN_RE = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
PRINCIPAL_RE = re.compile(r"^principal(Set)?://[a-z0-9.-]+/\S+$")
PUBLIC = ("allUsers", "allAuthenticatedUsers")
# A bucket's convenience members: the owners, editors or viewers of a project (Cloud Storage's Policy reference).
PROJECT_MEMBER_KINDS = ("projectOwner", "projectEditor", "projectViewer")
ROLE_RE = re.compile(r"^(roles/[A-Za-z0-9_.]+|projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/roles/[A-Za-z0-9_.]{3,64}"
                     r"|organizations/[0-9]+/roles/[A-Za-z0-9_.]{3,64})$")
BASIC_ROLES = ("roles/owner", "roles/editor", "roles/viewer")
LOG_TYPES = ("ADMIN_READ", "DATA_READ", "DATA_WRITE")
SERVICE_RE = re.compile(r"^(allServices|[a-z0-9-]+(\.[a-z0-9-]+)*\.googleapis\.com)$")

PROJECT_RE = re.compile(r"^([a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]+)$")
SERVICE_NAME_RE = re.compile(r"^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$")
SECRET_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
ACCOUNT_ID_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
# https://cloud.google.com/storage/docs/buckets#naming: 3 to 63 lowercase letters, digits, '-', '_' and '.', starting and
# ending with a letter or digit.
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
FULL_NAMES = dict(
    project=re.compile(r"^projects/[^/]+$"),
    cloud_run_service=re.compile(r"^projects/[^/]+/locations/[^/]+/services/[^/]+$"),
    secret=re.compile(r"^projects/[^/]+/secrets/[^/]+$"),
    service_account=re.compile(r"^projects/[^/]+/serviceAccounts/[^/]+$"),
    bucket=re.compile(r"^projects/_/buckets/[^/]+$"),
)
# The predefined roles that hold the permission to set each type's policy (resourcemanager.projects.setIamPolicy,
# run.services.setIamPolicy, secretmanager.secrets.setIamPolicy, iam.serviceAccounts.setIamPolicy, storage.buckets.setIamPolicy), from Google's
# roles reference. Custom roles, groups, domains and inherited policies that grant it are not seen.
ADMIN_ROLES = dict(
    project=("roles/owner", "roles/resourcemanager.projectIamAdmin", "roles/iam.securityAdmin"),
    cloud_run_service=("roles/owner", "roles/run.admin"),
    secret=("roles/owner", "roles/secretmanager.admin"),
    service_account=("roles/owner", "roles/iam.serviceAccountAdmin", "roles/iam.securityAdmin"),
    bucket=("roles/owner", "roles/storage.admin"),
)
# The policy fields a write replaces; audit configs are a project's (Google keeps them on projects, folders and
# organizations only).
BINDINGS_MASK = "bindings,etag"
AUDIT_MASK = "auditConfigs,etag"

RESOURCE_ARGSPEC = dict(
    type="dict", required=True, options=dict(
        type=dict(type="str", required=True, choices=sorted(FULL_NAMES)),
        name=dict(type="str"),
        region=dict(type="str", aliases=["location"]),
    ))
CONDITION_ARGSPEC = dict(
    type="dict", options=dict(
        title=dict(type="str"),
        description=dict(type="str"),
        expression=dict(type="str"),
    ))
MODES, STATES = ["additive", "authoritative"], ["present", "absent"]
BINDING_SPEC = dict(
    argument_spec=dict(
        resource=RESOURCE_ARGSPEC,
        role=dict(type="str"),
        members=dict(type="list", elements="str"),
        condition=CONDITION_ARGSPEC,
        bindings=dict(type="list", elements="dict", options=dict(
            role=dict(type="str", required=True),
            members=dict(type="list", elements="str", default=[]),
            condition=CONDITION_ARGSPEC,
            mode=dict(type="str", choices=MODES),
            state=dict(type="str", choices=STATES),
        )),
        mode=dict(type="str", default="additive", choices=MODES),
        state=dict(type="str", default="present", choices=STATES),
    ),
    mutually_exclusive=[("role", "bindings"), ("members", "bindings"), ("condition", "bindings")],
    required_one_of=[("role", "bindings")],
    libraries=IAM_LIBRARIES,
)
LOG_CONFIG_ARGSPEC = dict(
    type="list", elements="dict", default=[], options=dict(
        log_type=dict(type="str", required=True, choices=list(LOG_TYPES)),
        exempted_members=dict(type="list", elements="str", default=[]),
    ))
POLICY_SPEC = dict(
    argument_spec=dict(
        resource=RESOURCE_ARGSPEC,
        bindings=dict(type="list", elements="dict", required=True, options=dict(
            role=dict(type="str", required=True),
            members=dict(type="list", elements="str", required=True),
            condition=CONDITION_ARGSPEC,
        )),
        audit_configs=dict(type="list", elements="dict", options=dict(
            service=dict(type="str", required=True),
            log_configs=LOG_CONFIG_ARGSPEC,
        )),
        allow_self_lockout=dict(type="bool", default=False),
    ),
    libraries=IAM_LIBRARIES,
)
AUDIT_SPEC = dict(
    argument_spec=dict(
        service=dict(type="str", required=True),
        log_configs=LOG_CONFIG_ARGSPEC,
        state=dict(type="str", default="present", choices=["present", "absent"]),
    ),
    libraries=IAM_LIBRARIES,
)


# ---------------------------------------------------------------- resources

def resource_name(resource, project):
    """``(full resource name, problems)`` of the ``resource`` option, short names completed with ``project``."""
    kind, name, region = resource["type"], resource.get("name"), resource.get("region")
    if kind == "bucket" and name and FULL_NAMES[kind].match(name):  # checked below as the bucket name it ends with
        name = name.rsplit("/", 1)[1]
    if name and FULL_NAMES[kind].match(name):
        if region and kind == "cloud_run_service" and name.split("/")[3] != region:
            return None, ["resource region %r differs from the region of %s" % (region, name)]
        return name, []
    if name and "/" in name:
        return None, ["resource name %r is neither a short name nor a full %s name like %s"
                      % (name, kind, FULL_NAMES[kind].pattern.strip("^$").replace("[^/]+", "*"))]
    if kind == "project":
        name = name or project
        return ("projects/%s" % name, []) if name and PROJECT_RE.match(name) else (None, ["project %r is not a project ID" % name])
    if not name:
        return None, ["resource name is required for a %s" % kind]
    if kind == "cloud_run_service":
        problems = [] if SERVICE_NAME_RE.match(name) else ["Cloud Run service name %r must hold lowercase letters, digits and "
                                                           "hyphens, start with a letter and have under 50 characters" % name]
        if not region:
            problems.append("resource region is required for a Cloud Run service named %r (or give its full name)" % name)
        return ("projects/%s/locations/%s/services/%s" % (project, region, name) if not problems else None), problems
    if kind == "bucket":
        return (("projects/_/buckets/%s" % name, []) if BUCKET_RE.match(name) and ".." not in name
                else (None, ["bucket name %r must have 3 to 63 lowercase letters, digits, '-', '_' or '.', and start and end with "
                             "a letter or digit" % name]))
    if kind == "secret":
        return (("projects/%s/secrets/%s" % (project, name), []) if SECRET_ID_RE.match(name)
                else (None, ["secret name %r must hold 1 to 255 letters, digits, '_' or '-'" % name]))
    if EMAIL_RE.match(name):  # "-": Google infers the account's project from its email
        return "projects/-/serviceAccounts/%s" % name, []
    if ACCOUNT_ID_RE.match(name):
        return "projects/%s/serviceAccounts/%s@%s.iam.gserviceaccount.com" % (project, name, project), []
    return None, ["service account %r must be an email or an account ID (6 to 30 lowercase letters, digits and hyphens)" % name]


def _target(session, p, problems_of):
    """``(type, full name, label)`` of the policy the task is about; every problem of the input (``problems_of(p, type)``
    and the resource's) is refused at once, before any call."""
    kind = p["resource"]["type"]
    name, problems = resource_name(p["resource"], None if kind == "project" and p["resource"].get("name") else session.project)
    label = "the IAM policy of %s" % (name or "a %s" % kind)
    problems += problems_of(p, kind)
    if problems:
        raise invalid(label, problems)
    return kind, name, label


def _gapic(client_class):
    """Read and write a policy with a google-cloud-* client's getIamPolicy and setIamPolicy."""
    def read(session, name, label):
        request = iam_policy_pb2.GetIamPolicyRequest(resource=name, options=options_pb2.GetPolicyOptions(requested_policy_version=3))
        return json_format.MessageToDict(session.call("read", label, session.client(client_class()).get_iam_policy, request=request,
                                                      idempotent=True))

    def write(session, name, label, policy, mask):
        update_mask = field_mask_pb2.FieldMask()
        update_mask.FromJsonString(mask)
        request = iam_policy_pb2.SetIamPolicyRequest(resource=name, policy=json_format.ParseDict(policy, policy_pb2.Policy()),
                                                     update_mask=update_mask)
        return json_format.MessageToDict(session.call("set", label, session.client(client_class()).set_iam_policy, request=request,
                                                      idempotent=True))
    return read, write


def _accounts(session):
    return session.discovery("iam", "v1").projects().serviceAccounts()


def _read_account(session, name, label):
    return session.execute("read", label, _accounts(session).getIamPolicy(resource=name, options_requestedPolicyVersion=3),
                           idempotent=True)


def _write_account(session, name, label, policy, mask):
    return session.execute("set", label, _accounts(session).setIamPolicy(resource=name, body=dict(policy=policy, updateMask=mask)),
                           idempotent=True)


def _buckets(session):
    return session.discovery("storage", "v1").buckets()


def _read_bucket(session, name, label):
    return session.execute("read", label, _buckets(session).getIamPolicy(bucket=name.rsplit("/", 1)[1], optionsRequestedPolicyVersion=3),
                           idempotent=True)


def _write_bucket(session, name, label, policy, _mask):
    """Cloud Storage takes the policy itself and no mask: it replaces the bindings; its stale etag is 412 FAILED_PRECONDITION."""
    return session.execute("set", label, _buckets(session).setIamPolicy(bucket=name.rsplit("/", 1)[1], body=policy), idempotent=True)


# type -> (read, write) of its policy; the clients are named when called (their import may have failed, and is reported).
ACCESS = dict(
    project=_gapic(lambda: resourcemanager_v3.ProjectsClient),
    cloud_run_service=_gapic(lambda: run_v2.ServicesClient),
    secret=_gapic(lambda: secretmanager_v1.SecretManagerServiceClient),
    service_account=(_read_account, _write_account),
    bucket=(_read_bucket, _write_bucket),
)


# ---------------------------------------------------------------- validation (no API call needed)

def member_problems(members, kind, what="member"):
    problems = []
    for member in members:
        prefix, _unused, rest = member.partition(":")
        if prefix == "deleted":
            problems.append("%s %r is a deleted principal and cannot be granted: name the principal's current identity (an "
                            "authoritative binding of the role drops the deleted one)" % (what, member))
        elif member in PUBLIC and kind == "project":
            problems.append("%s %r cannot be granted on a project: Google refuses public access to a project's roles" % (what, member))
        elif not (member in PUBLIC or PRINCIPAL_RE.match(member) or (prefix in EMAIL_KINDS and EMAIL_RE.match(rest))
                  or (prefix == "domain" and DOMAIN_RE.match(rest)) or (kind == "bucket" and prefix in PROJECT_MEMBER_KINDS and PROJECT_RE.match(rest))):
            problems.append("%s %r must be user:EMAIL, serviceAccount:EMAIL, group:EMAIL, domain:DOMAIN, principal://..., "
                            "principalSet://..., allUsers or allAuthenticatedUsers" % (what, member))
    return problems


def binding_problems(role, members, condition, kind, where=""):
    """What is wrong with a binding of ``role`` to ``members`` under ``condition`` on a resource of type ``kind``."""
    problems = []
    if not ROLE_RE.match(role or ""):
        problems.append("%srole %r must be roles/NAME, projects/PROJECT/roles/NAME or organizations/ORGANIZATION/roles/NAME" % (where, role))
    problems += member_problems(members, kind, where + "member")
    if condition:
        problems += ["%scondition needs %s" % (where, what) for key, what in (("title", "a title"), ("expression", "an expression"))
                     if not condition.get(key)]
        if role in BASIC_ROLES:
            problems.append("%srole %s cannot have a condition: Google refuses conditions on basic roles (owner, editor, "
                            "viewer); use a predefined role" % (where, role))
    return problems


def log_config_problems(service, log_configs, where=""):
    problems = [] if SERVICE_RE.match(service or "") else ["%sservice %r must be allServices or an API like storage.googleapis.com"
                                                           % (where, service)]
    types = [c["log_type"] for c in log_configs]
    problems += ["%slog type %s is listed twice" % (where, t) for t in sorted(set(types)) if types.count(t) > 1]
    for config in log_configs:
        problems += member_problems(config["exempted_members"], "project", "%s%s exempted member" % (where, config["log_type"]))
    return problems


def binding_entries(p):
    """The bindings an iam_binding task manages, each with its role, members, condition, mode and state: its ``bindings``
    (mode and state defaulting to the task's), or the one binding of its ``role``."""
    if p["bindings"] is None:
        return [dict(role=p["role"], members=p["members"] or [], condition=p["condition"], mode=p["mode"], state=p["state"])]
    return [dict(b, mode=b["mode"] or p["mode"], state=b["state"] or p["state"]) for b in p["bindings"]]


def binding_param_problems(p, kind):
    problems = []
    entries = binding_entries(p)
    for index, entry in enumerate(entries):
        where = "bindings[%d] " % index if p["bindings"] is not None else ""
        problems += binding_problems(entry["role"], entry["members"], entry["condition"], kind, where)
        if not entry["members"] and not (entry["mode"] == "authoritative" and entry["state"] == "absent"):
            problems.append("%smembers must name at least one member (mode=authoritative with state=absent removes the whole binding)"
                            % where)
    return problems + _repeated([(e["role"], condition_key(e["condition"])) for e in entries])


def _repeated(keys):
    """A problem for each binding (role and condition) listed more than once."""
    return ["bindings name role %s%s more than once: list its members once" % (k[0], " with condition %r" % k[1][0] if k[1] else "")
            for k in sorted(set(keys), key=repr) if keys.count(k) > 1]


def policy_param_problems(p, kind):
    problems = []
    for index, binding in enumerate(p["bindings"]):
        problems += binding_problems(binding["role"], binding["members"], binding["condition"], kind, "bindings[%d] " % index)
    problems += _repeated([binding_key(b) for b in _as_bindings(p["bindings"])])
    if p["audit_configs"] is not None and kind != "project":
        problems.append("audit_configs are a project's: Google keeps them on projects, not on a %s" % kind)
    for index, config in enumerate(p["audit_configs"] or []):
        problems += log_config_problems(config["service"], config["log_configs"], "audit_configs[%d] " % index)
    services = [c["service"] for c in p["audit_configs"] or []]
    return problems + ["audit_configs name service %s more than once" % s for s in sorted(set(services)) if services.count(s) > 1]


def audit_param_problems(p, kind):
    problems = log_config_problems(p["service"], p["log_configs"])
    if p["state"] == "present" and not p["log_configs"]:
        problems.append("log_configs must name at least one log type (state=absent removes the service's audit config)")
    return problems


# ---------------------------------------------------------------- bindings as Google holds them

def member_key(member):
    """What identifies a member: emails and domains compare without case, as Google treats them; other principals as written."""
    prefix, colon, rest = member.partition(":")
    return prefix + colon + rest.lower() if prefix in EMAIL_KINDS + ("domain",) else member


def condition_key(condition):
    """A condition's identity: its title, description and expression (a change of any is another binding)."""
    if not condition:
        return None
    return (condition.get("title") or "", condition.get("description") or "", condition.get("expression") or "")


def binding_key(binding):
    return binding["role"], condition_key(binding.get("condition"))


def _condition(condition):
    """A condition option as Google's JSON holds it (no empty description)."""
    return {k: condition[k] for k in ("title", "description", "expression") if condition.get(k)} if condition else None


def _binding(role, members, condition):
    binding = dict(role=role, members=sorted(members))
    if condition:
        binding["condition"] = _condition(condition)
    return binding


def _as_bindings(options):
    """The bindings option as Google's JSON bindings."""
    return [_binding(b["role"], b["members"], b["condition"]) for b in options]


def members_of(policy, key):
    """The members the binding(s) of ``key`` (role, condition) grant in ``policy``, each once, as written there."""
    found = {}
    for binding in policy.get("bindings", []):
        if binding_key(binding) == key:
            for member in binding.get("members", []):
                found.setdefault(member_key(member), member)
    return list(found.values())


def wanted_members(have, members, mode, state):
    """The members of one binding after the change: additive adds (present) or removes (absent) ``members`` and leaves
    the others; authoritative makes them exactly ``members`` (present) or none (absent). Live spellings are kept."""
    live = {member_key(m): m for m in have}
    given = {}
    for member in members:
        given.setdefault(member_key(member), live.get(member_key(member), member))
    if mode == "authoritative":
        return list(given.values()) if state == "present" else []
    if state == "present":
        return have + [m for k, m in given.items() if k not in live]
    return [m for k, m in live.items() if k not in given]


def with_binding(policy, key, members, condition):
    """``policy``'s bindings with the one(s) of ``key`` replaced by one of ``members`` (none when empty), in place of the first."""
    bindings, placed = [], False
    for binding in policy.get("bindings", []):
        if binding_key(binding) != key:
            bindings.append(binding)
        elif not placed and members:
            bindings.append(_binding(key[0], members, condition))
            placed = True
    if members and not placed:
        bindings.append(_binding(key[0], members, condition))
    return bindings


def policy_version(*policies):
    """The version a write needs: 3 when a binding of the policy written, or of the one it replaces, has a condition
    (Google needs 3 to add, change or remove a conditional binding), else 1."""
    return 3 if any(b.get("condition") for policy in policies for b in policy.get("bindings", [])) else 1


def normal_bindings(bindings):
    """Bindings to compare: each role and condition once, with its members' identities."""
    merged = {}
    for binding in bindings:
        merged.setdefault(binding_key(binding), set()).update(member_key(m) for m in binding.get("members", []))
    return {key: members for key, members in merged.items() if members}


def normal_audit(configs):
    """Audit configs to compare: service -> log type -> exempted members' identities."""
    return {c["service"]: {lc["logType"]: sorted(member_key(m) for m in lc.get("exemptedMembers", [])) for lc in c.get("auditLogConfigs", [])}
            for c in configs}


def _audit_config(service, log_configs):
    config = dict(service=service, auditLogConfigs=[])
    for log_config in sorted(log_configs, key=lambda c: c["log_type"]):
        entry = dict(logType=log_config["log_type"])
        if log_config["exempted_members"]:
            entry["exemptedMembers"] = sorted(log_config["exempted_members"])
        config["auditLogConfigs"].append(entry)
    return config


def caller_member(credentials):
    """The member the credentials act as, when they say so without an API call: a service account key's account or the
    impersonated one; None for others (user credentials, the emulator's anonymous ones, a metadata server's 'default')."""
    email = getattr(getattr(credentials, "inner", credentials), "service_account_email", None)
    return "serviceAccount:%s" % email if email and "@" in email else None


def lockout_problem(kind, before, after, caller):
    """Why writing ``after`` over ``before`` may take from the caller the roles of ``kind``'s policy that allow setting
    it again, or None. With no known caller, any admin removed may be the caller."""
    def admins(policy):
        return {member_key(m): m for b in policy.get("bindings", []) if b["role"] in ADMIN_ROLES[kind] for m in b.get("members", [])}
    lost = {k: m for k, m in admins(before).items() if k not in admins(after)}
    roles = ", ".join(ADMIN_ROLES[kind])
    if caller and member_key(caller) in lost:
        return ("it removes the caller, %s, from the roles that allow setting this policy (%s): the caller could not change it "
                "back" % (caller, roles))
    if not caller and lost:
        return ("it removes %s from the roles that allow setting this policy (%s), and the credentials do not say which member "
                "they act as (only a service account key or impersonation does), so one of them may be the caller"
                % (", ".join(sorted(lost.values())), roles))
    return None


# ---------------------------------------------------------------- the modules

# A stale etag: IAM says 409 ABORTED (tests/fixtures/google/iam_concurrent_policy_changes.json), Cloud Storage 412
# conditionNotMet (tests/fixtures/google/storage_precondition_failed.json), FAILED_PRECONDITION by its HTTP status; Terraform
# also treats 412 as a conflict of setIamPolicy. Either is read again and rebuilt.
CONFLICTS = ("ABORTED", "FAILED_PRECONDITION")


def _change(session, kind, name, label, build, mask):
    """The etag-guarded read-modify-write of the policy: ``(current, change, info, written)``. In check mode, a resource
    that does not exist yet (an earlier task of the play would create it) has an empty policy, with a warning."""
    read, write = ACCESS[kind]

    def read_current():
        try:
            return read(session, name, label)
        except GcpError as e:
            if e.status != "NOT_FOUND" or not session.check_mode:
                raise
            session.warn("%s: %s does not exist yet; check mode takes its policy as empty" % (label, name))
            return {}
    return session.read_modify_write(label, read_current, build,
                                     lambda current, policy: write(session, name, label, policy, mask), conflicts=CONFLICTS)


def manage_binding(session):
    """iam_binding: the members of one role (and condition), or of several, on a resource, added, removed or made exact, in
    one read-modify-write of its policy."""
    p = session.params
    kind, name, label = _target(session, p, binding_param_problems)
    entries = binding_entries(p)
    keys = [(e["role"], condition_key(e["condition"])) for e in entries]

    def build(current):
        policy, changed = dict(bindings=current.get("bindings", [])), False
        for entry, key in zip(entries, keys):
            have = members_of(policy, key)
            want = wanted_members(have, entry["members"], entry["mode"], entry["state"])
            if {member_key(m) for m in want} != {member_key(m) for m in have}:
                policy["bindings"], changed = with_binding(policy, key, want, entry["condition"]), True
        if not changed:
            return None, None
        return dict(policy, etag=current.get("etag"), version=policy_version(policy, current)), None

    current, change, _unused, written = _change(session, kind, name, label, build, BINDINGS_MASK)
    outcomes = [_outcome(entry, members_of(current, key), members_of(written or change or current, key)) for entry, key in zip(entries, keys)]
    diff = dict(before=[_binding(o["role"], o["before"], o["condition"]) for o in outcomes if o["before"]],
                after=[o["binding"] for o in outcomes if o["binding"]])
    result = dict(changed=change is not None, resource=name)
    if p["bindings"] is not None:
        return dict(result, bindings=[{k: o[k] for k in ("role", "condition", "binding", "added", "removed")} for o in outcomes], diff=diff)
    (outcome,) = outcomes
    return dict(result, binding=outcome["binding"], added=outcome["added"], removed=outcome["removed"],
                diff={side: bindings[0] if bindings else {} for side, bindings in diff.items()})


def _outcome(entry, before, after):
    """What a task did to one binding: the members it held before and after, those added and removed."""
    before_keys, after_keys = {member_key(m) for m in before}, {member_key(m) for m in after}
    return dict(role=entry["role"], condition=_condition(entry["condition"]), before=before,
                binding=_binding(entry["role"], after, entry["condition"]) if after else None,
                added=sorted(m for m in after if member_key(m) not in before_keys),
                removed=sorted(m for m in before if member_key(m) not in after_keys))


def manage_policy(session):
    """iam_policy: the whole policy of a resource, its bindings (and a project's audit configs when given) exactly as listed."""
    p = session.params
    kind, name, label = _target(session, p, policy_param_problems)
    caller = caller_member(session.resolve()[0])
    bindings = _as_bindings(p["bindings"])
    audit = None if p["audit_configs"] is None else [_audit_config(c["service"], c["log_configs"]) for c in p["audit_configs"]]

    def build(current):
        if normal_bindings(current.get("bindings", [])) == normal_bindings(bindings) and (
                audit is None or normal_audit(current.get("auditConfigs", [])) == normal_audit(audit)):
            return None, None
        policy = dict(bindings=bindings, etag=current.get("etag"))
        if audit is not None:
            policy["auditConfigs"] = audit
        policy["version"] = policy_version(policy, current)
        problem = None if p["allow_self_lockout"] else lockout_problem(kind, current, policy, caller)
        if problem:
            raise GcpError("Refused to set %s: %s. Nothing was changed. Hint: keep the caller in one of those roles, or set "
                           "allow_self_lockout=true if this is meant." % (label, problem))
        return policy, None

    current, change, _unused, written = _change(session, kind, name, label, build,
                                                BINDINGS_MASK if audit is None else "bindings,auditConfigs,etag")
    final = written or change or current
    return dict(changed=change is not None, resource=name, policy=final, diff=dict(before=_policy_view(current), after=_policy_view(final)))


def _policy_view(policy):
    view = dict(bindings=sorted(policy.get("bindings", []), key=lambda b: repr(binding_key(b))))
    if policy.get("auditConfigs"):
        view["auditConfigs"] = policy["auditConfigs"]
    return view


def manage_audit_config(session):
    """iam_audit_config: the Data Access audit logs of one service on a project (its audit config, authoritative)."""
    p = dict(session.params, resource=dict(type="project", name=None))
    kind, name, label = _target(session, p, audit_param_problems)
    want = [_audit_config(p["service"], p["log_configs"])] if p["state"] == "present" else []

    def build(current):
        configs = current.get("auditConfigs", [])
        mine = [c for c in configs if c["service"] == p["service"]]
        if normal_audit(mine) == normal_audit(want):
            return None, mine
        return dict(auditConfigs=[c for c in configs if c["service"] != p["service"]] + want, etag=current.get("etag"),
                    version=policy_version(current)), mine

    current, change, mine, written = _change(session, kind, name, label, build, AUDIT_MASK)
    after = [c for c in (written or change or current).get("auditConfigs", []) if c["service"] == p["service"]]
    return dict(changed=change is not None, resource=name, audit_config=after[0] if after else None,
                diff=dict(before=mine[0] if mine else {}, after=after[0] if after else {}))
