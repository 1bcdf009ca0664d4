"""Official Cloud Run clients (REST transport, anonymous credentials) pointed at the emulator."""

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2


def _client_options(emulator):
    return {
        "transport": "rest",
        "credentials": AnonymousCredentials(),
        "client_options": {"api_endpoint": emulator.endpoint},
    }


@pytest.fixture
def services(emulator):
    return run_v2.ServicesClient(**_client_options(emulator))


@pytest.fixture
def revisions(emulator):
    return run_v2.RevisionsClient(**_client_options(emulator))
