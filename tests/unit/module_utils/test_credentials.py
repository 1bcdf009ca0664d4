# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""resolve_credentials: every resolution path, with real google-auth objects built from local files.

google-auth does not fetch tokens when it loads credentials, so nothing here touches the network
(the autouse ``no_network`` fixture makes sure of it).
"""

from __future__ import annotations

import json

import pytest
from google.auth import credentials as gcreds
from google.auth import identity_pool, impersonated_credentials
from google.auth.compute_engine import _metadata
from google.oauth2 import service_account

from ansible_collections.orchestra.gcp.plugins.module_utils import _gcp
from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError, resolve_credentials

# google-auth 2.63 deprecates the generic loaders _gcp uses (see the report); keep the output readable.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:The load_credentials_from_(file|dict) method is deprecated:DeprecationWarning")

WIF_AUDIENCE = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/prov"


@pytest.fixture
def clean_adc(monkeypatch, tmp_path):
    """No ambient Google credentials at all: no env, no gcloud config, no metadata server."""
    for var in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT",
                "GCP_SERVICE_ACCOUNT_FILE", "GCP_SERVICE_ACCOUNT_CONTENTS", "GCE_CREDENTIALS_FILE_PATH",
                "GCP_AUTH_KIND", "GCP_IMPERSONATE_SERVICE_ACCOUNT", "GAE_ENV", "SERVER_SOFTWARE"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "empty-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(home / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.setattr(_metadata, "_NO_GCE_CHECK", True)
    return home


@pytest.fixture
def wif_file(tmp_path):
    """A Workload Identity Federation (external_account) configuration and its subject-token file."""
    token = tmp_path / "oidc-token"
    token.write_text("header.payload.signature")
    config = tmp_path / "wif.json"
    config.write_text(json.dumps({
        "type": "external_account",
        "audience": WIF_AUDIENCE,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "https://sts.googleapis.com/v1/token",
        "credential_source": {"file": str(token)},
    }))
    return str(config)


# ---------------------------------------------------------------- explicit options

@pytest.mark.parametrize("as_string", [False, True], ids=["dict", "json-string"])
def test_contents_give_service_account_with_key_project(auth_params, sa_info, as_string):
    info = sa_info("proj-from-key")
    params = auth_params(service_account_contents=json.dumps(info) if as_string else info)

    creds, project, source = resolve_credentials(params, environ={})

    assert isinstance(creds, service_account.Credentials)
    assert creds.service_account_email == info["client_email"]
    assert creds.project_id == "proj-from-key"
    assert project == "proj-from-key"
    assert source == "service_account_contents"
    assert info["private_key"] not in source


def test_explicit_project_wins_over_key_project(auth_params, sa_info):
    params = auth_params(service_account_contents=sa_info("proj-from-key"), project="proj-explicit")

    creds, project, _unused = resolve_credentials(params, environ={})

    assert isinstance(creds, service_account.Credentials)
    assert project == "proj-explicit"


def test_contents_credentials_carry_requested_scopes(auth_params, sa_info):
    scope = "https://www.googleapis.com/auth/run.readonly"
    creds, _unused, _unused = resolve_credentials(auth_params(service_account_contents=sa_info(), scopes=[scope]), environ={})
    assert creds.scopes == [scope]


def test_explicit_file(auth_params, sa_file):
    path = sa_file("proj-file")

    creds, project, source = resolve_credentials(auth_params(service_account_file=path), environ={})

    assert isinstance(creds, service_account.Credentials)
    assert creds.service_account_email == "deployer@proj-file.iam.gserviceaccount.com"
    assert project == "proj-file"
    assert path in source
    assert creds.scopes == [_gcp.CLOUD_PLATFORM_SCOPE]


@pytest.mark.parametrize("explicit", ["file", "contents"])
def test_explicit_options_beat_environment(auth_params, sa_file, sa_info, explicit):
    environ = {"GCP_SERVICE_ACCOUNT_FILE": sa_file("proj-env", email="env@proj-env.iam.gserviceaccount.com"),
               "GCP_SERVICE_ACCOUNT_CONTENTS": json.dumps(sa_info("proj-env-contents")),
               "GCE_CREDENTIALS_FILE_PATH": sa_file("proj-awx")}
    if explicit == "file":
        params = auth_params(service_account_file=sa_file("proj-explicit"))
    else:
        params = auth_params(service_account_contents=sa_info("proj-explicit"))

    creds, project, _unused = resolve_credentials(params, environ=environ)

    assert project == "proj-explicit"
    assert creds.service_account_email == "deployer@proj-explicit.iam.gserviceaccount.com"


# ---------------------------------------------------------------- environment

def test_env_contents(auth_params, sa_info):
    environ = {"GCP_SERVICE_ACCOUNT_CONTENTS": json.dumps(sa_info("proj-env-contents"))}

    creds, project, source = resolve_credentials(auth_params(), environ=environ)

    assert isinstance(creds, service_account.Credentials)
    assert project == "proj-env-contents"
    assert source == "service_account_contents"


def test_env_file(auth_params, sa_file):
    path = sa_file("proj-env-file")

    creds, project, source = resolve_credentials(auth_params(), environ={"GCP_SERVICE_ACCOUNT_FILE": path})

    assert isinstance(creds, service_account.Credentials)
    assert project == "proj-env-file"
    assert path in source


def test_env_project_param_still_wins_over_env_key(auth_params, sa_file):
    environ = {"GCP_SERVICE_ACCOUNT_FILE": sa_file("proj-env-file")}
    _unused, project, _unused = resolve_credentials(auth_params(project="proj-param"), environ=environ)
    assert project == "proj-param"


def test_awx_google_credential(auth_params, tmp_path, private_key_pem):
    # What AWX's "Google Compute Engine" credential type writes, and points GCE_CREDENTIALS_FILE_PATH at.
    awx = tmp_path / "awx-gce-credential.json"
    awx.write_text(json.dumps({
        "type": "service_account",
        "private_key": private_key_pem,
        "client_email": "awx@proj-awx.iam.gserviceaccount.com",
        "project_id": "proj-awx",
        "token_uri": "https://oauth2.googleapis.com/token",
    }))

    creds, project, source = resolve_credentials(auth_params(), environ={"GCE_CREDENTIALS_FILE_PATH": str(awx)})

    assert isinstance(creds, service_account.Credentials)
    assert creds.service_account_email == "awx@proj-awx.iam.gserviceaccount.com"
    assert project == "proj-awx"
    assert str(awx) in source


def test_gcp_service_account_file_beats_awx_path(auth_params, sa_file):
    environ = {"GCP_SERVICE_ACCOUNT_FILE": sa_file("proj-gcp"), "GCE_CREDENTIALS_FILE_PATH": sa_file("proj-awx")}
    _unused, project, _unused = resolve_credentials(auth_params(), environ=environ)
    assert project == "proj-gcp"


# ---------------------------------------------------------------- application default credentials

def test_application_with_workload_identity_federation(auth_params, clean_adc, monkeypatch, wif_file, sa_file):
    # google.auth.default reads os.environ itself.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", wif_file)
    # An explicit ADC project keeps google-auth from asking Resource Manager for the pool's project.
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "proj-wif")
    # auth_kind=application ignores the collection's service-account variables.
    environ = {"GCP_SERVICE_ACCOUNT_FILE": sa_file("proj-ignored")}

    creds, project, source = resolve_credentials(auth_params(auth_kind="application"), environ=environ)

    assert isinstance(creds, identity_pool.Credentials)
    assert creds.info["audience"] == WIF_AUDIENCE
    assert creds.scopes == [_gcp.CLOUD_PLATFORM_SCOPE]
    assert project == "proj-wif"
    assert source == "application default credentials"


def test_auth_kind_from_env_selects_application(auth_params, clean_adc, monkeypatch, wif_file, sa_file):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", wif_file)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "proj-wif")
    environ = {"GCP_AUTH_KIND": "application", "GCP_SERVICE_ACCOUNT_FILE": sa_file("proj-ignored")}

    creds, project, _unused = resolve_credentials(auth_params(), environ=environ)

    assert isinstance(creds, identity_pool.Credentials)
    assert project == "proj-wif"


def test_application_ignores_env_key_even_without_adc(auth_params, clean_adc, sa_file):
    # With auth_kind=application the env key is not a fallback: no ADC means an error, not the key.
    environ = {"GCP_SERVICE_ACCOUNT_FILE": sa_file("proj-ignored")}
    with pytest.raises(GcpError) as err:
        resolve_credentials(auth_params(auth_kind="application"), environ=environ)
    assert "proj-ignored" not in err.value.msg
    assert "Failed to load Google credentials" in err.value.msg


def test_no_credentials_anywhere_names_the_fixes(auth_params, clean_adc):
    with pytest.raises(GcpError) as err:
        resolve_credentials(auth_params(), environ={})
    msg = err.value.msg
    assert msg.startswith("Failed to load Google credentials")
    assert "service_account_file" in msg
    assert "GOOGLE_APPLICATION_CREDENTIALS" in msg
    assert "gcloud auth application-default login" in msg


@pytest.mark.parametrize("environ", [{}, {"GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent"}],
                         ids=["empty-env", "only-adc-var-in-environ"])
def test_serviceaccount_without_key(auth_params, clean_adc, environ):
    with pytest.raises(GcpError) as err:
        resolve_credentials(auth_params(auth_kind="serviceaccount"), environ=environ)
    assert "auth_kind=serviceaccount" in err.value.msg
    assert "service_account_file" in err.value.msg


def test_serviceaccount_kind_from_env_without_key(auth_params, clean_adc):
    with pytest.raises(GcpError, match="auth_kind=serviceaccount needs"):
        resolve_credentials(auth_params(), environ={"GCP_AUTH_KIND": "serviceaccount"})


def test_missing_key_file_is_a_gcp_error(auth_params, tmp_path):
    missing = str(tmp_path / "nope.json")
    with pytest.raises(GcpError) as err:
        resolve_credentials(auth_params(service_account_file=missing), environ={})
    assert missing in err.value.msg


# ---------------------------------------------------------------- impersonation

TARGET = "runner@proj-target.iam.gserviceaccount.com"


@pytest.mark.parametrize("via", ["param", "env"])
def test_impersonation_wraps_source(auth_params, sa_file, via):
    key = sa_file("proj-src")
    if via == "param":
        params, environ = auth_params(service_account_file=key, impersonate_service_account=TARGET), {}
    else:
        params, environ = auth_params(service_account_file=key), {"GCP_IMPERSONATE_SERVICE_ACCOUNT": TARGET}

    creds, project, source = resolve_credentials(params, environ=environ)

    assert isinstance(creds, impersonated_credentials.Credentials)
    assert creds.service_account_email == TARGET
    assert creds._target_principal == TARGET
    assert creds._target_scopes == [_gcp.CLOUD_PLATFORM_SCOPE]
    assert isinstance(creds._source_credentials, service_account.Credentials)
    assert creds._source_credentials.service_account_email == "deployer@proj-src.iam.gserviceaccount.com"
    assert project == "proj-src"
    assert source.endswith("impersonating %s" % TARGET)


def test_impersonation_param_beats_env(auth_params, sa_file):
    params = auth_params(service_account_file=sa_file(), impersonate_service_account=TARGET)
    creds, _unused, _unused = resolve_credentials(params, environ={"GCP_IMPERSONATE_SERVICE_ACCOUNT": "other@p.iam.gserviceaccount.com"})
    assert creds.service_account_email == TARGET


# ---------------------------------------------------------------- emulator

@pytest.mark.parametrize("extra", [{}, {"impersonate_service_account": TARGET}], ids=["plain", "impersonate"])
def test_http_endpoint_is_anonymous_without_explicit_credentials(auth_params, extra):
    """Credentials in the environment are the user's real ones: the emulator never gets them."""
    params = auth_params(api_endpoint="http://127.0.0.1:8080", project="emu", **extra)

    creds, project, source = resolve_credentials(params, environ={"GCP_SERVICE_ACCOUNT_FILE": "/nonexistent", "GCP_AUTH_KIND": "serviceaccount"})

    assert isinstance(creds, gcreds.AnonymousCredentials)
    assert project == "emu"
    assert "http://127.0.0.1:8080" in source


