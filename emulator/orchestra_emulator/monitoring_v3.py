"""Cloud Monitoring v3 `projects.timeSeries.list`, serving the time series APIs write to the metrics
sink (metrics.py): Cloud Run's request and instance metrics (see run_v2), Memorystore's (see redis_v1) and the uptime
checks' (see monitoring_alerting, which also serves alert policies, notification channels and uptime check configs for
this API). How series are read, aligned and reduced is timeseries.py's, shared with the evaluation of alert policies
(monitoring_alerts.py, which also serves `projects.alerts`).

`projects.timeSeries.create` writes GAUGE points of user-defined metrics (custom.googleapis.com/,
workload.googleapis.com/) on the global, generic_task and generic_node resources; the first point of a metric type
creates its descriptor (`projects.metricDescriptors.get|list` serve those), as CreateTimeSeriesRequest and
TimeSeries describe it in monitoring.v3.json. A series takes a point only after its newest one ("Points must be written
in order", tests/fixtures/google/monitoring_time_series_out_of_order.json) and more than 5 seconds after it ("One or
more points were written more frequently than the maximum sampling period configured for the metric",
monitoring_time_series_too_frequent.json, where a point exactly 5 s after the newest was refused). Series that fail do
not stop the others: the answer is 400 "One or more TimeSeries could not be written: ..." with a
CreateTimeSeriesSummary detail (monitoring_time_series_summary.json), else `{}`. See emulator/README.md for what is
the emulator's choice.
"""

import datetime
import re
import threading

from orchestra_emulator import paging, timeseries
from orchestra_emulator.errors import RPC_CODES, ApiError, invalid_argument, not_found
from orchestra_emulator.monitoring_alerting import Alerting
from orchestra_emulator.monitoring_alerts import Alerts
from orchestra_emulator.registry import EmulatedApi, register


# What a project may write: user-defined metric types (https://cloud.google.com/monitoring/api/v3/naming-conventions),
# on the monitored resources for custom metrics the emulator knows, with their labels
# (https://cloud.google.com/monitoring/api/resources#tag_global, #tag_generic_task, #tag_generic_node).
WRITABLE_PREFIXES = ("custom.googleapis.com/", "workload.googleapis.com/")
WRITABLE_RESOURCES = {
    "global": {"project_id"},
    "generic_task": {"project_id", "location", "namespace", "job", "task_id"},
    "generic_node": {"project_id", "location", "namespace", "node_id"},
}
# CreateTimeSeriesRequest.timeSeries: "The maximum number of TimeSeries objects per Create request is 200."
MAX_SERIES = 200
# One point every 5 seconds per series (tests/fixtures/google/monitoring_time_series_too_frequent.json: a point 5.000 s
# after the newest was refused, so a point must come more than this after it).
MIN_POINT_SECONDS = 5.0
# LabelDescriptor.key: "Does not exceed 100 characters. Matches the following regular expression: [a-zA-Z][a-zA-Z0-9_]*"
_LABEL_KEY = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,99}$")
_POINT_TYPES = {"int64Value": "INT64", "doubleValue": "DOUBLE", "boolValue": "BOOL"}
_SUMMARY_TYPE = "type.googleapis.com/google.monitoring.v3.CreateTimeSeriesSummary"


