# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Canary analysis of a Cloud Run revision: HTTP checks, request metrics per revision from Cloud
Monitoring, compared to absolute limits and to the baseline (stable) revision, and a verdict.

PRIVATE to this collection. The logic of cloud_run_canary_analysis.
"""

from __future__ import annotations

import datetime
import math
import random
import re
import time

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

from ._gcp import LOCATION_ARGSPEC, GcpError, short_name
from ._run import RUN_LIBRARIES, STABLE_ANNOTATION, check_region, read_service, routed_revision, run_v2, service_path, tagged_revisions

REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"
# Cloud Monitoring's smallest alignment period, and so the shortest window
# (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.timeSeries/list: aggregation.alignmentPeriod).
MIN_WINDOW = 60
# How late Cloud Run's request metrics arrive, at worst: they are 60-second samples, and "After sampling, data
# is not visible for up to 180 seconds" (request_count and request_latencies,
# https://cloud.google.com/monitoring/api/metrics_gcp#gcp-run); Cloud Monitoring's latency is "up to 4 minutes"
# (https://cloud.google.com/monitoring/api/v3/latency-n-retention).
METRICS_DELAY = 240

HTTP_CHECK_SPEC = dict(
    url=dict(type="str", required=True),
    status=dict(type="list", elements="int", default=[200]),
    body=dict(type="str"),
    max_latency_ms=dict(type="float"),
    requests=dict(type="int", default=1),
    timeout=dict(type="float", default=10.0),
)
ANALYSIS_SPEC = dict(argument_spec=dict(
    LOCATION_ARGSPEC,
    canary=dict(type="str", required=True),
    baseline=dict(type="str"),
    window=dict(type="int", default=300),
    bake=dict(type="int", default=0),
    interval=dict(type="int", default=60),
    metrics_delay=dict(type="int", default=METRICS_DELAY),
    failure_limit=dict(type="int", default=0),
    consecutive_successes=dict(type="int", default=1),
    min_requests=dict(type="int", default=100),
    no_data=dict(type="str", choices=["fail", "pause", "pass"], default="pause"),
    max_error_ratio=dict(type="float", default=0.01),
    max_p95_ms=dict(type="float"),
    max_p99_ms=dict(type="float"),
    max_error_ratio_increase=dict(type="float", default=0.01),
    max_latency_increase=dict(type="float", default=0.25),
    min_latency_increase_ms=dict(type="float", default=10.0),
    metrics=dict(type="bool", default=True),
    http_checks=dict(type="list", elements="dict", default=[], options=HTTP_CHECK_SPEC),
), libraries=RUN_LIBRARIES + (("google-api-python-client", "googleapiclient"),))  # Cloud Monitoring over REST


def analyse(session):
    """cloud_run_canary_analysis: measure the canary every ``interval`` seconds for ``bake`` seconds
    and judge it. A failure stops at once; a pass is given only once the whole bake time was measured,
    which takes ``metrics_delay`` seconds more: the data of the bake's end arrives that much later."""
    p = session.params
    resource = "Cloud Run service %s in %s" % (p["name"], p["region"])
    _validate(p, resource)
    service = read_service(session, session.client(run_v2.ServicesClient),
                           service_path(session.project, p["region"], p["name"]), resource)
    if service is None:
        raise GcpError("Cannot analyse %s: the service does not exist. Hint: check the name, project and region." % resource)
    canary = _revision(service, p["canary"], resource, "canary")
    baseline_ref = p["baseline"] or service.annotations.get(STABLE_ANNOTATION)
    baseline = _revision(service, baseline_ref, resource, "baseline") if baseline_ref else None
    checks = [dict(check, url=_absolute(check["url"], service, canary, resource)) for check in p["http_checks"]]
    p = dict(p, http_checks=checks)
    bake_end, settled = time.monotonic() + p["bake"], None
    measurements = []
    while True:
        measurements.append(measure(session, p, service, canary, baseline))
        verdict, reason = judge(measurements, p)
        now = time.monotonic()
        if settled is None and now >= bake_end:
            # The bake ends with this measurement's checks; their metrics have all arrived metrics_delay later.
            settled = now + (p["metrics_delay"] if p["metrics"] else 0)
        wait = next_wait(now, bake_end if settled is None else settled, p["interval"])
        if verdict == "fail" or wait is None:
            break
        time.sleep(wait)
    if verdict == "continue":
        verdict, reason = "inconclusive", reason + "; the bake time ended before %d passing measurements in a row" % (
            p["consecutive_successes"])
    if p["metrics"]:
        reason += " (last window judged %s to %s: Cloud Monitoring data arrives up to %d s late)" % (
            measurements[-1]["window"]["start"], measurements[-1]["window"]["end"], p["metrics_delay"])
    return dict(changed=False, verdict=verdict, reason=reason, canary=canary, baseline=baseline,
                measurements=measurements)


