"""Shared fixtures: an emulator process per test session and a clean emulator per test.

Live runs (ORCHESTRA_LIVE_PROJECT set) talk to Google and have no emulator: the fixtures skip.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from monitoring_lag import MONITORING_CONFIG

# google-auth must not probe the GCE metadata server while resolving credentials.
os.environ["NO_GCE_CHECK"] = "true"

LIVE_PROJECT_VARIABLE = "ORCHESTRA_LIVE_PROJECT"
START_TIMEOUT = 10.0


class EmulatorClient:
    """Talks to the emulator's admin API (under /_emulator/)."""

    def __init__(self, endpoint, state_dir):
        self.endpoint = endpoint
        self.state_dir = state_dir

    def admin(self, path, body=None, method="POST"):
        """Call /_emulator/{path}; return the decoded JSON answer (raises on HTTP errors)."""
        data = None if method == "GET" else json.dumps(body or {}).encode()
        request = urllib.request.Request(
            f"{self.endpoint}/_emulator/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def healthy(self):
        try:
            return self.admin("health", method="GET")["status"] == "ok"
        except OSError:
            return False

    def reset(self):
        """Forget everything; a reset clears the config too, so the tests' Monitoring lag is set again."""
        self.admin("reset")
        self.admin("config", MONITORING_CONFIG)

    def log(self):
        """Every mutating API call since the last reset: {time, method, path, query, status}."""
        return self.admin("log", method="GET")["calls"]

    def calls(self):
        """Every API call since the last reset, reads included: {method, path, status, start, seconds}."""
        return self.admin("calls", method="GET")["calls"]

    def state(self):
        return self.admin("state", method="GET")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "one_core: a scenario whose paths through Ansible another scenario walks on every core; CI runs it on "
                   "the highest declared ansible-core only (scripts/test.sh, stage core-lowest), to keep within its time")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_emulator(state_dir, port=None):
    """Start `python -m orchestra_emulator serve` and wait until it is healthy.

    Returns (process, EmulatorClient); stop it with stop_emulator."""
    port = port or free_port()
    command = [sys.executable, "-m", "orchestra_emulator", "serve", "--port", str(port), "--state-dir", str(state_dir)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    client = EmulatorClient(f"http://127.0.0.1:{port}", state_dir)
    deadline = time.monotonic() + START_TIMEOUT
    while not client.healthy():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"emulator did not start: {process.stderr.read().decode()}")
        time.sleep(0.05)
    return process, client


def stop_emulator(process):
    process.terminate()
    try:
        process.wait(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(autouse=True)
def _outside_any_run(monkeypatch):
    """Each test starts outside a run of the token cache: importing the action plugins (an earlier test of
    this process may have) starts one and names it in ORCHESTRA_GCP_TOKEN_RUN, which a playbook the test
    starts would otherwise join instead of starting its own."""
    monkeypatch.delenv("ORCHESTRA_GCP_TOKEN_RUN", raising=False)


def _skip_when_live():
    if os.environ.get(LIVE_PROJECT_VARIABLE):
        pytest.skip(f"{LIVE_PROJECT_VARIABLE} is set: live runs use Google, not the emulator")


class EmulatorInstance:
    """An emulator of a test's own on a free port, driven through the CLI."""

    def __init__(self, state_dir):
        self.port = free_port()
        self.state_dir = state_dir
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def cli(self, command):
        """Run `python -m orchestra_emulator COMMAND` for this instance; return
        (exit code, the JSON line it printed)."""
        args = [
            sys.executable,
            "-m",
            "orchestra_emulator",
            command,
            "--port",
            str(self.port),
            "--state-dir",
            str(self.state_dir),
        ]
        completed = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
        return completed.returncode, json.loads(completed.stdout)


@pytest.fixture
def emulator_instance(tmp_path):
    """An EmulatorInstance, not started; stopped at the end of the test."""
    _skip_when_live()
    instance = EmulatorInstance(tmp_path / "emulator-state")
    yield instance
    instance.cli("stop")


@pytest.fixture(scope="session")
def emulator_process(tmp_path_factory):
    """One emulator for the session (per xdist worker): an EmulatorClient."""
    _skip_when_live()
    process, client = start_emulator(tmp_path_factory.mktemp("emulator-state"))
    yield client
    stop_emulator(process)


@pytest.fixture
def emulator(emulator_process):
    """The session's emulator, reset: no resources, faults or log."""
    emulator_process.reset()
    return emulator_process
