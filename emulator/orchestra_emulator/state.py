"""The emulator's whole state: one JSON document in `<state-dir>/state.json`.

Every mutation happens under one lock and ends with an atomic write (temp file +
os.replace), so a crash never leaves a half-written file and separate runs see the same cloud.
"""

import contextlib
import copy
import json
import os
import threading

# Admin config every API shares: how long an operation stays not done.
CONFIG = {"operation_seconds": 0}


class Store:
    def __init__(self, state_dir, settings, config):
        """`settings` and `config`: the admin defaults the registered APIs add (registry.admin_defaults)."""
        self.path = os.path.join(state_dir, "state.json")
        self.lock = threading.RLock()
        self._settings = settings
        self._config = {**CONFIG, **config}
        self.data = self._load()

    def empty_state(self):
        return {
            "resources": {},  # API (discovery document) -> collection -> resource name -> stored object
            "operations": {},  # API -> operation name -> stored operation
            "policies": {},  # API -> resource name -> IAM policy
            "admin": {"faults": [], "failing_operations": [], "policy_writers": [], "clock_offset": 0, **copy.deepcopy(self._settings),
                      "config": dict(self._config)},
            "log": [],
        }

    def _load(self):
        empty = self.empty_state()
        if not os.path.exists(self.path):
            return empty
        with open(self.path, encoding="utf-8") as handle:
            state = {**empty, **json.load(handle)}
        # settings and config keys added since the state was written
        state["admin"] = {**empty["admin"], **state["admin"], "config": {**empty["admin"]["config"], **state["admin"]["config"]}}
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
            data.update(self.empty_state())

    def _save(self):
        temporary = f"{self.path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self.data, handle, indent=1, sort_keys=True)
        os.replace(temporary, self.path)