def next_wait(now, due, interval):
    """Seconds to sleep before the next measurement, or None once the one due at ``due`` was taken: one
    every ``interval`` seconds, and one at ``due``."""
    if now >= due:
        return None
    return min(interval, due - now)


def judged_window(at, p):
    """(start, end) of the metrics a measurement taken at ``at`` judges: ``window`` seconds ending
    ``metrics_delay`` seconds earlier, the data that has arrived."""
    end = at - datetime.timedelta(seconds=p["metrics_delay"])
    return end - datetime.timedelta(seconds=p["window"]), end


def _validate(p, resource):
    check_region(p["region"], resource)
    problems = []
    if p["metrics"] and p["window"] < MIN_WINDOW:
        problems.append("window %d must be at least %d seconds (Cloud Monitoring's smallest alignment period)"
                        % (p["window"], MIN_WINDOW))
    for key in ("bake", "metrics_delay", "failure_limit", "min_requests"):
        if p[key] < 0:
            problems.append("%s %d must not be negative" % (key, p[key]))
    for key in ("interval", "consecutive_successes"):
        if p[key] < 1:
            problems.append("%s %d must be at least 1" % (key, p[key]))
    for key in ("max_error_ratio", "max_error_ratio_increase"):
        if not 0 <= p[key] <= 1:
            problems.append("%s %s must be between 0 and 1" % (key, p[key]))
    for i, check in enumerate(p["http_checks"]):
        if not re.match(r"^(https?://|/)", check["url"]):
            problems.append("http_checks[%d].url %r must be an http(s) URL or a path on the canary's tag URL" % (i, check["url"]))
        if check["requests"] < 1:
            problems.append("http_checks[%d].requests must be at least 1" % i)
        if check["body"] is not None:
            try:
                re.compile(check["body"])
            except re.error as e:
                problems.append("http_checks[%d].body is not a regular expression: %s" % (i, e))
    if not p["metrics"] and not p["http_checks"]:
        problems.append("with metrics=false, give at least one of http_checks")
    if problems:
        raise GcpError("Invalid parameters for the canary analysis of %s: %s." % (resource, "; ".join(problems)))


def _absolute(url, service, canary, resource):
    """A check's URL; a path is on the canary's tag URL."""
    if not url.startswith("/"):
        return url
    tagged = [s.uri for s in service.traffic_statuses if routed_revision(service, s) == canary and s.tag and s.uri]
    if not tagged:
        raise GcpError("Cannot check %s on the canary of %s: %s has no tag URL. Hint: deploy it with a tag, or give a full URL."
                       % (url, resource, canary))
    return tagged[0].rstrip("/") + url


def _revision(service, ref, resource, role):
    """The revision that ``ref`` names: a revision name, or a tag of the service."""
    by_tag = tagged_revisions(service)
    if ref in by_tag:
        return by_tag[ref]
    if ref.startswith(short_name(service.name) + "-"):
        return ref
    raise GcpError("Cannot analyse %s: the %s %r is neither a revision of the service nor one of its tags (%s)."
                   % (resource, role, ref, ", ".join(sorted(by_tag)) or "no tags"))


# ---------------------------------------------------------------- one measurement

def measure(session, p, service, canary, baseline):
    """What the canary (and the baseline) look like now: HTTP checks, and metrics over the window that has
    arrived (see judged_window)."""
    invoker = session.invoker_headers(service.uri) if p["http_checks"] else ({}, None)
    http = [probe(check, invoker) for check in p["http_checks"]]  # what they send counts in the metrics once it arrives
    at = datetime.datetime.now(datetime.timezone.utc)
    start, end = judged_window(at, p)
    stats = read_metrics(session, p, start, end) if p["metrics"] else {}
    revisions = dict(canary=stats.get(canary, _no_requests()))
    if baseline:
        revisions["baseline"] = stats.get(baseline, _no_requests())
    checks = _checks(p, revisions, http)
    no_data = p["metrics"] and revisions["canary"]["requests"] < max(1, p["min_requests"])
    failed = [c for c in checks if c["passed"] is False]
    verdict = "fail" if failed else ("no_data" if no_data else "pass")
    window = dict(start=_stamp(start), end=_stamp(end)) if p["metrics"] else None
    return dict(time=at.isoformat(), window=window, verdict=verdict, http_checks=http, checks=checks, **revisions)


