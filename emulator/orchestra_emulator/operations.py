"""Long-running operations (google.longrunning.Operation), stored with the rest of the state.

An operation reports `done: false` until `operation_seconds` (admin config) have passed;
then it carries `response` or `error`. Resources change at once; only the report is delayed.
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

    def start(self, data, parent, metadata=None, response=None, error=None):
        """Record an operation under `parent` (projects/p/locations/l) in the state `data`."""
        name = f"{parent}/operations/{uuid.uuid4()}"
        seconds = data["admin"]["config"]["operation_seconds"]
        data["operations"][name] = {
            "name": name,
            "doneAt": time.time() + seconds,
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


def render(stored):
    operation = {"name": stored["name"], "done": time.time() >= stored["doneAt"]}
    if stored["metadata"] is not None:
        operation["metadata"] = stored["metadata"]
    if operation["done"] and stored["error"] is not None:
        operation["error"] = stored["error"]
    elif operation["done"]:
        operation["response"] = stored["response"]
    return operation
