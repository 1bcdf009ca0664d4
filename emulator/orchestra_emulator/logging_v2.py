"""Cloud Logging v2 (logging.v2.json): log-based metrics, `projects.metrics`.

Stored under state["resources"]["logging.v2"]["metrics"]: {"projects/{p}/metrics/{name}": the LogMetric as Google
returns it}. Shapes follow a real recording (k8s-config-connector's logginglogmetric-nometricdescriptor log, kept as
tests/fixtures/google/logging_metric_create.json): the metric is named by the caller (`name`, no project), and Google
adds `createTime`, `updateTime` and a `metricDescriptor` (DELTA INT64 of unit "1" unless sent, named
`projects/{p}/metricDescriptors/logging.googleapis.com/user/{name}`, of type `logging.googleapis.com/user/{name}`,
with the metric's description); the recording's 404 of the GET before the create is the missing metric's answer,
"Metric {name} does not exist.". `update` (PUT) replaces the metric, keeping its createTime, and creates it when it
does not exist (logging.v2.json's projects.metrics.update: "Creates or updates a logs-based metric"). Recording:
https://github.com/GoogleCloudPlatform/k8s-config-connector/tree/master/pkg/test/resourcefixture/testdata/basic/logging/v1beta1/logginglogmetric
A metric's type is described to the metrics sink when it is created, updated or restored, so that Monitoring checks
aligners on it by its kind; every entry written counts into the metrics whose filter it matches (logs.py).

Log entries (logs.py keeps them, in memory): `entries.write` (POST v2/entries:write) completes each entry from the
request's logName, resource and labels, as WriteLogEntriesRequest.entries says ("Values supplied in this method's
log_name, resource, and labels fields are copied into those log entries in this list that do not include values for
their corresponding fields"), and `entries.list` (POST v2/entries:list) reads the entries of `resourceNames` (projects,
or log views of their buckets: all the project's entries) matching `filter` (log_filter.py), by `orderBy` ("timestamp
asc", the default, or "timestamp desc"; equal timestamps by insertId) and pages of `pageSize` (50 by default, as the
document says; at most 1000).
An update refuses what Google forbids on an existing metric (LogMetric.metricDescriptor: "The metric_kind and value_type
fields in the metric_descriptor cannot be updated once initially configured. New labels can be added in the
metric_descriptor, but existing labels cannot be modified except for their description."; and
https://cloud.google.com/logging/docs/logs-based-metrics/labels: "After you create a label, you can't delete it."), in
the emulator's words. A metric ID holding '/' arrives escaped in the path ("nginx%2Frequests"), as LogMetric.name says.
"""

import copy
import datetime
import re
import urllib.parse

from orchestra_emulator import log_filter, logs, paging
from orchestra_emulator.errors import already_exists, invalid_argument, not_found
from orchestra_emulator.registry import EmulatedApi, register

DOCUMENT = "logging.v2"
# LogMetric.name: "Metric identifiers are limited to 100 characters and can include only the following characters:
# A-Z, a-z, 0-9, and the special characters _-.,+!*',()%/. The forward-slash character (/) denotes a hierarchy of name
# pieces, and it cannot be the first character of the name."
_NAME = re.compile(r"^[A-Za-z0-9_\-.,+!*',()%][A-Za-z0-9_\-.,+!*',()%/]{0,99}$")
# LogEntry.logName: "projects/[PROJECT_ID]/logs/[LOG_ID]", the LOG_ID URL-encoded, at most 512 characters.
_LOG_NAME = re.compile(r"^projects/[^/]+/logs/[^/]{1,512}$")
_RESOURCE_NAME = re.compile(r"^projects/([^/]+)(/locations/[^/]+/buckets/[^/]+/views/[^/]+)?$")
_ORDER = {"": False, "timestamp asc": False, "timestamp desc": True}
DEFAULT_ENTRIES_PAGE = 50
MAX_ENTRIES_PAGE = 1000


