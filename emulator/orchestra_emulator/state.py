"""The emulator's whole state: one JSON document in `<state-dir>/state.json`.

Every mutation happens under one lock and ends with an atomic write (temp file +
os.replace), so a crash never leaves a half-written file and separate runs see the same cloud.
"""

import contextlib
import copy
import json
import os
import threading


# Admin config defaults. Cloud Run's request metrics are 60-second samples, visible up to 180 s after
# they close (https://cloud.google.com/monitoring/api/metrics_gcp#gcp-run, run.googleapis.com/request_count).
CONFIG = {"operation_seconds": 0, "monitoring_sample_seconds": 60, "monitoring_lag_seconds": 180}


def empty_state():
    return {
        "resources": {},  # API name -> collection -> resource name -> stored object
        "operations": {},  # operation name -> stored operation
        "listeners": {},  # service name -> {tag ("" for the service URL): port}
        "admin": {
            "faults": [],
            "failing_images": [],
            "revision_behaviours": [],
            "failing_operations": [],
            "config": dict(CONFIG),
        },
        "log": [],
    }


class Store:
    def __init__(self, state_dir):
        self.path = os.path.join(state_dir, "state.json")
        self.lock = threading.RLock()
        self.data = self._load()

    def _load(self):
        if not os.path.exists(self.path):
            return empty_state()
        with open(self.path, encoding="utf-8") as handle:
            state = {**empty_state(), **json.load(handle)}
        state["admin"]["config"] = {**CONFIG, **state["admin"]["config"]}  # keys added since the state was written
        return state

    @contextlib.contextmanager
    def mutate(self):
        """Yield the state for changing it; it is saved when the block ends without error."""
        with self.lock:
            yield self.data
            self._save()

    def read(self):
        """A deep copy of the state, safe to use outside the lock."""
        with self.lock:
            return copy.deepcopy(self.data)

    def reset(self):
        with self.mutate() as data:
            data.clear()
            data.update(empty_state())

    def _save(self):
        temporary = f"{self.path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self.data, handle, indent=1, sort_keys=True)
        os.replace(temporary, self.path)
