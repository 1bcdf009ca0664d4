# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller door's own logic: when a task may run in-process, the module run it does, and the
task environment it applies and takes back. (Both doors end to end: tests/integration/test_doors.py.)"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest
from ansible.module_utils.common.parameters import PASS_VARS

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError
from ansible_collections.orchestra.gcp.plugins.plugin_utils import _in_process
from ansible_collections.orchestra.gcp.plugins.plugin_utils._in_process import GcpAction, run_module

SPEC = dict(argument_spec=dict(name=dict(type="str", required=True)))


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
def test_where_a_task_runs(plugin, task_vars, reason):
    assert plugin._module_door_reason(task_vars) == reason


def test_a_controller_without_google_libraries_runs_the_module(monkeypatch):
    monkeypatch.setattr(_in_process, "GOOGLE_IMPORT_ERROR", "ImportError: No module named 'google'")
    assert action()._module_door_reason({}) == "the controller's Python cannot import Google's client libraries"


def test_a_controller_without_a_library_the_module_declares_runs_the_module():
    plugin = action()
    plugin.spec = dict(plugin.spec, libraries=(("google-cloud-imaginary", "google.cloud.imaginary_v9"),))
    assert plugin._module_door_reason({}) == "the controller's Python cannot import google-cloud-imaginary"


def test_the_task_environment_is_applied_and_taken_back(monkeypatch):
    monkeypatch.setenv("KEPT", "before")
    monkeypatch.delenv("ADDED", raising=False)
    with _in_process._environment({"ADDED": 1, "KEPT": "during"}):
        assert os.environ["ADDED"] == "1" and os.environ["KEPT"] == "during"
    assert "ADDED" not in os.environ and os.environ["KEPT"] == "before"


def internal(**overrides):
    """The internal parameters an action adds to a module's arguments (those the running ansible-core knows)."""
    values = dict(dict(check_mode=False, diff=True, no_log=False, module_name="orchestra.gcp.x", verbosity=0, debug=False,
                       tracebacks_for=[]), **overrides)
    return {"_ansible_" + key: value for key, value in values.items() if key in PASS_VARS}


def test_run_module_returns_what_the_module_prints():
    seen = {}

    def logic(session):
        seen.update(params=session.params, check_mode=session.check_mode)
        return dict(changed=True, name=session.params["name"])

    output = json.loads(run_module(SPEC, logic, dict(internal(check_mode=True), name="svc"))["stdout"])

    assert output == dict(changed=True, name="svc", invocation=dict(module_args=dict(
        name="svc", project=None, auth_kind=None, service_account_file=None, service_account_contents=None,
        impersonate_service_account=None, scopes=["https://www.googleapis.com/auth/cloud-platform"], api_endpoint=None,
        request_timeout=60.0)))
    assert seen["check_mode"] is True and seen["params"]["name"] == "svc"


def test_run_module_failures_are_the_modules_and_masked():
    def logic(session):
        raise GcpError("Failed to read %s with key %s" % (session.params["name"], session.params["service_account_contents"]))

    output = json.loads(run_module(SPEC, logic, dict(internal(), name="svc", service_account_contents="k3y"))["stdout"])

    assert output["failed"] is True
    assert output["msg"] == "Failed to read svc with key ********"
    assert output["invocation"]["module_args"]["service_account_contents"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_run_module_validates_the_module_argspec():
    output = json.loads(run_module(SPEC, None, dict(internal(), name="svc", colour="blue"))["stdout"])

    assert output["failed"] is True
    assert output["msg"].startswith("Unsupported parameters for (orchestra.gcp.x) module: colour.")


def test_a_warning_is_reported_by_its_run_only():
    """The items of a loop run in one process: a warning of one run is not reported again by the next."""
    def warns(session):
        session.warn("only once")
        return dict(changed=False)

    first, second = (json.loads(run_module(SPEC, logic, dict(internal(), name="svc"))["stdout"])
                     for logic in (warns, lambda session: dict(changed=False)))

    # Before ansible-core 2.19 a module's warnings are in its result; since, they reach the display when warned.
    assert first.get("warnings", ["only once"]) == ["only once"] and "warnings" not in second
