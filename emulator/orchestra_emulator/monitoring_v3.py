"""Cloud Monitoring v3 `projects.timeSeries.list`, serving the time series APIs write to the metrics
sink (metrics.py): Cloud Run's request and instance metrics (see run_v2), Memorystore's (see redis_v1) and the uptime
checks' (see monitoring_alerting, which also serves alert policies, notification channels and uptime check configs for
this API). How series are read, aligned and reduced is timeseries.py's, shared with the evaluation of alert policies
(monitoring_alerts.py, which also serves `projects.alerts`).
"""

import datetime

from orchestra_emulator import paging, timeseries
from orchestra_emulator.errors import ApiError, invalid_argument
from orchestra_emulator.monitoring_alerting import Alerting
from orchestra_emulator.monitoring_alerts import Alerts
from orchestra_emulator.registry import EmulatedApi, register


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
        self.handlers = {"monitoring.projects.timeSeries.list": (self.list_time_series, None)}
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
