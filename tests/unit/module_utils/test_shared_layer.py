# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every resource family reuses from _gcp: retries only for calls safe to repeat, listing, read-modify-write
with a family's conflict status, operations with partial state, labels, options tables and the refusal message."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from google.api_core import exceptions as gexc
from google.cloud import run_v2

from ansible_collections.orchestra.gcp.plugins.module_utils import _gcp
from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError, Option, Session

RESOURCE = "secret db-pass"


@pytest.fixture
def session(auth_params, monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    return Session(dict(auth_params(project="p", api_endpoint="http://127.0.0.1:1"), wait=True, wait_timeout=60))


def unavailable_then(value, failures=1):
    """A client method that fails with 503 ``failures`` times (through the retry it is given), then returns ``value``."""
    calls = []

    def method(retry=None, timeout=None):
        def rpc():
            calls.append(1)
            if len(calls) <= failures:
                raise gexc.ServiceUnavailable("POST http://x/v1/secrets/db-pass:addVersion: try again")
            return value
        return retry(rpc)() if retry else rpc()
    return method, calls


# ---------------------------------------------------------------- retries only where a repeat is safe

def test_an_idempotent_call_is_retried(session):
    method, calls = unavailable_then("version 1")
    assert session.call("add a version to", RESOURCE, method, idempotent=True) == "version 1"
    assert len(calls) == 2


def test_a_call_that_is_not_idempotent_runs_once(session):
    method, calls = unavailable_then("version 1")
    with pytest.raises(GcpError) as err:
        session.call("add a version to", RESOURCE, method, idempotent=False)
    assert len(calls) == 1, "a repeated addVersion would add a second version"
    assert err.value.status == "UNAVAILABLE"


def test_idempotence_is_stated_by_every_call(session):
    with pytest.raises(TypeError):
        session.call("read", RESOURCE, lambda **kwargs: None)


def test_execute_retries_only_what_is_safe(session):
    for idempotent, attempts in ((True, 2), (False, 1)):
        calls = []

        class Request:
            def execute(self):
                calls.append(1)
                if len(calls) == 1:
                    raise gexc.ServiceUnavailable("try again")
                return {"ok": True}
        if idempotent:
            assert session.execute("read", RESOURCE, Request(), idempotent=True) == {"ok": True}
        else:
            with pytest.raises(GcpError):
                session.execute("write", RESOURCE, Request(), idempotent=False)
        assert len(calls) == attempts


# ---------------------------------------------------------------- listing

def test_an_error_on_a_later_page_is_translated(session):
    def pager(retry=None, timeout=None, parent=None):
        yield "rev-1"
        raise gexc.PermissionDenied("GET http://x/v2/services/svc/revisions?pageToken=2: denied")

    with pytest.raises(GcpError) as err:
        session.list("list revisions of", RESOURCE, pager, parent="svc")
    assert err.value.status == "PERMISSION_DENIED"
    assert err.value.msg.startswith("Failed to list revisions of %s" % RESOURCE)


def test_execute_all_follows_page_tokens(session):
    pages = {None: {"timeSeries": [1, 2], "nextPageToken": "b"}, "b": {"timeSeries": [3]}}
    asked = []

    def request_for(token):
        asked.append(token)
        return SimpleNamespace(execute=lambda: pages[token])
    assert session.execute_all("read", RESOURCE, request_for, "timeSeries") == [1, 2, 3]
    assert asked == [None, "b"]


# ---------------------------------------------------------------- read-modify-write

class Store:
    """A resource with an etag; ``races`` writes by someone else land between our read and our write."""

    def __init__(self, conflict_status, races=0):
        self.value, self.etag, self.races, self.status, self.reads, self.writes = 1, "e1", races, conflict_status, 0, []

    def read(self):
        self.reads += 1
        return dict(value=self.value, etag=self.etag)

    def write(self, current, change):
        if self.races:
            self.races -= 1
            self.value, self.etag = self.value + 10, self.etag + "'"
        if current["etag"] != self.etag:
            raise GcpError("Failed to update %s: stale etag" % RESOURCE, status=self.status)
        self.writes.append(change)
        self.value, self.etag = change, self.etag + "+"
        return "operation"


@pytest.mark.parametrize("status", ["FAILED_PRECONDITION", "ABORTED"])
def test_a_conflict_is_read_again_and_rebuilt(session, status):
    store = Store(status, races=1)
    current, change, info, written = session.read_modify_write(
        RESOURCE, store.read, lambda current: (current["value"] + 1, "built"), store.write, conflicts=(status,))
    assert store.writes == [12], "rebuilt on what the other writer left, not on the stale read"
    assert (current["value"], change, info, written, store.reads) == (11, 12, "built", "operation", 2)


def test_conflicts_are_bounded(session):
    store = Store("ABORTED", races=5)
    with pytest.raises(GcpError) as err:
        session.read_modify_write(RESOURCE, store.read, lambda current: (current["value"] + 1, None), store.write,
                                  conflicts=("ABORTED",), attempts=3)
    assert err.value.status == "ABORTED" and store.reads == 3 and store.writes == []


def test_another_status_is_not_a_conflict(session):
    store = Store("FAILED_PRECONDITION", races=1)
    with pytest.raises(GcpError):
        session.read_modify_write(RESOURCE, store.read, lambda current: (current["value"] + 1, None), store.write,
                                  conflicts=("ABORTED",))
    assert store.reads == 1


def test_check_mode_and_no_change_write_nothing(session):
    store = Store("ABORTED")
    assert session.read_modify_write(RESOURCE, store.read, lambda current: (None, "same"), store.write,
                                     conflicts=("ABORTED",))[1:] == (None, "same", None)
    session.check_mode = True
    assert session.read_modify_write(RESOURCE, store.read, lambda current: (5, "would"), store.write,
                                     conflicts=("ABORTED",))[1:] == (5, "would", None)
    assert store.writes == []


# ---------------------------------------------------------------- operations

class Operation:
    def __init__(self, error=None, result="the resource"):
        self.operation = SimpleNamespace(name="projects/p/locations/l/operations/o1")
        self.error, self._result = error, result

    def done(self, retry=None):
        return True

    def exception(self):
        return self.error

    def result(self):
        return self._result


def test_finish_returns_what_the_operation_left(session):
    assert session.finish(Operation(), "update", RESOURCE, lambda: "read", "secret") == "the resource"


def test_finish_without_waiting_reads_at_once(session):
    session.params["wait"] = False
    assert session.finish(Operation(), "update", RESOURCE, lambda: "read", "secret") == "read"


def test_a_failed_operation_returns_the_partial_state(session):
    error = gexc.from_grpc_status(9, "the version is disabled")
    partial = run_v2.Service(name="projects/p/locations/l/services/s", uri="https://s")
    with pytest.raises(GcpError) as err:
        session.finish(Operation(error=error), "update", RESOURCE, lambda: partial, "service",
                       explain=lambda found, message: " It serves %s." % found.uri)
    assert err.value.msg.endswith("the version is disabled It serves https://s.")
    assert err.value.result["service"]["uri"] == "https://s"
    assert err.value.status == "FAILED_PRECONDITION"


# ---------------------------------------------------------------- labels, names, messages

def test_label_rules():
    assert _gcp.label_problems({"team": "web", "env": ""}) == []
    problems = _gcp.label_problems({"Team": "web", "env": "Prod"})
    assert len(problems) == 2 and "label key 'Team'" in problems[0] and "label value 'Prod'" in problems[1]
    assert "65 labels is more than the 64" in _gcp.label_problems({"k%d" % i: "v" for i in range(65)})[0]


def test_labels_merge_or_purge():
    have = {"team": "web", "owner": "ops"}
    assert _gcp.merge_labels({"team": "api"}, have, purge=True) == {"team": "api"}
    assert _gcp.merge_labels({"team": "api"}, have, purge=False) == {"team": "api", "owner": "ops"}
    assert _gcp.merge_labels({}, None, purge=False) == {}


def test_the_refusal_names_the_resource_and_every_problem():
    err = _gcp.invalid(RESOURCE, ["a is wrong", "b is wrong"], "rotation")
    assert err.msg == "Invalid rotation for secret db-pass: a is wrong; b is wrong. Nothing was changed."
    assert _gcp.short_name("projects/p/secrets/db-pass/versions/3") == "3" and _gcp.short_name(None) == ""


# ---------------------------------------------------------------- options tables

OPTIONS = dict(
    image=Option(dict(type="str"), "template.containers.0.image"),
    cpu=Option(dict(type="str"), "template.containers.0.resources.limits.cpu"),
    min_instances=Option(dict(type="int"), "template.scaling.min_instance_count"),
    command=Option(dict(type="list", elements="str"), "template.containers.0.command"),
    ingress=Option(dict(type="str", choices=["all", "internal"]), "ingress",
                   choices={"all": "INGRESS_TRAFFIC_ALL", "internal": "INGRESS_TRAFFIC_INTERNAL_ONLY"}),
    labels=Option(dict(type="dict"), "labels"),
)


def test_an_options_table_reads_writes_and_compares():
    service = run_v2.Service()
    assert _gcp.read_options(OPTIONS, service) == dict(image=None, cpu=None, min_instances=0, command=None, ingress=None, labels={})
    want = dict(image="nginx", cpu="2", min_instances=1, command=["serve"], ingress="internal", labels={"team": "web"})
    _gcp.write_options(OPTIONS, service, want)
    again = run_v2.Service.deserialize(run_v2.Service.serialize(service))
    assert _gcp.read_options(OPTIONS, again) == want
    assert _gcp.changed_options(OPTIONS, dict(want, cpu="4", ingress="all"), _gcp.read_options(OPTIONS, again)) == ["cpu", "ingress"]
    assert _gcp.argument_spec(OPTIONS)["ingress"] == dict(type="str", choices=["all", "internal"])


def test_proto3_zero_values_equal_unset_ones():
    have = _gcp.read_options(OPTIONS, run_v2.Service())
    assert _gcp.changed_options(OPTIONS, dict(min_instances=0, command=[], labels={}), have) == []
    assert _gcp.changed_options(OPTIONS, dict(min_instances=1), have) == ["min_instances"]