@register
class MonitoringV3(EmulatedApi):
    document = "monitoring.v3"
    proto_package = "google.monitoring.v3"
    # Cloud Run's request metrics are 60-second samples, visible up to 180 s after they close
    # (https://cloud.google.com/monitoring/api/metrics_gcp#gcp-run, run.googleapis.com/request_count).
    # uptime_check_period_seconds: when above 0, every uptime check runs that often instead of on its period.
    # alert_evaluation_seconds: how often alert policies are evaluated; alert_duration_scale: what a second of a
    # condition's duration lasts (monitoring_alerts.py).
    config = {"monitoring_sample_seconds": 60, "monitoring_lag_seconds": 180, "uptime_check_period_seconds": 0,
              "alert_evaluation_seconds": 60, "alert_duration_scale": 1}
    positive_config = frozenset({"monitoring_sample_seconds", "alert_evaluation_seconds", "alert_duration_scale"})

    def __init__(self, shared):
        super().__init__(shared)
        self.handlers = {
            "monitoring.projects.timeSeries.list": (self.list_time_series, None),
            "monitoring.projects.timeSeries.create": (self.create_time_series, ""),
            "monitoring.projects.metricDescriptors.get": (self.get_descriptor, None),
            "monitoring.projects.metricDescriptors.list": (self.list_descriptors, None),
        }
        # A metric type holds slashes: Google's path is v3/{name=projects/*/metricDescriptors/**}, and clients send them
        # unescaped (the document's flatPath gives the type one segment).
        for method in self.api.methods:
            if method.id == "monitoring.projects.metricDescriptors.get":
                method.serve_on("v3/projects/{projectsId}/metricDescriptors/{+metricDescriptorsId}")
        self._writing = threading.Lock()  # a series' newest point is read and a point added at once
        # the evaluation of alert policies and the alerts it opens (monitoring_alerts.py)
        self.alerts = Alerts(shared)
        self.handlers.update(self.alerts.handlers())
        # alert policies, notification channels, uptime checks (monitoring_alerting.py)
        self.alerting = Alerting(shared, self._check_aligner, self.alerts.start)
        self.handlers.update(self.alerting.handlers())

    def restore(self):
        self.alerting.start()
        self.alerts.start()

    def close(self):
        self.alerting.stop()
        self.alerts.stop()

    def _check_aligner(self, metric_type, aligner, period):
        """An alert policy's aligner on a metric the emulator writes: refused as timeSeries.list refuses it."""
        descriptor = self.shared.metrics.descriptor(metric_type)
        if descriptor and aligner != "ALIGN_NONE":
            try:
                timeseries.aligned(aligner, *descriptor[:2], period)
            except ApiError as error:
                if error.status != "UNIMPLEMENTED":
                    raise

    def create_time_series(self, request):
        project = request.variables["projectsId"]
        series = request.body.get("timeSeries", [])
        if not series:
            raise invalid_argument("At least one TimeSeries is required.", field="time_series")
        if len(series) > MAX_SERIES:
            raise invalid_argument(f"At most {MAX_SERIES} TimeSeries can be written in one request, not {len(series)}.", field="time_series")
        failures = []
        with self._writing:
            for i, one in enumerate(series):
                problem = self._write(project, one)
                if problem:
                    failures.append((i, one, problem))
        if failures:
            # Google's words and form (monitoring_time_series_summary.json); the words of a problem the recordings do not
            # show are the emulator's.
            message = "; ".join(f"timeSeries[{i}]: write for resource={_resource_text(one.get('resource', {}))} failed with: {problem}"
                                for i, one, problem in failures)
            summary = {"@type": _SUMMARY_TYPE, "totalPointCount": len(series), "successPointCount": len(series) - len(failures),
                       "errors": [{"status": {"code": RPC_CODES["INVALID_ARGUMENT"]}, "pointCount": len(failures)}]}
            raise ApiError("INVALID_ARGUMENT", f"One or more TimeSeries could not be written: {message}", details=[summary])
        return {}

    def _write(self, project, series):
        """Write the one point of `series`; what keeps it from being written, else None."""
        metric, resource = series.get("metric", {}), series.get("resource", {})
        metric_type, labels = metric.get("type", ""), metric.get("labels", {})
        prefix = next((p for p in WRITABLE_PREFIXES if metric_type.startswith(p)), None)
        if prefix is None or metric_type == prefix:
            return (f"The metric type {metric_type!r} cannot be written: the emulator takes points of user-defined metrics "
                    f"({', '.join(WRITABLE_PREFIXES)}) only.")
        bad = [key for key in labels if not _LABEL_KEY.match(key)]
        if bad:
            return f"Invalid metric label key {bad[0]!r}: a letter, then at most 99 letters, digits or underscores."
        expected = WRITABLE_RESOURCES.get(resource.get("type"))
        if expected is None:
            return f"The emulator writes user-defined metrics on the resource types {', '.join(sorted(WRITABLE_RESOURCES))}, not {resource.get('type')!r}."
        given = set(resource.get("labels", {}))
        if given != expected:
            return f"The {resource['type']} resource needs exactly the labels {', '.join(sorted(expected))}."
        if resource["labels"]["project_id"] != project:
            return f"The resource's project_id {resource['labels']['project_id']!r} is not the project of the request, {project!r}."
        points = series.get("points", [])
        if len(points) != 1:
            # TimeSeries.points: "When creating a time series, this field must contain exactly one point".
            return f"A TimeSeries written must hold exactly one point, not {len(points)}."
        point = points[0]
        fields = list(point.get("value", {}).items())
        field, value = fields[0] if len(fields) == 1 else (None, None)
        if field not in _POINT_TYPES:
            return "A point's value must be one of int64Value, doubleValue or boolValue (the emulator writes no distributions)."
        value_type = _POINT_TYPES[field]
        if series.get("metricKind", "GAUGE") != "GAUGE":
            return f"The emulator writes GAUGE points only, not {series['metricKind']}."
        if series.get("valueType", value_type) != value_type:
            # TimeSeries.valueType: "If present, it must be the same as the type of the data in the points field."
            return f"The series' value type {series['valueType']} is not the type of its point, {value_type}."
        interval = point.get("interval", {})
        if not interval.get("endTime"):
            return "A point needs interval.endTime."
        end = _time(interval["endTime"], "interval.end_time")
        if interval.get("startTime") and _time(interval["startTime"], "interval.start_time") != end:
            # Point.interval: "For GAUGE metrics, the start time is optional, but if it is supplied, it must equal the end time."
            return "The start time of a GAUGE point must equal its end time."
        descriptor = self.shared.metrics.created().get(metric_type)
        if descriptor is None and self.shared.metrics.descriptor(metric_type):
            return f"The metric type {metric_type!r} is the emulator's own: it cannot be written."
        if descriptor is not None and descriptor["valueType"] != value_type:
            return f"The metric {metric_type} has the value type {descriptor['valueType']}; a point of {value_type} cannot be written to it."
        newest = self.shared.metrics.newest(metric_type, labels, resource["type"], resource["labels"])
        if newest is not None and end <= newest:
            return ("Points must be written in order. One or more of the points specified had an older end time than the most recent "
                    "point.")
        if newest is not None and end - newest <= MIN_POINT_SECONDS:
            return ("One or more points were written more frequently than the maximum sampling period configured for the metric. "
                    f"{{Metric: {metric_type}, Timestamps: {{Youngest Existing: '{_clock(newest)}', New: '{_clock(end)}'}}}}")
        known = [label["key"] for label in (descriptor or {}).get("labels", [])]
        if descriptor is None or set(labels) - set(known):
            # Created by the first point (TimeSeries.metricKind: "If the associated metric's descriptor must be
            # auto-created, then this field specifies the metric kind of the new descriptor"); new label keys are added.
            self.shared.metrics.create({
                "name": f"projects/{project}/metricDescriptors/{metric_type}", "type": metric_type,
                "labels": [{"key": key} for key in known + sorted(set(labels) - set(known))],
                "metricKind": "GAUGE", "valueType": value_type, "description": series.get("description", ""),
                **({"unit": series["unit"]} if series.get("unit") else {}),
            })
        self.shared.metrics.write(metric_type, labels, resource["type"], resource["labels"],
                                  int(value) if value_type == "INT64" else value, at=end)
        return None

    def get_descriptor(self, request):
        metric_type = request.variables["metricDescriptorsId"]
        descriptor = self.shared.metrics.created().get(metric_type)
        if descriptor is None or not descriptor["name"].startswith(f"projects/{request.variables['projectsId']}/"):
            raise not_found(f"Could not find descriptor for metric {metric_type!r}.")
        return descriptor

    def list_descriptors(self, request):
        prefix = f"projects/{request.variables['projectsId']}/"
        wanted = _descriptor_filter(request.query.get("filter", ""))
        items = [d for t, d in sorted(self.shared.metrics.created().items()) if d["name"].startswith(prefix) and wanted(t)]
        page, token = paging.page(items, request.query.get("pageSize"), request.query.get("pageToken"))
        return {"metricDescriptors": page, "nextPageToken": token}

    def list_time_series(self, request):
        q = request.query
        end = _time(q.get("interval.endTime"), "interval.end_time")
        start = _time(q.get("interval.startTime"), "interval.start_time") if q.get("interval.startTime") else end
        if start > end:
            raise invalid_argument("The start time must be before the end time.", field="interval.start_time")
        aggregation = {key: q[f"aggregation.{key}"] for key in ("perSeriesAligner", "alignmentPeriod", "crossSeriesReducer", "groupByFields")
                       if f"aggregation.{key}" in q}
        with self.shared.store.lock:
            config = dict(self.shared.store.data["admin"]["config"])
        series = timeseries.read(self.shared.metrics, config, request.variables["projectsId"], q.get("filter", ""), start, end, aggregation)
        if q.get("view") == "HEADERS":
            series = [dict(s, points=[]) for s in series]
        items, token = paging.page(series, q.get("pageSize"), q.get("pageToken"))
        return {"timeSeries": [_encode(s) for s in items], "nextPageToken": token}


