"""iam_binding, iam_policy and iam_audit_config through ansible-runner against the emulator's IAM policies of Cloud
Run services, secrets, projects, service accounts and buckets; what the policies hold is read with the official clients."""

import threading
import time
import uuid

import httplib2
import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import resourcemanager_v3, run_v2
from google.iam.v1 import iam_policy_pb2, options_pb2, policy_pb2
from google.protobuf import json_format
from googleapiclient import discovery

from test_cloud_run_service import IMAGE
from test_rotation import client as secret_manager
from test_tokens import key_file  # noqa: F401 pylint: disable=unused-import

ACCESSOR, INVOKER = "roles/secretmanager.secretAccessor", "roles/run.invoker"
MANAGER, ADDER = "roles/secretmanager.secretVersionManager", "roles/secretmanager.secretVersionAdder"
ADA, BOB, EVE = "user:ada@example.com", "user:bob@example.com", "user:eve@example.com"
CI = "serviceAccount:ci@orchestra-test.iam.gserviceaccount.com"
OWNER = "user:owner@example.com"  # the emulator's owner of a project nobody wrote a policy for
UNTIL = {"title": "until-2027", "expression": 'request.time < timestamp("2027-01-01T00:00:00Z")'}


def four(label, task):
    """check, apply, check, apply of one task, named after ``label``."""
    return [dict(task, name="%s %s" % (label, step), check_mode=step.startswith("check"))
            for step in ("check 1", "apply 1", "check 2", "apply 2")]


def assert_four(play, label):
    assert [play.task("%s %s" % (label, step))["changed"] for step in ("check 1", "apply 1", "check 2", "apply 2")] == [True, True, False, False]


def binding(resource, role, members, **options):
    return {"orchestra.gcp.iam_binding": dict(resource=resource, role=role, members=members, **options)}


def policy_client(backend, kind):
    options = ClientOptions(api_endpoint=backend.endpoint)
    if kind == "secret":
        return secret_manager(backend)
    if kind == "project":
        return resourcemanager_v3.ProjectsClient(transport="rest", credentials=AnonymousCredentials(), client_options=options)
    return backend.services


def live(backend, kind, name):
    """The policy as Google's JSON shows it, read at version 3."""
    request = iam_policy_pb2.GetIamPolicyRequest(resource=name, options=options_pb2.GetPolicyOptions(requested_policy_version=3))
    return json_format.MessageToDict(policy_client(backend, kind).get_iam_policy(request=request))


def grant(backend, kind, name, bindings):
    """Another writer's read-modify-write with the official client: ``bindings`` added to the policy."""
    current = policy_client(backend, kind).get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(
        resource=name, options=options_pb2.GetPolicyOptions(requested_policy_version=3)))
    current.bindings.extend(json_format.ParseDict(b, policy_pb2.Binding()) for b in bindings)
    current.version = 3
    policy_client(backend, kind).set_iam_policy(request=iam_policy_pb2.SetIamPolicyRequest(resource=name, policy=current))


def accounts(backend):
    """IAM's service accounts with google-api-python-client (google-cloud-iam has no REST transport)."""
    return discovery.build("iam", "v1", static_discovery=True, http=httplib2.Http(),
                           client_options={"api_endpoint": backend.endpoint}).projects().serviceAccounts()


def buckets(backend):
    """Cloud Storage's buckets with google-api-python-client (api_endpoint is its base: the root and the service path)."""
    return discovery.build("storage", "v1", static_discovery=True, http=httplib2.Http(),
                           client_options={"api_endpoint": backend.endpoint + "/storage/v1/"}).buckets()


def members(policy, role, condition=None):
    return sorted(m for b in policy.get("bindings", []) if b["role"] == role and b.get("condition") == condition for m in b["members"])


def make_secret(backend):
    name = backend.name("iam")
    secret_manager(backend).create_secret(parent="projects/%s" % backend.project, secret_id=name,
                                          secret={"replication": {"automatic": {}}})
    return name, "projects/%s/secrets/%s" % (backend.project, name)


def set_calls(backend, since):
    return [c["status"] for c in backend.emulator.log()[since:] if c["path"].endswith(":setIamPolicy")]


