"""Long-running operations (google.longrunning.Operation) of any API, stored with the rest of the state
under `state["operations"][API][name]`, named `{parent}/operations/{uuid}` (`parent` is
`projects/{p}/locations/{l}` for the APIs served so far).

An operation is not done until `operation_seconds` (admin config) have passed; then it carries
`done: true` and `response` or `error`. The API that started it decides what its resource shows
meanwhile (Cloud Run: `reconciling`, see run_v2). `handlers` serves an API's `operations.*` methods.
"""

import time
import uuid

from orchestra_emulator import paging
from orchestra_emulator.errors import not_found

TYPE_PREFIX = "type.googleapis.com/"


def typed(type_name, obj):
    """`obj` as a google.protobuf.Any in JSON: `{"@type": ..., **fields}`."""
    return {"@type": TYPE_PREFIX + type_name, **obj}


class Operations:
    """The operations of one API (`api`: its discovery document name)."""

    def __init__(self, store, api):
        self._store = store
        self._api = api

    def start(self, data, parent, metadata=None, response=None, error=None, done_at=None):
        """Record an operation under `parent` in the state `data`; it is done at `done_at` (epoch
        seconds), by default `operation_seconds` from now."""
        name = f"{parent}/operations/{uuid.uuid4()}"
        stored = self._operations(data)[name] = {
            "name": name,
            "doneAt": done_at if done_at is not None else done_time(data),
            "metadata": metadata,
            "response": response,
            "error": error,
        }
        return render(stored)

    def handlers(self, prefix, parent):
        """Handlers of the methods `{prefix}operations.get|list|wait|delete`, for operations named
        `{parent(path variables)}/operations/{operationsId}`."""

        def name(request):
            return f"{parent(request.variables)}/operations/{request.variables['operationsId']}"

        return {
            prefix + "operations.get": (lambda request: self.get(name(request)), None),
            prefix + "operations.list": (lambda request: self.list(parent(request.variables), request.query), None),
            prefix + "operations.wait": (lambda request: self.wait(name(request), request.body), ""),
            prefix + "operations.delete": (lambda request: self.delete(name(request)), None),
        }

    def holds(self, prefix):
        """Whether this API started an operation whose name starts with `prefix` (a name, or `{parent}/operations/`)."""
        with self._store.lock:
            return any(name.startswith(prefix) for name in self._operations(self._store.data))

    def get(self, name):
        with self._store.lock:
            return render(self._stored(name))

    def wait(self, name, body):
        timeout = float(body.get("timeout", "10s").rstrip("s"))
        with self._store.lock:
            done_at = self._stored(name)["doneAt"]
        time.sleep(max(0.0, min(done_at - time.time(), timeout)))
        return self.get(name)

    def delete(self, name):
        with self._store.mutate() as data:
            self._stored(name)
            del self._operations(data)[name]
        return {}

    def list(self, parent, query):
        with self._store.lock:
            items = [render(op) for name, op in sorted(self._operations(self._store.data).items()) if name.startswith(parent + "/")]
        operations, next_token = paging.page(items, query.get("pageSize"), query.get("pageToken"))
        return {"operations": operations, "nextPageToken": next_token}

    def _operations(self, data):
        return data["operations"].setdefault(self._api, {})

    def _stored(self, name):
        operation = self._operations(self._store.data).get(name)
        if operation is None:
            raise not_found(f"Operation '{name}' not found.")
        return operation


def done_time(data):
    """When an operation started now is done: `operation_seconds` (admin config) from now."""
    return time.time() + data["admin"]["config"]["operation_seconds"]


def render(stored):
    """The Operation as stored; `done` false, like every default, is left out of the JSON by
    discovery.Api.encode_response (k8s-config-connector's recorded run.v2 log shows a running
    operation without `done`). An operation started without a response ends `done` with none, as IAM's
    workload identity pool operations do (tests/fixtures/google/iam_workload_identity_pool_operation_done.json)."""
    operation = {"name": stored["name"], "done": time.time() >= stored["doneAt"]}
    if stored["metadata"] is not None:
        operation["metadata"] = stored["metadata"]
    if operation["done"] and stored["error"] is not None:
        operation["error"] = stored["error"]
    elif operation["done"] and stored["response"] is not None:
        operation["response"] = stored["response"]
    return operation
