# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GcpModule: missing libraries, no_log of the key, and GcpError -> fail_json."""

from __future__ import annotations

import contextlib
import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common import warnings as module_warnings

try:  # ansible-core 2.19
    from ansible.module_utils import _internal as module_internal
    from ansible.module_utils._internal import _traceback as module_traceback
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # an older core: a module reads its arguments from basic._ANSIBLE_ARGS
    module_internal = module_traceback = None

    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

from ansible_collections.orchestra.gcp.plugins.module_utils import _gcp
from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError, GcpModule

MASK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


@pytest.fixture(autouse=True)
def as_on_a_target(monkeypatch):
    """Modules behave as on a target, even when controller code was imported into this process; the
    warnings a module records stay with its test, as they would stay in its own process."""
    if module_internal is not None:
        monkeypatch.setattr(module_internal, "is_controller", False)
    monkeypatch.setattr(module_warnings, "_global_warnings", type(module_warnings._global_warnings)())
    monkeypatch.setattr(module_warnings, "_global_deprecations", type(module_warnings._global_deprecations)())


def run_module(capsys, args, logic, argument_spec=None):
    """Run ``logic`` as a module with ``args``; return (exit code, result JSON)."""
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exit_info:
            GcpModule(argument_spec or dict(name=dict(type="str"))).run(logic)
    out = capsys.readouterr().out
    return exit_info.value.code, json.loads(out)


def never_called(session):
    raise AssertionError("logic must not run")


def test_missing_google_libraries(monkeypatch, capsys):
    monkeypatch.setattr(_gcp, "GOOGLE_IMPORT_ERROR", "Traceback (most recent call last):\nImportError: No module named 'google'")

    code, result = run_module(capsys, {"name": "svc"}, never_called)

    assert code == 1
    assert result["failed"] is True
    assert "Failed to import the required Python library (google-auth, google-api-core)" in result["msg"]
    # ansible-core 2.19 returns the traceback only when tracebacks are enabled; when it does, it is ours
    assert "ImportError: No module named 'google'" in result.get("exception", "ImportError: No module named 'google'")


def test_a_library_the_module_declares_is_named_when_missing(capsys):
    with patch_module_args({"name": "svc"}):
        with pytest.raises(SystemExit) as exit_info:
            GcpModule(dict(name=dict(type="str")), libraries=(("google-cloud-run", "google.cloud.run_v2"),
                                                              ("google-cloud-imaginary", "google.cloud.imaginary_v9"))).run(never_called)
    result = json.loads(capsys.readouterr().out)

    assert exit_info.value.code == 1
    assert "Failed to import the required Python library (google-cloud-imaginary)" in result["msg"]


def test_libraries_present_runs_logic(capsys):
    assert _gcp.GOOGLE_IMPORT_ERROR is None
    code, result = run_module(capsys, {"name": "svc"}, lambda s: dict(changed=False, name=s.params["name"]))
    assert code == 0
    assert result["name"] == "svc"
    assert result["changed"] is False


def test_auth_defaults_reach_logic(capsys, monkeypatch):
    for var in ("GCP_PROJECT", "GCE_PROJECT", "ORCHESTRA_GCP_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    code, result = run_module(capsys, {}, lambda s: dict(
        changed=False, scopes=s.params["scopes"], timeout=s.params["request_timeout"], check=s.check_mode))
    assert code == 0
    assert result["scopes"] == [_gcp.CLOUD_PLATFORM_SCOPE]
    assert result["timeout"] == 60.0
    assert result["check"] is False


def test_project_falls_back_to_gce_project(capsys, monkeypatch):
    # AWX's Google credential exports GCE_PROJECT.
    monkeypatch.delenv("GCP_PROJECT", raising=False)
    monkeypatch.setenv("GCE_PROJECT", "proj-awx")
    code, result = run_module(capsys, {}, lambda s: dict(changed=False, project=s.params["project"]))
    assert result["project"] == "proj-awx"


def echo_contents(session):
    contents = session.params["service_account_contents"]
    return dict(changed=False, echoed=contents, nested={"inner": [contents]})


def test_service_account_contents_is_masked(capsys, sa_info):
    info = sa_info("proj-secret")

    code, result = run_module(capsys, {"service_account_contents": json.dumps(info)}, echo_contents)

    assert code == 0
    assert result["echoed"] == MASK
    assert result["nested"] == {"inner": [MASK]}
    assert result["invocation"]["module_args"]["service_account_contents"] == MASK
    assert "PRIVATE KEY" not in json.dumps(result)


def test_service_account_contents_as_mapping_is_masked(capsys, sa_info):
    info = sa_info("proj-secret")

    code, result = run_module(capsys, {"service_account_contents": info}, echo_contents)

    assert code == 0
    assert "PRIVATE KEY" not in json.dumps(result)
    assert result["invocation"]["module_args"]["service_account_contents"] == MASK


def test_service_account_file_and_contents_are_exclusive(capsys):
    code, result = run_module(capsys, {"service_account_file": "/k.json", "service_account_contents": "{}"}, never_called)
    assert code == 1
    assert "mutually exclusive" in result["msg"]
    assert "service_account_file" in result["msg"]


def test_gcp_error_becomes_fail_json_with_partial_state(capsys):
    def logic(session):
        raise GcpError("Failed to deploy svc: boom. Hint: re-run.", status="INTERNAL", service={"name": "svc"})

    code, result = run_module(capsys, {}, logic)

    assert code == 1
    assert result["failed"] is True
    assert result["msg"] == "Failed to deploy svc: boom. Hint: re-run."
    assert result["service"] == {"name": "svc"}


def test_session_warnings_reach_module_output(capsys):
    def logic(session):
        session.warn("pin a version number")
        return dict(changed=True)

    code, result = run_module(capsys, {}, logic)

    assert code == 0
    assert result["changed"] is True
    # ansible-core 2.19 returns warnings as WarningSummary objects; older cores as plain strings
    assert "pin a version number" in json.dumps(result["warnings"])


def test_check_mode_reaches_session(capsys):
    code, result = run_module(capsys, {"_ansible_check_mode": True}, lambda s: dict(changed=False, check=s.check_mode))
    assert result["check"] is True


def test_a_failure_carries_its_traceback(capsys, monkeypatch):
    """For -vvv (ansible-core asks a module for tracebacks of errors then)."""
    def logic(session):
        raise GcpError("Failed to deploy svc: boom.", status="INTERNAL")

    if module_traceback is not None:  # 2.19 keeps a traceback only when the controller asks (-vvv); older cores always do
        monkeypatch.setattr(module_traceback, "_is_traceback_enabled", lambda event: True)
    code, result = run_module(capsys, {}, logic)

    assert code == 1
    assert "GcpError: Failed to deploy svc: boom." in json.dumps(result["exception"])


@pytest.mark.parametrize("changed, diff_mode, shown", [(True, False, True), (False, True, True), (False, False, False)])
def test_a_diff_is_returned_when_something_changed_or_asked_for(capsys, changed, diff_mode, shown):
    code, result = run_module(capsys, {"_ansible_diff": diff_mode},
                              lambda s: dict(changed=changed, diff=dict(before={"image": "a"}, after={"image": "a"})))
    assert code == 0
    assert ("diff" in result) is shown
