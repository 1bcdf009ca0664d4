"""Cloud Run revisions whose env names Secret Manager secrets: Cloud Run reads them when it creates the
revision; one it cannot read keeps the revision from becoming Ready, as Google reports it
(tests/fixtures/google/run_v2_secret_not_found.json, run_v2_operation_secret_not_found.json), as does a service
account that may not read it (run_v2_operation_secret_permission_denied.json), and a Ready revision's process sees
the values (the emulated app reports their SHA-256, never the values). With Data Access audit logs on, each read is
logged as the revision's service account."""

import hashlib
import json
import pathlib

import pytest
import requests
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import resourcemanager_v3, run_v2, secretmanager_v1
from google.iam.v1 import policy_pb2
from googleapiclient.discovery import build
from run_helpers import PARENT, short

from orchestra_emulator.projects import project_number

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google"
NUMBER = project_number("demo")
FIELD = "spec.template.spec.containers[0].env[{}].value_from.secret_key_ref.name"


def google(name):
    return json.loads((FIXTURES / name).read_text())["response"]


DEFAULT_ACCOUNT = f"serviceAccount:{NUMBER}-compute@developer.gserviceaccount.com"  # what a revision runs as unless told
ACCESSOR = "roles/secretmanager.secretAccessor"


def grant(client, resource, member, role=ACCESSOR):
    policy = client.get_iam_policy(request={"resource": resource})
    policy.bindings.add(role=role, members=[member])
    client.set_iam_policy(request={"resource": resource, "policy": policy})


@pytest.fixture
def secrets(emulator):
    """Secret Manager's client, in a project whose default compute service account may read every secret."""
    options = {"api_endpoint": emulator.endpoint}
    grant(resourcemanager_v3.ProjectsClient(transport="rest", credentials=AnonymousCredentials(), client_options=options),
          "projects/demo", DEFAULT_ACCOUNT)
    return secretmanager_v1.SecretManagerServiceClient(transport="rest", credentials=AnonymousCredentials(), client_options=options)


def make_secret(secrets, secret_id, *values, project="demo"):
    secrets.create_secret(parent=f"projects/{project}", secret_id=secret_id, secret={"replication": {"automatic": {}}})
    for value in values:
        secrets.add_secret_version(parent=f"projects/{project}/secrets/{secret_id}", payload={"data": value})


def from_secret(name, secret, version="latest"):
    return run_v2.EnvVar(name=name, value_source=run_v2.EnvVarSource(
        secret_key_ref=run_v2.SecretKeySelector(secret=secret, version=version)))


def spec(*env, name=""):
    container = run_v2.Container(image="gcr.io/demo/app:1", env=[run_v2.EnvVar(name="PLAIN", value="visible"), *env])
    return run_v2.Service(name=name, template=run_v2.RevisionTemplate(containers=[container]))


def deploy(services, *env):
    return services.create_service(parent=PARENT, service_id="app", service=spec(*env))


def seen(service):
    """What the revision serving the URL reports of its environment, and the whole answer's text."""
    response = requests.get(service.uri, timeout=10)
    assert response.status_code == 200
    return response.json()["env_sha256"], response.text


def sha256(value):
    return hashlib.sha256(value).hexdigest()


def test_a_ready_revision_sees_the_secret_values(services, secrets):
    make_secret(secrets, "token", b"s3cret-one")
    make_secret(secrets, "other", b"elsewhere", project="shared")
    grant(secrets, "projects/shared/secrets/other", DEFAULT_ACCOUNT)  # a secret of another project, shared with this one's account

    service = deploy(services, from_secret("TOKEN", "token"), from_secret("SHARED", "projects/shared/secrets/other", "1")).result()

    digests, text = seen(service)
    assert digests == {"PLAIN": sha256(b"visible"), "TOKEN": sha256(b"s3cret-one"), "SHARED": sha256(b"elsewhere")}
    assert "s3cret-one" not in text and "elsewhere" not in text
    assert service.terminal_condition.state == run_v2.Condition.State.CONDITION_SUCCEEDED


