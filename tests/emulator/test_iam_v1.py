"""IAM v1 with Google's API client (google-api-python-client, REST; the google-cloud-iam library speaks gRPC
only): service accounts, their keys and IAM policies, and workload identity pools with OIDC providers, checked
against Google's recorded answers (tests/fixtures/google/iam_*.json)."""

import base64
import json
import pathlib
import re
import time

import pytest
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import Request
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google"
PROJECT = "demo"
EMAIL = f"deployer@{PROJECT}.iam.gserviceaccount.com"
ACCOUNT = f"projects/{PROJECT}/serviceAccounts/{EMAIL}"
LOCATION = f"projects/{PROJECT}/locations/global"
OIDC = {"attributeMapping": {"google.subject": "assertion.sub", "attribute.repository": "assertion.repository"},
        "attributeCondition": "assertion.repository_owner == 'acme'",
        "oidc": {"issuerUri": "https://token.actions.githubusercontent.com", "allowedAudiences": ["https://github.com/acme"]}}


def fixture(name):
    return json.loads((FIXTURES / name).read_text())["response"]


@pytest.fixture
def iam(emulator):
    return build("iam", "v1", credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": emulator.endpoint})


def error(call):
    """(HTTP status, Google's error body) of a call that fails."""
    with pytest.raises(HttpError) as raised:
        call.execute()
    return raised.value.resp.status, json.loads(raised.value.content)["error"]


def create_account(iam, account_id="deployer", **fields):
    return iam.projects().serviceAccounts().create(name=f"projects/{PROJECT}", body={"accountId": account_id, "serviceAccount": fields}).execute()


def test_service_accounts_answer_as_google_does(iam):
    created = create_account(iam, description="Deploys the services", displayName="Deployer")
    real = fixture("iam_service_account_create.json")
    assert set(created) == set(real)
    assert (created["name"], created["email"], created["projectId"]) == (ACCOUNT, EMAIL, PROJECT)
    assert re.fullmatch(r"\d{21}", created["uniqueId"]) and created["oauth2ClientId"] == created["uniqueId"]
    accounts = iam.projects().serviceAccounts()
    for name in (ACCOUNT, f"projects/-/serviceAccounts/{EMAIL}", f"projects/-/serviceAccounts/{created['uniqueId']}"):
        assert accounts.get(name=name).execute() == created

    status, body = error(iam.projects().serviceAccounts().create(name=f"projects/{PROJECT}", body={"accountId": "deployer"}))
    assert (status, body["status"]) == (409, "ALREADY_EXISTS")
    assert body["message"] == f"Service account deployer already exists within project projects/{PROJECT}."
    real_message = fixture("iam_service_account_already_exists.json")["error"]["message"]
    assert re.fullmatch(r"Service account \S+ already exists within project projects/\S+\.", real_message)
    missing = fixture("iam_service_account_not_found.json")["error"]
    status, body = error(accounts.get(name=f"projects/{PROJECT}/serviceAccounts/nobody@{PROJECT}.iam.gserviceaccount.com"))
    assert (status, body["status"], body["message"]) == (missing["code"], missing["status"], missing["message"])
    assert error(accounts.get(name=f"projects/-/serviceAccounts/nobody@{PROJECT}.iam.gserviceaccount.com"))[0] == 403  # as documented
    for account_id in ("short", "Upper-case", "ends-with-", "a" * 31):
        assert error(iam.projects().serviceAccounts().create(name=f"projects/{PROJECT}", body={"accountId": account_id}))[0] == 400


def test_a_patch_answers_the_fields_it_changed_and_accounts_are_disabled_listed_and_deleted(iam):
    created = create_account(iam, displayName="Deployer")
    accounts = iam.projects().serviceAccounts()
    patched = accounts.patch(name=ACCOUNT, body={"serviceAccount": {"description": "Deploys", "displayName": "CI deployer", "etag": created["etag"]},
                                                 "updateMask": "description,display_name"}).execute()
    assert set(patched) == set(fixture("iam_service_account_patch.json"))
    assert patched == {"name": ACCOUNT, "description": "Deploys", "displayName": "CI deployer"}
    assert accounts.get(name=ACCOUNT).execute() == {**created, "description": "Deploys", "displayName": "CI deployer"}
    assert error(accounts.patch(name=ACCOUNT, body={"serviceAccount": {"email": "x@y.z"}, "updateMask": "email"}))[0] == 400

    assert accounts.disable(name=ACCOUNT, body={}).execute() == {}
    assert accounts.get(name=ACCOUNT).execute()["disabled"] is True
    accounts.enable(name=ACCOUNT, body={}).execute()
    assert "disabled" not in accounts.get(name=ACCOUNT).execute()

    for account_id in ("reader-one", "reader-two"):
        create_account(iam, account_id)
    first = accounts.list(name=f"projects/{PROJECT}", pageSize=2).execute()
    second = accounts.list(name=f"projects/{PROJECT}", pageSize=2, pageToken=first["nextPageToken"]).execute()
    assert [a["email"].split("@")[0] for a in first["accounts"] + second["accounts"]] == ["deployer", "reader-one", "reader-two"]
    assert accounts.list(name="projects/other").execute() == {}

    user = {"role": "roles/iam.serviceAccountUser", "members": ["user:a@example.com"]}
    accounts.setIamPolicy(resource=ACCOUNT, body={"policy": {"bindings": [user]}}).execute()
    assert accounts.delete(name=ACCOUNT).execute() == {}
    assert error(accounts.get(name=ACCOUNT))[0] == 404
    create_account(iam)
    assert accounts.getIamPolicy(resource=ACCOUNT).execute() == {"etag": "ACAB"}  # the policy went with the account


def test_keys_are_user_or_system_managed_and_a_created_key_signs_in(iam, emulator):
    create_account(iam)
    keys = iam.projects().serviceAccounts().keys()
    [system] = keys.list(name=ACCOUNT).execute()["keys"]
    assert (system["keyType"], system["keyOrigin"], system["keyAlgorithm"]) == ("SYSTEM_MANAGED", "GOOGLE_PROVIDED", "KEY_ALG_RSA_2048")

    created = keys.create(name=f"projects/-/serviceAccounts/{EMAIL}",
                          body={"keyAlgorithm": "KEY_ALG_RSA_2048", "privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE"}).execute()
    real = fixture("iam_service_account_key_create.json")
    assert set(created) == set(real)
    assert (created["keyType"], created["keyOrigin"], created["validBeforeTime"]) == (real["keyType"], real["keyOrigin"], real["validBeforeTime"])
    assert re.fullmatch(rf"{ACCOUNT}/keys/[0-9a-f]{{40}}", created["name"]) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created["validAfterTime"])
    info = json.loads(base64.b64decode(created["privateKeyData"]))
    assert (info["type"], info["client_email"], info["private_key_id"]) == ("service_account", EMAIL, created["name"].rsplit("/", 1)[1])
    assert info["token_uri"] == "https://oauth2.googleapis.com/token"  # Google's; pointed at the emulator to sign in there
    credentials = service_account.Credentials.from_service_account_info({**info, "token_uri": f"{emulator.endpoint}/token"},
                                                                        scopes=["https://www.googleapis.com/auth/cloud-platform"])
    credentials.refresh(Request())
    assert credentials.token.startswith("ya29.")

    read = keys.get(name=created["name"]).execute()
    assert set(read) == set(fixture("iam_service_account_key_get.json")) and read == {k: v for k, v in created.items() if not k.startswith("privateKey")}
    assert keys.list(name=ACCOUNT, keyTypes="USER_MANAGED").execute() == {"keys": [read]}
    assert keys.list(name=ACCOUNT, keyTypes="SYSTEM_MANAGED").execute() == {"keys": [system]}
    assert error(keys.delete(name=system["name"]))[0] == 400
    for count in range(2, 11):
        assert keys.create(name=ACCOUNT, body={}).execute()["keyType"] == "USER_MANAGED", count
    status, body = error(keys.create(name=ACCOUNT, body={}))  # 10 user-managed keys at most
    assert (status, body["status"]) == (400, "FAILED_PRECONDITION")
    assert keys.delete(name=created["name"]).execute() == {}
    assert error(keys.get(name=created["name"]))[0] == 404