def test_bindings_per_mode_and_condition_on_a_service_and_a_secret(emulated):
    service = emulated.name("iam")
    template = run_v2.RevisionTemplate(containers=[run_v2.Container(image=IMAGE % "1.0.0")])
    emulated.services.create_service(parent="projects/%s/locations/%s" % (emulated.project, emulated.region), service_id=service,
                                     service=run_v2.Service(template=template)).result()
    on_service = {"type": "cloud_run_service", "name": service, "region": "{{ region }}"}
    secret, secret_path = make_secret(emulated)
    on_secret = {"type": "secret", "name": secret}
    grant(emulated, "secret", secret_path, [{"role": ACCESSOR, "members": [ADA, BOB, CI]},
                                            {"role": ACCESSOR, "members": [BOB], "condition": UNTIL},
                                            {"role": "roles/secretmanager.viewer", "members": [BOB]}])
    account = emulated.name("sa")
    accounts(emulated).create(name="projects/%s" % emulated.project, body={"accountId": account}).execute()
    email = "%s@%s.iam.gserviceaccount.com" % (account, emulated.project)
    described = dict(UNTIL, description="the contract's end")
    bucket = "it-backups-%s" % uuid.uuid4().hex[:6]
    buckets(emulated).insert(project=emulated.project, body={"name": bucket}).execute()
    backups = "serviceAccount:backup@%s.iam.gserviceaccount.com" % emulated.project
    play = emulated.run(
        four("additive", binding(on_service, INVOKER, [ADA, "user:Bob@example.com"]))
        + four("authoritative", binding(on_secret, ACCESSOR, [ADA, EVE], mode="authoritative"))
        + four("conditional", binding(on_service, INVOKER, [CI], condition=UNTIL))
        + four("described", binding(on_service, INVOKER, [EVE], condition=described, mode="authoritative"))
        + four("revoked", binding(on_service, INVOKER, [ADA], state="absent"))
        + four("removed", binding(on_secret, ACCESSOR, [], condition=UNTIL, mode="authoritative", state="absent"))
        + four("account", binding({"type": "service_account", "name": account}, "roles/iam.serviceAccountUser", [ADA]))
        + four("account by email", binding({"type": "service_account", "name": email}, "roles/iam.serviceAccountUser", [BOB]))
        + four("several", {"orchestra.gcp.iam_binding": dict(resource=on_secret, bindings=[
            {"role": MANAGER, "members": [EVE]}, {"role": ADDER, "members": [ADA], "condition": UNTIL}])})
        + four("bucket", binding({"type": "bucket", "name": "projects/_/buckets/" + bucket}, "roles/storage.objectAdmin", [backups],
                                 mode="authoritative")))
    assert play.rc == 0, play.stdout
    for label in ("additive", "authoritative", "conditional", "described", "revoked", "removed", "account", "account by email", "several", "bucket"):
        assert_four(play, label)

    # Additive: a binding of the members given, as the check predicted; the diff is that binding's.
    assert play.task("additive check 1")["diff"] == {"before": {}, "after": {"role": INVOKER, "members": ["user:Bob@example.com", ADA]}}
    assert play.task("additive apply 1")["added"] == ["user:Bob@example.com", ADA]
    # Authoritative: exactly the unlisted members of that role without a condition go; the conditional binding of the
    # same role and the other role stay.
    assert (play.task("authoritative apply 1")["removed"], play.task("authoritative apply 1")["added"]) == ([CI, BOB], [EVE])
    after = live(emulated, "secret", secret_path)
    assert members(after, ACCESSOR) == [ADA, EVE] and members(after, "roles/secretmanager.viewer") == [BOB]
    assert members(after, ACCESSOR, UNTIL) == [], "removed at the end by its own authoritative absent"
    assert play.task("removed apply 1")["removed"] == [BOB] and play.task("removed apply 1")["binding"] is None
    # Several bindings in one task: each reported, both in the diff, both in the policy.
    several = play.task("several apply 1")
    assert [(b["role"], b["added"]) for b in several["bindings"]] == [(MANAGER, [EVE]), (ADDER, [ADA])]
    assert several["diff"] == {"before": [], "after": [{"role": MANAGER, "members": [EVE]}, {"role": ADDER, "members": [ADA], "condition": UNTIL}]}
    assert members(after, MANAGER) == [EVE] and members(after, ADDER, UNTIL) == [ADA]
    # A condition makes another binding, and a changed condition yet another; the policy became version 3.
    policy = live(emulated, "cloud_run_service", emulated.path(service))
    assert policy["version"] == 3
    assert members(policy, INVOKER) == ["user:Bob@example.com"], "ADA revoked, the member given in another case kept"
    assert members(policy, INVOKER, UNTIL) == [CI] and members(policy, INVOKER, described) == [EVE]
    assert play.task("described check 1")["diff"]["before"] == {}
    # A service account named by its ID in the project or by its email: one policy.
    assert play.task("account by email apply 1")["resource"] == "projects/-/serviceAccounts/" + email
    policy = accounts(emulated).getIamPolicy(resource="projects/-/serviceAccounts/" + email, options_requestedPolicyVersion=3).execute()
    assert members(policy, "roles/iam.serviceAccountUser") == [ADA, BOB]
    # A bucket: the role made exact for the backup account alone, the legacy convenience bindings of a new bucket kept.
    assert play.task("bucket apply 1")["resource"] == "projects/_/buckets/" + bucket
    policy = buckets(emulated).getIamPolicy(bucket=bucket, optionsRequestedPolicyVersion=3).execute()
    assert members(policy, "roles/storage.objectAdmin") == [backups]
    assert members(policy, "roles/storage.legacyBucketOwner") == ["projectEditor:" + emulated.project, "projectOwner:" + emulated.project]
    assert members(policy, "roles/storage.legacyBucketReader") == ["projectViewer:" + emulated.project]


