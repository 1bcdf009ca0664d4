"""Cloud Monitoring v3 `projects.timeSeries.list`, serving the time series APIs write to the metrics
sink (metrics.py): Cloud Run's request metrics (see run_v2), the uptime checks' (see monitoring_alerting, which
also serves alert policies, notification channels and uptime check configs for this API) and the log-based metrics'
(see logs.py).

- Raw points are samples of `monitoring_sample_seconds` (admin config; 60 by default, as Cloud Run's),
  aligned to multiples of it since the epoch. A sample is visible only `monitoring_lag_seconds` after
  it closed (180 by default: run.googleapis.com/request_count says "Sampled every 60 seconds. After
  sampling, data is not visible for up to 180 seconds."); a still-open sample is never served. A DELTA
  sample is the sum of its points (a DISTRIBUTION one the distribution of its measurements), a GAUGE
  sample its last point.
- `filter` takes `field = "value"` clauses joined by AND on metric.type, resource.type,
  resource.label(s).KEY and metric.label(s).KEY.
- Aggregation follows https://cloud.google.com/monitoring/api/ref_v3/rest/v3/Aggregation:
  periods of `alignmentPeriod` (at least 60 s) ending at `interval.endTime`, each holding the samples
  that start in it (the emulator's choice); per-series aligners
  ALIGN_NONE, ALIGN_DELTA, ALIGN_SUM, ALIGN_RATE, ALIGN_COUNT, ALIGN_MEAN, ALIGN_MIN, ALIGN_MAX,
  ALIGN_NEXT_OLDER, ALIGN_PERCENTILE_*, and ALIGN_FRACTION_TRUE and ALIGN_COUNT_TRUE for Boolean series;
  cross-series reducers REDUCE_NONE, REDUCE_SUM, REDUCE_MEAN, REDUCE_MIN, REDUCE_MAX, REDUCE_COUNT,
  REDUCE_PERCENTILE_*, and REDUCE_COUNT_TRUE and REDUCE_FRACTION_TRUE for Boolean series,
  over `groupByFields`. Percentiles of a distribution interpolate linearly
  inside its bucket. Others answer UNIMPLEMENTED.
- Distributions use exponential buckets (scale 1, growth 1.1, 120 finite buckets): an emulator choice.

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

import bisect
import datetime
import math
import re
import threading
import time

from orchestra_emulator import paging
from orchestra_emulator.errors import RPC_CODES, ApiError, invalid_argument, not_found
from orchestra_emulator.monitoring_alerting import Alerting
from orchestra_emulator.registry import EmulatedApi, register

BUCKETS = {"numFiniteBuckets": 120, "growthFactor": 1.1, "scale": 1.0}
# Upper bounds of the finite buckets 1..N; bucket 0 is (-inf, scale), bucket N+1 [last bound, +inf).
_BOUNDS = [BUCKETS["scale"] * BUCKETS["growthFactor"] ** i for i in range(BUCKETS["numFiniteBuckets"] + 1)]
_CLAUSE = re.compile(r'^\s*(metric\.type|resource\.type|(?:resource|metric)\.labels?\.[a-z_]+)\s*=\s*"([^"]*)"\s*$')
_PERCENTILE = re.compile(r"^(?:ALIGN|REDUCE)_PERCENTILE_(\d\d)$")
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
    config = {"monitoring_sample_seconds": 60, "monitoring_lag_seconds": 180, "uptime_check_period_seconds": 0}
    positive_config = frozenset({"monitoring_sample_seconds"})

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
        # alert policies, notification channels, uptime checks (monitoring_alerting.py)
        self.alerting = Alerting(shared, self._check_aligner)
        self.handlers.update(self.alerting.handlers())

    def restore(self):
        self.alerting.start()

    def close(self):
        self.alerting.stop()

    def _check_aligner(self, metric_type, aligner, period):
        """An alert policy's aligner on a metric the emulator writes: refused as timeSeries.list refuses it."""
        descriptor = self.shared.metrics.descriptor(metric_type)
        if descriptor and aligner != "ALIGN_NONE":
            try:
                _aligner(aligner, *descriptor[:2], period)
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
        project = request.variables["projectsId"]
        wanted = _parse_filter(q.get("filter", ""))
        end = _time(q.get("interval.endTime"), "interval.end_time")
        start = _time(q.get("interval.startTime"), "interval.start_time") if q.get("interval.startTime") else end
        if start > end:
            raise invalid_argument("The start time must be before the end time.", field="interval.start_time")
        aligner = q.get("aggregation.perSeriesAligner", "ALIGN_NONE")
        reducer = q.get("aggregation.crossSeriesReducer", "REDUCE_NONE")
        period = _period(q.get("aggregation.alignmentPeriod"), aligner)
        if reducer != "REDUCE_NONE" and aligner == "ALIGN_NONE":
            # crossSeriesReducer: "If cross_series_reducer is specified, then per_series_aligner must be
            # specified, and must not be ALIGN_NONE." Google's wording of this 400 is not known.
            raise invalid_argument(
                f'Field aggregation.crossSeriesReducer had an invalid value of "{reducer}": '
                'a cross-series reducer needs a per-series aligner other than ALIGN_NONE.',
                field="aggregation.cross_series_reducer")
        descriptor = self.shared.metrics.descriptor(wanted["metric.type"])
        if period is not None and descriptor:
            _aligner(aligner, *descriptor[:2], period)  # refused by the metric's kind, with or without data
        with self.shared.store.lock:
            config = dict(self.shared.store.data["admin"]["config"])
        visible_until = time.time() - config["monitoring_lag_seconds"]  # samples that closed by then are visible
        series = self.shared.metrics.series(project, config["monitoring_sample_seconds"], visible_until)
        series = [s for s in series if _matches(s, wanted)]
        series = [_align(s, start, end, aligner, period) for s in series]
        series = [s for s in series if s["points"]]
        if reducer != "REDUCE_NONE":
            series = _reduce(series, reducer, q.get("aggregation.groupByFields", []))
        if q.get("view") == "HEADERS":
            series = [dict(s, points=[]) for s in series]
        items, token = paging.page(series, q.get("pageSize"), q.get("pageToken"))
        return {"timeSeries": [_encode(s) for s in items], "nextPageToken": token}


