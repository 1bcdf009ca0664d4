# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IAM logic that needs no API: bindings merged per mode on Google's real policies, conditions as part of a binding's
identity, the policy version a write needs, the self-lockout guard, the caller's identity, input validation, and the
backoff of read-modify-write between conflicts."""

from __future__ import annotations

import json
import pathlib
import time

import pytest
from google.auth import impersonated_credentials
from google.auth.credentials import AnonymousCredentials
from google.iam.v1 import policy_pb2
from google.oauth2 import service_account
from google.protobuf import json_format

from ansible_collections.orchestra.gcp.plugins.module_utils import _gcp, _iam
from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError, Session

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "google"
INVOKER = "roles/run.invoker"
ADA, BOB, CI = "user:ada@example.com", "user:bob@example.com", "serviceAccount:ci@orchestra-test.iam.gserviceaccount.com"
UNTIL = dict(title="until-2027", description=None, expression='request.time < timestamp("2027-01-01T00:00:00Z")')


def real(name):
    return json.loads((FIXTURES / name).read_text())["response"]


def binding_params(**overrides):
    p = {k: v.get("default") for k, v in _iam.BINDING_SPEC["argument_spec"].items()}
    p.update(resource=dict(type="cloud_run_service", name="api", region="europe-west1"), role=INVOKER, members=[ADA])
    p.update(overrides)
    return p


def policy_params(**overrides):
    p = {k: v.get("default") for k, v in _iam.POLICY_SPEC["argument_spec"].items()}
    p.update(resource=dict(type="project", name="orchestra-test", region=None), bindings=[])
    p.update(overrides)
    return p


def apply(policy, key, members, mode, state, condition=None):
    want = _iam.wanted_members(_iam.members_of(policy, key), members, mode, state)
    return dict(bindings=_iam.with_binding(policy, key, want, condition))


# ---------------------------------------------------------------- merges on Google's policies

def test_an_empty_real_policy_gains_the_binding_and_holds_it_once():
    empty = real("run_v2_iam_policy_empty.json")
    key = (INVOKER, None)
    once = apply(empty, key, [ADA, "user:ADA@example.com"], "additive", "present")
    assert once["bindings"] == [dict(role=INVOKER, members=[ADA])], "emails compare without case; a member is held once"
    assert apply(once, key, [ADA], "additive", "present") == once


def test_additive_leaves_other_members_and_roles_and_authoritative_makes_the_binding_exact():
    live = real("resourcemanager_project_policy.json")
    agent = live["bindings"][0]
    key = ("roles/viewer", None)
    added = apply(live, key, [ADA, BOB], "additive", "present")
    assert added["bindings"] == [agent, dict(role="roles/viewer", members=[ADA, BOB])]
    assert apply(added, key, [CI], "additive", "present")["bindings"][1]["members"] == [CI, ADA, BOB], "sorted as Google sorts"
    assert apply(added, key, [BOB], "additive", "absent")["bindings"] == [agent, dict(role="roles/viewer", members=[ADA])]
    assert apply(added, key, [CI, "user:Bob@example.com"], "authoritative", "present")["bindings"] == [
        agent, dict(role="roles/viewer", members=[CI, BOB])], "the live spelling of a kept member stays"
    assert apply(added, key, [], "authoritative", "absent")["bindings"] == [agent]
    assert apply(added, key, [ADA, BOB], "additive", "absent")["bindings"] == [agent], "a binding left empty is removed"


def test_a_condition_is_part_of_the_binding_s_identity():
    plain = dict(bindings=[dict(role=INVOKER, members=[ADA])])
    conditional = apply(plain, (INVOKER, _iam.condition_key(UNTIL)), [BOB], "authoritative", "present", UNTIL)
    assert conditional["bindings"] == [dict(role=INVOKER, members=[ADA]),
                                       dict(role=INVOKER, members=[BOB], condition=dict(title=UNTIL["title"], expression=UNTIL["expression"]))]
    # Another description is another binding; authoritative on it leaves the first two alone.
    described = dict(UNTIL, description="through 2026")
    assert _iam.condition_key(described) != _iam.condition_key(UNTIL)
    assert _iam.condition_key(dict(UNTIL, description="")) == _iam.condition_key(UNTIL), "no description is an empty one"
    third = apply(conditional, (INVOKER, _iam.condition_key(described)), [CI], "authoritative", "present", described)
    assert [b["members"] for b in third["bindings"]] == [[ADA], [BOB], [CI]]
    assert _iam.members_of(third, (INVOKER, None)) == [ADA]


def test_duplicate_bindings_from_google_are_read_as_one_and_written_as_one():
    policy = dict(bindings=[dict(role=INVOKER, members=[ADA]), dict(role="roles/run.viewer", members=[BOB]),
                            dict(role=INVOKER, members=[CI, ADA])])
    assert _iam.members_of(policy, (INVOKER, None)) == [ADA, CI]
    assert apply(policy, (INVOKER, None), [BOB], "additive", "present")["bindings"] == [
        dict(role=INVOKER, members=[CI, ADA, BOB]), dict(role="roles/run.viewer", members=[BOB])]


def test_the_version_written_is_3_with_a_condition_before_or_after():
    plain, conditional = real("resourcemanager_project_policy.json"), dict(bindings=[dict(role=INVOKER, members=[ADA], condition=UNTIL)])
    assert _iam.policy_version(plain) == 1 and _iam.policy_version(real("run_v2_iam_policy_empty.json")) == 1
    assert _iam.policy_version(conditional) == 3
    # Removing the last conditional binding of a version 3 policy is still a version 3 write: Google refuses a lower one.
    assert "cannot be less than the existing policy version (3)" in real("resourcemanager_set_policy_version_below_existing.json")["error"]["message"]
    assert _iam.policy_version(plain, conditional) == 3


def test_a_real_policy_round_trips_through_the_client_s_message():
    """What the client libraries read (a google.iam.v1.Policy) becomes Google's JSON, and back, unchanged."""
    live = real("resourcemanager_project_policy.json")
    message = json_format.ParseDict(live, policy_pb2.Policy())
    assert message.etag == b"\x07\x05\xb0\x1a\xe2\x96\xb5\x51" and json_format.MessageToDict(message) == live