@pytest.mark.parametrize("extra, error", [
    ({"auth_kind": "serviceaccount"}, "auth_kind=serviceaccount needs"),
    ({"service_account_file": "/nonexistent/key.json"}, "Cannot read the service account file"),
    ({"service_account_contents": "{not json"}, "is not valid JSON"),
], ids=["serviceaccount", "file", "bad-contents"])
def test_http_endpoint_uses_explicit_credentials(auth_params, extra, error):
    params = auth_params(api_endpoint="http://127.0.0.1:8080", project="emu", **extra)
    with pytest.raises(GcpError, match=error):
        resolve_credentials(params, environ={})


def test_impersonation_against_the_emulator_goes_to_its_iam_credentials_api(auth_params, sa_info):
    params = auth_params(api_endpoint="http://127.0.0.1:8080/", service_account_contents=sa_info(), impersonate_service_account=TARGET)

    creds, _unused, _unused = resolve_credentials(params, environ={})

    assert isinstance(creds, impersonated_credentials.Credentials)
    assert creds._iam_endpoint_override == "http://127.0.0.1:8080/v1/projects/-/serviceAccounts/%s:generateAccessToken" % TARGET


def test_https_endpoint_is_not_anonymous(auth_params, sa_info):
    params = auth_params(api_endpoint="https://us-central1-run.googleapis.com", service_account_contents=sa_info())
    creds, _unused, _unused = resolve_credentials(params, environ={})
    assert isinstance(creds, service_account.Credentials)