def test_a_service_account_policy_round_trips(iam):
    create_account(iam)
    accounts = iam.projects().serviceAccounts()
    empty = accounts.getIamPolicy(resource=ACCOUNT).execute()
    repository = "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/attribute.repository/acme/app"
    binding = {"role": "roles/iam.workloadIdentityUser", "members": [repository]}
    written = accounts.setIamPolicy(resource=ACCOUNT, body={"policy": {"bindings": [binding], "etag": empty["etag"]}}).execute()
    assert (written["bindings"], written["version"]) == ([binding], 1) and written["etag"] != empty["etag"]
    assert accounts.getIamPolicy(resource=ACCOUNT).execute() == written
    assert error(accounts.setIamPolicy(resource=ACCOUNT, body={"policy": {"bindings": [], "etag": empty["etag"]}}))[0] == 409
    conditional = {**binding, "condition": {"title": "t", "expression": "request.time < timestamp('2030-01-01T00:00:00Z')"}}
    accounts.setIamPolicy(resource=ACCOUNT, body={"policy": {"bindings": [conditional], "version": 3}}).execute()
    assert error(accounts.getIamPolicy(resource=ACCOUNT))[0] == 400
    assert accounts.getIamPolicy(resource=ACCOUNT, options_requestedPolicyVersion=3).execute()["bindings"] == [conditional]


def wait(iam, operation):
    while not operation.get("done"):
        time.sleep(0.05)
        operation = iam.projects().locations().workloadIdentityPools().operations().get(name=operation["name"]).execute()
    return operation


