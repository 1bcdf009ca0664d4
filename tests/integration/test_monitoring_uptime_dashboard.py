"""monitoring_uptime_check and monitoring_dashboard, driven through ansible-runner against the emulator's Cloud
Monitoring (uptime checks that really probe, dashboards v1); what the emulator holds is read with Google's REST client.
That a check on a URL nothing answers reports check_passed false is the emulator's own test
(tests/emulator/test_alerting.py::test_uptime_checks_probe_a_cloud_run_service)."""

from __future__ import annotations

import datetime
import http.server
import json
import threading
import time

import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from test_cloud_run_service import assert_changed_changed_unchanged_unchanged, four_times

PROJECT = "projects/orchestra-test"
CHECK_PASSED = "monitoring.googleapis.com/uptime_check/check_passed"
REQUESTS = 'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"'
CHART = dict(filter=REQUESTS, aligner="ALIGN_RATE", alignment_period="60s", reducer="REDUCE_SUM", group_by=["metric.label.response_code_class"],
             plot="STACKED_BAR", thresholds=[10])
WIDGETS = [dict(title="Requests", chart=CHART), dict(title="Server errors", alert="Orchestra 5xx"), dict(title="Runbook", text="# Runbook")]
DASHBOARD = dict(display_name="Orchestra prod", columns=3, widgets=WIDGETS)
BAD_DASHBOARDS = [
    (dict(DASHBOARD, widgets=[dict(title="Two", text="x", alert="Orchestra 5xx")]), "needs exactly one of chart, alert or text, not alert and text"),
    (dict(DASHBOARD, widgets=[dict(title="No filter", chart=dict(aligner="ALIGN_RATE", alignment_period="60s"))]), "a chart needs a filter"),
    (dict(DASHBOARD, widgets=[dict(title="Bad", chart=dict(CHART, aligner="ALIGN_OFTEN"))]), "aligner 'ALIGN_OFTEN' is none of Google's"),
    (dict(DASHBOARD, widgets=[dict(title="Short", chart=dict(CHART, alignment_period="10s"))]), "alignment_period '10s' must be at least 60s"),
    (dict(DASHBOARD, widgets=[dict(title="", text="x")]), "widget 1 needs a title"),
    (dict(DASHBOARD, display_name="!!"), "display_name '!!' needs at least one letter or digit"),
    (dict(DASHBOARD, widgets=[dict(title="Nobody's", alert="No such policy")]), "No alert policy is named 'No such policy'"),
]


