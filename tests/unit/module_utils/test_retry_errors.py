# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retries, API error messages, Session.call/get and Session.wait (with fake operations and clocks)."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
import requests
from google.api_core import exceptions as gexc

from ansible_collections.orchestra.gcp.plugins.module_utils import _gcp
from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError, Session

RESOURCE = "Cloud Run service svc in us-central1"
URL = "https://run.googleapis.com/v2/projects/p/locations/us-central1/services/svc?%24alt=json%3Benum-encoding%3Dint"
OP_NAME = "projects/p/locations/us-central1/operations/op-123"


class FakeClock:
    """``time.monotonic``/``time.sleep`` stand-ins: sleeping advances the clock, instantly."""

    def __init__(self, start=1000.0):
        self.now = start
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(time, "monotonic", fake.monotonic)
    monkeypatch.setattr(time, "sleep", fake.sleep)
    return fake


@pytest.fixture
def session(auth_params):
    return Session(auth_params(project="p", api_endpoint="http://127.0.0.1:1"))


def rest_error(status_code, message, grpc_status=None, method="GET", url=URL):
    """The exception the REST transport raises, built from a real requests.Response."""
    response = requests.Response()
    response.status_code = status_code
    error = {"code": status_code, "message": message}
    if grpc_status:
        error["status"] = grpc_status
    response._content = json.dumps({"error": error}).encode()
    response.request = requests.Request(method, url).prepare()
    return gexc.from_http_response(response)


# ---------------------------------------------------------------- is_transient / retry_policy

@pytest.mark.parametrize("code", [429, 500, 502, 503, 504])
def test_transient_statuses(code):
    assert _gcp.is_transient(gexc.from_http_status(code, "try again"))


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 412])
def test_permanent_statuses(code):
    assert not _gcp.is_transient(gexc.from_http_status(code, "no"))


@pytest.mark.parametrize("exc", [ValueError("x"), gexc.RetryError("Timeout", None), ConnectionError("reset")],
                         ids=["ValueError", "RetryError", "ConnectionError"])
def test_non_api_errors_are_not_transient(exc):
    assert not _gcp.is_transient(exc)


@pytest.mark.parametrize("exc", [requests.exceptions.ReadTimeout("read timed out"), requests.exceptions.ConnectionError("reset")],
                         ids=["ReadTimeout", "ConnectionError"])
def test_no_answer_is_transient(exc):
    assert _gcp.is_transient(exc)


@pytest.mark.parametrize("exc, status", [(requests.exceptions.ReadTimeout("read timed out"), "DEADLINE_EXCEEDED"),
                                         (requests.exceptions.ConnectionError("connection reset"), "UNAVAILABLE")])
def test_no_answer_to_a_call_that_is_not_retried_is_a_gcp_error(session, exc, status):
    def method(**kwargs):
        raise exc

    with pytest.raises(GcpError) as err:
        session.call("add a version to", "secret s", method, idempotent=False)
    assert err.value.status == status
    assert err.value.msg.startswith("Failed to add a version to secret s: no answer from Google (%s" % status)
    assert "may or may not have been made" in err.value.msg


def test_a_message_that_ends_with_a_period_gets_one(session):
    def method(**kwargs):
        raise gexc.from_http_status(400, "POST http://x/v1/secrets: Payload too large.")

    with pytest.raises(GcpError) as err:
        session.call("add", RESOURCE, method, idempotent=False)
    assert "Payload too large. Hint:" in err.value.msg


@pytest.mark.parametrize("deadline", [_gcp.RETRY_DEADLINE, 5.0])
def test_retry_policy_is_bounded(deadline):
    policy = _gcp.retry_policy() if deadline == _gcp.RETRY_DEADLINE else _gcp.retry_policy(deadline)
    assert policy._timeout == deadline
    assert policy.timeout == deadline
    assert policy._maximum == _gcp.RETRY_MAXIMUM
    assert policy._initial == _gcp.RETRY_INITIAL


def test_retry_policy_retries_transient_then_succeeds(monkeypatch):
    sleeps, calls = [], []
    monkeypatch.setattr(time, "sleep", sleeps.append)

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise gexc.from_http_status(503, "backend unavailable")
        return "done"

    assert _gcp.retry_policy()(flaky)() == "done"
    assert len(calls) == 3
    assert len(sleeps) == 2
    # full jitter under a doubling cap: first pause <= initial, second <= initial * multiplier
    assert 0 <= sleeps[0] <= _gcp.RETRY_INITIAL
    assert 0 <= sleeps[1] <= _gcp.RETRY_INITIAL * _gcp.RETRY_MULTIPLIER
    assert all(s <= _gcp.RETRY_MAXIMUM for s in sleeps)