def test_policies_compare_by_binding_identity_and_audit_configs_by_service():
    live = dict(bindings=[dict(role=INVOKER, members=["user:Ada@Example.com", BOB])])
    assert _iam.normal_bindings(live["bindings"]) == _iam.normal_bindings(_iam._as_bindings([dict(role=INVOKER, members=[BOB, ADA], condition=None)]))
    assert _iam.normal_bindings([dict(role=INVOKER, members=[])]) == {}
    logs = [dict(log_type="DATA_READ", exempted_members=[CI]), dict(log_type="ADMIN_READ", exempted_members=[])]
    config = _iam._audit_config("secretmanager.googleapis.com", logs)
    assert config == dict(service="secretmanager.googleapis.com",
                          auditLogConfigs=[dict(logType="ADMIN_READ"), dict(logType="DATA_READ", exemptedMembers=[CI])])
    assert _iam.normal_audit([config]) == {"secretmanager.googleapis.com": {"ADMIN_READ": [], "DATA_READ": [CI]}}


# ---------------------------------------------------------------- resources

@pytest.mark.parametrize("resource, name", [
    (dict(type="cloud_run_service", name="api", region="europe-west1"), "projects/orchestra-p1/locations/europe-west1/services/api"),
    (dict(type="cloud_run_service", name="projects/x/locations/us-east1/services/api"), "projects/x/locations/us-east1/services/api"),
    (dict(type="secret", name="redis-password"), "projects/orchestra-p1/secrets/redis-password"),
    (dict(type="project"), "projects/orchestra-p1"),
    (dict(type="project", name="other-project"), "projects/other-project"),
    (dict(type="service_account", name="deployer"), "projects/orchestra-p1/serviceAccounts/deployer@orchestra-p1.iam.gserviceaccount.com"),
    (dict(type="service_account", name="123-compute@developer.gserviceaccount.com"),
     "projects/-/serviceAccounts/123-compute@developer.gserviceaccount.com"),
    (dict(type="service_account", name="projects/x/serviceAccounts/112233445566778899"), "projects/x/serviceAccounts/112233445566778899"),
])
def test_resources_are_named_in_full(resource, name):
    assert _iam.resource_name(dict(dict(name=None, region=None), **resource), "orchestra-p1") == (name, [])