# ---------------------------------------------------------------- malformed input

SECRET = "s3cr3t-PRIVATE-KEY-material"


@pytest.mark.parametrize("contents", [
    '{"type": "service_account", "private_key": "%s", oops}' % SECRET,
    "private_key=%s" % SECRET,
    '{"private_key": "%s"' % SECRET,
], ids=["bad-object", "not-json", "truncated"])
@pytest.mark.parametrize("via", ["param", "env"])
def test_malformed_contents_never_leak(auth_params, contents, via):
    if via == "param":
        params, environ = auth_params(service_account_contents=contents), {}
    else:
        params, environ = auth_params(), {"GCP_SERVICE_ACCOUNT_CONTENTS": contents}

    with pytest.raises(GcpError) as err:
        resolve_credentials(params, environ=environ)

    assert "service_account_contents is not valid JSON" in err.value.msg
    assert SECRET not in err.value.msg
    assert SECRET not in str(err.value)


def test_contents_with_bad_private_key_never_leak(auth_params, sa_info):
    info = dict(sa_info(), private_key="-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n" % SECRET)
    with pytest.raises(GcpError) as err:
        resolve_credentials(auth_params(service_account_contents=info), environ={})
    assert "Failed to load Google credentials" in err.value.msg
    assert SECRET not in err.value.msg


