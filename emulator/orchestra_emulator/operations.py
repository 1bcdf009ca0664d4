"""Long-running operations (google.longrunning.Operation), stored with the rest of the state.

An operation is not done (its JSON has no `done`) until `operation_seconds` (admin config) have
passed; then it carries `done: true` and `response` or `error`. The API that started it decides what
its resource shows meanwhile (Cloud Run: `reconciling`, see run_v2).
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
    def __init__(self, store):
        self._store = store

    def start(self, data, parent, metadata=None, response=None, error=None, done_at=None):
        """Record an operation under `parent` (projects/p/locations/l) in the state `data`; it is done
        at `done_at` (epoch seconds), by default `operation_seconds` from now."""
        name = f"{parent}/operations/{uuid.uuid4()}"
        data["operations"][name] = {
            "name": name,
            "doneAt": done_at if done_at is not None else done_time(data),
            "metadata": metadata,
            "response": response,
            "error": error,
        }
        return render(data["operations"][name])

    def get(self, name):
        with self._store.lock:
            return render(self._stored(name))

    def wait(self, name, timeout_seconds):
        with self._store.lock:
            done_at = self._stored(name)["doneAt"]
        time.sleep(max(0.0, min(done_at - time.time(), timeout_seconds)))
        return self.get(name)

    def delete(self, name):
        with self._store.mutate() as data:
            self._stored(name)
            del data["operations"][name]

    def list(self, parent, page_size, page_token):
        with self._store.lock:
            stored = [
                op for name, op in sorted(self._store.data["operations"].items()) if name.startswith(parent + "/")
            ]
            items = [render(op) for op in stored]
        operations, next_token = paging.page(items, page_size, page_token)
        return {"operations": operations, "nextPageToken": next_token} if next_token else {"operations": operations}

    def _stored(self, name):
        operation = self._store.data["operations"].get(name)
        if operation is None:
            raise not_found(f"Operation '{name}' not found.")
        return operation


def done_time(data):
    """When an operation started now is done: `operation_seconds` (admin config) from now."""
    return time.time() + data["admin"]["config"]["operation_seconds"]


def render(stored):
    """The Operation as Google returns it: `done` is left out while false (proto3 JSON omits defaults;
    e.g. k8s-config-connector's recorded run.v2 log shows a running operation without `done`)."""
    operation = {"name": stored["name"]}
    if stored["metadata"] is not None:
        operation["metadata"] = stored["metadata"]
    if time.time() >= stored["doneAt"]:
        operation["done"] = True
        if stored["error"] is not None:
            operation["error"] = stored["error"]
        else:
            operation["response"] = stored["response"]
    return operation
