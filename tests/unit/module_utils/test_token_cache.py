# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run's token cache: keys, file permissions, the expiry margin, one fetch per credential, one
refetch on a 401, the opt-in keep mode and the cleanup of a run's directory."""

from __future__ import annotations

import datetime
import json
import os
import stat
import subprocess
import sys
import tempfile

import pytest
from google.auth import credentials as gcreds

from ansible_collections.orchestra.gcp.plugins.module_utils import _gcp, _tokens


class Minter(gcreds.Credentials):
    """Credentials whose every refresh is a new token valid ``lifetime`` from now: a fetch counter."""

    def __init__(self, lifetime=datetime.timedelta(hours=1)):
        super().__init__()
        self.fetches = 0
        self.lifetime = lifetime

    def refresh(self, request):
        self.fetches += 1
        self.token = "token-%d" % self.fetches
        self.expiry = _tokens._utcnow() + self.lifetime


@pytest.fixture
def environ(tmp_path, monkeypatch):
    """A clean environment for the cache and a private temporary directory standing for /tmp."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return {"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache")}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_run_has_a_private_directory_and_private_files(environ, tmp_path):
    directory = _tokens.start_run(environ)

    assert environ[_tokens.RUN_VARIABLE] == directory
    assert _tokens.run_directory(environ) == directory
    assert os.path.dirname(directory) == str(tmp_path / ("orchestra-gcp-%d" % os.geteuid()))
    assert mode(directory) == 0o700 and mode(os.path.dirname(directory)) == 0o700
    _tokens.CachedCredentials(Minter(), "k", directory).refresh(None)
    assert sorted(os.listdir(directory)) == ["k.json", "k.lock"]
    assert mode(os.path.join(directory, "k.json")) == 0o600 and mode(os.path.join(directory, "k.lock")) == 0o600


def test_a_directory_others_can_read_is_not_used(environ, tmp_path):
    directory = _tokens.start_run(environ)
    os.chmod(directory, 0o755)
    assert _tokens.run_directory(environ) is None
    os.chmod(os.path.dirname(directory), 0o755)
    with pytest.raises(OSError):
        _tokens._private_directory(os.path.dirname(directory))


def test_one_fetch_per_credential_across_processes_of_a_run(environ):
    directory = _tokens.start_run(environ)
    first, second = Minter(), Minter()  # the same credential resolved in two workers

    a = _tokens.CachedCredentials(first, "same", directory)
    b = _tokens.CachedCredentials(second, "same", directory)
    other = _tokens.CachedCredentials(Minter(), "other", directory)
    for creds in (a, b, other):
        creds.refresh(None)

    assert (first.fetches, second.fetches) == (1, 0)
    assert a.token == b.token == "token-1"
    assert other.token == "token-1" and other.inner.fetches == 1  # another key: its own fetch


def test_a_token_near_its_expiry_is_fetched_again_once(environ):
    directory = _tokens.start_run(environ)
    minter = Minter(lifetime=_tokens.MARGIN + datetime.timedelta(seconds=30))
    creds = _tokens.CachedCredentials(minter, "k", directory)
    creds.refresh(None)
    later = _tokens.CachedCredentials(Minter(), "k", directory)
    later.refresh(None)
    assert later.inner.fetches == 0  # 30 s beyond the margin: still handed out

    minter.lifetime = _tokens.MARGIN - datetime.timedelta(seconds=1)
    creds.refresh(None)  # stored with less than the margin left
    late = [_tokens.CachedCredentials(Minter(), "k", directory) for _unused in range(3)]
    for each in late:
        each.refresh(None)
    assert [each.inner.fetches for each in late] == [1, 0, 0]


def test_a_refused_token_is_dropped_and_fetched_again_once(environ):
    directory = _tokens.start_run(environ)
    a = _tokens.CachedCredentials(Minter(), "k", directory)
    b = _tokens.CachedCredentials(Minter(), "k", directory)
    a.refresh(None)
    b.refresh(None)
    assert a.token == b.token == "token-1"

    a.refresh(None)  # refreshing a fresh token: the API answered 401 to it
    assert a.token == "token-2" and a.inner.fetches == 2
    b.refresh(None)  # b meets the same 401: it takes the new token without fetching
    assert b.token == "token-2" and b.inner.fetches == 0


def test_outside_a_run_tokens_stay_in_the_process(environ):
    assert _tokens.run_directory(environ) is None
    creds = _tokens.CachedCredentials(Minter(), "k", None)
    creds.refresh(None)
    assert creds.token == "token-1"


def test_off_caches_nothing_on_disk(environ):
    environ[_tokens.MODE_VARIABLE] = "off"
    assert _tokens.start_run(environ) is None
    assert _tokens.RUN_VARIABLE not in environ


def test_keep_shares_a_directory_across_runs_and_drops_expired_entries(environ, tmp_path):
    environ[_tokens.MODE_VARIABLE] = "keep"
    directory = _tokens.start_run(environ)
    assert directory == str(tmp_path / "cache" / "orchestra.gcp" / "tokens")
    assert mode(directory) == 0o700
    _tokens.CachedCredentials(Minter(), "live", directory).refresh(None)
    _tokens.CachedCredentials(Minter(lifetime=datetime.timedelta(seconds=-1)), "dead", directory).refresh(None)

    del environ[_tokens.RUN_VARIABLE]  # the next run
    assert _tokens.start_run(environ) == directory
    assert sorted(os.listdir(directory)) == ["live.json", "live.lock"]


def test_a_run_removes_its_directory_at_exit_and_the_next_run_removes_killed_ones(environ, tmp_path):
    base = tmp_path / ("orchestra-gcp-%d" % os.geteuid())
    script = ("import os, sys, tempfile; tempfile.tempdir = sys.argv[1]; "
              "from ansible_collections.orchestra.gcp.plugins.module_utils import _tokens; "
              "d = _tokens.start_run({}); print(d, flush=True); "
              "os._exit(0) if sys.argv[2] == 'killed' else None")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    ended = subprocess.run([sys.executable, "-c", script, str(tmp_path), "ends"], env=env, capture_output=True, text=True, check=True)
    killed = subprocess.run([sys.executable, "-c", script, str(tmp_path), "killed"], env=env, capture_output=True, text=True, check=True)

    assert not os.path.exists(ended.stdout.strip())  # removed by its own process at exit
    assert os.path.exists(killed.stdout.strip())  # os._exit: no exit hooks, as a killed run
    directory = _tokens.start_run(environ)
    assert os.listdir(str(base)) == [os.path.basename(directory)]


def test_a_forked_worker_does_not_remove_the_run(environ):
    directory = _tokens.start_run(environ)
    _tokens._remove_run(directory, os.getpid() + 1)
    assert os.path.isdir(directory)


def test_stored_entries_hold_the_token_and_its_expiry_only(environ):
    directory = _tokens.start_run(environ)
    creds = _tokens.CachedCredentials(Minter(), "k", directory)
    creds.refresh(None)
    with open(os.path.join(directory, "k.json")) as f:
        entry = json.load(f)
    assert sorted(entry) == ["expiry", "token"]
    assert abs(_tokens.EPOCH + datetime.timedelta(seconds=entry["expiry"]) - creds.expiry) < datetime.timedelta(seconds=1)


# ---------------------------------------------------------------- keys

def key(auth_params, environ=None, **options):
    return _gcp.credential_key(auth_params(**options), environ=environ or {})


def test_keys_differ_by_credential_scopes_impersonation_target_and_project(auth_params, sa_info):
    base = dict(service_account_contents=json.dumps(sa_info("proj-a")))
    keys = [
        key(auth_params, **base),
        key(auth_params, service_account_contents=json.dumps(sa_info("proj-b"))),
        key(auth_params, scopes=["https://www.googleapis.com/auth/monitoring.read"], **base),
        key(auth_params, impersonate_service_account="x@p.iam.gserviceaccount.com", **base),
        key(auth_params, api_endpoint="http://127.0.0.1:1", **base),
        key(auth_params, project="other", **base),
        key(auth_params, environ={"GCP_IMPERSONATE_SERVICE_ACCOUNT": "y@p.iam.gserviceaccount.com"}, **base),
    ]
    assert len(set(keys)) == len(keys)
    assert key(auth_params, **base) == key(auth_params, request_timeout=5.0, environ={"PATH": "/elsewhere"}, **base)


def test_a_rotated_key_file_is_another_credential(auth_params, sa_file):
    path = sa_file("proj-a")
    before = key(auth_params, service_account_file=path)
    with open(path) as f:
        info = json.load(f)
    info["private_key_id"] = "rotated"
    with open(path, "w") as f:
        json.dump(info, f)
    assert key(auth_params, service_account_file=path) != before


def test_sessions_cache_under_different_keys_per_role_and_audience(auth_params, sa_info, environ, monkeypatch):
    monkeypatch.setenv(_tokens.RUN_VARIABLE, _tokens.start_run(environ))
    session = _gcp.Session(auth_params(service_account_contents=json.dumps(sa_info("proj-a"))))
    creds = session.resolve()[0]
    minter_a = session._cached(Minter(), "id https://a.run.app")
    minter_b = session._cached(Minter(), "id https://b.run.app")

    assert isinstance(creds, _tokens.CachedCredentials)
    assert len({creds._path, minter_a._path, minter_b._path}) == 3
    assert os.path.dirname(creds._path) == environ[_tokens.RUN_VARIABLE]
