# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by the module_utils unit tests: no network, test keys, default parameters."""

from __future__ import annotations

import json
import socket

import pytest

from ansible_collections.orchestra.gcp.plugins.module_utils import _gcp


class NetworkAttempted(AssertionError):
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Unit tests never reach the network: any TCP/UDP connect fails the test loudly."""
    real_connect = socket.socket.connect

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkAttempted("unit test tried to connect to %r" % (address,))
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


def _generate_private_key_pem():
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa as crsa
    except ImportError:  # pragma: no cover - the rsa package google-auth can depend on
        import rsa
        _unused, private = rsa.newkeys(2048)
        return private.save_pkcs1().decode()
    key = crsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(autouse=True)
def fresh_process_cache():
    """Each test starts as a new process would: no credentials or clients shared from another test."""
    _gcp._SHARED.clear()
    yield
    _gcp._SHARED.clear()


@pytest.fixture(scope="session")
def private_key_pem():
    return _generate_private_key_pem()


@pytest.fixture
def sa_info(private_key_pem):
    """Build a service-account key dict (what ``gcloud iam service-accounts keys create`` writes)."""
    def build(project="proj-a", email=None):
        return {
            "type": "service_account",
            "project_id": project,
            "private_key_id": "0123456789abcdef",
            "private_key": private_key_pem,
            "client_email": email or "deployer@%s.iam.gserviceaccount.com" % project,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    return build


@pytest.fixture
def sa_file(tmp_path, sa_info):
    """Write a service-account key file and return its path."""
    def write(project="proj-a", name=None, email=None):
        path = tmp_path / (name or "%s-key.json" % project)
        path.write_text(json.dumps(sa_info(project, email)))
        return str(path)
    return write


@pytest.fixture
def auth_params():
    """The module's auth parameters, defaults filled in as AnsibleModule would."""
    def build(**overrides):
        params = {key: spec.get("default") for key, spec in _gcp.AUTH_ARGSPEC.items()}
        params["scopes"] = list(params["scopes"])
        unknown = set(overrides) - set(params)
        assert not unknown, "not auth options: %s" % unknown
        params.update(overrides)
        return params
    return build
