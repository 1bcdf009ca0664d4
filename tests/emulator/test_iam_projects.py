"""Projects of Resource Manager v3 with the official client (REST): projects.get and the project IAM policy rules
(audit configs under updateMask, policy versions, public members, member forms, limits), checked against
Google's real answers (tests/fixtures/google/resourcemanager_*.json, iam_concurrent_policy_changes.json)."""

import base64
import json
import pathlib

import pytest
import requests
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import resourcemanager_v3
from google.iam.v1 import iam_policy_pb2, options_pb2, policy_pb2
from google.protobuf import field_mask_pb2
from google.type import expr_pb2

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google"
OWNER = policy_pb2.Binding(role="roles/owner", members=["user:owner@example.com"])


def fixture(name):
    return json.loads((FIXTURES / name).read_text())["response"]


@pytest.fixture
def projects(emulator):
    return resourcemanager_v3.ProjectsClient(transport="rest", credentials=AnonymousCredentials(),
                                             client_options={"api_endpoint": emulator.endpoint})


def get_policy(projects, project="projects/demo", version=0):
    return projects.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(
        resource=project, options=options_pb2.GetPolicyOptions(requested_policy_version=version)))


def set_policy(projects, policy, mask=None, project="projects/demo"):
    request = iam_policy_pb2.SetIamPolicyRequest(resource=project, policy=policy)
    if mask:
        request.update_mask.CopyFrom(field_mask_pb2.FieldMask(paths=mask))
    return projects.set_iam_policy(request=request)


def raw_set(emulator, policy, project="demo"):
    return requests.post(f"{emulator.endpoint}/v3/projects/{project}:setIamPolicy", json={"policy": policy})


def test_a_project_is_named_by_its_number_and_answers_by_id_or_number(projects):
    by_id = projects.get_project(name="projects/demo")
    number = by_id.name.split("/")[1]
    assert number.isdigit() and (by_id.project_id, by_id.state) == ("demo", resourcemanager_v3.Project.State.ACTIVE)
    assert projects.get_project(name=by_id.name).name == by_id.name


def test_a_new_project_has_its_owner_and_policies_round_trip_with_new_etags(projects, emulator):
    first = get_policy(projects)
    real = fixture("resourcemanager_project_policy.json")
    assert (list(first.bindings), first.version, len(first.etag)) == ([OWNER], real["version"], 8)
    assert get_policy(projects).etag == first.etag  # stable until written

    viewer = policy_pb2.Binding(role="roles/viewer", members=["serviceAccount:ci@demo.iam.gserviceaccount.com"])
    written = set_policy(projects, policy_pb2.Policy(bindings=[OWNER, viewer], etag=first.etag))
    assert (list(written.bindings), written.version) == ([OWNER, viewer], 1) and written.etag != first.etag
    number = projects.get_project(name="projects/demo").name
    assert get_policy(projects, number) == written  # one project, by id or by number

    with pytest.raises(exceptions.Conflict):
        set_policy(projects, policy_pb2.Policy(bindings=[OWNER], etag=first.etag))
    stale = requests.post(f"{emulator.endpoint}/v3/projects/demo:setIamPolicy",
                          json={"policy": {"bindings": [{"role": "roles/owner", "members": ["user:owner@example.com"]}], "etag": "BwWwGuKWtVE="}})
    assert (stale.status_code, stale.json()) == (409, fixture("iam_concurrent_policy_changes.json"))
    assert get_policy(projects) == written