@register
class LoggingV2(EmulatedApi):
    document = DOCUMENT
    proto_package = "google.logging.v2"

    def __init__(self, shared):
        super().__init__(shared)
        self._store = shared.store
        self._logs = shared.logs
        prefix = "logging.projects.metrics."
        self.handlers = {
            "logging.entries.write": (self.write_entries, ""),
            "logging.entries.list": (self.list_entries, ""),
            prefix + "create": (self.create, "metric"),
            prefix + "get": (self.get, None),
            prefix + "list": (self.list, None),
            prefix + "update": (self.update, "metric"),
            prefix + "delete": (self.delete, None),
        }
        # Only these methods are routed here: Logging's document has paths as wide as v2/{+name} (its operations,
        # for one, under v2/projects/*/locations/*/operations like Cloud Run's), which must reach the APIs that serve them.
        self.api.methods = [method for method in self.api.methods if method.id in self.handlers]

    def restore(self):
        with self._store.lock:
            for metric in _metrics(self._store.data).values():
                logs.describe(self.shared.metrics, metric)

    def write_entries(self, request):
        body = request.body
        entries = []
        for index, sent in enumerate(body.get("entries", [])):
            entry = copy.deepcopy(sent)
            for field in ("logName", "resource"):
                if field not in entry and field in body:
                    entry[field] = copy.deepcopy(body[field])
            if body.get("labels"):
                entry["labels"] = {**body["labels"], **entry.get("labels", {})}
            if not _LOG_NAME.match(entry.get("logName", "")):
                raise invalid_argument(f"Log entry {index} needs a logName projects/[PROJECT_ID]/logs/[LOG_ID] (the LOG_ID URL-encoded), "
                                       "in the entry or the request.", field=f"entries[{index}].log_name")
            if not entry.get("resource", {}).get("type"):
                raise invalid_argument(f"Log entry {index} needs a monitored resource (a type and its labels), in the entry or the request.",
                                       field=f"entries[{index}].resource")
            entries.append(entry)
        if not entries:
            raise invalid_argument("At least one log entry is required.", field="entries")
        if not body.get("dryRun"):
            self._logs.write(entries)
        return {}

    def list_entries(self, request):
        body = request.body
        names = body.get("resourceNames", [])
        if not names:
            raise invalid_argument("resourceNames is required: the projects (projects/[PROJECT_ID]) whose entries to read.",
                                   field="resource_names")
        projects = []
        for index, name in enumerate(names):
            found = _RESOURCE_NAME.match(name)
            if not found:
                raise invalid_argument(f"Unsupported resource name [{name}]: the emulator reads projects/[PROJECT_ID] and their "
                                       "log views projects/[PROJECT_ID]/locations/[L]/buckets/[B]/views/[V].", field=f"resource_names[{index}]")
            projects.append(found.group(1))
        order = body.get("orderBy", "").strip()
        if order not in _ORDER:
            raise invalid_argument(f'Invalid orderBy [{order}]: "timestamp asc" or "timestamp desc".', field="order_by")
        size = body.get("pageSize") or DEFAULT_ENTRIES_PAGE
        if size < 0:
            raise invalid_argument("The page size must not be negative.", field="page_size")
        matches = log_filter.parse(body.get("filter", ""))
        entries = [entry for entry in self._logs.entries(projects) if matches(entry)]
        entries.sort(key=lambda entry: (log_filter.instant(entry["timestamp"]), entry["insertId"]), reverse=_ORDER[order])
        page, token = paging.page(entries, min(size, MAX_ENTRIES_PAGE), body.get("pageToken"))
        return {"entries": page, "nextPageToken": token}

    def create(self, request):
        project = request.variables["projectsId"]
        metric = _metric(request.body, project)
        key = f"projects/{project}/metrics/{metric['name']}"
        with self._store.mutate() as data:
            if key in _metrics(data):
                raise already_exists(f"Metric {metric['name']} already exists.")
            now = _now()
            metric.update(createTime=now, updateTime=now)
            _metrics(data)[key] = metric
        logs.describe(self.shared.metrics, metric)
        return copy.deepcopy(metric)

    def get(self, request):
        with self._store.lock:
            return copy.deepcopy(_found(self._store.data, request.variables))

    def list(self, request):
        prefix = f"projects/{request.variables['projectsId']}/metrics/"
        with self._store.lock:
            items = [copy.deepcopy(m) for key, m in sorted(_metrics(self._store.data).items()) if key.startswith(prefix)]
        page, token = paging.page(items, request.query.get("pageSize"), request.query.get("pageToken"))
        return {"metrics": page, "nextPageToken": token}

    def update(self, request):
        project = request.variables["projectsId"]
        name = urllib.parse.unquote(request.variables["metricsId"])
        metric = _metric({**request.body, "name": request.body.get("name") or name}, project)
        if metric["name"] != name:
            raise invalid_argument(f"The metric's name {metric['name']} is not the name in the request, {name}.", field="metric.name")
        key = f"projects/{project}/metrics/{name}"
        with self._store.mutate() as data:
            current = _metrics(data).get(key)
            if current:
                _check_update(current["metricDescriptor"], metric["metricDescriptor"])
            now = _now()
            metric.update(createTime=current["createTime"] if current else now, updateTime=now)
            _metrics(data)[key] = metric
        logs.describe(self.shared.metrics, metric)
        return copy.deepcopy(metric)

    def delete(self, request):
        with self._store.mutate() as data:
            _found(data, request.variables)
            del _metrics(data)[_key(request.variables)]
        return {}