def _parse_filter(text):
    if not text.strip():
        raise invalid_argument("Field filter had an invalid value: a filter naming metric.type is required.", field="filter")
    wanted = {}
    for clause in re.split(r"\s+AND\s+", text.strip()):
        found = _CLAUSE.match(clause)
        if not found:
            raise invalid_argument(
                f'The emulator supports filters of field = "value" clauses joined by AND; cannot parse {clause.strip()!r}.',
                field="filter")
        wanted[found.group(1).replace(".label.", ".labels.")] = found.group(2)
    if "metric.type" not in wanted:
        raise invalid_argument("Field filter had an invalid value: it must name a metric.type.", field="filter")
    return wanted


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


def _matches(series, wanted):
    for field, value in wanted.items():
        if field == "metric.type" and series["metric"]["type"] != value:
            return False
        if field == "resource.type" and series["resource"]["type"] != value:
            return False
        if field.startswith(("resource.labels.", "metric.labels.")):
            part, key = field.split(".labels.", 1)
            if series[part]["labels"].get(key) != value:
                return False
    return True


def _time(value, field):
    if not value:
        raise invalid_argument(f"Field {field} is required.", field=field)
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _period(value, aligner):
    if aligner == "ALIGN_NONE":
        return None
    if not value:
        raise invalid_argument("An alignment period is required when a per-series aligner is set.",
                               field="aggregation.alignment_period")
    seconds = float(value.rstrip("s"))
    if seconds < 60:
        raise invalid_argument("The alignment period must be at least 60 seconds.", field="aggregation.alignment_period")
    return seconds


def _align(series, start, end, aligner, period):
    """The series with points: its raw samples, or one point per alignment period ending at `end`."""
    length = series["sample_seconds"]
    if period is None:
        # TimeInterval: "Reads: A half-open time interval. It includes the end time but excludes the start
        # time: (startTime, endTime]." A raw point is read when its end time is in it.
        points = [{"interval": (t, t + length), "value": _raw(series, values)}
                  for t, values in series["samples"].items() if start < t + length <= end]
        return {**series, "points": sorted(points, key=lambda p: p["interval"], reverse=True)}
    kind, value_type, combine = _aligner(aligner, series["metricKind"], series["valueType"], period)
    count = max(1, math.ceil((end - start) / period))
    points = []
    for i in range(count):  # newest first: "points are returned in reverse time order"
        high = end - i * period
        low = high - period
        # A sample counts in the period it starts in (the emulator's choice: how Google splits a
        # sample across two periods is not documented).
        values = [_raw(series, sample) for t, sample in sorted(series["samples"].items()) if low <= t < high]
        if values:
            points.append({"interval": (low, high), "value": combine(values)})
    return {**series, "metricKind": kind, "valueType": value_type, "points": points}


