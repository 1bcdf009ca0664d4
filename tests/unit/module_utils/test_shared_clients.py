# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credentials and clients shared by the Sessions of one process: reused for the same auth inputs,
never across different credentials, projects, endpoints or environments, and never across a fork."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

from google.cloud import run_v2

from ansible_collections.orchestra.gcp.plugins.module_utils import _gcp
from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import Session


def session(auth_params, **overrides):
    return Session(auth_params(**overrides))


def test_same_inputs_share_credentials_and_clients(auth_params, sa_info):
    key = json.dumps(sa_info("proj-a"))
    first, second = session(auth_params, service_account_contents=key), session(auth_params, service_account_contents=key)

    assert first.client(run_v2.ServicesClient) is second.client(run_v2.ServicesClient)
    assert first.resolve() is second.resolve()
    assert first.client(run_v2.RevisionsClient) is not first.client(run_v2.ServicesClient)


def test_different_credentials_projects_and_endpoints_share_nothing(auth_params, sa_info):
    sessions = [
        session(auth_params, service_account_contents=json.dumps(sa_info("proj-a"))),
        session(auth_params, service_account_contents=json.dumps(sa_info("proj-b"))),
        session(auth_params, service_account_contents=json.dumps(sa_info("proj-a")), project="proj-c"),
        session(auth_params, service_account_contents=json.dumps(sa_info("proj-a")), impersonate_service_account="x@p.iam.gserviceaccount.com"),
        session(auth_params, api_endpoint="http://127.0.0.1:1", project="proj-a"),
        session(auth_params, api_endpoint="http://127.0.0.1:2", project="proj-a"),
    ]
    clients = [s.client(run_v2.ServicesClient) for s in sessions]
    assert len({id(c) for c in clients}) == len(sessions)
    assert [s.project for s in sessions] == ["proj-a", "proj-b", "proj-c", "proj-a", "proj-a", "proj-a"]
    assert clients[0]._transport._credentials.inner.service_account_email == "deployer@proj-a.iam.gserviceaccount.com"
    assert clients[1]._transport._credentials.inner.service_account_email == "deployer@proj-b.iam.gserviceaccount.com"
    assert clients[5]._transport._host.endswith("127.0.0.1:2")


def test_a_change_in_the_environment_is_a_new_entry(auth_params, sa_file, monkeypatch):
    monkeypatch.setenv("GCP_SERVICE_ACCOUNT_FILE", sa_file("proj-a"))
    before = session(auth_params)
    assert before.project == "proj-a"
    monkeypatch.setenv("GCP_SERVICE_ACCOUNT_FILE", sa_file("proj-b"))
    after = session(auth_params)

    assert after.project == "proj-b"
    assert after.client(run_v2.ServicesClient) is not before.client(run_v2.ServicesClient)


def test_a_forked_child_starts_empty(auth_params):
    parent = session(auth_params, api_endpoint="http://127.0.0.1:1", project="p")
    parent.client(run_v2.ServicesClient)
    assert _gcp._SHARED

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report how many entries it inherited, and whether it builds its own client
        inherited = len(_gcp._SHARED)
        own = session(auth_params, api_endpoint="http://127.0.0.1:1", project="p").client(run_v2.ServicesClient)
        os.write(write_end, json.dumps([inherited, own is not None]).encode())
        os._exit(0)
    os.close(write_end)
    _unused, status = os.waitpid(pid, 0)
    report = json.loads(os.read(read_end, 100))
    os.close(read_end)

    assert os.waitstatus_to_exitcode(status) == 0
    assert report == [0, True]
    assert _gcp._SHARED, "the parent keeps its own entries"


def test_warm_up_does_the_lazy_first_call_work():
    """What the controller door does once before Ansible forks, seen in a fresh interpreter."""
    code = ("import sys; from ansible_collections.orchestra.gcp.plugins.module_utils import _gcp; "
            "before = set(sys.modules); _gcp.warm_up(); print(sorted(set(sys.modules) - before))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert {"netrc", "_strptime"} <= set(ast.literal_eval(done.stdout))
