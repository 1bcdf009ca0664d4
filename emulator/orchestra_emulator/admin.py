"""The admin API under /_emulator/ (a prefix Google does not use): health, reset, injected
faults, failed operations and concurrent policy writers, configuration, the clock, the log of mutating calls, the count of every call
and a state dump, plus the endpoints the registered APIs bring (registry.EmulatedApi.admin)."""

import datetime
import os
import re
import time

from orchestra_emulator import clock
from orchestra_emulator.errors import ApiError, invalid_argument, not_found

PREFIX = "/_emulator/"


class Admin:
    def __init__(self, store, reset, endpoints, positive_config):
        """`reset()` forgets everything, including what lives outside the store (listeners);
        `endpoints`: {(method, path): endpoint(body)} of the APIs; `positive_config`: config keys that
        must be more than 0."""
        self._store = store
        self._reset = reset
        self._positive_config = positive_config
        self.shutdown_requested = False
        # Every API call, reads included, since the start or the last reset. Kept in memory: saving
        # the state on every read would slow the reads it counts.
        self.calls = []
        self._routes = {
            ("GET", "health"): self._health,
            ("POST", "reset"): self._reset_all,
            ("POST", "faults"): self._add_fault,
            ("POST", "failing-operations"): self._add_failing_operation,
            ("POST", "policy-writers"): self._add_policy_writer,
            ("GET", "config"): self._config,
            ("POST", "config"): self._configure,
            ("GET", "log"): self._log,
            ("GET", "calls"): self._calls,
            ("GET", "state"): self._state,
            ("GET", "clock"): self._clock,
            ("POST", "clock"): self._set_clock,
            ("POST", "shutdown"): self._shutdown,
            **endpoints,
        }

    def handle(self, method, path, body):
        """(HTTP status, JSON payload) for an admin request; `path` is below the prefix.
        Raises ApiError for unknown endpoints and bad bodies."""
        route = self._routes.get((method, path))
        if route is None:
            raise not_found(f"No admin endpoint {method} {PREFIX}{path}.")
        return 200, route(body)

    # -- hooks for API calls ----------------------------------------------------------------

    def apply_fault(self, method, path):
        """Delay and/or fail this API call if a fault matches it."""
        fault = self._take("faults", method, path)
        if fault is None:
            return
        time.sleep(fault["latency"])
        if fault["status"]:
            raise ApiError.for_http_status(fault["status"], f"Fault injected by the emulator for {method} {path}.")

    def take_failing_operation(self, method, path):
        """The operation error to answer this mutating call with, or None."""
        rule = self._take("failing_operations", method, path)
        return None if rule is None else {"code": rule["code"], "message": rule["message"]}

    def record(self, method, path, query, status):
        with self._store.mutate() as data:
            data["log"].append({"time": time.time(), "method": method, "path": path, "query": query, "status": status})

    def _take(self, kind, method, path):
        """Use up one count of the first `kind` rule matching the call; return it or None.
        The state is only written when a rule matched."""
        with self._store.lock:
            rules = self._store.data["admin"][kind]
            if any(r["method"] in ("*", method) and re.search(r["path"], path) for r in rules):
                with self._store.mutate() as data:
                    return take_rule(data, kind, lambda r: r["method"] in ("*", method) and re.search(r["path"], path))
        return None

    # -- endpoints --------------------------------------------------------------------------

    def _health(self, _body):
        return {"status": "ok", "pid": os.getpid()}

    def _reset_all(self, _body):
        self._reset()
        self.calls.clear()
        return {}

    def _add_fault(self, body):
        fault = _rule(body, status=503, latency=0)
        if not fault["status"] and not fault["latency"]:
            raise invalid_argument("A fault needs a status, a latency or both.")
        return self._append("faults", fault)

    def _add_failing_operation(self, body):
        return self._append(
            "failing_operations", _rule(body, code=13, message="Operation failed (injected by the emulator).")
        )

    def _add_policy_writer(self, body):
        writer = {"resource": ".*", "role": "roles/viewer", "member": "user:writer-{n}@example.com", "count": 1, "every": 1}
        unknown = set(body) - set(writer)
        if unknown:
            raise invalid_argument(f"Unknown keys {sorted(unknown)}; expected {sorted(writer)}.")
        writer.update(body, seen=0)
        if not isinstance(writer["every"], int) or writer["every"] < 1:
            raise invalid_argument("every must be a whole number of writes, 1 or more.")
        try:
            re.compile(writer["resource"])
        except re.error as error:
            raise invalid_argument(f"Invalid resource regex: {error}") from None
        return self._append("policy_writers", writer)

    def _config(self, _body):
        with self._store.lock:
            return dict(self._store.data["admin"]["config"])

    def _configure(self, body):
        with self._store.mutate() as data:
            config = data["admin"]["config"]
            for key, value in body.items():
                if key not in config or not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise invalid_argument(f"Unknown or non-numeric config key '{key}'.")
                if value < 0:
                    raise invalid_argument(f"Config key '{key}' must not be negative.")
                if key in self._positive_config and not value:
                    raise invalid_argument(f"{key} must be more than 0.")
            config.update(body)
            return config

    def _log(self, _body):
        return {"calls": self._store.read()["log"]}

    def _calls(self, _body):
        return {"calls": list(self.calls)}

    def _state(self, _body):
        return self._store.read()

    def _clock(self, _body):
        with self._store.lock:
            return _clock_answer(self._store.data)

    def _set_clock(self, body):
        offset = body.get("offset_seconds")
        if set(body) != {"offset_seconds"} or not isinstance(offset, (int, float)) or isinstance(offset, bool):
            raise invalid_argument("The clock takes {\"offset_seconds\": N}, a number of seconds (negative: the past).")
        with self._store.mutate() as data:
            data["admin"]["clock_offset"] = offset
            return _clock_answer(data)

    def _shutdown(self, _body):
        self.shutdown_requested = True
        return {"status": "stopping", "pid": os.getpid()}

    def _append(self, kind, rule):
        with self._store.mutate() as data:
            data["admin"][kind].append(rule)
            return {kind: data["admin"][kind]}


def take_rule(data, kind, matches):
    """Use up one count of the first rule of `kind` in the admin state `data` (held for writing) that
    `matches`; return it, or None."""
    rules = data["admin"][kind]
    rule = next((r for r in rules if matches(r)), None)
    if rule is not None:
        rule["count"] -= 1
        if rule["count"] <= 0:
            rules.remove(rule)
    return rule


def _clock_answer(data):
    moment = datetime.datetime.fromtimestamp(clock.now(data), datetime.timezone.utc)
    return {"offset_seconds": data["admin"]["clock_offset"], "now": moment.isoformat().replace("+00:00", "Z")}


def _rule(body, **defaults):
    """A method/path rule with a count, plus `defaults` overridden by the body."""
    rule = {"method": "*", "path": ".*", "count": 1, **defaults}
    unknown = set(body) - set(rule)
    if unknown:
        raise invalid_argument(f"Unknown keys {sorted(unknown)}; expected {sorted(rule)}.")
    rule.update(body)
    try:
        re.compile(rule["path"])
    except re.error as error:
        raise invalid_argument(f"Invalid path regex: {error}") from None
    return rule