def _raw(series, values):
    """A sample's value from its points: their distribution, their last value (GAUGE) or their sum (DELTA)."""
    if series["valueType"] == "DISTRIBUTION":
        return _distribution(values)
    return values[-1] if series["metricKind"] == "GAUGE" else sum(values)


def _aligner(aligner, kind, value_type, period):
    """(metric kind, value type, function of the period's sample values) after aligning, in the words of
    the monitoring.v3 discovery document's Aggregation.perSeriesAligner."""
    numeric = value_type in ("INT64", "DOUBLE")
    total = _merge if value_type == "DISTRIBUTION" else sum
    percentile = _PERCENTILE.match(aligner)
    if aligner == "ALIGN_DELTA":
        # "Align and convert to DELTA. [...] The value_type of the aligned result is the same as the value_type of the input."
        return "DELTA", value_type, total
    if aligner == "ALIGN_SUM":
        # "valid for GAUGE and DELTA metrics with numeric and distribution values. The value_type of the aligned
        # result is the same as the value_type of the input."
        return kind, value_type, total
    if aligner == "ALIGN_RATE" and numeric:
        # "valid for CUMULATIVE and DELTA metrics with numeric values [...] The output is a GAUGE metric with value_type DOUBLE."
        return "GAUGE", "DOUBLE", lambda values: sum(values) / period
    if aligner == "ALIGN_MEAN" and numeric:
        # "returning the mean value in each alignment period. This aligner is valid for GAUGE and DELTA metrics
        # with numeric values. The value_type of the aligned result is DOUBLE."
        return kind, "DOUBLE", lambda values: sum(values) / len(values)
    if aligner == "ALIGN_COUNT" and numeric:
        # "returning the number of values in each alignment period. This aligner is valid for GAUGE and DELTA
        # metrics with numeric or Boolean values. The value_type of the aligned result is INT64."
        return kind, "INT64", len
    if aligner in ("ALIGN_MIN", "ALIGN_MAX") and numeric and kind in ("GAUGE", "DELTA"):
        # "returning the minimum [maximum] value in each alignment period. This aligner is valid for GAUGE and DELTA
        # metrics with numeric values. The value_type of the aligned result is the same as the value_type of the input."
        return kind, value_type, (min if aligner == "ALIGN_MIN" else max)
    if aligner == "ALIGN_NEXT_OLDER" and kind == "GAUGE":
        # "moving the most recent data point before the end of the alignment period to the boundary at the end of the
        # alignment period. This aligner is valid for GAUGE metrics. The value_type of the aligned result is the same"
        return kind, value_type, lambda values: values[-1]
    if aligner in ("ALIGN_FRACTION_TRUE", "ALIGN_COUNT_TRUE") and value_type == "BOOL":
        # ALIGN_FRACTION_TRUE: "the ratio of the number of True values to the total number of values in each alignment
        # period. This aligner is valid for GAUGE metrics with Boolean values. The output value is in the range 0.0, 1.0
        # and has value_type DOUBLE." ALIGN_COUNT_TRUE: "the number of True values [...] The value_type of the output is INT64."
        if aligner == "ALIGN_COUNT_TRUE":
            return kind, "INT64", lambda values: sum(1 for v in values if v)
        return kind, "DOUBLE", lambda values: sum(1 for v in values if v) / len(values)
    if percentile and value_type == "DISTRIBUTION":
        # "valid for GAUGE and DELTA metrics with distribution values. The output is a GAUGE metric with value_type DOUBLE."
        return "GAUGE", "DOUBLE", lambda values: _percentile(_merge(values), int(percentile.group(1)))
    if percentile or aligner in ("ALIGN_RATE", "ALIGN_MEAN", "ALIGN_COUNT", "ALIGN_FRACTION_TRUE", "ALIGN_COUNT_TRUE", "ALIGN_MIN", "ALIGN_MAX",
                                 "ALIGN_NEXT_OLDER"):
        # Google's words for an aligner the metric's kind and type do not allow (a real 400 of the API).
        raise invalid_argument(f'Field aggregation.perSeriesAligner had an invalid value of "{aligner}": '
                               f"The aligner cannot be applied to metrics with kind {kind} and value type {value_type}.",
                               field="aggregation.per_series_aligner")
    raise ApiError("UNIMPLEMENTED", f"The emulator does not implement the aligner {aligner}.")