def _descriptor_filter(text):
    """metricDescriptors.list's filter: `metric.type = "T"` or `metric.type = starts_with("P")`, else none."""
    if not text.strip():
        return lambda metric_type: True
    found = re.fullmatch(r'\s*metric\.type\s*=\s*(?:"([^"]*)"|starts_with\(\s*"([^"]*)"\s*\))\s*', text)
    if not found:
        raise invalid_argument(f'The emulator supports the filters metric.type = "T" and metric.type = starts_with("P"), not {text!r}.',
                               field="filter")
    exact, prefix = found.groups()
    return (lambda metric_type: metric_type == exact) if exact is not None else (lambda metric_type: metric_type.startswith(prefix))


def _resource_text(resource):
    """A monitored resource as Google's write errors show it: `generic_node{location:global,node_id:,namespace:}`, without
    its project_id."""
    labels = ",".join(f"{k}:{v}" for k, v in sorted(resource.get("labels", {}).items()) if k != "project_id")
    return f"{resource.get('type', '')}{{{labels}}}"


def _clock(seconds):
    """A time as Google's write errors show it: '2019/06/21-12:29:46.439' (UTC)."""
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y/%m/%d-%H:%M:%S.%f")[:-3]


def _time(value, field):
    if not value:
        raise invalid_argument(f"Field {field} is required.", field=field)
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# -- JSON -------------------------------------------------------------------------------------

def _encode(series):
    out = {key: series[key] for key in ("metric", "resource", "metricKind", "valueType", "unit")}
    out["points"] = [{"interval": {"startTime": _stamp(p["interval"][0]), "endTime": _stamp(p["interval"][1])},
                      "value": _value(series["valueType"], p["value"])} for p in series["points"]]
    return out


def _value(value_type, value):
    if value_type == "INT64":
        return {"int64Value": str(value)}
    if value_type == "DOUBLE":
        return {"doubleValue": value}
    if value_type == "BOOL":
        return {"boolValue": bool(value)}
    return {"distributionValue": {
        "count": str(value["count"]), "mean": value["mean"], "sumOfSquaredDeviation": value["ssd"],
        "bucketOptions": {"exponentialBuckets": timeseries.BUCKETS}, "bucketCounts": [str(c) for c in value["buckets"]]}}


def _stamp(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat().replace("+00:00", "Z")