def test_audit_configs_change_only_when_the_mask_names_them(projects, emulator):
    audit = policy_pb2.AuditConfig(service="allServices", audit_log_configs=[
        policy_pb2.AuditLogConfig(log_type=policy_pb2.AuditLogConfig.LogType.DATA_READ, exempted_members=["user:bot@example.com"]),
        policy_pb2.AuditLogConfig(log_type=policy_pb2.AuditLogConfig.LogType.ADMIN_READ)])
    ignored = set_policy(projects, policy_pb2.Policy(bindings=[OWNER], audit_configs=[audit]))  # default mask: bindings,etag
    assert list(ignored.audit_configs) == []
    written = set_policy(projects, policy_pb2.Policy(bindings=[OWNER], audit_configs=[audit]), ["bindings", "etag", "audit_configs"])
    assert list(written.audit_configs) == [audit]

    viewer = policy_pb2.Binding(role="roles/viewer", members=["group:devs@example.com"])
    kept = set_policy(projects, policy_pb2.Policy(bindings=[OWNER, viewer], etag=written.etag))
    assert (list(kept.bindings), list(kept.audit_configs)) == ([OWNER, viewer], [audit])
    only_audit = set_policy(projects, policy_pb2.Policy(bindings=[OWNER]), ["audit_configs"])
    assert (list(only_audit.bindings), list(only_audit.audit_configs)) == ([OWNER, viewer], [])

    for config in ({"service": "allServices", "auditLogConfigs": [{"logType": "EVERYTHING"}]},
                   {"auditLogConfigs": [{"logType": "DATA_READ"}]},
                   {"service": "allServices", "auditLogConfigs": [{"logType": "DATA_READ", "exemptedMembers": ["bot"]}]}):
        refused = requests.post(f"{emulator.endpoint}/v3/projects/demo:setIamPolicy",
                                json={"policy": {"auditConfigs": [config]}, "updateMask": "auditConfigs"})
        assert refused.status_code == 400, config


def test_conditional_bindings_need_version_3_to_be_written_and_read(projects, emulator):
    condition = expr_pb2.Expr(title="until 2030", expression="request.time < timestamp('2030-01-01T00:00:00Z')")
    temporary = policy_pb2.Binding(role="roles/run.developer", members=["user:dev@example.com"], condition=condition)
    with pytest.raises(exceptions.BadRequest):
        set_policy(projects, policy_pb2.Policy(bindings=[OWNER, temporary], version=1))
    written = set_policy(projects, policy_pb2.Policy(bindings=[OWNER, temporary], version=3))
    assert (written.version, list(written.bindings)) == (3, [OWNER, temporary])

    with pytest.raises(exceptions.BadRequest) as raised:
        get_policy(projects, version=1)
    assert raised.value.response.json()["error"]["message"] == fixture("resourcemanager_get_policy_version_below_existing.json")["error"]["message"]
    assert get_policy(projects, version=3) == written

    downgrade = raw_set(emulator, {"version": 1, "etag": base64.b64encode(written.etag).decode(),
                                   "bindings": [{"role": "roles/owner", "members": ["user:owner@example.com"]}]})
    real = fixture("resourcemanager_set_policy_version_below_existing.json")
    assert (downgrade.status_code, downgrade.json()["error"]["message"]) == (real["error"]["code"], real["error"]["message"])
    blind = set_policy(projects, policy_pb2.Policy(bindings=[OWNER], version=1))  # no etag: no version check
    assert (blind.version, list(blind.bindings)) == (1, [OWNER])
    assert get_policy(projects).version == 1


def test_public_members_are_refused_on_a_project(emulator):
    for member in ("allUsers", "allAuthenticatedUsers"):
        refused = raw_set(emulator, {"bindings": [{"role": "roles/viewer", "members": [member]}]})
        assert (refused.status_code, refused.json()["error"]["message"]) == (400, fixture("resourcemanager_public_member_refused.json")["error"]["message"])


def test_member_forms_and_limits(emulator):
    accepted = ["user:a@example.com", "serviceAccount:ci@demo.iam.gserviceaccount.com", "group:devs@example.com", "domain:example.com",
                "deleted:user:gone@example.com?uid=123456789012345678901", "deleted:serviceAccount:old@demo.iam.gserviceaccount.com?uid=1",
                "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/attribute.repository/org/repo"]
    written = raw_set(emulator, {"bindings": [{"role": "roles/viewer", "members": accepted}]})
    assert written.status_code == 200 and written.json()["bindings"][0]["members"] == accepted
    assert raw_set(emulator, {"bindings": [{"role": "roles/viewer", "members": ["a@example.com"]}]}).status_code == 400

    users = [f"user:u{i}@example.com" for i in range(1500)]
    assert raw_set(emulator, {"bindings": [{"role": "roles/viewer", "members": users}]}).status_code == 200
    too_many = raw_set(emulator, {"bindings": [{"role": "roles/viewer", "members": users[:750]}, {"role": "roles/browser", "members": users[:751]}]})
    assert too_many.status_code == 400  # each appearance counts
    groups = [f"group:g{i}@example.com" for i in range(251)]
    assert raw_set(emulator, {"bindings": [{"role": "roles/viewer", "members": groups[:250]}]}).status_code == 200
    assert raw_set(emulator, {"bindings": [{"role": "roles/viewer", "members": groups}]}).status_code == 400