def test_the_reads_of_a_revision_are_audited_as_its_service_account(services, secrets, emulator):
    projects = resourcemanager_v3.ProjectsClient(transport="rest", credentials=AnonymousCredentials(),
                                                 client_options={"api_endpoint": emulator.endpoint})
    data_read = policy_pb2.AuditLogConfig(log_type=policy_pb2.AuditLogConfig.LogType.DATA_READ)
    audit = policy_pb2.AuditConfig(service="secretmanager.googleapis.com", audit_log_configs=[data_read])
    projects.set_iam_policy(request={"resource": "projects/demo", "policy": {"audit_configs": [audit]}, "update_mask": {"paths": ["audit_configs"]}})
    make_secret(secrets, "token", b"one")
    make_secret(secrets, "other", b"two", project="shared")  # its project logs nothing
    grant(secrets, "projects/shared/secrets/other", DEFAULT_ACCOUNT)

    deploy(services, from_secret("TOKEN", "token", "1"), from_secret("SHARED", "projects/shared/secrets/other")).result()

    logging = build("logging", "v2", credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                    client_options={"api_endpoint": emulator.endpoint})
    found = logging.entries().list(body={"resourceNames": ["projects/demo", "projects/shared"]}).execute()["entries"]
    assert [(e["logName"], e["protoPayload"]["resourceName"], e["protoPayload"]["authenticationInfo"]["principalEmail"]) for e in found] == [
        ("projects/demo/logs/cloudaudit.googleapis.com%2Fdata_access", "projects/demo/secrets/token/versions/1", DEFAULT_ACCOUNT.split(":")[1])]


def test_latest_and_aliases_resolve_when_the_revision_is_created(services, secrets):
    make_secret(secrets, "token", b"first")
    service = deploy(services, from_secret("TOKEN", "token")).result()
    secrets.add_secret_version(parent="projects/demo/secrets/token", payload={"data": b"second"})

    assert seen(services.get_service(name=service.name))[0]["TOKEN"] == sha256(b"first")  # the revision keeps its value

    secrets.update_secret(secret={"name": "projects/demo/secrets/token", "version_aliases": {"stable": 1}},
                          update_mask={"paths": ["version_aliases"]})
    updated = services.update_service(service=spec(from_secret("TOKEN", "token"), from_secret("STABLE", "token", "stable"),
                                                   name=service.name)).result()
    assert updated.latest_ready_revision != service.latest_ready_revision
    digests = seen(updated)[0]
    assert digests["TOKEN"] == sha256(b"second") and digests["STABLE"] == sha256(b"first")


def test_a_missing_secret_keeps_the_revision_from_becoming_ready_as_on_google(services, revisions, secrets, emulator):
    real_conditions = google("run_v2_secret_not_found.json")["status"]["conditions"]
    real_error = google("run_v2_operation_secret_not_found.json")["error"]
    make_secret(secrets, "empty")

    operation = deploy(services, from_secret("A", "nope"), from_secret("B", "empty"), from_secret("C", "projects/demo/secrets/nope", "3"))
    with pytest.raises(exceptions.GoogleAPICallError) as failed:
        operation.result()

    lines = [FIELD.format(1) + f": Secret projects/{NUMBER}/secrets/nope/versions/latest was not found",
             FIELD.format(2) + f": Secret projects/{NUMBER}/secrets/empty/versions/latest was not found",
             FIELD.format(3) + ": Secret projects/demo/secrets/nope/versions/3 was not found"]
    service = requests.get(f"{emulator.endpoint}/v2/{PARENT}/services/app", timeout=10).json()
    revision = short(service["latestCreatedRevision"])
    ready = f"Revision '{revision}' is not ready and cannot serve traffic. " + "\n".join(lines)
    assert operation.operation.error.code == real_error["code"] == 13
    assert operation.operation.error.message == ready and str(failed.value.message) == ready
    assert real_error["message"].startswith("Revision '") and " is not ready and cannot serve traffic. spec.template" in real_error["message"]
    # Google's conditions, in run.v2's names: Ready and RoutesReady carry the whole message, ConfigurationsReady the lines.
    assert [(c["type"], c["message"] == real_conditions[0]["message"]) for c in real_conditions] == [
        ("Ready", True), ("ConfigurationsReady", False), ("RoutesReady", True)]
    assert service["terminalCondition"] == {**service["terminalCondition"], "type": "Ready", "state": "CONDITION_FAILED",
                                            "message": ready, "reason": "SECRETS_ACCESS_CHECK_FAILED"}
    assert {c["type"]: (c["message"], c["reason"]) for c in service["conditions"]} == {
        "RoutesReady": (ready, "SECRETS_ACCESS_CHECK_FAILED"),
        "ConfigurationsReady": ("\n".join(lines), "SECRETS_ACCESS_CHECK_FAILED")}
    assert "latestReadyRevision" not in service and requests.get(service["uri"], timeout=10).status_code == 503
    ready_condition = revisions.get_revision(name=service["latestCreatedRevision"]).conditions[0]
    assert ready_condition.state == run_v2.Condition.State.CONDITION_FAILED and ready_condition.message == "\n".join(lines)