def _reduce(series, reducer, group_by):
    fields = [f.replace(".label.", ".labels.") for f in group_by]
    groups = {}
    for s in series:
        key = tuple(_label(s, f) for f in fields)
        groups.setdefault(key, []).append(s)
    reduced = []
    for key, members in sorted(groups.items(), key=lambda item: [str(v) for v in item[0]]):
        first = members[0]
        kept = dict(zip(fields, key))
        value_type, combine = _reducer(reducer, first["valueType"])
        by_window = {}
        for s in members:
            for p in s["points"]:
                by_window.setdefault(p["interval"], []).append(p["value"])
        points = [{"interval": w, "value": combine(values)} for w, values in sorted(by_window.items(), reverse=True)]
        reduced.append({
            "metric": {"type": first["metric"]["type"], "labels": _kept(kept, "metric.labels.")},
            "resource": {"type": first["resource"]["type"], "labels": _kept(kept, "resource.labels.")},
            "metricKind": first["metricKind"], "valueType": value_type, "unit": first["unit"], "points": points})
    return reduced


def _reducer(reducer, value_type):
    distribution = value_type == "DISTRIBUTION"
    if reducer == "REDUCE_SUM":
        return value_type, (_merge if distribution else sum)
    if reducer == "REDUCE_COUNT":
        return "INT64", len
    if reducer in ("REDUCE_COUNT_TRUE", "REDUCE_FRACTION_TRUE") and value_type == "BOOL":
        # "the number of True-valued data points across time series [...] valid for DELTA and GAUGE metrics of Boolean
        # value_type. The value_type of the output is INT64." / "the ratio of the number of True-valued data points to the
        # total number of data points [...] has value_type DOUBLE."
        if reducer == "REDUCE_COUNT_TRUE":
            return "INT64", lambda vs: sum(1 for v in vs if v)
        return "DOUBLE", lambda vs: sum(1 for v in vs if v) / len(vs)
    percentile = _PERCENTILE.match(reducer)
    if percentile:
        rank = int(percentile.group(1))
        return "DOUBLE", (lambda vs: _percentile(_merge(vs), rank)) if distribution else (lambda vs: _rank(sorted(vs), rank))
    numeric = {"REDUCE_MEAN": lambda vs: sum(vs) / len(vs), "REDUCE_MIN": min, "REDUCE_MAX": max}
    if reducer in numeric and not distribution:
        return ("DOUBLE" if reducer == "REDUCE_MEAN" else value_type), numeric[reducer]
    if reducer == "REDUCE_MEAN":
        return "DOUBLE", lambda vs: _merge(vs)["mean"]
    raise ApiError("UNIMPLEMENTED", f"The emulator does not implement the reducer {reducer} for {value_type} values.")


def _label(series, field):
    part, key = field.split(".labels.", 1) if ".labels." in field else (field, "")
    if part not in ("metric", "resource") or not key:
        raise invalid_argument(f"Invalid group-by field {field!r}.", field="aggregation.group_by_fields")
    return series[part]["labels"].get(key, "")


def _kept(kept, prefix):
    return {field[len(prefix):]: value for field, value in kept.items() if field.startswith(prefix)}


# -- distributions ----------------------------------------------------------------------------

def _distribution(values):
    counts = [0] * (BUCKETS["numFiniteBuckets"] + 2)
    for v in values:
        counts[bisect.bisect_right(_BOUNDS, v)] += 1
    mean = sum(values) / len(values)
    return {"count": len(values), "mean": mean, "ssd": sum((v - mean) ** 2 for v in values), "buckets": counts}


def _merge(distributions):
    count = sum(d["count"] for d in distributions)
    mean = sum(d["mean"] * d["count"] for d in distributions) / count
    ssd = sum(d["ssd"] + d["count"] * (d["mean"] - mean) ** 2 for d in distributions)
    return {"count": count, "mean": mean, "ssd": ssd, "buckets": [sum(c) for c in zip(*(d["buckets"] for d in distributions))]}


def _percentile(distribution, rank):
    """The rank-th percentile, interpolated linearly inside the bucket that holds it."""
    target = distribution["count"] * rank / 100.0
    seen = 0
    for i, n in enumerate(distribution["buckets"]):
        if n and seen + n >= target:
            low = 0.0 if i == 0 else _BOUNDS[i - 1]
            high = _BOUNDS[min(i, len(_BOUNDS) - 1)]
            return low + (high - low) * (target - seen) / n
        seen += n
    return _BOUNDS[-1]


def _rank(values, rank):
    return values[min(len(values) - 1, max(0, math.ceil(len(values) * rank / 100.0) - 1))]


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
        "bucketOptions": {"exponentialBuckets": BUCKETS}, "bucketCounts": [str(c) for c in value["buckets"]]}}


def _stamp(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat().replace("+00:00", "Z")