def _no_requests():
    return dict(requests=0, errors=0, error_ratio=None, p95_ms=None, p99_ms=None)


def read_metrics(session, p, start, end):
    """Per revision of the service: requests, 5xx errors, error ratio, p95 and p99 latency from ``start``
    to ``end``. Three timeSeries.list calls, each aggregated by Monitoring to one point per revision (and
    response class)."""
    service = session.discovery("monitoring", "v3").projects().timeSeries()
    base = ('resource.type = "cloud_run_revision" AND resource.labels.service_name = "%s" AND '
            'resource.labels.location = "%s"' % (p["name"], p["region"]))
    interval = dict(interval_startTime=_stamp(start), interval_endTime=_stamp(end))

    def series(metric, reducer, group_by):
        return session.execute_all("read %s of" % metric.rsplit("/", 1)[-1], "Cloud Run service %s" % p["name"], lambda token: service.list(
            name="projects/" + session.project, filter='metric.type = "%s" AND %s' % (metric, base),
            aggregation_alignmentPeriod="%ds" % p["window"], aggregation_perSeriesAligner="ALIGN_DELTA",
            aggregation_crossSeriesReducer=reducer, aggregation_groupByFields=group_by, pageToken=token, **interval), "timeSeries")

    stats = {}
    for s in series(REQUEST_COUNT, "REDUCE_SUM", ["resource.labels.revision_name", "metric.labels.response_code_class"]):
        row = stats.setdefault(s["resource"]["labels"]["revision_name"], _no_requests())
        count = sum(int(point["value"]["int64Value"]) for point in s["points"])
        row["requests"] += count
        if s["metric"]["labels"].get("response_code_class") == "5xx":
            row["errors"] += count
    for key, reducer in (("p95_ms", "REDUCE_PERCENTILE_95"), ("p99_ms", "REDUCE_PERCENTILE_99")):
        for s in series(REQUEST_LATENCIES, reducer, ["resource.labels.revision_name"]):
            if s["resource"]["labels"]["revision_name"] in stats and s["points"]:
                stats[s["resource"]["labels"]["revision_name"]][key] = round(max(
                    point["value"]["doubleValue"] for point in s["points"]), 1)
    for row in stats.values():
        row["error_ratio"] = round(row["errors"] / float(row["requests"]), 4) if row["requests"] else None
    return stats


def _stamp(moment):
    return moment.isoformat().replace("+00:00", "Z")


def probe(check, invoker=({}, None)):
    """Send ``check["requests"]`` GETs to the URL; what came back, and whether all were as expected.

    ``invoker`` is ``(headers, why)`` from ``Session.invoker_headers``: the ID token a private service
    needs (never part of the result), or why there is none, said when the service refuses.

    The requests of a check are one trace: each carries a W3C ``traceparent`` of the check's trace ID, flagged sampled,
    which Cloud Run propagates to the container and Cloud Trace keeps; ``trace_id`` in the result finds them
    (docs/tracing.md)."""
    headers, why = invoker
    trace_id = "%032x" % random.getrandbits(128)
    statuses, latencies, problems = {}, [], []
    for _unused in range(check["requests"]):
        started = time.monotonic()
        traced = dict(headers, traceparent="00-%s-%016x-01" % (trace_id, random.getrandbits(64) or 1))
        try:
            answer = open_url(check["url"], timeout=check["timeout"], follow_redirects="none", headers=traced)
            status, body = answer.getcode(), answer.read().decode("utf-8", "replace")
        except HTTPError as e:
            status, body = e.code, ""
        except (URLError, OSError) as e:
            status, body = None, ""
            problems.append("no answer: %s" % getattr(e, "reason", e))
        latency = (time.monotonic() - started) * 1000.0
        latencies.append(latency)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        if status in (401, 403) and status not in check["status"] and why:
            problems.append("status %s: the service refused a request without an ID token: %s" % (status, why))
        elif status is not None and status not in check["status"]:
            problems.append("status %s" % status)
        elif status is not None and check["body"] and not re.search(check["body"], body):
            problems.append("body does not match %r" % check["body"])
    p95 = _percentile(latencies, 95)
    if check["max_latency_ms"] is not None and p95 > check["max_latency_ms"]:
        problems.append("p95 latency %.0f ms over %.0f ms" % (p95, check["max_latency_ms"]))
    summary = sorted(set(problems), key=problems.index)
    return dict(url=check["url"], requests=check["requests"], trace_id=trace_id, statuses=statuses, p95_ms=round(p95, 1),
                max_ms=round(max(latencies), 1), passed=not problems,
                problems=["%s (%d of %d)" % (problem, problems.count(problem), check["requests"]) for problem in summary])