def test_pools_are_long_running_named_by_number_and_soft_deleted(iam, emulator):
    emulator.admin("config", {"operation_seconds": 0.2})
    pools = iam.projects().locations().workloadIdentityPools()
    pool = {"displayName": "GitHub", "description": "GitHub Actions of acme"}
    running = pools.create(parent=LOCATION, workloadIdentityPoolId="github", body=pool).execute()
    assert set(running) == set(fixture("iam_workload_identity_pool_operation.json"))
    assert re.fullmatch(r"projects/\d+/locations/global/workloadIdentityPools/github/operations/\S+", running["name"])
    assert set(wait(iam, running)) == set(fixture("iam_workload_identity_pool_operation_done.json"))
    number = running["name"].split("/")[1]

    read = pools.get(name=f"{LOCATION}/workloadIdentityPools/github").execute()
    assert set(read) == set(fixture("iam_workload_identity_pool_get.json"))
    assert read == {**pool, "name": f"projects/{number}/locations/global/workloadIdentityPools/github", "state": "ACTIVE"}
    assert pools.get(name=read["name"]).execute() == read  # by number as well
    wait(iam, pools.patch(name=read["name"], updateMask="displayName,disabled", body={"displayName": "GH", "disabled": True}).execute())
    assert pools.get(name=read["name"]).execute() == {**read, "displayName": "GH", "disabled": True}
    assert error(pools.patch(name=read["name"], updateMask="mode", body={"mode": "TRUST_DOMAIN"}))[0] == 400

    wait(iam, pools.delete(name=read["name"]).execute())
    deleted = pools.get(name=read["name"]).execute()
    assert deleted["state"] == "DELETED" and "expireTime" in deleted
    assert pools.list(parent=LOCATION).execute() == {}
    assert pools.list(parent=LOCATION, showDeleted=True).execute()["workloadIdentityPools"] == [deleted]
    assert error(pools.create(parent=LOCATION, workloadIdentityPoolId="github", body={}))[0] == 409  # the id of a soft-deleted pool
    wait(iam, pools.undelete(name=read["name"], body={}).execute())
    assert pools.get(name=read["name"]).execute()["state"] == "ACTIVE"
    assert error(pools.undelete(name=read["name"], body={}))[0] == 400
    for pool_id in ("gh", "gcp-pool", "Upper"):
        assert error(pools.create(parent=LOCATION, workloadIdentityPoolId=pool_id, body={}))[0] == 400
    assert error(pools.create(parent=f"projects/{PROJECT}/locations/europe-west1", workloadIdentityPoolId="github", body={}))[0] == 400


def test_oidc_providers_are_checked_and_read_back_as_google_does(iam):
    pools = iam.projects().locations().workloadIdentityPools()
    pool = f"{LOCATION}/workloadIdentityPools/github"
    wait(iam, pools.create(parent=LOCATION, workloadIdentityPoolId="github", body={}).execute())
    providers = pools.providers()
    done = wait(iam, providers.create(parent=pool, workloadIdentityPoolProviderId="actions", body=OIDC).execute())
    assert re.fullmatch(r"projects/\d+/locations/global/workloadIdentityPools/github/providers/actions/operations/\S+", done["name"])
    read = providers.get(name=f"{pool}/providers/actions").execute()
    assert set(fixture("iam_workload_identity_pool_provider_get.json")) <= set(read)
    assert read == {**OIDC, "name": done["name"].split("/operations/")[0], "state": "ACTIVE"}
    assert providers.list(parent=pool).execute() == {"workloadIdentityPoolProviders": [read]}

    wait(iam, providers.patch(name=read["name"], updateMask="attributeCondition", body={"attributeCondition": "true"}).execute())
    assert providers.get(name=read["name"]).execute()["attributeCondition"] == "true"
    wait(iam, providers.delete(name=read["name"]).execute())
    assert providers.get(name=read["name"]).execute()["state"] == "DELETED" and providers.list(parent=pool).execute() == {}
    wait(iam, providers.undelete(name=read["name"], body={}).execute())

    oidc = OIDC["oidc"]
    for body in ({**OIDC, "attributeMapping": {"attribute.repository": "assertion.repository"}},  # google.subject is required
                 {**OIDC, "attributeMapping": {"google.subject": "assertion.sub", "Attribute.X": "assertion.x"}},
                 {**OIDC, "oidc": {**oidc, "issuerUri": "http://token.actions.githubusercontent.com"}},
                 {**OIDC, "oidc": {**oidc, "allowedAudiences": [f"aud-{i}" for i in range(11)]}},
                 {**OIDC, "attributeCondition": "x" * 4097},
                 {key: value for key, value in OIDC.items() if key != "oidc"}):
        assert error(providers.create(parent=pool, workloadIdentityPoolProviderId="other", body=body))[0] == 400, body
    assert error(providers.create(parent=f"{LOCATION}/workloadIdentityPools/nopool", workloadIdentityPoolProviderId="other", body=OIDC))[0] == 404
