"""Alert policies evaluated by the emulator over the metrics it writes, and the alerts they open and close, read with
Google's REST client (google-api-python-client's monitoring v3: alerts.list and alerts.get): a 5xx ratio over Cloud
Run's request counts, an uptime check on a deleted service, the absence of Cloud Run's instance count once a service is
gone, and Memorystore's memory usage ratio and connected clients read from the instance's redis-server; and, in
process over a sink of past points, the comparisons, durations, triggers, ratios and combiners of conditions."""

import datetime
import json
import pathlib
import shutil
import time

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from monitoring_lag import MONITORING_CONFIG
from orchestra_emulator import metrics, monitoring_alerts
from orchestra_emulator.resp import Connection
from run_helpers import create, deploy

PROJECT = "projects/demo"
FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google"
# One-second samples visible a second after they close; evaluations every half second; a minute of a condition's
# duration lasts 1.2 s.
EVALUATION = {**MONITORING_CONFIG, "monitoring_lag_seconds": 1, "alert_evaluation_seconds": 0.5, "alert_duration_scale": 0.02}
RATE = {"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_RATE", "crossSeriesReducer": "REDUCE_SUM",
        "groupByFields": ["resource.label.service_name"]}
REQUESTS = 'metric.type = "run.googleapis.com/request_count" AND resource.type = "cloud_run_revision"'
INSTANCES = 'metric.type = "run.googleapis.com/container/instance_count" AND resource.type = "cloud_run_revision"'


@pytest.fixture
def v3(emulator):
    emulator.admin("config", EVALUATION)
    return build("monitoring", "v3", credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": emulator.endpoint}).projects()


def policy(v3, name, *conditions, **fields):
    return v3.alertPolicies().create(name=PROJECT, body={
        "displayName": name, "combiner": "OR", **fields,
        "conditions": [{"displayName": f"{name} {i}", **condition} for i, condition in enumerate(conditions)]}).execute()


def alerts(v3, **query):
    return v3.alerts().list(parent=PROJECT, **query).execute().get("alerts", [])


def eventually(read, seconds=15):
    """What `read()` returns once it is truthy (within `seconds`)."""
    end = time.time() + seconds
    while True:
        found = read()
        if found or time.time() > end:
            return found
        time.sleep(0.25)


def series(v3, filter_, seconds=60):
    stop = datetime.datetime.now(datetime.timezone.utc)
    return v3.timeSeries().list(name=PROJECT, filter=filter_,
                                interval_startTime=(stop - datetime.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z"),
                                interval_endTime=stop.isoformat().replace("+00:00", "Z")).execute().get("timeSeries", [])


def test_a_5xx_ratio_opens_an_alert_and_healthy_traffic_closes_it(emulator, services, v3):
    emulator.admin("revision-behaviour", {"image": "*:bad", "error_ratio": 1.0})
    service = create(services, image="gcr.io/demo/app:bad")
    ratio = policy(v3, "5xx ratio", {"conditionThreshold": {
        "filter": REQUESTS + ' AND metric.label.response_code_class = "5xx"', "aggregations": [RATE],
        "denominatorFilter": REQUESTS, "denominatorAggregations": [RATE],
        "comparison": "COMPARISON_GT", "thresholdValue": 0.5, "duration": "0s"}},
        severity="CRITICAL", userLabels={"team": "web"})
    assert ratio["conditions"][0]["conditionThreshold"]["denominatorFilter"] == REQUESTS
    with requests.Session() as http:
        assert {http.get(service.uri, timeout=5).status_code for _unused in range(20)} == {503}
        opened = eventually(lambda: alerts(v3, filter='state = "OPEN"'))
        assert len(opened) == 1
        alert = opened[0]
        assert alert["name"].startswith("projects/demo/alerts/") and alert["state"] == "OPEN" and "closeTime" not in alert
        assert alert["policy"] == {"name": ratio["name"], "displayName": "5xx ratio", "severity": "CRITICAL", "userLabels": {"team": "web"}}
        assert alert["metric"] == {"type": "run.googleapis.com/request_count"}
        assert alert["resource"] == {"type": "cloud_run_revision", "labels": {"service_name": "app"}}
        assert v3.alerts().get(name=alert["name"]).execute() == alert
        assert alerts(v3, filter='policy.displayName = "5xx ratio"') == opened
        assert alerts(v3, filter='policy.display_name = "other"') == []

        service = deploy(services, service, "gcr.io/demo/app:good")  # the fix: 20 errors in 120 requests, below one half
        assert {http.get(service.uri, timeout=5).status_code for _unused in range(100)} == {200}
    closed = eventually(lambda: [a for a in alerts(v3) if a["state"] == "CLOSED"])
    assert [a["name"] for a in closed] == [alert["name"]]
    assert closed[0]["closeTime"] >= closed[0]["openTime"] == alert["openTime"]
    assert alerts(v3, filter="state=OPEN") == []


def test_an_uptime_check_on_a_deleted_service_fails_and_opens_an_alert(emulator, services, v3):
    emulator.admin("config", {"uptime_check_period_seconds": 1})
    service = create(services)
    url = requests.utils.urlparse(service.uri)
    services.delete_service(name=service.name).result()
    with pytest.raises(requests.ConnectionError):
        requests.get(service.uri, timeout=5)
    check = v3.uptimeCheckConfigs().create(parent=PROJECT, body={
        "displayName": "app", "timeout": "2s", "monitoredResource": {"type": "uptime_url", "labels": {"host": url.hostname}},
        "httpCheck": {"port": url.port, "path": "/"}}).execute()["name"].rsplit("/", 1)[1]
    passed = 'metric.type = "monitoring.googleapis.com/uptime_check/check_passed" AND resource.type = "uptime_url"'
    policy(v3, "app is down", {"conditionThreshold": {
        "filter": f'{passed} AND metric.label.check_id = "{check}"',
        "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_FRACTION_TRUE", "crossSeriesReducer": "REDUCE_MEAN",
                          "groupByFields": ["metric.label.check_id"]}],
        "comparison": "COMPARISON_LT", "thresholdValue": 1, "duration": "60s"}})
    probes = eventually(lambda: series(v3, passed))
    assert {p["value"]["boolValue"] for s in probes for p in s["points"]} == {False}
    opened = eventually(lambda: alerts(v3, filter='state = "OPEN"'))
    assert [(a["policy"]["displayName"], a["metric"], a["resource"]) for a in opened] == [
        ("app is down", {"type": "monitoring.googleapis.com/uptime_check/check_passed", "labels": {"check_id": check}}, {"type": "uptime_url"})]