class _Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802  (http.server's name)
        self.send_response(200)
        self.send_header("Content-Length", "9")
        self.end_headers()
        self.wfile.write(b"status ok")

    def log_message(self, *_args):
        pass


@pytest.fixture
def healthy_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/healthz" % server.server_address[1]
    server.shutdown()
    server.server_close()


def monitoring(emulated, version="v3"):
    return build("monitoring", version, credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": emulated.endpoint}).projects()


def task(module, **options):
    return {"orchestra.gcp.monitoring_%s" % module: options}


def bad_tasks(module, cases):
    return [dict(name="bad %d" % i, ignore_errors=True, **task(module, **options)) for i, (options, _words) in enumerate(cases)]


def assert_refused(play, cases):
    for i, (_options, words) in enumerate(cases):
        result = play.task("bad %d" % i)
        assert result["_failed"] and words in result["msg"], (i, result["msg"])


def passed_points(api, check_id, seconds=8):
    """The check_passed points of the check ``check_id`` once they arrive."""
    end = time.time() + seconds
    while time.time() < end:
        stop = datetime.datetime.now(datetime.timezone.utc)
        series = api.timeSeries().list(name=PROJECT, filter='metric.type = "%s" AND metric.labels.check_id = "%s"' % (CHECK_PASSED, check_id),
                                       interval_startTime=(stop - datetime.timedelta(seconds=60)).isoformat().replace("+00:00", "Z"),
                                       interval_endTime=stop.isoformat().replace("+00:00", "Z")).execute().get("timeSeries", [])
        if series:
            return {(s["metric"]["labels"]["checker_location"], p["value"]["boolValue"]) for s in series for p in s["points"]}
        time.sleep(0.3)
    return set()


def test_an_uptime_check_is_created_probes_kept_and_deleted(emulated, healthy_url):
    emulated.emulator.admin("config", {"uptime_check_period_seconds": 1})
    api = monitoring(emulated)
    check = dict(display_name="Orchestra prod", url=healthy_url, content_matcher="ok", timeout="2s", regions=["USA"], user_labels={"env": "prod"})
    cases = [
        (dict(check, url="ftp://127.0.0.1/"), "url 'ftp://127.0.0.1/' is not an http(s) URL"),
        (dict(check, period="2m"), "period '2m' is none of those Google allows: 60s, 5m, 10m or 15m"),
        (dict(check, timeout="90s"), "timeout '90s' must be from 1s to 60s"),
        (dict(check, regions=["ATLANTIS"]), "region 'ATLANTIS' is none of Google's checker regions"),
        (dict(check, regions=["EUROPE", "ASIA_PACIFIC"]), "hold 2 checker(s): Google needs at least 3"),
        (dict(display_name="no url"), "state is present but all of the following are missing: url"),
    ]
    play = emulated.run(bad_tasks("uptime_check", cases) + four_times(task("uptime_check", **check)))
    assert_refused(play, cases)
    assert_changed_changed_unchanged_unchanged(play)
    assert [(c["method"], c["path"]) for c in emulated.emulator.log()] == [("POST", "/v3/%s/uptimeCheckConfigs" % PROJECT)], \
        "bad input and check runs call nothing that changes"
    created = play.task("apply 1")
    check_id = created["check_id"]
    assert created["uptime_check"]["name"] == "%s/uptimeCheckConfigs/%s" % (PROJECT, check_id) and play.task("apply 2")["check_id"] == check_id
    assert play.task("check 1")["check_id"] is None
    [stored] = api.uptimeCheckConfigs().list(parent=PROJECT).execute()["uptimeCheckConfigs"]
    assert stored["monitoredResource"] == {"type": "uptime_url", "labels": {"host": "127.0.0.1", "project_id": "orchestra-test"}}
    assert (stored["httpCheck"]["path"], stored["period"], stored["timeout"], stored["userLabels"]) == \
        ("/healthz", "60s", "2s", {"env": "prod", "orchestra_id": "orchestra-prod"})

    # Changed behind the module's back: brought back by an update in place (the same check), as are a new period and
    # labels. Then a new host, which Google cannot update: refused, unless recreate; and the check goes.
    api.uptimeCheckConfigs().patch(name=stored["name"], updateMask="timeout,http_check", body={
        "timeout": "30s", "httpCheck": dict(stored["httpCheck"], path="/other")}).execute()
    relabelled = {**check, "period": "5m", "user_labels": {"env": "staging"}}
    moved = {**relabelled, "url": healthy_url.replace("127.0.0.1", "localhost")}
    before = len(emulated.emulator.log())
    play = emulated.run([dict(name="drift", **task("uptime_check", **check)), dict(name="again", **task("uptime_check", **check)),
                         dict(name="relabelled", **task("uptime_check", **relabelled)),
                         dict(name="moved", ignore_errors=True, **task("uptime_check", **moved)),
                         dict(name="recreated", **task("uptime_check", recreate=True, **moved)),
                         dict(name="gone", **task("uptime_check", display_name=check["display_name"], state="absent")),
                         dict(name="gone again", **task("uptime_check", display_name=check["display_name"], state="absent"))])
    assert play.task("drift")["changed_options"] == ["http_check", "timeout"] and play.task("drift")["check_id"] == check_id
    assert not play.task("again")["changed"]
    assert (play.task("relabelled")["changed_options"], play.task("relabelled")["check_id"]) == (["period", "user_labels"], check_id)
    refused = play.task("moved")
    assert refused["_failed"] and "Cannot change the monitored_resource of uptime check 'Orchestra prod' in place" in refused["msg"]
    assert "recreate=true" in refused["msg"]
    recreated = play.task("recreated")
    assert recreated["changed"] and recreated["check_id"] != check_id
    assert recreated["uptime_check"]["monitoredResource"]["labels"]["host"] == "localhost"
    assert [play.task(n)["changed"] for n in ("gone", "gone again")] == [True, False]
    calls = [(c["method"], c["path"].rsplit("/", 1)[-1]) for c in emulated.emulator.log()[before:]]
    assert calls == [("PATCH", check_id), ("PATCH", check_id), ("DELETE", check_id), ("POST", "uptimeCheckConfigs"), ("DELETE", recreated["check_id"])]
    assert api.uptimeCheckConfigs().list(parent=PROJECT).execute().get("uptimeCheckConfigs", []) == []
    # check_id is the metric label of the check's series: the probes of the healthy URL passed from USA's three checkers
    # (the series outlive the check).
    assert passed_points(api, check_id) >= {("usa-oregon", True), ("usa-iowa", True), ("usa-virginia", True)}


def test_a_dashboard_is_created_kept_and_deleted(emulated):
    policy = monitoring(emulated).alertPolicies().create(name=PROJECT, body={
        "displayName": "Orchestra 5xx", "combiner": "OR", "conditions": [{"displayName": "5xx", "conditionThreshold": {
            "filter": REQUESTS, "comparison": "COMPARISON_GT", "thresholdValue": 1, "duration": "60s"}}]}).execute()
    dashboards = monitoring(emulated, "v1").dashboards()
    later = {**DASHBOARD, "widgets": [dict(title="Later", alert="A policy made later")]}
    before = len(emulated.emulator.log())
    play = emulated.run(bad_tasks("dashboard", BAD_DASHBOARDS) + [dict(name="later", check_mode=True, **task("dashboard", **later))]
                        + four_times(task("dashboard", **DASHBOARD)))
    assert_refused(play, BAD_DASHBOARDS)
    assert_changed_changed_unchanged_unchanged(play)
    assert "No alert policy is named 'A policy made later' yet" in json.dumps(play.task("later")["warnings"]), "in check mode, a warning"
    name = "%s/dashboards/orchestra-prod" % PROJECT
    assert [(c["method"], c["path"], c["status"]) for c in emulated.emulator.log()[before:]] == [("POST", "/v1/%s/dashboards" % PROJECT, 200)], \
        "bad input and check runs call nothing that changes"
    stored = dashboards.get(name=name).execute()
    chart, alert, text = stored["gridLayout"]["widgets"]
    data_set = chart["xyChart"]["dataSets"][0]
    assert (stored["displayName"], stored["gridLayout"]["columns"]) == ("Orchestra prod", "3")
    assert data_set["targetAxis"] == "Y1", "a default Google fills in, which the comparison leaves alone"
    assert data_set["timeSeriesQuery"]["timeSeriesFilter"]["aggregation"] == {
        "alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_RATE", "crossSeriesReducer": "REDUCE_SUM", "groupByFields": ["metric.label.response_code_class"]}
    assert (data_set["plotType"], chart["xyChart"]["thresholds"]) == ("STACKED_BAR", [{"value": 10}])
    assert alert == {"title": "Server errors", "alertChart": {"name": policy["name"]}}
    assert text == {"title": "Runbook", "text": {"content": "# Runbook", "format": "MARKDOWN"}}
    assert play.task("apply 2")["dashboard"]["etag"] == stored["etag"]

    # Edited behind the module's back (a widget gone, a label added), and another writer's update landing between the
    # module's read and write (409 once): the module reads again and brings its widgets back, keeping the label.
    dashboards.patch(name=name, body=dict(stored, labels={"team": ""}, gridLayout=dict(stored["gridLayout"], widgets=[chart]))).execute()
    emulated.emulator.admin("faults", {"method": "PATCH", "path": "/dashboards/", "status": 409, "count": 1})
    before = len(emulated.emulator.log())
    gone = task("dashboard", display_name=DASHBOARD["display_name"], state="absent")
    play = emulated.run([dict(name="drift", **task("dashboard", **DASHBOARD)), dict(name="again", **task("dashboard", **DASHBOARD)),
                         dict(name="gone", **gone), dict(name="gone again", **gone)])
    assert play.task("drift")["changed_options"] == ["grid_layout"] and not play.task("again")["changed"]
    healed = play.task("drift")["dashboard"]
    assert len(healed["gridLayout"]["widgets"]) == 3 and healed["labels"] == {"team": ""}
    assert [play.task(n)["changed"] for n in ("gone", "gone again")] == [True, False]
    assert [(c["method"], c["status"]) for c in emulated.emulator.log()[before:]] == [("PATCH", 409), ("PATCH", 200), ("DELETE", 200)]
    assert dashboards.list(parent=PROJECT).execute().get("dashboards", []) == []
