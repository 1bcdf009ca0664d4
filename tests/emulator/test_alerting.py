"""Cloud Monitoring alerting (alert policies, notification channels and their descriptors, uptime checks that probe
the emulated Cloud Run services), Monitoring dashboards v1 and Logging's log-based metrics, read with Google's REST
client (google-api-python-client) and checked against real recorded answers (tests/fixtures/google/monitoring_*.json,
logging_*.json)."""

from __future__ import annotations

import datetime
import http.server
import json
import pathlib
import re
import socket
import threading
import time

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from monitoring_lag import MONITORING_CONFIG
from run_helpers import create

PROJECT = "projects/demo"
FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google"
NUMBER = r"\d+"


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


def client(emulator, api, version):
    return build(api, version, credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": emulator.endpoint})


@pytest.fixture
def v3(emulator):
    return client(emulator, "monitoring", "v3").projects()


def error(call):
    with pytest.raises(HttpError) as caught:
        call.execute()
    return caught.value.resp.status, json.loads(caught.value.content)["error"]


def normalised(body, names):
    """`body` with the recording's placeholders: a name matching one of `names` (regex -> placeholder) replaced."""
    text = json.dumps(body, sort_keys=True).replace("-u1", "-${uniqueId}")
    for pattern, placeholder in names:
        text = re.sub(pattern, placeholder, text)
    return json.loads(text)


STAMP = (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", "2024-04-01T12:34:56.123456Z")


def recorded_request(body):
    """A recorded request body for the project demo, its unique suffix u1."""
    return json.loads(json.dumps(body).replace("${projectId}", "demo").replace("${uniqueId}", "u1"))


# -- alert policies ---------------------------------------------------------------------------

def test_alert_policy_create_matches_google(v3):
    recorded = fixture("monitoring_alert_policy_create.json")
    channel = v3.notificationChannels().create(name=PROJECT, body={"type": "email", "labels": {"email_address": "dev@example.com"}}).execute()
    sent = recorded_request(recorded["request"])
    sent["notificationChannels"] = [channel["name"]]
    policy = v3.alertPolicies().create(name=PROJECT, body=sent).execute()
    assert re.fullmatch(rf"projects/demo/alertPolicies/{NUMBER}", policy["name"])
    assert re.fullmatch(rf"{policy['name']}/conditions/{NUMBER}", policy["conditions"][0]["name"])
    condition = "projects/${projectId}/alertPolicies/${alertPolicyID}/conditions/${conditionID}"
    got = normalised(policy, [(r"projects/demo/alertPolicies/\d+/conditions/\d+", condition),
                              (r"projects/demo/alertPolicies/\d+", "projects/${projectId}/alertPolicies/${alertPolicyID}"),
                              (r"projects/demo/notificationChannels/\d+", "projects/${projectId}/notificationChannels/${notificationChannelID}"),
                              STAMP])
    assert got == recorded["response"]
    assert v3.alertPolicies().get(name=policy["name"]).execute() == policy


def test_alert_policy_enabled_default_list_patch_and_delete(v3):
    body = recorded_request(fixture("monitoring_alert_policy_create.json")["request"])
    del body["notificationChannels"], body["enabled"]
    first = v3.alertPolicies().create(name=PROJECT, body={**body, "displayName": "b"}).execute()
    second = v3.alertPolicies().create(name=PROJECT, body={**body, "displayName": "a", "enabled": False}).execute()
    assert first["enabled"] is True and second["enabled"] is False
    listed = v3.alertPolicies().list(name=PROJECT, orderBy="display_name").execute()
    assert [p["displayName"] for p in listed["alertPolicies"]] == ["a", "b"] and listed["totalSize"] == 2
    assert [p["name"] for p in v3.alertPolicies().list(name=PROJECT, filter='display_name = "b"').execute()["alertPolicies"]] == [first["name"]]
    time.sleep(0.01)
    patched = v3.alertPolicies().patch(name=first["name"], updateMask="display_name",
                                       body={"displayName": "renamed", "combiner": "OR"}).execute()
    assert patched["displayName"] == "renamed" and patched["combiner"] == "AND_WITH_MATCHING_RESOURCE"  # not in the mask
    assert patched["conditions"] == first["conditions"] and patched["creationRecord"] == first["creationRecord"]
    assert patched["mutationRecord"]["mutateTime"] > first["mutationRecord"]["mutateTime"]
    v3.alertPolicies().delete(name=first["name"]).execute()
    status, body = error(v3.alertPolicies().get(name=first["name"]))
    assert (status, body["status"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize("change, field", [
    (lambda p: p.update(conditions=[]), "alert_policy.conditions"),
    (lambda p: p["conditions"][0]["conditionThreshold"]["aggregations"][0].pop("alignmentPeriod"), "alignment_period"),
    (lambda p: p["conditions"][0]["conditionThreshold"]["aggregations"][0].update(alignmentPeriod="0s"), "alignment_period"),
    (lambda p: p["conditions"][0]["conditionThreshold"]["aggregations"][0].update(perSeriesAligner="ALIGN_NONE"), "cross_series_reducer"),
    (lambda p: p["conditions"][0]["conditionThreshold"].pop("comparison"), "comparison"),
    (lambda p: p["conditions"][0]["conditionThreshold"].update(comparison="COMPARISON_BIGGER"), "comparison"),
    (lambda p: p["conditions"][0]["conditionThreshold"].update(duration="a minute"), "duration"),
])
def test_alert_policy_validation(v3, change, field):
    body = recorded_request(fixture("monitoring_alert_policy_create.json")["request"])
    del body["notificationChannels"]
    change(body)
    status, answer = error(v3.alertPolicies().create(name=PROJECT, body=body))
    assert (status, answer["status"]) == (400, "INVALID_ARGUMENT")
    assert field in json.dumps(answer)


def _threshold_policy(**threshold):
    body = recorded_request(fixture("monitoring_alert_policy_create.json")["request"])
    del body["notificationChannels"]
    body["conditions"][0]["conditionThreshold"].update(threshold)
    return body


@pytest.mark.parametrize("recorded, body", [
    ("alignment_period_minutes", lambda: _threshold_policy(aggregations=[{"alignmentPeriod": "450s", "perSeriesAligner": "ALIGN_MEAN"}])),
    ("duration_minutes", lambda: _threshold_policy(duration="30s")),
    ("evaluation_missing_data", lambda: _threshold_policy(duration="0s", evaluationMissingData="EVALUATION_MISSING_DATA_NO_OP")),
    ("log_match_alone", lambda: {"displayName": "logs", "combiner": "OR", "conditions": [
        {"displayName": "log", "conditionMatchedLog": {"filter": "severity>=ERROR"}},
        _threshold_policy()["conditions"][0]]}),
])
def test_alert_policy_refused_in_googles_words(v3, recorded, body):
    expected = fixture("monitoring_alert_policy_errors.json")[recorded]["error"]
    status, answer = error(v3.alertPolicies().create(name=PROJECT, body=body()))
    assert (status, answer["status"]) == (400, "INVALID_ARGUMENT")
    if "message" in expected:
        assert answer["message"] == expected["message"]
    else:
        assert answer["message"] == "Field alert_policy.conditions[0]." + expected["message_suffix"]


def test_alert_policy_aligner_refused_for_the_metric_kind(v3):
    """ALIGN_RATE on Cloud Run's request_latencies (DELTA, DISTRIBUTION): the real 400 of monitoring_aligner_rejected.json."""
    body = _threshold_policy(filter='metric.type = "run.googleapis.com/request_latencies" AND resource.type = "cloud_run_revision"',
                             aggregations=[{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_RATE"}])
    status, answer = error(v3.alertPolicies().create(name=PROJECT, body=body))
    assert (status, answer["message"]) == (400, fixture("monitoring_aligner_rejected.json")["response"]["error"]["message"])


def test_alert_policy_on_a_log_based_metric_needs_the_metric(emulator, v3):
    recorded = fixture("monitoring_alert_policy_unknown_metric.json")["response"]["error"]
    body = _threshold_policy(filter='metric.type = "logging.googleapis.com/user/sa-impersonation" AND resource.type = "global"',
                             aggregations=[{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_SUM"}])
    assert error(v3.alertPolicies().create(name=PROJECT, body=body)) == (404, {**recorded, "status": "NOT_FOUND"})
    client(emulator, "logging", "v2").projects().metrics().create(parent=PROJECT, body={"name": "sa-impersonation", "filter": "x"}).execute()
    assert re.fullmatch(rf"projects/demo/alertPolicies/{NUMBER}", v3.alertPolicies().create(name=PROJECT, body=body).execute()["name"])


# -- notification channels --------------------------------------------------------------------

def test_notification_channel_matches_google_and_lifecycle(v3):
    recorded = fixture("monitoring_notification_channel_create.json")
    channel = v3.notificationChannels().create(name=PROJECT, body=recorded_request(recorded["request"])).execute()
    got = normalised(channel, [(r"projects/demo/notificationChannels/\d+", "projects/${projectId}/notificationChannels/${notificationChannelID}"), STAMP])
    assert got == recorded["response"]
    patched = v3.notificationChannels().patch(name=channel["name"], updateMask="labels", body={"labels": {"email_address": "ops@example.com"}}).execute()
    assert patched["labels"] == {"email_address": "ops@example.com"} and len(patched["mutationRecords"]) == 2
    assert patched["displayName"] == channel["displayName"]
    policy = recorded_request(fixture("monitoring_alert_policy_create.json")["request"])
    policy["notificationChannels"] = [channel["name"]]
    policy = v3.alertPolicies().create(name=PROJECT, body=policy).execute()
    status, _unused = error(v3.notificationChannels().delete(name=channel["name"]))
    assert status == 400
    v3.notificationChannels().delete(name=channel["name"], force=True).execute()
    assert "notificationChannels" not in v3.alertPolicies().get(name=policy["name"]).execute()
    assert v3.notificationChannels().list(name=PROJECT).execute().get("notificationChannels", []) == []


@pytest.mark.parametrize("body, recorded", [
    ({"type": "email", "labels": {"address": "dev@example.com"}}, None),
    ({"type": "carrier_pigeon", "labels": {}}, None),
    ({"type": "slack", "labels": {"channel_name": "#ops"}}, "missing_label"),
    ({"type": "slack", "labels": {"channel_name": "#ops", "auth_token": ""}}, "empty_label"),
])
def test_notification_channel_labels_follow_the_descriptor(v3, body, recorded):
    status, answer = error(v3.notificationChannels().create(name=PROJECT, body=body))
    assert (status, answer["status"]) == (400, "INVALID_ARGUMENT")
    if recorded:
        assert answer["message"] == fixture("monitoring_notification_channel_label_errors.json")[recorded]["error"]["message"]


def test_notification_channel_descriptors(v3):
    listed = v3.notificationChannelDescriptors().list(name=PROJECT).execute()["channelDescriptors"]
    assert [d["type"] for d in listed] == ["email", "pubsub", "slack", "webhook_tokenauth"]
    slack = v3.notificationChannelDescriptors().get(name=f"{PROJECT}/notificationChannelDescriptors/slack").execute()
    assert {label["key"] for label in slack["labels"]} == {"channel_name", "auth_token"}
    channel = v3.notificationChannels().create(name=PROJECT, body={"type": "slack", "labels": {"channel_name": "#ops", "auth_token": "xoxb-1"}}).execute()
    assert channel["labels"]["auth_token"] != "xoxb-1"


# -- uptime checks ----------------------------------------------------------------------------

def test_uptime_check_matches_google(emulator, v3):
    recorded = fixture("monitoring_uptime_check_config.json")
    body = recorded_request(recorded["request"])
    body["disabled"] = True  # the recorded host is not reachable from here
    check = v3.uptimeCheckConfigs().create(parent=PROJECT, body=body).execute()
    assert check.pop("disabled") is True
    assert re.fullmatch(r"projects/demo/uptimeCheckConfigs/http-uptime-check-[A-Za-z0-9]+", check["name"])
    got = normalised(check, [(r"projects/demo/uptimeCheckConfigs/[-A-Za-z0-9]+", "projects/${projectId}/uptimeCheckConfigs/${uptimeCheckConfigID}"),
                             (r'"demo"', '"${projectId}"')])
    assert got == recorded["response"]
    patched = v3.uptimeCheckConfigs().patch(name=check["name"], updateMask="display_name,period", body={"displayName": "renamed", "period": "300s"}).execute()
    assert (patched["displayName"], patched["period"], patched["httpCheck"]) == ("renamed", "300s", check["httpCheck"])
    read_back = v3.uptimeCheckConfigs().patch(name=check["name"], body={**patched, "timeout": "20s"}).execute()  # masked values sent back
    assert read_back["httpCheck"] == check["httpCheck"] and read_back["timeout"] == "20s"
    stored = emulator.state()["resources"]["monitoring.v3"]["uptimeCheckConfigs"][check["name"]]["httpCheck"]
    assert (stored["authInfo"]["password"], stored["headers"]) == ("testABC", {"header-one": "value-one"})
    v3.uptimeCheckConfigs().delete(name=check["name"]).execute()
    status, answer = error(v3.uptimeCheckConfigs().get(name=check["name"]))
    check_id = check["name"].rsplit("/", 1)[1]
    assert (status, answer) == (404, json.loads(json.dumps(recorded["not_found"]["error"])
                                                .replace("${uptimeCheckConfigID}", check_id).replace("${projectId}", "demo")))


def test_uptime_checks_list_filter_on_user_labels(v3):
    def create(name, team):
        return v3.uptimeCheckConfigs().create(parent=PROJECT, body={
            "displayName": name, "timeout": "5s", "disabled": True, "userLabels": {"team": team},
            "monitoredResource": {"type": "uptime_url", "labels": {"host": "example.com"}}, "httpCheck": {"path": "/"}}).execute()["name"]
    web, _api = create("web", "front"), create("api", "back")
    listed = v3.uptimeCheckConfigs().list(parent=PROJECT, filter='user_labels.team = "front"').execute()
    assert ([c["name"] for c in listed["uptimeCheckConfigs"]], listed["totalSize"]) == ([web], 1)
    assert len(v3.uptimeCheckConfigs().list(parent=PROJECT).execute()["uptimeCheckConfigs"]) == 2


@pytest.mark.parametrize("change", [{"period": "120s"}, {"timeout": "61s"}, {"displayName": ""}, {"selectedRegions": ["EUROPE", "USA_IOWA"]}])
def test_uptime_check_validation(v3, change):
    body = {**recorded_request(fixture("monitoring_uptime_check_config.json")["request"]), **change}
    status, answer = error(v3.uptimeCheckConfigs().create(parent=PROJECT, body=body))
    assert (status, answer["status"]) == (400, "INVALID_ARGUMENT")


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_uptime_checks_probe_a_cloud_run_service(emulator, services, v3):
    emulator.admin("config", {"uptime_check_period_seconds": 1})
    service = create(services)
    url = requests.utils.urlparse(service.uri)
    assert requests.get(service.uri, timeout=5).ok

    def check(name, port, **http):
        return v3.uptimeCheckConfigs().create(parent=PROJECT, body={
            "displayName": name, "timeout": "2s", "selectedRegions": ["EUROPE", "SOUTH_AMERICA", "USA_IOWA"],
            "monitoredResource": {"type": "uptime_url", "labels": {"host": url.hostname}},
            "httpCheck": {"port": port, "path": "/", **http}}).execute()["name"].rsplit("/", 1)[1]

    up = check("up", url.port)
    down = check("down", _closed_port())
    end = time.time() + 10
    series = []
    while time.time() < end:
        stop = datetime.datetime.now(datetime.timezone.utc)
        window = {"interval_startTime": (stop - datetime.timedelta(seconds=60)).isoformat().replace("+00:00", "Z"),
                  "interval_endTime": stop.isoformat().replace("+00:00", "Z")}
        series = v3.timeSeries().list(name=PROJECT, filter='metric.type = "monitoring.googleapis.com/uptime_check/check_passed"',
                                      **window).execute().get("timeSeries", [])
        if len(series) == 6:
            break
        time.sleep(0.5)
    passed = {(s["metric"]["labels"]["check_id"], s["metric"]["labels"]["checker_location"]): {p["value"]["boolValue"] for p in s["points"]}
              for s in series}
    locations = ("eur-belgium", "sa-brazil-sao_paulo", "usa-iowa")
    assert passed == {**{(up, location): {True} for location in locations}, **{(down, location): {False} for location in locations}}
    assert {s["resource"]["type"] for s in series} == {"uptime_url"}
    assert series[0]["resource"]["labels"] == {"project_id": "demo", "host": url.hostname}
    recorded = fixture("monitoring_uptime_check_passed_series.json")["response"]["timeSeries"][0]
    assert sorted(series[0]["metric"]["labels"]) == sorted(recorded["metric"]["labels"])
    assert series[0]["metric"]["labels"]["checked_resource_id"] == url.hostname
    assert {s["metricKind"] + " " + s["valueType"] for s in series} == {"GAUGE BOOL"}
    latency = v3.timeSeries().list(name=PROJECT, filter=f'metric.type = "monitoring.googleapis.com/uptime_check/request_latency" '
                                                        f'AND metric.labels.check_id = "{up}"', **window).execute()["timeSeries"]
    assert {s["unit"] for s in latency} == {"ms"} and all(p["value"]["doubleValue"] > 0 for s in latency for p in s["points"])
    fraction = v3.timeSeries().list(name=PROJECT, filter='metric.type = "monitoring.googleapis.com/uptime_check/check_passed"',
                                    aggregation_perSeriesAligner="ALIGN_FRACTION_TRUE", aggregation_alignmentPeriod="60s", **window).execute()
    assert sorted(p["value"]["doubleValue"] for s in fraction["timeSeries"] for p in s["points"]) == [0.0] * 3 + [1.0] * 3
    by_check = v3.timeSeries().list(name=PROJECT, filter='metric.type = "monitoring.googleapis.com/uptime_check/check_passed"',
                                    aggregation_perSeriesAligner="ALIGN_NEXT_OLDER", aggregation_alignmentPeriod="60s",
                                    aggregation_crossSeriesReducer="REDUCE_FRACTION_TRUE", aggregation_groupByFields="metric.label.check_id",
                                    **window).execute()["timeSeries"]
    assert {s["metric"]["labels"]["check_id"]: s["points"][0]["value"]["doubleValue"] for s in by_check} == {up: 1.0, down: 0.0}


def _passed_points(v3, check_id, seconds=10):
    """The check_passed points of a check once they arrive (within `seconds`)."""
    end = time.time() + seconds
    while time.time() < end:
        stop = datetime.datetime.now(datetime.timezone.utc)
        series = v3.timeSeries().list(name=PROJECT, filter='metric.type = "monitoring.googleapis.com/uptime_check/check_passed" '
                                                           f'AND metric.labels.check_id = "{check_id}"',
                                      interval_startTime=(stop - datetime.timedelta(seconds=60)).isoformat().replace("+00:00", "Z"),
                                      interval_endTime=stop.isoformat().replace("+00:00", "Z")).execute().get("timeSeries", [])
        if series:
            return [p["value"]["boolValue"] for s in series for p in s["points"]]
        time.sleep(0.5)
    return []


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802  (http.server's name)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args):
        pass


def test_uptime_checks_probe_again_after_a_restart(emulator_instance):
    """The checks of a saved state are probed by the restarted emulator."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert emulator_instance.cli("start")[0] == 0
        v3 = client(emulator_instance, "monitoring", "v3").projects()
        requests.post(f"{emulator_instance.endpoint}/_emulator/config", json={**MONITORING_CONFIG, "uptime_check_period_seconds": 1}, timeout=5)
        check = v3.uptimeCheckConfigs().create(parent=PROJECT, body={
            "displayName": "local", "timeout": "2s", "monitoredResource": {"type": "uptime_url", "labels": {"host": "127.0.0.1"}},
            "httpCheck": {"port": server.server_address[1]}}).execute()["name"].rsplit("/", 1)[1]
        assert emulator_instance.cli("stop")[0] == 0
        assert emulator_instance.cli("start")[0] == 0
        assert _passed_points(v3, check) and all(_passed_points(v3, check))
    finally:
        server.shutdown()
        server.server_close()


# -- dashboards (monitoring v1) ---------------------------------------------------------------

def test_dashboard_matches_google_and_etag(emulator):
    dashboards = client(emulator, "monitoring", "v1").projects().dashboards()
    recorded = fixture("monitoring_dashboard_create.json")
    made = dashboards.create(parent=PROJECT, body=recorded_request(recorded["request"])).execute()
    assert re.fullmatch(r"[0-9a-f]{32}", made["etag"])
    assert normalised(made, [(r"projects/demo", "projects/${projectId}"), (r'"etag": "[0-9a-f]+"', '"etag": "abcdef0123A="')]) == recorded["response"]
    assert dashboards.get(name=made["name"]).execute() == made
    changed = dashboards.patch(name=made["name"], body={**made, "displayName": "renamed"}).execute()
    assert changed["etag"] != made["etag"] and changed["displayName"] == "renamed"
    status, answer = error(dashboards.patch(name=made["name"], body={**made, "displayName": "stale"}))
    assert (status, answer["status"]) == (409, "ABORTED")
    unversioned = {key: value for key, value in changed.items() if key != "etag"}
    status, answer = error(dashboards.patch(name=made["name"], body=unversioned))
    assert (status, answer["message"]) == (400, fixture("monitoring_dashboard_patch_without_etag.json")["response"]["error"]["message"])
    other = dashboards.create(parent=PROJECT, body={"displayName": "generated id", "gridLayout": {}}).execute()
    assert [d["name"] for d in dashboards.list(parent=PROJECT).execute()["dashboards"]] == sorted([made["name"], other["name"]])
    dashboards.delete(name=made["name"]).execute()
    assert error(dashboards.get(name=made["name"]))[0] == 404


# -- log-based metrics (logging v2) -----------------------------------------------------------

def test_log_metric_matches_google_and_lifecycle(emulator):
    metrics = client(emulator, "logging", "v2").projects().metrics()
    recorded = fixture("logging_metric_create.json")
    sent = recorded_request(recorded["request"])
    name = sent["name"]
    status, answer = error(metrics.get(metricName=f"{PROJECT}/metrics/{name}"))
    assert (status, answer) == (404, recorded_request(recorded["not_found"]["error"]))
    made = metrics.create(parent=PROJECT, body=sent).execute()
    assert normalised(made, [(r"projects/demo/", "projects/${projectId}/"), STAMP]) == recorded["response"]
    time.sleep(0.01)
    updated = metrics.update(metricName=f"{PROJECT}/metrics/{name}", body={**sent, "filter": 'severity>="WARNING"'}).execute()
    assert updated["createTime"] == made["createTime"] and updated["updateTime"] > made["updateTime"]
    assert updated["metricDescriptor"] == made["metricDescriptor"]
    assert error(metrics.create(parent=PROJECT, body=sent))[0] == 409
    assert [m["name"] for m in metrics.list(parent=PROJECT).execute()["metrics"]] == [name]
    status, _unused = error(metrics.create(parent=PROJECT, body={"name": "latency", "filter": "x", "metricDescriptor": {"valueType": "DISTRIBUTION"}}))
    assert status == 400
    metrics.delete(metricName=f"{PROJECT}/metrics/{name}").execute()
    assert error(metrics.get(metricName=f"{PROJECT}/metrics/{name}"))[0] == 404


def test_log_metric_update_refuses_what_google_forbids_and_names_hold_slashes(emulator):
    metrics = client(emulator, "logging", "v2").projects().metrics()
    labelled = {"name": "orchestra/errors", "filter": "severity>=ERROR", "labelExtractors": {"who": "EXTRACT(labels.who)"},
                "metricDescriptor": {"metricKind": "DELTA", "valueType": "INT64", "labels": [{"key": "who"}]}}
    escaped = f"{PROJECT}/metrics/orchestra%2Ferrors"  # LogMetric.name: "nginx/requests" is "projects/p/metrics/nginx%2Frequests"
    metrics.create(parent=PROJECT, body=labelled).execute()
    assert metrics.get(metricName=escaped).execute()["name"] == "orchestra/errors"
    # "The metric_kind and value_type fields in the metric_descriptor cannot be updated once initially configured. New labels can be
    # added in the metric_descriptor, but existing labels cannot be modified except for their description."
    refused = [
        {**labelled, "metricDescriptor": {**labelled["metricDescriptor"], "valueType": "DISTRIBUTION"}, "valueExtractor": "EXTRACT(x)",
         "bucketOptions": {"explicitBuckets": {"bounds": [1]}}},
        {**labelled, "labelExtractors": {}, "metricDescriptor": {"metricKind": "DELTA", "valueType": "INT64"}},
        {**labelled, "metricDescriptor": {**labelled["metricDescriptor"], "labels": [{"key": "who", "valueType": "INT64"}]}},
    ]
    for body in refused:
        assert error(metrics.update(metricName=escaped, body=body))[0] == 400
    grown = {**labelled, "labelExtractors": {"who": "EXTRACT(labels.who)", "where": "EXTRACT(labels.where)"},
             "metricDescriptor": {**labelled["metricDescriptor"], "labels": [{"key": "who", "description": "caller"}, {"key": "where"}]}}
    updated = metrics.update(metricName=escaped, body=grown).execute()
    assert [label["key"] for label in updated["metricDescriptor"]["labels"]] == ["who", "where"]
    metrics.delete(metricName=escaped).execute()
    assert error(metrics.get(metricName=escaped)) == (404, {"code": 404, "message": "Metric orchestra/errors does not exist.", "status": "NOT_FOUND"})
