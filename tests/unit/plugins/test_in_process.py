# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller door's own logic: when a task may run in-process, the module run it does, and the
task environment it applies and takes back. (Both doors end to end: tests/integration/test_doors.py.)"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError
from ansible_collections.orchestra.gcp.plugins.plugin_utils import _in_process
from ansible_collections.orchestra.gcp.plugins.plugin_utils._in_process import GcpAction, run_module

SPEC = dict(argument_spec=dict(name=dict(type="str", required=True)))
# Running a module in the controller process needs ansible-core 2.19's module JSON profiles; on an older core every
# task takes the module door (the decision is tested below on any core, both doors in tests/integration/test_doors.py).
needs_the_door = pytest.mark.skipif(_in_process.CORE_LACKS is not None, reason=str(_in_process.CORE_LACKS))


@pytest.fixture
def any_core(monkeypatch):
    """Decide as on a core that has the controller door."""
    monkeypatch.setattr(_in_process, "CORE_LACKS", None)


def action(transport="local", become=False, async_val=0):
    plugin = GcpAction.__new__(GcpAction)
    plugin._connection = SimpleNamespace(transport=transport)
    plugin._play_context = SimpleNamespace(become=become)
    plugin._task = SimpleNamespace(async_val=async_val)
    plugin._templar = SimpleNamespace(template=lambda value: value)
    plugin.spec = dict(argument_spec={})
    return plugin


@pytest.mark.parametrize("plugin, task_vars, reason", [
    (action(), {}, None),
    (action(), {"orchestra_gcp_in_process": "yes"}, None),
    (action(), {"orchestra_gcp_in_process": "false"}, "orchestra_gcp_in_process is false"),
    (action(transport="ssh"), {}, "the task runs over a ssh connection"),
    (action(become=True), {}, "become is set, so the module runs as another user"),
    (action(async_val=30), {}, "the task is async"),
])
def test_where_a_task_runs(any_core, plugin, task_vars, reason):
    assert plugin._module_door_reason(task_vars) == reason


def test_a_controller_without_google_libraries_runs_the_module(any_core, monkeypatch):
    monkeypatch.setattr(_in_process, "GOOGLE_IMPORT_ERROR", "ImportError: No module named 'google'")
    assert action()._module_door_reason({}) == "the controller's Python cannot import Google's client libraries"


def test_a_controller_without_a_library_the_module_declares_runs_the_module(any_core):
    plugin = action()
    plugin.spec = dict(plugin.spec, libraries=(("google-cloud-imaginary", "google.cloud.imaginary_v9"),))
    assert plugin._module_door_reason({}) == "the controller's Python cannot import google-cloud-imaginary"


def test_an_older_ansible_core_runs_the_module(monkeypatch):
    monkeypatch.setattr(_in_process, "CORE_LACKS", "ansible-core 2.17.14 lacks the module JSON profiles")
    assert action()._module_door_reason({}) == "ansible-core 2.17.14 lacks the module JSON profiles"


def test_the_task_environment_is_applied_and_taken_back(monkeypatch):
    monkeypatch.setenv("KEPT", "before")
    monkeypatch.delenv("ADDED", raising=False)
    with _in_process._environment({"ADDED": 1, "KEPT": "during"}):
        assert os.environ["ADDED"] == "1" and os.environ["KEPT"] == "during"
    assert "ADDED" not in os.environ and os.environ["KEPT"] == "before"


def internal(**overrides):
    """The internal parameters an action adds to a module's arguments."""
    return dict(dict(_ansible_check_mode=False, _ansible_diff=True, _ansible_no_log=False, _ansible_module_name="orchestra.gcp.x",
                     _ansible_verbosity=0, _ansible_debug=False, _ansible_tracebacks_for=[]), **overrides)


@needs_the_door
def test_run_module_returns_what_the_module_prints():
    seen = {}

    def logic(session):
        seen.update(params=session.params, check_mode=session.check_mode)
        return dict(changed=True, name=session.params["name"])

    output = json.loads(run_module(SPEC, logic, dict(internal(_ansible_check_mode=True), name="svc"))["stdout"])

    assert output == dict(changed=True, name="svc", invocation=dict(module_args=dict(
        name="svc", project=None, auth_kind=None, service_account_file=None, service_account_contents=None,
        impersonate_service_account=None, scopes=["https://www.googleapis.com/auth/cloud-platform"], api_endpoint=None,
        request_timeout=60.0)))
    assert seen["check_mode"] is True and seen["params"]["name"] == "svc"


@needs_the_door
def test_run_module_failures_are_the_modules_and_masked():
    def logic(session):
        raise GcpError("Failed to read %s with key %s" % (session.params["name"], session.params["service_account_contents"]))

    output = json.loads(run_module(SPEC, logic, dict(internal(), name="svc", service_account_contents="k3y"))["stdout"])

    assert output["failed"] is True
    assert output["msg"] == "Failed to read svc with key ********"
    assert output["invocation"]["module_args"]["service_account_contents"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


@needs_the_door
def test_run_module_validates_the_module_argspec():
    output = json.loads(run_module(SPEC, None, dict(internal(), name="svc", colour="blue"))["stdout"])

    assert output["failed"] is True
    assert output["msg"].startswith("Unsupported parameters for (orchestra.gcp.x) module: colour.")