def test_an_absence_condition_opens_when_a_series_stops(emulator, services, v3):
    emulator.admin("config", {"alert_duration_scale": 0.01})  # the 120 s Google's absence conditions need at least last 1.2 s
    service = create(services)
    absent = {"duration": "120s", "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_MEAN", "crossSeriesReducer": "REDUCE_SUM",
                                                    "groupByFields": ["resource.label.service_name"]}]}
    policy(v3, "app stopped", {"conditionAbsent": {"filter": INSTANCES + ' AND resource.label.service_name = "app"', **absent}})
    policy(v3, "ghost stopped", {"conditionAbsent": {"filter": INSTANCES + ' AND resource.label.service_name = "ghost"', **absent}})
    assert eventually(lambda: series(v3, INSTANCES))
    time.sleep(1.5)  # longer than the scaled duration: a series that keeps arriving is not absent
    assert alerts(v3) == []
    services.delete_service(name=service.name).result()
    opened = eventually(lambda: alerts(v3))
    assert [(a["policy"]["displayName"], a["state"], a["resource"]) for a in opened] == [
        ("app stopped", "OPEN", {"type": "cloud_run_revision", "labels": {"service_name": "app"}})]
    # "The condition won't trigger when the subsystem that writes metric data has never written a data point."
    assert not [a for a in alerts(v3) if a["policy"]["displayName"] == "ghost stopped"]


