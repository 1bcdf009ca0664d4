"""Cloud Monitoring v3 alerts (monitoring.v3.json `projects.alerts.list` and `projects.alerts.get`), served by
monitoring_v3.MonitoringV3, and the evaluator that opens and closes them: every `alert_evaluation_seconds` (admin
config, 60 by default) it evaluates the conditions of every enabled alert policy (monitoring_alerting.py stores them)
over the time series that timeSeries.list would answer at that moment (timeseries.py: same filters, alignment,
reduction and data lag).

- conditionThreshold: the condition's filter and first aggregation are read for the alignment period (60 s without an
  aligner) ending at the evaluation time; the newest point of each series is compared with thresholdValue. With
  denominatorFilter and denominatorAggregations, the value is numerator / denominator for each pair of series with
  the same labels after aggregation (a denominator without its numerator counts 0; a zero denominator gives no value).
  A series violates when the comparison held at every evaluation within `duration` (read again at each evaluation time
  of the window, the data visible now): "A condition resets its duration window each time a measurement doesn't
  satisfy the condition" (https://cloud.google.com/monitoring/alerts/concepts-indepth); with duration 0, the newest point.
- conditionAbsent: a series (or a group of series, by the aggregation's groupByFields when it reduces) violates when its
  newest visible sample ended more than `duration` before the newest visible data. A series that never had a point
  does not: "The condition won't trigger when the subsystem that writes metric data has never written a data point"
  (https://cloud.google.com/monitoring/alerts/metric-absence).
- trigger: `count` series (1 by default), or `percent` of the series read; combiner OR (or a single condition): the
  violating series of every condition met; AND: those of every condition when all are met; AND_WITH_MATCHING_RESOURCE:
  those whose resource violates in every condition.
- Durations last `alert_duration_scale` times their seconds (admin config, 1 by default), so tests scale Google's
  minutes down as they scale the samples.

An alert opens (state OPEN, openTime, a snapshot of the policy, the metric and resource of the violating series) for
each violating series of a policy that has no open alert for it, and closes (CLOSED, closeTime) when its series
violates no more, or when its policy is disabled or deleted. Alerts are kept in the state under
state["resources"]["monitoring.v3"]["alerts"]; a reset forgets them. Other condition types (log match, MQL, PromQL,
SQL) and conditions whose filter the emulator cannot read are never met.
"""

import copy
import json
import operator
import re
import time

from orchestra_emulator import metrics, paging, timeseries
from orchestra_emulator.clock import timestamp
from orchestra_emulator.errors import ApiError, invalid_argument, not_found
from orchestra_emulator.monitoring_alerting import _filtered, _kind, _number, _seconds

PREFIX = "monitoring.projects.alerts."
RAW_WINDOW = 60  # seconds of raw points a condition without an aligner reads (the emulator's choice)
# ListAlertsRequest.pageSize: "If not set to a positive number, at most 50 alerts will be returned. The maximum value is
# 1000; values above 1000 will be coerced to 1000."
PAGE_SIZE, MAX_PAGE_SIZE = 50, 1000
COMPARISONS = {"COMPARISON_GT": operator.gt, "COMPARISON_GE": operator.ge, "COMPARISON_LT": operator.lt,
               "COMPARISON_LE": operator.le, "COMPARISON_EQ": operator.eq, "COMPARISON_NE": operator.ne}
# ListAlertsRequest.orderBy: "The following fields are supported: open_time close_time [...] If the field is not set,
# the results are sorted by open_time desc."
_ORDER = re.compile(r"^\s*(open_time|openTime|close_time|closeTime)(?:\s+(asc|desc))?\s*$")