def _check_update(current, sent):
    for field in ("metricKind", "valueType"):
        if current[field] != sent[field]:
            raise invalid_argument(f"The {field} of a logs-based metric cannot be changed, from {current[field]} to {sent[field]}.",
                                   field=f"metric.metric_descriptor.{field}")
    sent_labels = {label["key"]: label.get("valueType", "STRING") for label in sent.get("labels", [])}
    for label in current.get("labels", []):
        if label["key"] not in sent_labels:
            raise invalid_argument(f"The label {label['key']} of a logs-based metric cannot be removed.", field="metric.metric_descriptor.labels")
        if sent_labels[label["key"]] != label.get("valueType", "STRING"):
            raise invalid_argument(f"The value type of the label {label['key']} of a logs-based metric cannot be changed.",
                                   field="metric.metric_descriptor.labels")


def _metric(sent, project):
    metric = {k: copy.deepcopy(v) for k, v in sent.items() if k not in ("createTime", "updateTime")}
    name = metric.get("name", "")
    if not _NAME.match(name):
        raise invalid_argument(f"Invalid metric name {name!r}: up to 100 of A-Z, a-z, 0-9 and _-.,+!*',()%/, not starting with /.",
                               field="metric.name")
    if not metric.get("filter"):
        raise invalid_argument("A log-based metric needs a filter.", field="metric.filter")
    descriptor = metric.setdefault("metricDescriptor", {})
    descriptor.setdefault("metricKind", "DELTA")
    descriptor.setdefault("valueType", "INT64")
    if descriptor["metricKind"] != "DELTA":
        # MetricDescriptor of a LogMetric: "Only DELTA metric kinds are supported for logs-based metrics."
        raise invalid_argument("Logs-based metrics support only the DELTA metric kind.", field="metric.metric_descriptor.metric_kind")
    if descriptor["valueType"] == "DISTRIBUTION":
        if not metric.get("valueExtractor") or not metric.get("bucketOptions"):
            raise invalid_argument("A distribution logs-based metric needs a value_extractor and bucket_options.", field="metric.value_extractor")
    elif descriptor["valueType"] != "INT64":
        raise invalid_argument("A logs-based metric is a counter (INT64) or a distribution (DISTRIBUTION).",
                               field="metric.metric_descriptor.value_type")
    elif metric.get("valueExtractor"):
        raise invalid_argument("A counter metric has no value_extractor.", field="metric.value_extractor")
    extractors = metric.get("labelExtractors", {})
    keys = [label.get("key") for label in descriptor.get("labels", [])]
    for key, extractor in extractors.items():
        if key not in keys:
            raise invalid_argument(f"The label extractor {key} has no label of the same key in the metric descriptor.",
                                   field="metric.label_extractors")
        log_filter.check_extractor(extractor, f"metric.label_extractors[{key}]")
    for key in keys:
        # LogMetric.labelExtractors: "Each label key specified in the LabelDescriptor must have an associated extractor expression".
        if key not in extractors:
            raise invalid_argument(f"The label {key} of the metric descriptor has no label extractor.", field="metric.label_extractors")
    if metric.get("valueExtractor"):
        log_filter.check_extractor(metric["valueExtractor"], "metric.value_extractor")
    descriptor.setdefault("unit", "1")
    if metric.get("description"):
        descriptor.setdefault("description", metric["description"])
    descriptor["type"] = f"logging.googleapis.com/user/{name}"
    descriptor["name"] = f"projects/{project}/metricDescriptors/{descriptor['type']}"
    return metric


def _metrics(data):
    return data["resources"].setdefault(DOCUMENT, {}).setdefault("metrics", {})


def _key(variables):
    return f"projects/{variables['projectsId']}/metrics/{urllib.parse.unquote(variables['metricsId'])}"


def _found(data, variables):
    metric = _metrics(data).get(_key(variables))
    if metric is None:
        # Google's words (logging_metric_create.json)
        raise not_found(f"Metric {urllib.parse.unquote(variables['metricsId'])} does not exist.")
    return metric


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