def test_the_instance_count_of_a_serving_revision(emulator, services, v3):
    service = create(services)
    revision = service.latest_ready_revision.rsplit("/", 1)[1]
    with requests.Session() as http:
        for _unused in range(5):
            http.get(service.uri, timeout=5)
            time.sleep(0.3)

    def answered():
        """The two series once a sample shows the revision active."""
        found = series(v3, INSTANCES)
        return found if any(s["metric"]["labels"]["state"] == "active" and p["value"]["int64Value"] == "1"
                            for s in found for p in s["points"]) else None

    found = eventually(answered)
    by_state = {s["metric"]["labels"]["state"]: s for s in found}
    assert set(by_state) == {"active", "idle"}
    assert {(s["metricKind"], s["valueType"], s["unit"]) for s in found} == {("GAUGE", "INT64", "1")}
    assert by_state["active"]["resource"] == {"type": "cloud_run_revision", "labels": {
        "project_id": "demo", "service_name": "app", "revision_name": revision, "location": service.name.split("/")[3], "configuration_name": "app"}}
    # one instance per serving revision, active in a sample where it answered requests, else idle
    points = {state: {p["interval"]["endTime"]: int(p["value"]["int64Value"]) for p in s["points"]} for state, s in by_state.items()}
    assert points["active"].keys() == points["idle"].keys()
    assert all(points["active"][end] + points["idle"][end] == 1 for end in points["active"])


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs Debian's redis-server")
def test_memorystore_memory_and_clients_series_and_a_memory_alert(emulator, v3):
    redis = build("redis", "v1", credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                  client_options={"api_endpoint": emulator.endpoint + "/"}).projects().locations()
    name = "projects/demo/locations/europe-west1/instances/cache"
    redis.instances().create(parent="projects/demo/locations/europe-west1", instanceId="cache",
                             body={"tier": "BASIC", "memorySizeGb": 1}).execute()  # 4 MB of maxmemory in the emulator
    instance = redis.instances().get(name=name).execute()
    usage = 'metric.type = "redis.googleapis.com/stats/memory/usage_ratio" AND resource.type = "redis_instance"'
    clients = 'metric.type = "redis.googleapis.com/clients/connected" AND resource.type = "redis_instance"'
    policy(v3, "redis memory", {"conditionThreshold": {
        "filter": usage, "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_MAX"}],
        "comparison": "COMPARISON_GT", "thresholdValue": 0.6, "duration": "0s"}})
    with Connection(instance["port"]) as connection:
        connected = eventually(lambda: [s for s in series(v3, clients, 5) if any(p["value"]["int64Value"] == "1" for p in s["points"])])
        assert connected[0]["resource"] == {"type": "redis_instance", "labels": {
            "project_id": "demo", "region": "europe-west1", "instance_id": name, "node_id": "node-0"}}
        assert connected[0]["metric"] == {"type": "redis.googleapis.com/clients/connected", "labels": {"role": "primary"}}
        ratios = eventually(lambda: series(v3, usage))
        recorded = json.loads((FIXTURES / "monitoring_redis_time_series.json").read_text())["response"]
        assert (recorded["metric_kind"], recorded["value_type"]) == (1, 3)  # MetricKind GAUGE, ValueType DOUBLE
        assert (ratios[0]["metricKind"], ratios[0]["valueType"]) == ("GAUGE", "DOUBLE")
        assert set(recorded["resource"]["labels"]) < set(ratios[0]["resource"]["labels"])
        assert recorded["resource"]["labels"]["instance_id"].split("/")[::2] == ratios[0]["resource"]["labels"]["instance_id"].split("/")[::2]
        assert 0 < ratios[0]["points"][0]["value"]["doubleValue"] < 0.6
        assert alerts(v3) == []
        for i in range(25):
            connection.command("SET", f"key-{i}", b"x" * 100_000)
    opened = eventually(lambda: alerts(v3, filter='state = "OPEN"'))
    assert [(a["policy"]["displayName"], a["resource"]["labels"]["instance_id"]) for a in opened] == [("redis memory", name)]
    assert max(p["value"]["doubleValue"] for s in series(v3, usage) for p in s["points"]) > 0.6


# -- conditions, triggers and combiners, evaluated in process over a sink of past points ------------------------------

def _sink():
    """Three hosts' load over the last 10 s (one-second samples): a high throughout, b high for the last 2 s only,
    c low; and their capacity (a 2, b 1, c 1)."""
    sink = metrics.Sink()
    sink.describe("example.com/load", "GAUGE", "DOUBLE", "1")
    sink.describe("example.com/capacity", "GAUGE", "DOUBLE", "1")
    now = time.time()
    for host, recent, before, capacity in (("a", 0.9, 0.9, 2.0), ("b", 0.9, 0.1, 1.0), ("c", 0.1, 0.1, 1.0)):
        resource = {"project_id": "demo", "host": host}
        for ago in range(10, 0, -1):
            sink.write("example.com/load", {}, "host", resource, recent if ago <= 2 else before, at=now - ago - 0.5)
            sink.write("example.com/capacity", {}, "host", resource, capacity, at=now - ago - 0.5)
    return sink


CONFIG = {"monitoring_sample_seconds": 1, "monitoring_lag_seconds": 0, "alert_evaluation_seconds": 1, "alert_duration_scale": 0.1}
LOAD = 'metric.type = "example.com/load"'