class Alerts:
    """The alerts methods of monitoring.v3 (`handlers()` is merged into MonitoringV3's) and their evaluator."""

    def __init__(self, shared):
        self._store = shared.store
        self._metrics = shared.metrics
        self._evaluator = metrics.Every("alert-evaluation", self._period, self.evaluate)

    def handlers(self):
        return {PREFIX + "list": (self.list_alerts, None), PREFIX + "get": (self.get_alert, None)}

    def start(self):
        """Evaluate the policies from now on (after a state is loaded, and when a policy is created or changed)."""
        self._evaluator.start()

    def stop(self):
        self._evaluator.stop()

    def list_alerts(self, request):
        q = request.query
        project = request.variables["projectsId"]
        with self._store.lock:
            items = [copy.deepcopy(a) for name, a in _kind(self._store.data, "alerts").items() if name.startswith(f"projects/{project}/")]
        items = [a for a in items if _filtered(a, q.get("filter", ""))]
        items = _ordered(items, q.get("orderBy") or "open_time desc")
        size = q.get("pageSize") or 0
        page, token = paging.page(items, min(size, MAX_PAGE_SIZE) if size > 0 else PAGE_SIZE, q.get("pageToken"))
        return {"alerts": page, "nextPageToken": token, "totalSize": len(items)}

    def get_alert(self, request):
        name = f"projects/{request.variables['projectsId']}/alerts/{request.variables['alertsId']}"
        with self._store.lock:
            alert = _kind(self._store.data, "alerts").get(name)
            if alert is None:
                raise not_found(f"Could not find alert {name}.")
            return copy.deepcopy(alert)

    # -- the evaluator ----------------------------------------------------------------------------

    def _period(self):
        with self._store.lock:
            return self._store.data["admin"]["config"]["alert_evaluation_seconds"]

    def evaluate(self):
        """Evaluate every enabled policy once; open and close alerts (the state is written only when one changes)."""
        with self._store.lock:
            data = self._store.data
            config = dict(data["admin"]["config"])
            policies = {name: copy.deepcopy(p) for name, p in _kind(data, "alertPolicies").items() if p.get("enabled", True)}
            opened = {_key(a): a["name"] for a in _kind(data, "alerts").values() if a["state"] == "OPEN"}
        now = time.time()
        violating = {}  # alert key -> (policy, metric, resource)
        for name, policy in policies.items():
            for metric, resource in violations(self._metrics, config, name.split("/")[1], policy, now):
                violating[_key({"policy": {"name": name}, "metric": metric, "resource": resource})] = (policy, metric, resource)
        to_open = [v for key, v in violating.items() if key not in opened]
        to_close = [name for key, name in opened.items() if key not in violating]
        if not to_open and not to_close:
            return
        stamp = timestamp(now)
        with self._store.mutate() as data:
            alerts = _kind(data, "alerts")
            for name in to_close:
                alerts[name].update(state="CLOSED", closeTime=stamp)
            for policy, metric, resource in to_open:
                name = f"projects/{policy['name'].split('/')[1]}/alerts/{_number()}"
                alerts[name] = {"name": name, "state": "OPEN", "openTime": stamp, "policy": _snapshot(policy),
                                "metric": metric, "resource": resource}


def violations(sink, config, project, policy, now):
    """[(metric, resource)] of the series that make `policy` fire at `now` (none when its conditions are not met)."""
    results = [_condition(sink, config, project, c, now) for c in policy.get("conditions", [])]
    met = [found for found, triggered in results if triggered]
    combiner = policy.get("combiner", "COMBINE_UNSPECIFIED")
    every = len(met) == len(results)
    if combiner in ("COMBINE_UNSPECIFIED", "OR") or (combiner == "AND" and every):
        found = [series for condition in met for series in condition]
    elif combiner == "AND_WITH_MATCHING_RESOURCE" and every:
        common = set.intersection(*({_json(resource) for _metric, resource in condition} for condition in met))
        found = [(metric, resource) for condition in met for metric, resource in condition if _json(resource) in common]
    else:
        found = []
    unique = {_json([metric, resource]): (metric, resource) for metric, resource in found}
    return list(unique.values())


def _condition(sink, config, project, condition, now):
    """([(metric, resource)] of the violating series, whether the trigger is met) for one condition."""
    try:
        if "conditionThreshold" in condition:
            violating, total = _threshold(sink, config, project, condition["conditionThreshold"], now)
            return violating, _triggered(condition["conditionThreshold"].get("trigger", {}), len(violating), total)
        if "conditionAbsent" in condition:
            violating, total = _absent(sink, config, project, condition["conditionAbsent"], now)
            return violating, _triggered(condition["conditionAbsent"].get("trigger", {}), len(violating), total)
    except ApiError:  # a filter or an aggregation the emulator cannot read: the condition is never met
        pass
    return [], False


def _triggered(trigger, violating, total):
    # Trigger: "If not specified, then a {count: 1} trigger is used."
    if trigger.get("percent"):
        return total > 0 and violating * 100.0 / total >= trigger["percent"]
    return violating >= (trigger.get("count") or 1)


