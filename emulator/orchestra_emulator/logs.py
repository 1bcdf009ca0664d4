"""Cloud Logging's log entries, which any API writes (Secret Manager's Data Access audit logs, callers through
`entries.write`) and `entries.list` reads, and the log-based metrics that count them into the metrics sink.

Entries are kept in memory, as the metrics sink's points are: a reset or a restart forgets them. Each is a LogEntry as
logging.v2.json describes it, of a project log (`projects/{p}/logs/{id}`); it is given a `receiveTimestamp`, and a
`timestamp` and `insertId` when it has none (WriteLogEntriesRequest.entries: "If the timestamp or insert_id fields are
missing in log entries, then this method supplies the current time or a unique identifier, respectively", ids that
sort in the order the entries were written).

Log-based metrics: every entry written that matches the filter (log_filter.py, the same evaluation as entries.list)
of a metric of its project that is not `disabled` adds a point to the metric's type, `logging.googleapis.com/user/NAME`,
at the entry's timestamp: 1 for a counter, the number its valueExtractor gives for a distribution (an entry without
one is not counted). The point's metric labels are what the labelExtractors take from the entry, converted to the
labels' types (a label whose extraction or conversion fails has its type's default); its monitored resource is the
entry's (`resource.type` and `resource.labels`, `project_id` the entry's project when the entry does not name it), as a
log-based metric's time series carry the monitored resource of the entries they count. A metric whose filter is outside the emulator's subset counts nothing.

Data Access audit logs (https://cloud.google.com/logging/docs/audit/configure-data-access): a project's IAM policy
turns them on per service with `auditConfigs` ({"service": "secretmanager.googleapis.com" or "allServices",
"auditLogConfigs": [{"logType": "DATA_READ", "exemptedMembers": [...]}]}); the configs of the service and of
allServices add up, and a member exempted in any of them is not logged (AuditConfig in cloudresourcemanager.v3.json).
`audit_entry` shapes an entry as a recorded Secret Manager one (tests/fixtures/google/logging_audit_secret_access.json).
"""

import copy
import datetime
import re
import threading
import time

from orchestra_emulator import log_filter
from orchestra_emulator.errors import ApiError
from orchestra_emulator.projects import project_number

AUDIT_LOG = "type.googleapis.com/google.cloud.audit.AuditLog"
DATA_ACCESS = "cloudaudit.googleapis.com%2Fdata_access"
USER_METRIC = "logging.googleapis.com/user/"
# The caller's address: the emulator's server does not hand it to the APIs, and its callers are local.
CALLER_IP = "127.0.0.1"