# ---------------------------------------------------------------- validation before any call

BAD_BINDINGS = [
    (dict(members=["deleted:user:ada@example.com?uid=123"]), "is a deleted principal"),
    (dict(members=["ada@example.com"]), "must be user:EMAIL"),
    (dict(members=["user:ada"]), "must be user:EMAIL"),
    (dict(members=["serviceAccount:ci@"]), "must be user:EMAIL"),
    (dict(members=["domain:"]), "must be user:EMAIL"),
    (dict(members=["principal://"]), "must be user:EMAIL"),
    (dict(members=["alluser"]), "must be user:EMAIL"),
    (dict(members=["projectOwner:orchestra-test"]), "must be user:EMAIL"),
    (dict(resource=dict(type="project", name="orchestra-test", region=None), members=["allUsers"]), "cannot be granted on a project"),
    (dict(resource=dict(type="project", name="orchestra-test", region=None), members=["allAuthenticatedUsers"]), "cannot be granted on a project"),
    (dict(role="run.invoker"), "role 'run.invoker' must be roles/NAME"),
    (dict(role="projects/p/roles/x"), "role 'projects/p/roles/x'"),
    (dict(role="roles/run invoker"), "must be roles/NAME"),
    (dict(condition=dict(title=None, description=None, expression="true")), "condition needs a title"),
    (dict(condition=dict(title="t", description=None, expression=None)), "condition needs an expression"),
    (dict(role="roles/editor", condition=dict(UNTIL)), "role roles/editor cannot have a condition"),
    (dict(members=[]), "members must name at least one member"),
    (dict(members=[], mode="additive", state="absent"), "members must name at least one member"),
    (dict(resource=dict(type="cloud_run_service", name="api", region=None)), "resource region is required"),
    (dict(resource=dict(type="cloud_run_service", name="Api_1", region="us-east1")), "Cloud Run service name 'Api_1'"),
    (dict(resource=dict(type="cloud_run_service", name="projects/p/locations/us-east1/services/api", region="europe-west1")),
     "differs from the region"),
    (dict(resource=dict(type="secret", name=None, region=None)), "resource name is required"),
    (dict(resource=dict(type="secret", name="projects/p/secrets"), region=None), "neither a short name nor a full secret name"),
    (dict(resource=dict(type="service_account", name="Not An Account", region=None)), "service account 'Not An Account'"),
    (dict(resource=dict(type="project", name="P", region=None)), "project 'P' is not a project ID"),
]


@pytest.mark.parametrize("overrides, message", BAD_BINDINGS, ids=[m for _unused, m in BAD_BINDINGS])
def test_bad_binding_input_is_refused_with_what_is_wrong(overrides, message):
    p = binding_params(**overrides)
    name, problems = _iam.resource_name(p["resource"], "p1")
    problems += _iam.binding_param_problems(p, p["resource"]["type"])
    assert any(message in problem for problem in problems), problems


def test_good_members_and_roles_pass():
    members = [ADA, CI, "group:team@example.com", "domain:example.com", "allUsers", "allAuthenticatedUsers",
               "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/subject/repo:o/r",
               "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/*"]
    for role in ("roles/run.invoker", "projects/orchestra-test/roles/deployer", "organizations/123/roles/auditor"):
        assert _iam.binding_param_problems(binding_params(role=role, members=members, condition=UNTIL), "secret") == []
    assert _iam.binding_param_problems(binding_params(members=[], mode="authoritative", state="absent"), "secret") == []


def test_several_bindings_are_checked_each_and_a_role_and_condition_once():
    def entry(**fields):
        return dict(dict(role=INVOKER, members=[ADA], condition=None, mode=None, state=None), **fields)
    p = binding_params(role=None, members=None, bindings=[
        entry(), entry(role="run.invoker"), entry(members=[], mode="authoritative", state="absent"), entry(members=[]),
        entry(members=[BOB], mode="authoritative"), entry(condition=UNTIL), entry(condition=UNTIL, members=["ada"])])
    assert _iam.binding_param_problems(p, "cloud_run_service") == [
        "bindings[1] role 'run.invoker' must be roles/NAME, projects/PROJECT/roles/NAME or organizations/ORGANIZATION/roles/NAME",
        "bindings[3] members must name at least one member (mode=authoritative with state=absent removes the whole binding)",
        "bindings[6] member 'ada' must be user:EMAIL, serviceAccount:EMAIL, group:EMAIL, domain:DOMAIN, principal://..., "
        "principalSet://..., allUsers or allAuthenticatedUsers",
        "bindings name role roles/run.invoker with condition 'until-2027' more than once: list its members once",
        "bindings name role roles/run.invoker more than once: list its members once",
    ]
    # An entry's mode and state default to the task's.
    assert [(e["mode"], e["state"]) for e in _iam.binding_entries(dict(p, state="present"))][2:5] == [
        ("authoritative", "absent"), ("additive", "present"), ("authoritative", "present")]