@pytest.mark.one_core
def test_a_concurrent_writer_is_kept_and_a_conflict_that_never_clears_fails_after_the_bound(emulated):
    secret, secret_path = make_secret(emulated)
    task = [dict(name="grant", **binding({"type": "secret", "name": secret}, ACCESSOR, [ADA]))]

    # Another writer sets the policy while our setIamPolicy is held: ours is refused on its stale etag, read again
    # and applied on top of theirs.
    since = len(emulated.emulator.log())
    emulated.emulator.admin("faults", {"method": "POST", "path": ":setIamPolicy$", "latency": 2, "status": 0, "count": 1})
    runs = []
    runner = threading.Thread(target=lambda: runs.append(emulated.run(task)))
    runner.start()
    deadline = time.monotonic() + 120
    while emulated.emulator.state()["admin"]["faults"]:
        assert runner.is_alive() and time.monotonic() < deadline, "the task never set the policy"
        time.sleep(0.05)
    grant(emulated, "secret", secret_path, [{"role": ACCESSOR, "members": [BOB]}])
    runner.join()
    assert runs[0].rc == 0, runs[0].stdout
    assert members(live(emulated, "secret", secret_path), ACCESSOR) == [ADA, BOB]
    assert set_calls(emulated, since) == [200, 409, 200], "theirs, our stale one, ours again"

    # 50 trials: in each, another writer's change lands between a grant's read and its write; both are kept.
    since = len(emulated.emulator.log())
    emulated.emulator.admin("policy-writers", {"resource": "/secrets/%s$" % secret, "role": "roles/secretmanager.viewer",
                                               "count": 50, "every": 2})  # every grant's first write, not the one after it
    ours = ["user:trial-%02d@example.com" % number for number in range(50)]
    play = emulated.run([dict(task[0], loop=ours, **binding({"type": "secret", "name": secret}, ACCESSOR, ["{{ item }}"]))])
    assert play.rc == 0, play.stdout
    after = live(emulated, "secret", secret_path)
    assert members(after, ACCESSOR) == sorted([ADA, BOB] + ours)
    assert len(members(after, "roles/secretmanager.viewer")) == 50, "every other writer's member kept"
    assert set_calls(emulated, since) == [409, 200] * 50

    # A conflict that never clears: three attempts, each read again, then a failure that says so; nothing changed.
    since = len(emulated.emulator.log())
    emulated.emulator.admin("faults", {"method": "POST", "path": ":setIamPolicy$", "status": 409, "count": 10})
    play = emulated.run([dict(task[0], **binding({"type": "secret", "name": secret}, ACCESSOR, [EVE]))])
    failure = play.task("grant")
    assert failure["_failed"] and "ABORTED (409)" in failure["msg"], failure["msg"]
    assert "Gave up after 3 attempts, each on the IAM policy of %s read again" % secret_path in failure["msg"]
    assert set_calls(emulated, since) == [409, 409, 409]
    assert members(live(emulated, "secret", secret_path), ACCESSOR) == sorted([ADA, BOB] + ours)


