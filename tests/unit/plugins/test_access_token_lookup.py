# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""orchestra.gcp.access_token without a token endpoint: its options validated as the modules' auth options, and the
errors it raises when there is no token to give. (A token fetched and used: tests/integration/test_access_token.py.)"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleLookupError
from google.auth.compute_engine import _metadata

from ansible_collections.orchestra.gcp.plugins.lookup.access_token import LookupModule, auth_params
from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import CLOUD_PLATFORM_SCOPE

EMULATOR = "http://127.0.0.1:9"


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """No Google credentials anywhere: no variable, no gcloud configuration, no metadata server."""
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GCP_SERVICE_ACCOUNT_FILE", "GCP_SERVICE_ACCOUNT_CONTENTS", "GCE_CREDENTIALS_FILE_PATH",
                 "GCP_AUTH_KIND", "GCP_IMPERSONATE_SERVICE_ACCOUNT", "GCP_PROJECT", "GCE_PROJECT", "ORCHESTRA_GCP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setattr(_metadata, "_NO_GCE_CHECK", True)


def lookup(*terms, **options):
    return LookupModule().run(list(terms), {}, **options)


def test_options_take_the_modules_defaults_and_environment_fallbacks(no_credentials, monkeypatch):
    monkeypatch.setenv("GCP_PROJECT", "from-env")
    monkeypatch.setenv("ORCHESTRA_GCP_ENDPOINT", EMULATOR)

    params = auth_params({"auth_kind": "application"})

    assert params["project"] == "from-env" and params["api_endpoint"] == EMULATOR
    assert params["scopes"] == [CLOUD_PLATFORM_SCOPE] and params["request_timeout"] == 60.0
    assert params["service_account_file"] is None and params["impersonate_service_account"] is None
    assert auth_params({"api_endpoint": "https://example.test", "scopes": "a"})["api_endpoint"] == "https://example.test"


@pytest.mark.parametrize("options, message", [
    ({"auth_knd": "application"}, "auth_knd"),
    ({"auth_kind": "user"}, "auth_kind must be one of: application, serviceaccount"),
    ({"service_account_file": "/k.json", "service_account_contents": "{}"}, "mutually exclusive: service_account_file|service_account_contents"),
])
def test_options_are_refused_as_a_module_refuses_them(no_credentials, options, message):
    with pytest.raises(AnsibleLookupError) as raised:
        lookup(**options)
    assert message in str(raised.value)


def test_terms_are_refused(no_credentials):
    with pytest.raises(AnsibleLookupError, match="takes no terms"):
        lookup("token")


def test_the_emulator_without_credential_options_has_no_token(no_credentials):
    with pytest.raises(AnsibleLookupError) as raised:
        lookup(api_endpoint=EMULATOR)
    message = str(raised.value)
    assert "against the emulator at %s the collection calls anonymously" % EMULATOR in message
    assert "pass auth_kind, service_account_file or service_account_contents" in message


def test_without_credentials_it_names_where_it_looked_and_what_to_do(no_credentials):
    with pytest.raises(AnsibleLookupError) as raised:
        lookup(api_endpoint="https://secretmanager.googleapis.com")
    message = str(raised.value)
    assert message.startswith("orchestra.gcp.access_token could not load credentials. It looked, in order, at the options")
    assert "GCP_SERVICE_ACCOUNT_FILE" in message and "Application Default Credentials" in message
    assert "Failed to load Google credentials" in message
    assert "run 'gcloud auth application-default login'" in message


def test_a_service_account_without_a_key_and_an_unreadable_key_are_named(no_credentials, tmp_path):
    with pytest.raises(AnsibleLookupError, match="auth_kind=serviceaccount needs service_account_file"):
        lookup(auth_kind="serviceaccount")
    absent = str(tmp_path / "absent.json")
    with pytest.raises(AnsibleLookupError) as raised:
        lookup(service_account_file=absent)
    assert "could not load credentials." in str(raised.value) and "Cannot read the service account file %s" % absent in str(raised.value)