def test_every_problem_of_a_policy_is_named():
    p = policy_params(resource=dict(type="secret", name="s", region=None),
                      bindings=[dict(role="roles/secretmanager.secretAccessor", members=[ADA], condition=None),
                                dict(role="roles/secretmanager.secretAccessor", members=["user:ADA@example.com"], condition=None),
                                dict(role="roles/viewer", members=["deleted:user:x@example.com"], condition=UNTIL)],
                      audit_configs=[dict(service="secretmanager", log_configs=[dict(log_type="DATA_READ", exempted_members=["nobody"]),
                                                                                dict(log_type="DATA_READ", exempted_members=[])])])
    problems = _iam.policy_param_problems(p, "secret")
    for expected in ("bindings name role roles/secretmanager.secretAccessor more than once", "bindings[2] member 'deleted:",
                     "bindings[2] role roles/viewer cannot have a condition", "audit_configs are a project's",
                     "audit_configs[0] service 'secretmanager'", "log type DATA_READ is listed twice", "DATA_READ exempted member 'nobody'"):
        assert any(expected in problem for problem in problems), (expected, problems)
    audit = dict(service="allServices", log_configs=[], state="present")
    assert _iam.audit_param_problems(audit, "project") == [
        "log_configs must name at least one log type (state=absent removes the service's audit config)"]
    assert _iam.audit_param_problems(dict(audit, state="absent"), "project") == []


# ---------------------------------------------------------------- the caller and the self-lockout guard

def test_the_caller_is_the_key_s_or_the_impersonated_account_and_unknown_otherwise(sa_info):
    key = service_account.Credentials.from_service_account_info(sa_info("p1", "deployer@p1.iam.gserviceaccount.com"))
    assert _iam.caller_member(key) == "serviceAccount:deployer@p1.iam.gserviceaccount.com"
    acting = impersonated_credentials.Credentials(source_credentials=key, target_principal="admin@p1.iam.gserviceaccount.com",
                                                  target_scopes=[_gcp.CLOUD_PLATFORM_SCOPE])
    assert _iam.caller_member(acting) == "serviceAccount:admin@p1.iam.gserviceaccount.com"
    assert _iam.caller_member(AnonymousCredentials()) is None


def test_the_guard_refuses_only_a_policy_that_takes_the_caller_s_admin_role():
    before = dict(bindings=[dict(role="roles/owner", members=[ADA]), dict(role="roles/resourcemanager.projectIamAdmin", members=[CI])])
    without_ci = dict(bindings=[dict(role="roles/owner", members=[ADA])])
    assert "removes the caller, %s" % CI in _iam.lockout_problem("project", before, without_ci, CI)
    assert _iam.lockout_problem("project", before, without_ci, ADA) is None, "someone else's admin role may go"
    moved = dict(bindings=[dict(role="roles/iam.securityAdmin", members=[CI.upper().replace("SERVICEACCOUNT", "serviceAccount")])])
    assert _iam.lockout_problem("project", before, moved, CI) is None, "another admin role, the email in other case"
    assert _iam.lockout_problem("secret", before, without_ci, CI) is None, "projectIamAdmin does not set a secret's policy"
    unknown = _iam.lockout_problem("project", before, without_ci, None)
    assert CI in unknown and "one of them may be the caller" in unknown
    assert _iam.lockout_problem("project", before, before, None) is None


# ---------------------------------------------------------------- conflicts: backoff and a clear end