def _percentile(values, rank):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(math.ceil(len(ordered) * rank / 100.0)) - 1))]


# ---------------------------------------------------------------- judging

def _checks(p, revisions, http):
    """Every comparison of one measurement: {check, value, limit, passed}; passed is None when it
    could not be judged (no data)."""
    canary, baseline = revisions["canary"], revisions.get("baseline")
    enough = canary["requests"] >= max(1, p["min_requests"])
    checks = []

    def add(name, value, limit, ok):
        checks.append(dict(check=name, value=value, limit=limit, passed=ok if value is not None and limit is not None else None))

    if p["metrics"]:
        # Too few requests is no data, not a failure: the no_data policy decides how it counts.
        checks.append(dict(check="canary requests", value=canary["requests"], limit=p["min_requests"], passed=enough or None))
        if enough:
            add("error ratio", canary["error_ratio"], p["max_error_ratio"], canary["error_ratio"] <= p["max_error_ratio"])
            for key in ("p95_ms", "p99_ms"):
                limit = p["max_" + key]
                if limit is not None:
                    add(key.replace("_ms", " latency (ms)"), canary[key], limit, canary[key] is not None and canary[key] <= limit)
            if baseline and baseline["requests"] >= max(1, p["min_requests"]):
                limit = round(baseline["error_ratio"] + p["max_error_ratio_increase"], 4)
                add("error ratio against the baseline", canary["error_ratio"], limit, canary["error_ratio"] <= limit)
                if baseline["p95_ms"] is not None and canary["p95_ms"] is not None:
                    # Both margins must be exceeded: a relative one alone fails on noise when latencies are tiny.
                    limit = round(max(baseline["p95_ms"] * (1 + p["max_latency_increase"]),
                                      baseline["p95_ms"] + p["min_latency_increase_ms"]), 1)
                    add("p95 latency (ms) against the baseline", canary["p95_ms"], limit, canary["p95_ms"] <= limit)
    for result in http:
        checks.append(dict(check="HTTP %s" % result["url"], value="; ".join(result["problems"]) or "as expected",
                           limit=None, passed=result["passed"]))
    return checks


def judge(measurements, p):
    """``(verdict, reason)`` over the measurements so far: fail once more than ``failure_limit``
    failed; pass once the last ``consecutive_successes`` passed; "continue" otherwise. A
    measurement without enough requests counts by the ``no_data`` policy."""
    counted = [_by_policy(m["verdict"], p["no_data"]) for m in measurements]
    failures = counted.count("fail")
    last = measurements[-1]
    if failures > p["failure_limit"]:
        failed = [c for c in last["checks"] if c["passed"] is False] or [
            dict(check="canary requests", value=last["canary"]["requests"], limit=p["min_requests"])]
        return "fail", "%d of %d measurements failed (limit %d): %s" % (failures, len(measurements), p["failure_limit"], "; ".join(
            "%s %s (limit %s)" % (c["check"], c["value"], c["limit"]) for c in failed))
    streak = len(counted) - max([i + 1 for i, v in enumerate(counted) if v != "pass"] or [0])
    if streak >= p["consecutive_successes"]:
        return "pass", "%d measurements in a row passed" % streak
    if counted[-1] == "inconclusive":
        return "continue", "the canary served %d requests, fewer than min_requests %d" % (
            last["canary"]["requests"], p["min_requests"])
    return "continue", "%d of %d passing measurements in a row" % (streak, p["consecutive_successes"])


def _by_policy(verdict, no_data):
    if verdict != "no_data":
        return verdict
    return {"fail": "fail", "pass": "pass", "pause": "inconclusive"}[no_data]
