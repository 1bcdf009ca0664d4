"""IAM policies of Cloud Run services with the official client (REST): getIamPolicy, setIamPolicy and
testIamPermissions as the run.v2 discovery document describes them, checked against Google's real
answers (tests/fixtures/google/run_v2_iam_policy_empty.json, iam_concurrent_policy_changes.json)."""

import base64
import json
import pathlib

import pytest
import requests
from google.api_core import exceptions
from google.iam.v1 import iam_policy_pb2, policy_pb2
from run_helpers import PARENT, create, google_status

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google"
INVOKER = "roles/run.invoker"


def fixture(name):
    return json.loads((FIXTURES / name).read_text())["response"]


def etag(policy):
    """The etag as Google's JSON shows it (the client holds the bytes)."""
    return base64.b64encode(policy.etag).decode()


def set_policy(services, name, bindings, etag_bytes=b""):
    policy = policy_pb2.Policy(bindings=[policy_pb2.Binding(role=role, members=members) for role, members in bindings],
                               etag=etag_bytes)
    return services.set_iam_policy(request=iam_policy_pb2.SetIamPolicyRequest(resource=name, policy=policy))


def test_a_service_without_a_policy_answers_as_google_does(services, emulator):
    name = create(services).name
    policy = services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=name))
    assert (etag(policy), list(policy.bindings), policy.version) == (fixture("run_v2_iam_policy_empty.json")["etag"], [], 0)
    raw = requests.get("%s/v2/%s:getIamPolicy" % (emulator.endpoint, name))
    assert raw.json() == fixture("run_v2_iam_policy_empty.json")


def test_a_policy_round_trips_with_a_new_etag_and_a_stale_one_is_refused(services, emulator):
    name = create(services).name
    empty = services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=name))

    written = set_policy(services, name, [(INVOKER, ["allUsers"])], empty.etag)
    assert (written.version, [(b.role, list(b.members)) for b in written.bindings]) == (1, [(INVOKER, ["allUsers"])])
    assert written.etag != empty.etag and len(written.etag) == 8
    read = services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=name))
    assert read == written

    with pytest.raises(exceptions.Conflict) as raised:  # the etag read before the last write
        set_policy(services, name, [(INVOKER, ["user:a@example.com"])], empty.etag)
    assert google_status(raised.value) == "ABORTED"
    stale = requests.post("%s/v2/%s:setIamPolicy" % (emulator.endpoint, name),
                          json={"policy": {"bindings": [{"role": INVOKER, "members": ["user:a@example.com"]}], "etag": etag(empty)}})
    assert (stale.status_code, stale.json()) == (409, fixture("iam_concurrent_policy_changes.json"))
    assert services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=name)) == written

    replaced = set_policy(services, name, [("roles/run.viewer", ["serviceAccount:ci@demo.iam.gserviceaccount.com"])])  # no etag: unconditional
    assert [b.role for b in replaced.bindings] == ["roles/run.viewer"]


def test_a_policy_writer_lands_between_a_read_and_a_write(services, emulator):
    name = create(services).name
    other = create(services, "other").name
    emulator.admin("policy-writers", {"resource": name + "$", "role": "roles/run.viewer", "count": 2})
    read = services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=name))

    with pytest.raises(exceptions.Conflict):  # their write landed first: the etag we read is stale
        set_policy(services, name, [(INVOKER, ["user:a@example.com"])], read.etag)
    theirs = services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=name))
    (viewer,) = [list(b.members) for b in theirs.bindings if b.role == "roles/run.viewer"]
    assert len(viewer) == 1 and viewer[0].startswith("user:writer-") and theirs.etag != read.etag

    bindings = [(b.role, list(b.members)) for b in theirs.bindings] + [(INVOKER, ["user:a@example.com"])]
    with pytest.raises(exceptions.Conflict):  # the second count: another change before this write too
        set_policy(services, name, bindings, theirs.etag)
    again = services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=name))
    written = set_policy(services, name, [(b.role, list(b.members)) for b in again.bindings] + [(INVOKER, ["user:a@example.com"])],
                         again.etag)
    assert sorted((b.role, len(b.members)) for b in written.bindings) == [(INVOKER, 1), ("roles/run.viewer", 2)]
    assert set_policy(services, other, [(INVOKER, ["user:b@example.com"])], b"").bindings, "another resource: no writer"
    assert emulator.state()["admin"]["policy_writers"] == []
    for body, message in (({"colour": "blue"}, "colour"), ({"resource": "("}, "Invalid resource regex"), ({"every": 0}, "every must be")):
        bad = requests.post("%s/_emulator/policy-writers" % emulator.endpoint, json=body)
        assert bad.status_code == 400 and message in bad.text, body


def test_policies_are_per_service_and_go_with_it(services, emulator):
    first, second = create(services, "first").name, create(services, "second").name
    set_policy(services, first, [(INVOKER, ["allUsers"])])
    assert list(services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=second)).bindings) == []

    services.delete_service(name=first).result()
    with pytest.raises(exceptions.NotFound):
        services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=first))
    create(services, "first")
    assert list(services.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=first)).bindings) == []


def test_policies_are_checked(services, emulator):
    name = create(services).name
    url = "%s/v2/%s" % (emulator.endpoint, name)
    for bindings in ([{"role": "run.invoker", "members": ["allUsers"]}], [{"role": INVOKER, "members": ["someone"]}],
                     [{"role": INVOKER, "members": ["allUsers"], "condition": {"expression": "true"}}]):
        answer = requests.post(url + ":setIamPolicy", json={"policy": {"bindings": bindings}})
        assert (answer.status_code, answer.json()["error"]["status"]) == (400, "INVALID_ARGUMENT"), bindings
    conditional = {"version": 3, "bindings": [{"role": INVOKER, "members": ["allUsers"], "condition": {"title": "t", "expression": "true"}}]}
    assert requests.post(url + ":setIamPolicy", json={"policy": conditional}).json()["version"] == 3
    assert requests.get(url + ":getIamPolicy").status_code == 400  # a conditional policy is read as version 3
    assert requests.get(url + ":getIamPolicy?options.requestedPolicyVersion=3").json()["bindings"] == conditional["bindings"]
    assert requests.get(url + ":getIamPolicy?options.requestedPolicyVersion=2").status_code == 400
    missing = "%s/v2/%s/services/missing:getIamPolicy" % (emulator.endpoint, PARENT)
    assert requests.get(missing).json()["error"]["status"] == "NOT_FOUND"


def test_test_iam_permissions_answers_the_run_permissions_asked(services, emulator):
    name = create(services).name
    asked = ["run.services.get", "run.routes.invoke", "run.services.get"]
    answer = services.test_iam_permissions(request=iam_policy_pb2.TestIamPermissionsRequest(resource=name, permissions=asked))
    assert list(answer.permissions) == ["run.services.get", "run.routes.invoke"]
    with pytest.raises(exceptions.BadRequest):
        services.test_iam_permissions(request=iam_policy_pb2.TestIamPermissionsRequest(resource=name, permissions=["storage.objects.get"]))
