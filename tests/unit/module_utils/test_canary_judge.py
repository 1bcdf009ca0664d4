# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The canary verdict over measurements: failure limits, consecutive successes, the no-data policy."""

from __future__ import annotations

import pytest

from ansible_collections.orchestra.gcp.plugins.module_utils._canary import judge

FAILED_CHECK = dict(check="error ratio", value=0.1, limit=0.01, passed=False)


def measurement(verdict):
    return dict(verdict=verdict, canary=dict(requests=0 if verdict == "no_data" else 500),
                checks=[FAILED_CHECK] if verdict == "fail" else [])


def params(**overrides):
    return dict(dict(failure_limit=0, consecutive_successes=1, no_data="pause", min_requests=100), **overrides)


@pytest.mark.parametrize("verdicts, overrides, expected", [
    (["pass"], {}, "pass"),
    (["fail"], {}, "fail"),
    (["fail"], {"failure_limit": 1}, "continue"),
    (["fail", "pass", "fail"], {"failure_limit": 1}, "fail"),
    (["pass"], {"consecutive_successes": 3}, "continue"),
    (["pass", "pass", "fail", "pass", "pass", "pass"], {"consecutive_successes": 3, "failure_limit": 1}, "pass"),
    (["pass", "no_data", "pass"], {"consecutive_successes": 2}, "continue"),
    (["no_data"], {"no_data": "pause"}, "continue"),
    (["no_data"], {"no_data": "fail"}, "fail"),
    (["no_data"], {"no_data": "pass"}, "pass"),
])
def test_verdicts(verdicts, overrides, expected):
    verdict, reason = judge([measurement(v) for v in verdicts], params(**overrides))
    assert verdict == expected, reason


def test_a_failure_names_the_numbers():
    _verdict, reason = judge([measurement("fail")], params())
    assert reason == "1 of 1 measurements failed (limit 0): error ratio 0.1 (limit 0.01)"


def test_no_data_failure_names_the_request_count():
    _verdict, reason = judge([measurement("no_data")], params(no_data="fail"))
    assert "canary requests 0 (limit 100)" in reason