class Logs:
    def __init__(self, store, sink):
        self._store = store
        self._sink = sink
        self._lock = threading.Lock()
        self._entries = []
        self._last_id = 0

    def write(self, entries):
        """Keep complete entries (each with its logName and resource) and count them into the log-based metrics."""
        now = time.time()
        with self._lock:
            for entry in entries:
                entry.setdefault("timestamp", stamp(now))
                if "insertId" not in entry:
                    self._last_id = max(time.time_ns() // 1000, self._last_id + 1)
                    entry["insertId"] = _base36(self._last_id)
                entry["receiveTimestamp"] = stamp(now)
                self._entries.append(copy.deepcopy(entry))
        with self._store.lock:
            metrics = copy.deepcopy(self._store.data["resources"].get("logging.v2", {}).get("metrics", {}))
        for entry in entries:
            self._count(entry, metrics)

    def entries(self, projects):
        """Copies of the entries of `projects` (project ids or numbers), in the order they were written."""
        numbers = {project_number(project) for project in projects}
        with self._lock:
            return [copy.deepcopy(entry) for entry in self._entries if project_number(log_project(entry["logName"])) in numbers]

    def clear(self):
        with self._lock:
            self._entries.clear()

    def _count(self, entry, metrics):
        project = log_project(entry["logName"])
        for key, metric in metrics.items():
            if project_number(key.split("/")[1]) != project_number(project) or metric.get("disabled"):
                continue
            try:
                if not log_filter.parse(metric["filter"])(entry):
                    continue
            except ApiError:
                continue
            value = 1
            if metric.get("valueExtractor"):
                try:
                    value = float(log_filter.extract(metric["valueExtractor"], entry))
                except (TypeError, ValueError):
                    continue
            labels = {label["key"]: _label(label.get("valueType", "STRING"), log_filter.extract(metric["labelExtractors"][label["key"]], entry))
                      for label in metric["metricDescriptor"].get("labels", [])}
            resource = entry.get("resource", {})
            describe(self._sink, metric)
            self._sink.write(USER_METRIC + metric["name"], labels, resource.get("type", "global"),
                             {"project_id": project, **resource.get("labels", {})}, value, log_filter.instant(entry["timestamp"]))


def _label(value_type, found):
    """A label's value: what its extractor found, converted to the label's type; when either fails, the type's default
    (LogMetric.labelExtractors: "an empty string, for an integer label its 0, and for a boolean label its false")."""
    if value_type == "INT64":
        return found if found is not None and re.fullmatch(r"-?\d+", found) else "0"
    if value_type == "BOOL":
        return found.lower() if found is not None and found.lower() in ("true", "false") else "false"
    return found or ""


def describe(sink, metric):
    """Make the log-based metric's type known to the sink (and so to Monitoring's checks of aligners)."""
    descriptor = metric["metricDescriptor"]
    sink.describe(USER_METRIC + metric["name"], "DELTA", descriptor["valueType"], descriptor.get("unit", "1"))


def log_project(log_name):
    """The project of a log name `projects/{p}/logs/{id}`."""
    return log_name.split("/")[1]


def data_access_logged(data, project, service, log_type, member):
    """Whether the IAM policy of `project` (an id or a number) in the state `data` turns on the Data Access audit logs of
    `log_type` (DATA_READ, DATA_WRITE, ADMIN_READ) for `service`, and does not exempt `member` (None: nobody known)."""
    policy = data["policies"].get("cloudresourcemanager.v3", {}).get(f"projects/{project_number(project)}", {})
    configs = [log_config for config in policy.get("auditConfigs", []) if config.get("service") in (service, "allServices")
               for log_config in config.get("auditLogConfigs", []) if log_config.get("logType") == log_type]
    return bool(configs) and not any(member in config.get("exemptedMembers", []) for config in configs)


def member(email):
    """The IAM member of a caller's e-mail: a service account's or a user's."""
    if email is None:
        return None
    return ("serviceAccount:" if email.endswith(".gserviceaccount.com") else "user:") + email


def audit_entry(project, call, user_agent=None):
    """A Data Access audit entry of a successful call in `project` (as the caller named it). `call`: {"service", "method",
    "resourceName", "resourceType", "request": the request as logged, with its "@type", "principal": the caller's e-mail or
    None, "permission", "permissionType"}."""
    now = stamp(time.time(), 9)
    metadata = {"callerIp": CALLER_IP, "requestAttributes": {"time": now, "auth": {}}, "destinationAttributes": {}}
    if user_agent:
        metadata["callerSuppliedUserAgent"] = user_agent
    return {
        "protoPayload": {
            "@type": AUDIT_LOG,
            "authenticationInfo": {"principalEmail": call["principal"]} if call["principal"] else {},
            "requestMetadata": metadata,
            "serviceName": call["service"],
            "methodName": call["method"],
            "authorizationInfo": [{"permission": call["permission"], "granted": True, "permissionType": call["permissionType"],
                                   "resourceAttributes": {"service": call["service"], "name": call["resourceName"], "type": call["resourceType"]}}],
            "resourceName": call["resourceName"],
            "request": call["request"],
        },
        "resource": {"type": "audited_resource", "labels": {"method": call["method"], "project_id": project, "service": call["service"]}},
        "severity": "INFO",
        "logName": f"projects/{project}/logs/{DATA_ACCESS}",
    }


def stamp(seconds, digits=6):
    """RFC 3339 in UTC with `digits` fractional digits (Logging's timestamps have nanoseconds)."""
    whole, fraction = divmod(round(seconds * 10**digits), 10**digits)
    return datetime.datetime.fromtimestamp(whole, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:0{digits}d}Z"


def _base36(number):
    digits = ""
    while number:
        number, rest = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[rest] + digits
    return digits or "0"