def test_retry_policy_does_not_retry_permanent_errors(monkeypatch):
    sleeps, calls = [], []
    monkeypatch.setattr(time, "sleep", sleeps.append)

    def bad_request():
        calls.append(1)
        raise gexc.from_http_status(400, "bad field")

    with pytest.raises(gexc.BadRequest):
        _gcp.retry_policy()(bad_request)()
    assert len(calls) == 1
    assert sleeps == []


def test_retry_policy_gives_up_at_deadline_with_capped_pauses(clock):
    calls = []

    def down():
        calls.append(clock.now)
        raise gexc.from_http_status(503, "down")

    with pytest.raises(gexc.RetryError) as err:
        _gcp.retry_policy(deadline=30.0)(down)()
    assert isinstance(err.value.cause, gexc.ServiceUnavailable)
    assert len(calls) > 3
    assert all(s <= _gcp.RETRY_MAXIMUM for s in clock.sleeps)
    assert clock.now - 1000.0 <= 30.0


# ---------------------------------------------------------------- describe_api_error / api_error

@pytest.mark.parametrize("code,status", [
    (400, "INVALID_ARGUMENT"), (401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED"), (404, "NOT_FOUND"),
    (429, "RESOURCE_EXHAUSTED"), (500, "INTERNAL"), (503, "UNAVAILABLE"),
])
def test_api_error_message(code, status):
    exc = gexc.from_http_status(code, "GET http://127.0.0.1:8080/v2/projects/p/locations/us-central1/services/svc: "
                                      "the reason from the API")

    err = _gcp.api_error("read", RESOURCE, exc)

    assert isinstance(err, GcpError)
    assert err.status == status
    assert err.msg.startswith("Failed to read %s: " % RESOURCE)
    assert "%s (%d)" % (status, code) in err.msg
    assert "the reason from the API" in err.msg
    assert "GET " not in err.msg and "http://" not in err.msg
    assert "Hint: %s." % _gcp.HINTS.get(status, "see the message above") in err.msg


def test_api_error_from_real_rest_response_strips_request_line():
    exc = rest_error(403, "Permission 'run.services.get' denied on resource", "PERMISSION_DENIED")
    assert exc.message.startswith("GET https://")  # what the transport produces

    err = _gcp.api_error("read", RESOURCE, exc)

    assert err.msg == ("Failed to read %s: PERMISSION_DENIED (403): Permission 'run.services.get' denied on "
                       "resource. Hint: %s." % (RESOURCE, _gcp.HINTS["PERMISSION_DENIED"]))


def test_api_error_carries_partial_result():
    err = _gcp.api_error("deploy", RESOURCE, gexc.from_http_status(400, "bad"), service={"name": "svc"})
    assert err.result == {"service": {"name": "svc"}}
    assert err.status == "INVALID_ARGUMENT"


def test_describe_grpc_style_error_uses_grpc_status_name():
    status, message = _gcp.describe_api_error(gexc.from_grpc_status(9, "Revision 'svc-00002-abc' is not ready"))
    assert status == "FAILED_PRECONDITION"
    assert message == "Revision 'svc-00002-abc' is not ready"


def test_rest_409_aborted_is_reported_as_aborted():
    exc = rest_error(409, "The service has been modified since it was read (etag mismatch)", "ABORTED",
                     method="PATCH")
    status, _unused = _gcp.describe_api_error(exc)
    assert status == "ABORTED"


# ---------------------------------------------------------------- Session.call / get

def test_call_passes_retry_and_timeout(session):
    seen = {}

    def method(*args, **kwargs):
        seen.update(kwargs, args=args)
        return "value"

    assert session.call("read", RESOURCE, method, "pos", name="n", idempotent=True) == "value"
    assert seen["retry"] is session.retry
    assert seen["timeout"] == session.params["request_timeout"] == 60.0
    assert seen["name"] == "n" and seen["args"] == ("pos",)


def test_call_turns_api_errors_into_gcp_error(session):
    def method(**kwargs):
        raise gexc.from_http_status(409, "POST http://x/v2/services: already there")

    with pytest.raises(GcpError) as err:
        session.call("create", RESOURCE, method, idempotent=True)
    assert err.value.msg.startswith("Failed to create %s: ALREADY_EXISTS (409): already there" % RESOURCE)


def test_get_returns_none_on_404(session):
    def method(**kwargs):
        raise gexc.from_http_status(404, "GET http://x/v2/services/svc: not found")

    assert session.get("read", RESOURCE, method, name="svc") is None


def test_get_returns_none_on_real_rest_404(session):
    def method(**kwargs):
        raise rest_error(404, "Resource 'svc' of kind 'SERVICE' in region 'us-central1' does not exist.", "NOT_FOUND")

    assert session.get("read", RESOURCE, method) is None


def test_get_raises_on_403(session):
    def method(**kwargs):
        raise gexc.from_http_status(403, "GET http://x/v2/services/svc: denied")

    with pytest.raises(GcpError) as err:
        session.get("read", RESOURCE, method)
    assert err.value.status == "PERMISSION_DENIED"
    assert "denied" in err.value.msg and _gcp.HINTS["PERMISSION_DENIED"] in err.value.msg


def test_get_returns_value(session):
    assert session.get("read", RESOURCE, lambda **kw: {"name": "svc"}) == {"name": "svc"}


def test_call_exhausted_retries_become_gcp_error(session, clock):
    def method(retry=None, timeout=None):
        def rpc():
            raise gexc.from_http_status(503, "GET http://x/v2/services/svc: backend unavailable")
        return retry(rpc)()

    with pytest.raises(GcpError) as err:
        session.call("read", RESOURCE, method, idempotent=True)
    assert "UNAVAILABLE (503)" in err.value.msg
    assert _gcp.HINTS["UNAVAILABLE"] in err.value.msg


def test_project_missing_is_a_gcp_error(auth_params):
    s = Session(auth_params(api_endpoint="http://127.0.0.1:1"))
    with pytest.raises(GcpError, match="No project"):
        s.project


def test_project_from_params(session):
    assert session.project == "p"


# ---------------------------------------------------------------- Session.wait

class FakeOperation:
    """The parts of google.api_core.operation.Operation that Session.wait uses."""

    def __init__(self, polls_until_done=0, error=None, result=None, done_error=None):
        self.operation = SimpleNamespace(name=OP_NAME)
        self.polls_until_done = polls_until_done
        self.error = error
        self._result = result
        self.done_error = done_error
        self.retries = []

    def done(self, retry=None):
        self.retries.append(retry)
        if self.done_error is not None:
            raise self.done_error
        return len(self.retries) > self.polls_until_done

    def exception(self):
        return self.error

    def result(self):
        if self.error is not None:
            raise self.error
        return self._result


def test_wait_success(session, clock):
    op = FakeOperation(polls_until_done=3, result="the-service")

    assert session.wait(op, "deploy", RESOURCE, timeout=600) == "the-service"
    assert len(op.retries) == 4
    assert all(r is session.retry for r in op.retries)
    assert len(clock.sleeps) == 3
    assert clock.sleeps == sorted(clock.sleeps)  # backing off
    assert all(s <= 5.0 for s in clock.sleeps)


def test_wait_already_done_does_not_sleep(session, clock):
    assert session.wait(FakeOperation(result=42), "deploy", RESOURCE, timeout=1) == 42
    assert clock.sleeps == []


def test_wait_operation_error(session, clock):
    error = gexc.from_grpc_status(9, "Revision 'svc-00002-abc' is not ready and cannot serve traffic.")
    op = FakeOperation(polls_until_done=1, error=error)

    with pytest.raises(GcpError) as err:
        session.wait(op, "deploy", RESOURCE, timeout=600)

    msg = err.value.msg
    assert msg.startswith("Failed to deploy %s" % RESOURCE)
    assert OP_NAME in msg
    assert "FAILED_PRECONDITION" in msg and err.value.status == "FAILED_PRECONDITION"
    assert "is not ready and cannot serve traffic" in msg


def test_wait_operation_error_without_partial(session, clock):
    op = FakeOperation(error=gexc.from_grpc_status(13, "internal"))
    with pytest.raises(GcpError) as err:
        session.wait(op, "delete", RESOURCE, timeout=60)
    assert "INTERNAL" in err.value.msg and OP_NAME in err.value.msg
    assert err.value.result == {}


def test_wait_times_out_on_monotonic_deadline(session, clock):
    op = FakeOperation(polls_until_done=10 ** 6)
    start = clock.now

    with pytest.raises(GcpError) as err:
        session.wait(op, "deploy", RESOURCE, timeout=30)

    msg = err.value.msg
    assert msg.startswith("Timed out after 30s waiting to deploy %s" % RESOURCE)
    assert OP_NAME in msg
    assert "partial state is returned" in msg
    # never sleeps past the deadline, pauses capped at 5s, and it really did wait the whole timeout
    assert clock.now - start == pytest.approx(30)
    assert all(0 < s <= 5.0 for s in clock.sleeps)


def test_wait_timeout_without_partial(session, clock):
    with pytest.raises(GcpError) as err:
        session.wait(FakeOperation(polls_until_done=10 ** 6), "delete", RESOURCE, timeout=2)
    assert err.value.result == {}
    assert "Timed out after 2s" in err.value.msg


def test_wait_polling_error_is_gcp_error(session, clock):
    op = FakeOperation(done_error=gexc.from_http_status(403, "GET http://x/v2/operations/op-123: denied"))
    with pytest.raises(GcpError) as err:
        session.wait(op, "deploy", RESOURCE, timeout=60)
    assert "PERMISSION_DENIED" in err.value.msg
