# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An audit of a project's IAM: the logic behind the iam_audit module.

PRIVATE to this collection. ``read_project`` reads what is audited (the project's policy, its service accounts and
their user-managed keys, its Cloud Run services and secrets with their policies), as Google's JSON shows it;
``findings`` judges that state with the rules below and makes no call, so the rules are tested on recorded answers.
"""

from __future__ import annotations

import datetime
import re

from ._gcp import short_name
from ._iam import ACCESS, BASIC_ROLES, IAM_LIBRARIES, PUBLIC, _accounts, member_key
from ._iam_accounts import key_ages

try:
    from google.cloud import run_v2, secretmanager_v1
    from google.protobuf import json_format
except ImportError:  # reported by both doors: the spec declares IAM_LIBRARIES
    run_v2 = None

SEVERITIES = ("critical", "high", "medium", "low")
# Which basic role weighs how much: owner can do anything, editor change almost anything, viewer read almost anything.
BASIC_SEVERITY = {"roles/owner": "critical", "roles/editor": "high", "roles/viewer": "low"}
# Granted on the project, they act as (tokenCreator) or attach (serviceAccountUser) every service account of it.
IMPERSONATION_ROLES = ("roles/iam.serviceAccountTokenCreator", "roles/iam.serviceAccountUser")
INVOKER = "roles/run.invoker"
# The Google APIs Service Agent (PROJECT_NUMBER@cloudservices.gserviceaccount.com) holds roles/editor on every project,
# and Google warns not to revoke it (https://cloud.google.com/iam/docs/service-agents): not a finding.
KEPT_BASIC = re.compile(r"^serviceAccount:[0-9]+@cloudservices\.gserviceaccount\.com$")
# The project a member belongs to, as its name says: a service account ID@PROJECT_ID.iam.gserviceaccount.com, the
# Compute Engine default account NUMBER-compute@developer.gserviceaccount.com, the App Engine default account
# PROJECT_ID@appspot.gserviceaccount.com, and workload identity principals of projects/NUMBER.
MEMBER_PROJECT = (
    re.compile(r"^serviceAccount:[^@]+@([a-z][a-z0-9-]*)\.iam\.gserviceaccount\.com$"),
    re.compile(r"^serviceAccount:([0-9]+)-compute@developer\.gserviceaccount\.com$"),
    re.compile(r"^serviceAccount:([a-z][a-z0-9-]*)@appspot\.gserviceaccount\.com$"),
    re.compile(r"^principal(?:Set)?://iam\.googleapis\.com/projects/([^/]+)/"),
)

IAM_AUDIT_SPEC = dict(
    argument_spec=dict(
        regions=dict(type="list", elements="str", required=True),
        secrets=dict(type="list", elements="str", no_log=False),  # secret IDs, not values
        allowed_basic=dict(type="list", elements="str", default=[]),
        max_key_age_days=dict(type="int", default=90, no_log=False),
        public_services=dict(type="list", elements="str", default=[]),
        internal_services=dict(type="list", elements="str", default=[]),
        other_projects=dict(type="list", elements="str", default=[]),
    ),
    libraries=IAM_LIBRARIES,
)


# ---------------------------------------------------------------- the rules (no call)

def finding(severity, rule, resource, what, fix, principal=None, role=None, **details):
    return dict(severity=severity, rule=rule, resource=resource, principal=principal, role=role, what=what, fix=fix, **details)


def _resource_option(resource):
    """The iam_binding ``resource`` option naming a full resource name, in YAML flow style."""
    parts = resource.split("/")
    if len(parts) == 2:
        return "{type: project, name: %s}" % parts[1]
    if parts[2] == "locations":
        return "{type: cloud_run_service, name: %s, region: %s}" % (parts[5], parts[3])
    if parts[2] == "serviceAccounts":
        return "{type: service_account, name: %s}" % parts[3]
    if parts[2] == "buckets":
        return "{type: bucket, name: %s}" % parts[3]
    return "{type: secret, name: %s}" % parts[3]


def _revoke(resource, role, member, condition):
    under = " and condition {title: %s, expression: %s}" % (condition.get("title"), condition.get("expression")) if condition else ""
    return ("orchestra.gcp.iam_binding with resource %s, role %s, members [%s]%s, state absent"
            % (_resource_option(resource), role, member, under))


def _member_project(member):
    for pattern in MEMBER_PROJECT:
        found = pattern.match(member)
        if found:
            return found.group(1)
    return None


def grant_findings(resource, role, member, condition, p):
    """What is wrong with ``role`` granted to ``member`` (under ``condition``) on ``resource`` (a full name)."""
    found = []
    on_project = resource.count("/") == 1
    under = " under condition %r" % condition.get("title") if condition else ""
    revoke = _revoke(resource, role, member, condition)
    if on_project and role in BASIC_ROLES and not KEPT_BASIC.match(member) and member_key(member) not in {member_key(m) for m in p["allowed_basic"]}:
        found.append(finding(BASIC_SEVERITY[role], "basic_role", resource, "%s holds the basic role %s on the project%s" % (member, role, under),
                             "Grant a predefined role that covers what it needs, then revoke the basic role: %s; or list the member in "
                             "allowed_basic if it is meant to hold it." % revoke, member, role))
    if on_project and role in IMPERSONATION_ROLES:
        found.append(finding("high", "project_wide_impersonation", resource,
                             "%s holds %s on the whole project%s: it can act as every service account of the project" % (member, role, under),
                             "Grant the role on the service accounts it needs (iam_binding with resource {type: service_account, name: EMAIL}), "
                             "then revoke it on the project: %s." % revoke, member, role))
    if member in PUBLIC and not (role == INVOKER and "/services/" in resource):  # a public service is judged by public_service_findings
        found.append(finding("critical", "public_access", resource, "%s holds %s on %s%s: anyone%s can use it"
                             % (member, role, resource, under, "" if member == "allUsers" else " with a Google account"),
                             "Revoke it: %s." % revoke, member, role))
    project = _member_project(member)
    if project and project in p["other_projects"]:
        found.append(finding("high", "other_environment", resource, "%s, of project %s of another environment, holds %s on %s%s"
                             % (member, project, role, resource, under),
                             "Give this environment its own principal, then revoke it: %s." % revoke, member, role))
    return found


def policy_findings(resource, policy, p):
    return [f for binding in policy.get("bindings", []) for member in binding.get("members", [])
            for f in grant_findings(resource, binding["role"], member, binding.get("condition"), p)]


def service_findings(service, policy, p):
    """A Cloud Run service (Google's JSON of run v2) and its policy: its grants, whether it may be public, its ingress."""
    name, region = short_name(service["name"]), service["name"].split("/")[3]
    found = policy_findings(service["name"], policy, p)
    if name not in p["public_services"]:
        for member in sorted({m for b in policy.get("bindings", []) if b["role"] == INVOKER for m in b.get("members", []) if m in PUBLIC}):
            found.append(finding("high", "public_service", service["name"],
                                 "Cloud Run service %s in %s can be invoked by %s, and the environment does not declare it public"
                                 % (name, region, member),
                                 "Revoke it: %s; or add %s to public_services if it is meant to be public."
                                 % (_revoke(service["name"], INVOKER, member, None), name), member, INVOKER))
    if name in p["internal_services"] and service.get("ingress") == "INGRESS_TRAFFIC_ALL":
        found.append(finding("medium", "ingress_all", service["name"],
                             "Cloud Run service %s in %s accepts traffic from the internet (ingress all), and the environment wants it "
                             "internal" % (name, region),
                             "Set ingress: internal (or internal-and-cloud-load-balancing) with orchestra.gcp.cloud_run_service on %s in %s."
                             % (name, region)))
    return found


def key_findings(account, keys, p, now):
    """The user-managed keys of a service account: each a finding, one older than max_key_age_days a higher one."""
    found = []
    for key in key_ages(keys, now):
        age = key["age_days"]
        old = age > p["max_key_age_days"]
        found.append(finding("high" if old else "medium", "service_account_key", "%s/keys/%s" % (account["name"], key["key_id"]),
                             "Service account %s has a user-managed key %s days old%s" % (
                                 account["email"], age, " (older than %d days)" % p["max_key_age_days"] if old else ""),
                             "Use impersonation or workload identity federation instead of a key, then delete it: gcloud iam "
                             "service-accounts keys delete %s --iam-account=%s." % (key["key_id"], account["email"]),
                             "serviceAccount:" + account["email"], age_days=age))
    return found


def findings(state, p, now):
    """Every finding of ``state`` (what ``read_project`` returns) under the options ``p``, the most severe first."""
    found = policy_findings("projects/" + state["project"], state["policy"], p)
    for entry in state["accounts"]:
        found += policy_findings(entry["account"]["name"], entry["policy"], p) + key_findings(entry["account"], entry["keys"], p, now)
    for entry in state["services"]:
        found += service_findings(entry["service"], entry["policy"], p)
    for entry in state["secrets"] + state["buckets"]:
        found += policy_findings(entry["name"], entry["policy"], p)
    return sorted(found, key=lambda f: (SEVERITIES.index(f["severity"]), f["rule"], f["resource"], f["principal"] or "", f["role"] or ""))


def counts(found):
    return {severity: sum(f["severity"] == severity for f in found) for severity in SEVERITIES}


# ---------------------------------------------------------------- the reads

def _policy(session, kind, name):
    return ACCESS[kind][0](session, name, "the IAM policy of %s" % name)


def _json(message):
    return json_format.MessageToDict(type(message).pb(message))


def read_project(session):
    """The project's policy, service accounts with their user-managed keys, Cloud Run services in the regions, the secrets
    (those named, or all) and the Cloud Storage buckets, each with its policy (service accounts too: who may act as them),
    as Google's JSON."""
    p, project = session.params, session.project
    accounts = _accounts(session)
    listed = session.execute_all("list", "the service accounts of project %s" % project,
                                 lambda token: accounts.list(name="projects/" + project, pageToken=token), "accounts")
    state = dict(project=project, policy=_policy(session, "project", "projects/" + project), accounts=[], services=[], secrets=[],
                 buckets=[])
    for account in listed:
        keys = session.execute("list keys of", "service account %s" % account["email"],
                               accounts.keys().list(name=account["name"], keyTypes="USER_MANAGED"), idempotent=True)
        state["accounts"].append(dict(account=account, keys=keys.get("keys", []), policy=_policy(session, "service_account", account["name"])))
    services = session.client(run_v2.ServicesClient)
    for region in p["regions"]:
        for service in session.list("list", "the Cloud Run services of project %s in %s" % (project, region), services.list_services,
                                    parent="projects/%s/locations/%s" % (project, region)):
            state["services"].append(dict(service=_json(service), policy=_policy(session, "cloud_run_service", service.name)))
    if p["secrets"] is None:
        names = [s.name for s in session.list("list", "the secrets of project %s" % project,
                                              session.client(secretmanager_v1.SecretManagerServiceClient).list_secrets,
                                              parent="projects/" + project)]
    else:
        names = ["projects/%s/secrets/%s" % (project, name) for name in p["secrets"]]
    state["secrets"] = [dict(name=name, policy=_policy(session, "secret", name)) for name in names]
    buckets = session.execute_all("list", "the Cloud Storage buckets of project %s" % project,
                                  lambda token: session.discovery("storage", "v1").buckets().list(project=project, pageToken=token), "items")
    state["buckets"] = [dict(name="projects/_/buckets/" + b["name"], policy=_policy(session, "bucket", "projects/_/buckets/" + b["name"]))
                        for b in buckets]
    return state


def audit(session):
    """iam_audit: the findings of the project's IAM, never a change."""
    state = read_project(session)
    found = findings(state, session.params, datetime.datetime.now(datetime.timezone.utc))
    audited = dict(project=state["project"], regions=session.params["regions"],
                   service_accounts=sorted(e["account"]["email"] for e in state["accounts"]),
                   user_managed_keys=sum(len(e["keys"]) for e in state["accounts"]),
                   cloud_run_services=sorted(e["service"]["name"] for e in state["services"]),
                   secrets=sorted(e["name"] for e in state["secrets"]), buckets=sorted(e["name"] for e in state["buckets"]))
    return dict(changed=False, findings=found, counts=counts(found), audited=audited)
