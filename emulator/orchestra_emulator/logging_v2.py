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
An update refuses what Google forbids on an existing metric (LogMetric.metricDescriptor: "The metric_kind and value_type
fields in the metric_descriptor cannot be updated once initially configured. New labels can be added in the
metric_descriptor, but existing labels cannot be modified except for their description."; and
https://cloud.google.com/logging/docs/logs-based-metrics/labels: "After you create a label, you can't delete it."), in
the emulator's words. A metric ID holding '/' arrives escaped in the path ("nginx%2Frequests"), as LogMetric.name says.
The metrics count no log entries: the emulator has no Logging ingestion.
"""

import copy
import datetime
import re
import urllib.parse

from orchestra_emulator import paging
from orchestra_emulator.errors import already_exists, invalid_argument, not_found
from orchestra_emulator.registry import EmulatedApi, register

DOCUMENT = "logging.v2"
# LogMetric.name: "Metric identifiers are limited to 100 characters and can include only the following characters:
# A-Z, a-z, 0-9, and the special characters _-.,+!*',()%/. The forward-slash character (/) denotes a hierarchy of name
# pieces, and it cannot be the first character of the name."
_NAME = re.compile(r"^[A-Za-z0-9_\-.,+!*',()%][A-Za-z0-9_\-.,+!*',()%/]{0,99}$")


@register
class LoggingV2(EmulatedApi):
    document = DOCUMENT
    proto_package = "google.logging.v2"

    def __init__(self, shared):
        super().__init__(shared)
        self._store = shared.store
        prefix = "logging.projects.metrics."
        self.handlers = {
            prefix + "create": (self.create, "metric"),
            prefix + "get": (self.get, None),
            prefix + "list": (self.list, None),
            prefix + "update": (self.update, "metric"),
            prefix + "delete": (self.delete, None),
        }
        # Only these methods are routed here: Logging's document has paths as wide as v2/{+name} (its operations,
        # for one, under v2/projects/*/locations/*/operations like Cloud Run's), which must reach the APIs that serve them.
        self.api.methods = [method for method in self.api.methods if method.id in self.handlers]

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
    for key in metric.get("labelExtractors", {}):
        if key not in [label.get("key") for label in descriptor.get("labels", [])]:
            raise invalid_argument(f"The label extractor {key} has no label of the same key in the metric descriptor.",
                                   field="metric.label_extractors")
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