@pytest.mark.one_core
def test_bad_input_is_refused_before_any_change(emulated):
    secret, _path = make_secret(emulated)
    on_secret = {"type": "secret", "name": secret}
    on_project = {"type": "project"}
    cases = [
        ("deleted member", binding(on_secret, ACCESSOR, ["deleted:user:ada@example.com?uid=1"]), "is a deleted principal"),
        ("member without a kind", binding(on_secret, ACCESSOR, ["ada@example.com"]), "must be user:EMAIL"),
        ("public project", binding(on_project, "roles/viewer", ["allUsers"]), "cannot be granted on a project"),
        ("conditional basic role", binding(on_project, "roles/editor", [ADA], condition=UNTIL), "cannot have a condition"),
        ("condition without title", binding(on_secret, ACCESSOR, [ADA], condition={"expression": "true"}), "condition needs a title"),
        ("bad role", binding(on_secret, "secretAccessor", [ADA]), "role 'secretAccessor' must be roles/NAME"),
        ("service without region", binding({"type": "cloud_run_service", "name": "api"}, INVOKER, [ADA]), "resource region is required"),
        ("audit configs of a secret", {"orchestra.gcp.iam_policy": {"resource": on_secret, "bindings": [],
                                                                    "audit_configs": [{"service": "allServices"}]}},
         "audit_configs are a project's"),
        ("bad exempted member", {"orchestra.gcp.iam_audit_config": {"service": "allServices", "log_configs": [
            {"log_type": "DATA_READ", "exempted_members": ["deleted:user:x@example.com"]}]}}, "DATA_READ exempted member"),
        ("condition without expression", binding(on_secret, ACCESSOR, [ADA], condition={"title": "t"}), "condition needs an expression"),
        ("all authenticated on a project", binding(on_project, "roles/viewer", ["allAuthenticatedUsers"]), "cannot be granted on a project"),
        ("bad service name", binding({"type": "cloud_run_service", "name": "Api_1", "region": "us-central1"}, INVOKER, [ADA]),
         "Cloud Run service name 'Api_1' must hold"),
        ("bad secret name", binding({"type": "secret", "name": "a.b"}, ACCESSOR, [ADA]), "secret name 'a.b' must hold"),
        ("bad full name", binding({"type": "secret", "name": "a/b"}, ACCESSOR, [ADA]), "nor a full secret name like projects/*/secrets/*"),
        ("bad service account", binding({"type": "service_account", "name": "x@"}, "roles/iam.serviceAccountUser", [ADA]),
         "service account 'x@' must be an email or an account ID"),
        ("no members", binding(on_secret, ACCESSOR, []), "members must name at least one member"),
        ("bad audit service", {"orchestra.gcp.iam_audit_config": {"service": "secretmanager", "log_configs": [{"log_type": "DATA_READ"}]}},
         "service 'secretmanager' must be allServices or an API"),
        ("log type twice", {"orchestra.gcp.iam_audit_config": {"service": "allServices", "log_configs": [
            {"log_type": "DATA_READ"}, {"log_type": "DATA_READ"}]}}, "log type DATA_READ is listed twice"),
        ("a role twice in a policy", {"orchestra.gcp.iam_policy": {"resource": on_secret, "bindings": [
            {"role": ACCESSOR, "members": [ADA]}, {"role": ACCESSOR, "members": [BOB]}]}}, "bindings name role " + ACCESSOR + " more than once"),
        ("bad bucket name", binding({"type": "bucket", "name": "Redis_Backups"}, "roles/storage.objectAdmin", [ADA]),
         "bucket name 'Redis_Backups' must have 3 to 63"),
        ("bucket in a project", binding({"type": "bucket", "name": "projects/p/buckets/backups"}, "roles/storage.objectAdmin", [ADA]),
         "nor a full bucket name like projects/_/buckets/*"),
        ("a role twice in a task", {"orchestra.gcp.iam_binding": {"resource": on_secret, "bindings": [
            {"role": ACCESSOR, "members": [ADA]}, {"role": ACCESSOR, "members": [BOB], "state": "absent"}]}},
         "bindings name role " + ACCESSOR + " more than once"),
    ]
    assert len(cases) >= 15
    since = len(emulated.emulator.log())
    play = emulated.run([dict(name=label, ignore_errors=True, **task) for label, task, _unused in cases])
    for label, _unused, message in cases:
        result = play.task(label)
        assert result["_failed"] and message in result["msg"], (label, result["msg"])
        assert "Nothing was changed" in result["msg"] and "Invalid parameters for the IAM policy of" in result["msg"], label
    assert emulated.emulator.log()[since:] == []