def test_conflicts_back_off_and_fail_clearly_after_the_bound(auth_params, monkeypatch):
    pauses = []
    monkeypatch.setattr(time, "sleep", pauses.append)
    session = Session(dict(auth_params(project="p", api_endpoint="http://127.0.0.1:1"), wait=True, wait_timeout=60))
    reads = []

    def stale(current, change):
        raise GcpError("Failed to set the IAM policy of projects/p: ABORTED (409): There were concurrent policy changes.", status="ABORTED")
    with pytest.raises(GcpError) as raised:
        session.read_modify_write("the IAM policy of projects/p", lambda: reads.append(1) or {}, lambda current: ({}, None), stale,
                                  conflicts=_iam.CONFLICTS, attempts=4)
    assert len(reads) == 4 and len(pauses) == 3 and raised.value.status == "ABORTED"
    assert "Gave up after 4 attempts, each on the IAM policy of projects/p read again" in raised.value.msg
    assert "Nothing of this change was applied" in raised.value.msg
    caps = [_gcp.RETRY_INITIAL * _gcp.RETRY_MULTIPLIER ** n for n in range(3)]
    assert all(0 <= pause <= cap for pause, cap in zip(pauses, caps))
    assert max(_gcp.conflict_pause(30) for _unused in range(50)) <= _gcp.RETRY_MAXIMUM


# ---------------------------------------------------------------- Cloud Storage buckets

@pytest.mark.parametrize("name", ["backups", "orchestra-prod_redis.backups", "abc", "0-9", "a" * 63, "projects/_/buckets/orchestra-backups"])
def test_buckets_are_named_by_their_global_name(name):
    assert _iam.resource_name(dict(type="bucket", name=name, region=None), "p1") == ("projects/_/buckets/" + name.rsplit("/", 1)[-1], [])


BAD_BUCKETS = [
    ("ab", "bucket name 'ab' must have 3 to 63"),
    ("a" * 64, "must have 3 to 63"),
    ("Backups", "bucket name 'Backups'"),
    ("-backups", "start and end with a letter or digit"),
    ("backups.", "start and end with a letter or digit"),
    ("back..ups", "bucket name 'back..ups'"),
    ("back ups", "bucket name 'back ups'"),
    ("projects/_/buckets/Bad", "bucket name 'Bad'"),
    ("projects/p1/buckets/backups", "neither a short name nor a full bucket name like projects/_/buckets/*"),
    ("b/backups", "neither a short name nor a full bucket name"),
    (None, "resource name is required for a bucket"),
]


@pytest.mark.parametrize("name, message", BAD_BUCKETS, ids=[m for _unused, m in BAD_BUCKETS])
def test_bad_bucket_names_are_refused_with_the_rules(name, message):
    found, problems = _iam.resource_name(dict(type="bucket", name=name, region=None), "p1")
    assert found is None and any(message in problem for problem in problems), problems


def test_a_bucket_takes_public_and_its_project_s_convenience_members_and_guards_storage_admins():
    bucket = dict(type="bucket", name="backups", region=None)
    members = ["allUsers", "allAuthenticatedUsers", "projectOwner:orchestra-test", "projectViewer:123456789012", CI]
    assert _iam.binding_param_problems(binding_params(resource=bucket, role="roles/storage.objectViewer", members=members), "bucket") == []
    assert _iam.binding_param_problems(binding_params(resource=bucket, members=["projectOwner:Not A Project"]), "bucket") != []
    before = real("storage_bucket_iam_policy.json")
    with_admin = dict(before, bindings=before["bindings"] + [dict(role="roles/storage.admin", members=[CI])])
    assert "removes the caller, %s" % CI in _iam.lockout_problem("bucket", with_admin, before, CI)
    assert _iam.lockout_problem("bucket", before, with_admin, CI) is None


def test_a_real_bucket_policy_keeps_its_legacy_bindings_when_a_role_is_made_exact():
    policy = real("storage_bucket_iam_policy.json")
    key = ("roles/storage.objectAdmin", None)
    changed = apply(policy, key, [CI], "authoritative", "present")
    assert changed["bindings"] == policy["bindings"] + [dict(role="roles/storage.objectAdmin", members=[CI])]
    assert _iam.policy_version(changed, policy) == 1
    assert _iam.members_of(changed, ("roles/storage.legacyBucketReader", None)) == ["projectViewer:forseti-system-test"]