def _threshold(sink, config, project, body, now):
    compare = COMPARISONS[body["comparison"]]
    threshold = body.get("thresholdValue", 0.0)
    duration = _seconds(body.get("duration", "0s")) * config["alert_duration_scale"]
    step = config["alert_evaluation_seconds"]
    newest = _values(sink, config, project, body, now)
    violating = {key for key, (value, _metric, _resource) in newest.items() if compare(value, threshold)}
    for k in range(1, int(duration // step) + 1):  # every earlier evaluation time within the duration
        values = _values(sink, config, project, body, now - k * step)
        violating &= {key for key, (value, _metric, _resource) in values.items() if compare(value, threshold)}
    return [newest[key][1:] for key in sorted(violating)], len(newest)


def _values(sink, config, project, body, at):
    """{series key: (value, metric, resource)} of the newest aligned point of each series read at `at` (a ratio when the
    condition has a denominator)."""
    numerators = _newest(sink, config, project, body["filter"], body.get("aggregations", []), at)
    if not body.get("denominatorFilter"):
        return numerators
    denominators = _newest(sink, config, project, body["denominatorFilter"], body.get("denominatorAggregations", []), at)
    ratios = {}
    for key, (denominator, metric, resource) in denominators.items():
        if denominator:
            numerator, metric, resource = numerators.get(key, (0.0, metric, resource))
            ratios[key] = (numerator / denominator, metric, resource)
    return ratios


def _newest(sink, config, project, filter_text, aggregations, at):
    aggregation = aggregations[0] if aggregations else {}
    period = _seconds(aggregation["alignmentPeriod"]) if "alignmentPeriod" in aggregation else RAW_WINDOW
    found = {}
    for series in timeseries.read(sink, config, project, filter_text, at - period, at, aggregation):
        value = series["points"][0]["value"]
        if isinstance(value, (bool, int, float)):
            # A ratio pairs the series whose labels match: the key leaves the metric type out.
            key = _json([series["metric"]["labels"], series["resource"]])
            found[key] = (float(value), series["metric"], series["resource"])
    return found


def _absent(sink, config, project, body, now):
    duration = _seconds(body.get("duration", "0s")) * config["alert_duration_scale"]
    aggregation = (body.get("aggregations") or [{}])[0]
    series = timeseries.read(sink, config, project, body["filter"], 0, now, {})
    if aggregation.get("crossSeriesReducer", "REDUCE_NONE") != "REDUCE_NONE":
        groups = timeseries.grouped(series, aggregation.get("groupByFields", []))
    else:
        groups = [(s["metric"], s["resource"], [s]) for s in series]
    newest = {_json([metric, resource]): max(p["interval"][1] for s in members for p in s["points"]) for metric, resource, members in groups}
    sample = config["monitoring_sample_seconds"]
    horizon = (timeseries.visible_until(config) // sample) * sample  # the end of the newest sample that may be visible
    violating = [(metric, resource) for metric, resource, _members in groups if newest[_json([metric, resource])] <= horizon - duration]
    return violating, len(groups)


def _snapshot(policy):
    """PolicySnapshot: "The state of the policy at the time the alert was generated." """
    snapshot = {"name": policy["name"], "displayName": policy.get("displayName", "")}
    if policy.get("severity"):
        snapshot["severity"] = policy["severity"]
    if policy.get("userLabels"):
        snapshot["userLabels"] = dict(policy["userLabels"])
    return snapshot


def _ordered(items, order):
    """orderBy: open_time and close_time, each ascending unless followed by `desc`, the first field first."""
    keys = []
    for field in [f for f in order.split(",") if f.strip()]:
        found = _ORDER.match(field)
        if not found:
            raise invalid_argument(f"Invalid order by field {field.strip()!r}: open_time or close_time, optionally followed by desc.", field="order_by")
        keys.append(("openTime" if found.group(1).startswith("open") else "closeTime", found.group(2) == "desc"))
    for key, descending in reversed(keys):
        items = sorted(items, key=lambda item, key=key: item.get(key, ""), reverse=descending)
    return items


def _key(alert):
    return _json([alert["policy"]["name"], alert["metric"], alert["resource"]])


def _json(value):
    return json.dumps(value, sort_keys=True)