def _threshold(comparison, value, duration="0s", **fields):
    return {"conditionThreshold": {"filter": LOAD, "comparison": comparison, "thresholdValue": value, "duration": duration, **fields}}


@pytest.mark.parametrize(("conditions", "combiner", "hosts"), [
    ([_threshold("COMPARISON_GT", 0.5)], "OR", ["a", "b"]),
    ([_threshold("COMPARISON_GT", 0.5, "60s")], "OR", ["a"]),  # 6 s: b was low 3 s ago
    ([_threshold("COMPARISON_GT", 0.5, trigger={"count": 3})], "OR", []),
    ([_threshold("COMPARISON_GT", 0.5, trigger={"percent": 60})], "OR", ["a", "b"]),
    ([_threshold("COMPARISON_GT", 0.5, trigger={"percent": 70})], "OR", []),
    ([_threshold("COMPARISON_LE", 0.1)], "OR", ["c"]),
    ([_threshold("COMPARISON_GT", 0.5), _threshold("COMPARISON_LT", 0.5)], "AND", ["a", "b", "c"]),
    ([_threshold("COMPARISON_GT", 0.5), _threshold("COMPARISON_GT", 0.95)], "AND", []),
    ([_threshold("COMPARISON_GT", 0.5), _threshold("COMPARISON_GT", 0.95)], "OR", ["a", "b"]),
    ([_threshold("COMPARISON_GT", 0.5), _threshold("COMPARISON_GT", 0.5, "60s")], "AND_WITH_MATCHING_RESOURCE", ["a"]),
    ([_threshold("COMPARISON_GT", 0.5, denominatorFilter='metric.type = "example.com/capacity"')], "OR", ["b"]),  # a: 0.45
    ([{"conditionAbsent": {"filter": LOAD, "duration": "120s"}}], "OR", []),  # every host reported within 12 s
    ([{"conditionMatchedLog": {"filter": "severity=ERROR"}}], "OR", []),  # not evaluated
])
def test_conditions_triggers_and_combiners(conditions, combiner, hosts):
    policy_ = {"combiner": combiner, "conditions": conditions}
    found = monitoring_alerts.violations(_sink(), CONFIG, "demo", policy_, time.time())
    assert sorted(resource["labels"]["host"] for _metric, resource in found) == hosts


def test_an_absent_series_is_one_that_stopped_for_the_duration():
    sink = _sink()
    for ago in range(30, 8, -1):  # d reported until 8 s ago
        sink.write("example.com/load", {}, "host", {"project_id": "demo", "host": "d"}, 0.5, at=time.time() - ago)
    absent = {"conditions": [{"conditionAbsent": {"filter": LOAD, "duration": "60s"}}]}  # 6 s at this config's scale
    found = monitoring_alerts.violations(sink, CONFIG, "demo", absent, time.time())
    assert [resource["labels"]["host"] for _metric, resource in found] == ["d"]
    grouped = {"conditions": [{"conditionAbsent": {"filter": LOAD, "duration": "60s", "aggregations": [
        {"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_MEAN", "crossSeriesReducer": "REDUCE_MEAN", "groupByFields": ["resource.label.project_id"]}]}}]}
    assert monitoring_alerts.violations(sink, CONFIG, "demo", grouped, time.time()) == []  # the project's group still reports


def test_aligners_on_the_sampled_metrics_are_checked_as_timeseries_list_checks_them(v3):
    usage = 'metric.type = "redis.googleapis.com/stats/memory/usage_ratio" AND resource.type = "redis_instance"'
    with pytest.raises(HttpError) as refused:
        policy(v3, "p99 of a gauge", {"conditionThreshold": {
            "filter": usage, "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_PERCENTILE_99"}],
            "comparison": "COMPARISON_GT", "thresholdValue": 0.9, "duration": "60s"}})
    assert json.loads(refused.value.content)["error"]["message"] == (
        'Field aggregation.perSeriesAligner had an invalid value of "ALIGN_PERCENTILE_99": '
        "The aligner cannot be applied to metrics with kind GAUGE and value type DOUBLE.")
    assert policy(v3, "busy", {"conditionThreshold": {
        "filter": INSTANCES, "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_MEAN", "crossSeriesReducer": "REDUCE_SUM",
                                               "groupByFields": ["resource.label.service_name"]}],
        "comparison": "COMPARISON_GT", "thresholdValue": 10, "duration": "60s"}})["enabled"]