@pytest.mark.parametrize("action, state", [("disable_secret_version", "DISABLED"), ("destroy_secret_version", "DESTROYED")])
def test_an_unusable_version_keeps_the_new_revision_from_becoming_ready(services, secrets, action, state):
    make_secret(secrets, "token", b"one", b"two")
    service = deploy(services, from_secret("TOKEN", "token", "2")).result()
    getattr(secrets, action)(name="projects/demo/secrets/token/versions/2")

    operation = services.update_service(service=spec(from_secret("TOKEN", "token", "2"), from_secret("X", "token", "1"),
                                                     name=service.name))
    with pytest.raises(exceptions.GoogleAPICallError):
        operation.result()

    current = services.get_service(name=service.name)
    detail = FIELD.format(1) + f": Secret Version [projects/{NUMBER}/secrets/token/versions/2] is in {state} state."
    assert current.terminal_condition.message.endswith(detail)
    assert current.latest_ready_revision == service.latest_ready_revision  # the earlier revision keeps serving
    assert [c.state for c in current.conditions if c.type_ == "RoutesReady"] == [run_v2.Condition.State.CONDITION_SUCCEEDED]
    assert seen(current)[0]["TOKEN"] == sha256(b"two")  # with the value it read when it was created


def test_a_service_account_that_may_not_read_the_secret_keeps_the_revision_from_becoming_ready(services, secrets):
    real = google("run_v2_operation_secret_permission_denied.json")["error"]
    make_secret(secrets, "token", b"one")
    runtime = "runtime@demo.iam.gserviceaccount.com"
    service = spec(from_secret("TOKEN", "token"), from_secret("OTHER", "projects/demo/secrets/missing", "2"))
    service.template.service_account = runtime

    operation = services.create_service(parent=PARENT, service_id="app", service=service)
    with pytest.raises(exceptions.GoogleAPICallError):
        operation.result()
    denied = ("Permission denied on secret: {} for Revision service account %s. The service account used must be granted the "
              "'Secret Manager Secret Accessor' role (roles/secretmanager.secretAccessor) at the secret, project or higher level." % runtime)
    lines = [FIELD.format(1) + ": " + denied.format(f"projects/{NUMBER}/secrets/token/versions/latest"),
             FIELD.format(2) + ": " + denied.format("projects/demo/secrets/missing/versions/2")]  # denied before it is looked for
    assert operation.operation.error.code == real["code"] == 13
    assert operation.operation.error.message.endswith(" is not ready and cannot serve traffic. " + "\n".join(lines))
    assert real["message"].endswith(denied.replace(runtime, "729273278660-compute@developer.gserviceaccount.com").format(
        "projects/729273278660/secrets/dbusersecret/versions/latest"))

    grant(secrets, f"projects/{NUMBER}/secrets/token", "serviceAccount:" + runtime)  # on the secret; the missing one stays unread
    service.template.containers[0].env.pop()
    service.name = f"{PARENT}/services/app"
    served = services.update_service(service=service).result()
    assert seen(served)[0]["TOKEN"] == sha256(b"one")
