"""The emulator's token endpoints driven by google-auth's own flows, token checks on API calls, and
private services that need an ID token for their URL, of an invoker their IAM policy names."""

import json
import urllib.error
import urllib.request

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import credentials as gcreds
from google.auth import identity_pool, impersonated_credentials, jwt
from google.auth.transport.requests import AuthorizedSession, Request
from google.cloud import run_v2
from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account
from run_helpers import PARENT, create, latest, set_traffic

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
TARGET = "deployer@demo.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def key_pem():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


@pytest.fixture
def key_info(emulator, key_pem):
    """A service-account key whose token_uri is the emulator."""
    return {"type": "service_account", "project_id": "demo", "private_key_id": "k1", "private_key": key_pem,
            "client_email": "ci@demo.iam.gserviceaccount.com", "client_id": "1", "token_uri": emulator.endpoint + "/token"}


def token_calls(emulator):
    return [(c["method"], c["path"], c["status"]) for c in emulator.calls() if c["path"].endswith(("/token", "Token"))]


def iam_url(emulator, method="generateAccessToken", account=TARGET):
    return "%s/v1/projects/-/serviceAccounts/%s:%s" % (emulator.endpoint, account, method)


def post(url, body, headers=None):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_service_account_key_gets_an_access_token_from_the_token_uri(emulator, key_info):
    creds = service_account.Credentials.from_service_account_info(key_info, scopes=SCOPES)
    creds.refresh(Request())

    assert creds.token.startswith("ya29.") and creds.valid
    assert token_calls(emulator) == [("POST", "/token", 200)]


def test_service_account_id_token_is_a_jwt_for_the_audience(emulator, key_info):
    creds = service_account.IDTokenCredentials.from_service_account_info(key_info, target_audience="https://app.example")
    creds.refresh(Request())

    claims = jwt.decode(creds.token, verify=False)
    assert claims["aud"] == "https://app.example" and claims["email"] == key_info["client_email"]
    assert claims["iss"] == "https://accounts.google.com" and claims["exp"] > claims["iat"]
    assert jwt.decode_header(creds.token)["alg"] == "RS256"