def test_a_project_policy_its_audit_configs_and_the_self_lockout_guard(emulated, key_file):  # noqa: F811 pylint: disable=redefined-outer-name
    project = "projects/%s" % emulated.project
    audit = {"orchestra.gcp.iam_audit_config": {"service": "secretmanager.googleapis.com", "log_configs": [
        {"log_type": "DATA_READ", "exempted_members": [CI]}, {"log_type": "ADMIN_READ"}]}}
    as_ci = {"service_account_file": key_file()}  # the caller is serviceAccount:ci@..., from its key
    admin = {"role": "roles/resourcemanager.projectIamAdmin", "members": [CI]}
    play = emulated.run(four("audit", audit) + [
        dict(name="admin", **binding({"type": "project"}, admin["role"], admin["members"])),
        # Anonymous credentials do not say who they are: removing the owner may lock the caller out.
        dict(name="anonymous", ignore_errors=True, **{"orchestra.gcp.iam_policy": {"resource": {"type": "project"}, "bindings": [admin]}}),
        # With the key, the caller is known: removing the owner is allowed, removing the caller is not unless asked.
        dict(name="keeps caller", **{"orchestra.gcp.iam_policy": dict(as_ci, resource={"type": "project", "name": emulated.project},
                                                                      bindings=[admin, {"role": "roles/viewer", "members": [ADA]}])}),
        dict(name="drops caller", ignore_errors=True, **{"orchestra.gcp.iam_policy": dict(
            as_ci, resource={"type": "project"}, bindings=[{"role": "roles/viewer", "members": [ADA]}], audit_configs=[])}),
        dict(name="drops caller on purpose", **{"orchestra.gcp.iam_policy": dict(
            as_ci, resource={"type": "project"}, bindings=[{"role": "roles/viewer", "members": [ADA]}], audit_configs=[],
            allow_self_lockout=True)}),
    ])
    assert play.rc == 0, play.stdout
    assert_four(play, "audit")
    assert play.task("audit check 1")["diff"]["after"] == {"service": "secretmanager.googleapis.com", "auditLogConfigs": [
        {"logType": "ADMIN_READ"}, {"logType": "DATA_READ", "exemptedMembers": [CI]}]}
    assert OWNER in play.task("anonymous")["msg"] and "one of them may be the caller" in play.task("anonymous")["msg"]
    keeps = play.task("keeps caller")
    assert keeps["changed"] and keeps["policy"]["auditConfigs"][0]["service"] == "secretmanager.googleapis.com", "audit configs kept"
    assert "removes the caller, %s" % CI in play.task("drops caller")["msg"]
    assert play.task("drops caller on purpose")["changed"]
    final = live(emulated, "project", project)
    assert [(b["role"], b["members"]) for b in final["bindings"]] == [("roles/viewer", [ADA])] and "auditConfigs" not in final