def test_contents_of_unknown_type(auth_params, sa_info):
    info = dict(sa_info(), type="not_a_credential_type")
    with pytest.raises(GcpError, match="'not_a_credential_type' credential, not a service account key"):
        resolve_credentials(auth_params(service_account_contents=info), environ={})


def test_id_tokens_come_from_the_key_or_through_impersonation(sa_info, wif_file):
    """Which credentials can mint an ID token for a Cloud Run URL, and how (no call is made here)."""
    key = service_account.Credentials.from_service_account_info(sa_info())
    minter, why = _gcp.id_token_credentials(key, "https://app-abc-uc.a.run.app")
    assert isinstance(minter, service_account.IDTokenCredentials) and why is None
    assert minter._target_audience == "https://app-abc-uc.a.run.app"

    target = impersonated_credentials.Credentials(source_credentials=key, target_principal="deployer@p.iam.gserviceaccount.com",
                                                  target_scopes=[_gcp.CLOUD_PLATFORM_SCOPE])
    minter, why = _gcp.id_token_credentials(target, "https://app-abc-uc.a.run.app")
    assert isinstance(minter, impersonated_credentials.IDTokenCredentials) and why is None
    assert minter._target_credentials is target and minter._include_email

    assert _gcp.id_token_credentials(gcreds.AnonymousCredentials(), "https://x")[0] is None
    external = identity_pool.Credentials.from_file(wif_file)
    minter, why = _gcp.id_token_credentials(external, "https://x")
    assert minter is None and "impersonate_service_account" in why