def test_a_stale_assertion_is_an_oauth_error(emulator, key_info):
    creds = service_account.Credentials.from_service_account_info(key_info, scopes=SCOPES)
    assertion = jwt.encode(creds.signer, {"iss": key_info["client_email"], "aud": key_info["token_uri"], "scope": SCOPES[0],
                                          "iat": 1, "exp": 3601}).decode()
    data = ("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + assertion).encode()
    request = urllib.request.Request(key_info["token_uri"], data=data, method="POST")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 400 and json.load(raised.value)["error"] == "invalid_grant"


def test_authorized_user_refreshes_through_the_token_uri(emulator):
    creds = user_credentials.Credentials(None, refresh_token="1//refresh", client_id="client.apps.googleusercontent.com",
                                         client_secret="secret", token_uri=emulator.endpoint + "/token")
    creds.refresh(Request())
    assert creds.token.startswith("ya29.") and creds.expiry is not None


def test_impersonation_asks_iam_credentials_with_the_source_token(emulator, key_info):
    source = service_account.Credentials.from_service_account_info(key_info, scopes=SCOPES)
    creds = impersonated_credentials.Credentials(source, TARGET, SCOPES, iam_endpoint_override=iam_url(emulator))
    creds.refresh(Request())

    assert creds.token.startswith("ya29.") and creds.valid
    assert token_calls(emulator) == [("POST", "/token", 200), ("POST", "/v1/projects/-/serviceAccounts/%s:generateAccessToken" % TARGET, 200)]


def test_iam_credentials_needs_a_valid_bearer_and_a_valid_body(emulator, key_info):
    creds = service_account.Credentials.from_service_account_info(key_info, scopes=SCOPES)
    creds.refresh(Request())
    bearer = {"Authorization": "Bearer " + creds.token}

    status, body = post(iam_url(emulator), {"scope": SCOPES})
    assert (status, body["error"]["status"]) == (401, "UNAUTHENTICATED")
    status, body = post(iam_url(emulator), {"scope": SCOPES, "lifetme": "60s"}, bearer)
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT") and 'Unknown name "lifetme"' in body["error"]["message"]
    status, body = post(iam_url(emulator).replace("/-/", "/demo/"), {"scope": SCOPES}, bearer)
    assert status == 400
    status, body = post(iam_url(emulator, "generateIdToken"), {"audience": "https://app.example", "includeEmail": True}, bearer)
    assert status == 200 and jwt.decode(body["token"], verify=False)["email"] == TARGET


def test_external_account_exchanges_its_subject_token_at_sts(emulator, tmp_path):
    subject = tmp_path / "oidc"
    subject.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2ln")
    creds = identity_pool.Credentials.from_info({
        "type": "external_account", "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/ci",
        "token_url": emulator.endpoint + "/v1/token", "credential_source": {"file": str(subject)}}).with_scopes(SCOPES)
    creds.refresh(Request())

    assert creds.token.startswith("ya29.")
    assert token_calls(emulator) == [("POST", "/v1/token", 200)]


def test_sts_refuses_another_grant(emulator):
    status, body = post(emulator.endpoint + "/v1/token", {"grantType": "client_credentials", "subjectToken": "x"})
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")


def run_client(emulator, creds):
    return run_v2.ServicesClient(credentials=creds, transport="rest", client_options={"api_endpoint": emulator.endpoint})


def test_checked_tokens_refuse_missing_unknown_and_expired_ones(emulator, key_info):
    creds = service_account.Credentials.from_service_account_info(key_info, scopes=SCOPES)
    creds.refresh(Request())
    url = "%s/v2/%s/services" % (emulator.endpoint, PARENT)

    def status(headers=None):
        request = urllib.request.Request(url, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, None
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)["error"]

    assert status() == (200, None)  # not checked unless asked
    emulator.admin("auth", {"check_tokens": True})
    code, error = status()
    assert (code, error["status"], error["code"]) == (401, "UNAUTHENTICATED", 401)
    assert error["message"].startswith("Request had invalid authentication credentials.")
    assert status({"Authorization": "Bearer ya29.unknown"})[0] == 401
    assert status({"Authorization": "Bearer " + creds.token}) == (200, None)
    assert emulator.admin("auth/expire")["expired"] == 1
    assert status({"Authorization": "Bearer " + creds.token})[0] == 401


def test_a_client_refetches_once_when_its_token_expired_early(emulator, key_info):
    emulator.admin("auth", {"check_tokens": True})
    # An AuthorizedSession, as the clients use: Cloud Run's own client would sign its own JWT with the
    # key (self-signed JWT access), which only Google can check.
    session = AuthorizedSession(service_account.Credentials.from_service_account_info(key_info, scopes=SCOPES))
    url = "%s/v2/%s/services" % (emulator.endpoint, PARENT)
    assert session.get(url).status_code == 200
    emulator.admin("auth/expire")
    assert session.get(url).status_code == 200  # 401, then google-auth refreshes and retries

    paths = [(c["path"], c["status"]) for c in emulator.calls()]
    assert [p for p in paths if p[0] == "/token"] == [("/token", 200), ("/token", 200)]
    assert [status for path, status in paths if path.endswith("/services")] == [200, 401, 200]


def test_token_settings_are_checked(emulator):
    with pytest.raises(urllib.error.HTTPError):
        emulator.admin("auth", {"check_tokens": "yes"})
    with pytest.raises(urllib.error.HTTPError):
        emulator.admin("private-services", {"pattern": "*"})


def get(url, headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as e:
        return e.code


def test_a_private_service_needs_an_id_token_for_its_url(emulator, key_info):
    services = run_client(emulator, gcreds.AnonymousCredentials())
    service = set_traffic(services, create(services, "private-app"), latest(100), latest(0, "canary"))
    other = create(services, "open-app")
    tag_url = [s.uri for s in service.traffic_statuses if s.tag == "canary"][0]
    emulator.admin("private-services", {"service": "projects/*/services/private-*"})

    def id_token(audience):
        creds = service_account.IDTokenCredentials.from_service_account_info(key_info, target_audience=audience)
        creds.refresh(Request())
        return {"Authorization": "Bearer " + creds.token}

    assert get(service.uri) == 403
    assert get(service.uri, id_token("https://elsewhere.example")) == 403
    assert get(service.uri, {"Authorization": "Bearer ya29.unknown"}) == 403
    assert get(service.uri, id_token(service.uri)) == 200
    assert get(tag_url, id_token(service.uri)) == 200  # the service URL as audience, on a tag URL
    assert get(tag_url, id_token(tag_url)) == 200
    assert get(other.uri) == 200  # not marked: open


def test_the_invoker_check_reads_the_services_iam_policy(emulator, key_info):
    services = run_client(emulator, gcreds.AnonymousCredentials())
    service = create(services, "private-app")
    emulator.admin("private-services", {"service": "projects/*/services/private-*"})
    creds = service_account.IDTokenCredentials.from_service_account_info(key_info, target_audience=service.uri)
    creds.refresh(Request())
    ci = {"Authorization": "Bearer " + creds.token}  # ci@demo.iam.gserviceaccount.com

    def grant(*members):
        binding = policy_pb2.Binding(role="roles/run.invoker", members=members)
        services.set_iam_policy(request=iam_policy_pb2.SetIamPolicyRequest(resource=service.name, policy=policy_pb2.Policy(bindings=[binding])))

    assert (get(service.uri), get(service.uri, ci)) == (403, 200)  # no invoker named: any identity with a token
    grant("serviceAccount:other@demo.iam.gserviceaccount.com")
    assert get(service.uri, ci) == 403
    grant("serviceAccount:other@demo.iam.gserviceaccount.com", "serviceAccount:" + key_info["client_email"])
    assert (get(service.uri), get(service.uri, ci)) == (403, 200)
    grant("allAuthenticatedUsers")
    assert (get(service.uri), get(service.uri, ci)) == (403, 200)
    grant("allUsers")  # public, though marked private
    assert get(service.uri) == 200
