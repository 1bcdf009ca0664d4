# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloud Monitoring uptime checks and dashboards: URLs, the bodies written, what is compared of recorded answers, and the
input refused before any call."""

from __future__ import annotations

import copy
import json
import pathlib

import pytest

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError, given_fields_same
from ansible_collections.orchestra.gcp.plugins.module_utils._monitoring import (CHART_SPEC, UPTIME_SPEC, WIDGET_SPEC, _uptime_changes,
                                                                                _uptime_check, _url, _widget, dashboard_name,
                                                                                validate_dashboard_params, validate_uptime_params)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "google"


def recorded(name):
    return json.loads((FIXTURES / name).read_text())["response"]


def defaults(spec):
    return {key: option.get("default") for key, option in spec.items()}


def uptime_params(**options):
    base = {key: option.get("default") for key, option in UPTIME_SPEC["argument_spec"].items()}
    return dict(base, **dict(dict(display_name="Orchestra prod", url="https://orchestra.example.com/healthz"), **options))


def widget(**options):
    return dict(defaults(WIDGET_SPEC), **dict(dict(title="Requests"), **options))


def chart(**options):
    return dict(defaults(CHART_SPEC), **dict(dict(filter='metric.type="run.googleapis.com/request_count"'), **options))


def dashboard_params(*widgets, **options):
    return dict(dict(display_name="Orchestra prod", state="present", columns=2, widgets=list(widgets)), **options)


@pytest.mark.parametrize("url, parsed", [
    ("https://orchestra.example.com/healthz", ("orchestra.example.com", 443, "/healthz", True)),
    ("http://127.0.0.1:8080", ("127.0.0.1", 8080, "/", False)),
    ("https://Example.com:8443/a/b?probe=1", ("example.com", 8443, "/a/b?probe=1", True)),
    ("ftp://example.com/", None),
    ("example.com/healthz", None),
    ("https://:443/", None),
    ("https://example.com:99999/", None),
    ("https://user:pw@example.com/", None),
    ("https://example.com/#top", None),
])
def test_urls(url, parsed):
    assert _url(url) == parsed


def test_a_check_compares_equal_to_what_google_answers():
    want = _uptime_check(uptime_params(url="http://127.0.0.1:8080/", content_matcher="ok", regions=["usa", "EUROPE"]), "p")
    assert want["httpCheck"] == {"path": "/", "port": 8080, "useSsl": False, "validateSsl": False, "requestMethod": "GET",
                                 "acceptedResponseStatusCodes": [{"statusClass": "STATUS_CLASS_2XX"}]}
    assert (want["monitoredResource"], want["selectedRegions"]) == ({"type": "uptime_url", "labels": {"host": "127.0.0.1", "project_id": "p"}},
                                                                    ["USA", "EUROPE"])
    # As recorded (monitoring_uptime_check_config.json): false booleans dropped, checkerType and the name added.
    answer = copy.deepcopy(recorded("monitoring_uptime_check_config.json"))
    answer.update({k: copy.deepcopy(v) for k, v in want.items()})
    answer["httpCheck"] = {k: v for k, v in want["httpCheck"].items() if v is not False}
    assert _uptime_changes(want, answer) == []
    moved = _uptime_check(uptime_params(url="http://10.0.0.1:8080/", content_matcher="ok", regions=["USA", "EUROPE"]), "p")
    assert _uptime_changes(moved, answer) == ["monitoredResource"]
    assert _uptime_changes(want, dict(answer, userLabels=dict(answer["userLabels"], team="sre"))) == ["userLabels"]
    assert _uptime_changes(want, dict(answer, contentMatchers=[])) == ["contentMatchers"]
    assert _uptime_changes(want, dict(answer, httpCheck=dict(answer["httpCheck"], useSsl=True))) == ["httpCheck"]


def test_given_fields_same_reads_as_proto3():
    assert given_fields_same({"a": {"b": 1}, "c": False, "d": [], "e": ""}, {"a": {"b": 1, "google": "default"}, "etag": "x"})
    assert not given_fields_same({"a": {"b": 1}}, {"a": {"b": 2}})
    assert not given_fields_same({"c": False}, {"c": True})
    assert not given_fields_same({"d": []}, {"d": [{"value": 1}]})
    assert not given_fields_same({"d": [{"v": 1}]}, {"d": [{"v": 1}, {"v": 2}]})
    assert given_fields_same({"value": 0.0}, {}) and given_fields_same({"columns": "2"}, {"columns": "2"})
    assert not given_fields_same({"a": {"b": 1}}, {})


def test_a_chart_compares_equal_to_the_recorded_one():
    recorded_widget = recorded("monitoring_dashboard_create.json")["columnLayout"]["columns"][0]["widgets"][0]
    written = _widget(widget(title="Widget 1", chart=chart(filter='metric.type="agent.googleapis.com/nginx/connections/accepted_count"',
                                                           aligner="ALIGN_RATE")), {})
    assert written["xyChart"]["dataSets"][0]["timeSeriesQuery"]["timeSeriesFilter"]["aggregation"] == {"perSeriesAligner": "ALIGN_RATE"}
    assert given_fields_same(written, recorded_widget), "Google's targetAxis, yAxis scale and other defaults do not count"
    assert not given_fields_same(_widget(widget(title="Widget 1", chart=chart(plot="STACKED_BAR", aligner="ALIGN_RATE")), {}), recorded_widget)
    with_line = _widget(widget(title="Widget 1", chart=chart(filter='metric.type="agent.googleapis.com/nginx/connections/accepted_count"',
                                                             aligner="ALIGN_RATE", thresholds=[5])), {})
    assert with_line["xyChart"]["thresholds"] == [{"value": 5.0}] and not given_fields_same(with_line, recorded_widget)


def test_widgets_of_each_kind():
    policy = "projects/p/alertPolicies/123"
    assert _widget(widget(alert="Orchestra 5xx"), {"Orchestra 5xx": policy}) == {"title": "Requests", "alertChart": {"name": policy}}
    assert _widget(widget(text="# Runbook"), {}) == {"title": "Requests", "text": {"content": "# Runbook", "format": "MARKDOWN"}}
    assert dashboard_name("p", "Orchestra (prod)") == "projects/p/dashboards/orchestra-prod"


@pytest.mark.parametrize("options, words", [
    (dict(url="ftp://example.com/"), "url 'ftp://example.com/' is not an http(s) URL"),
    (dict(url="https://example.com:0x50/"), "is not an http(s) URL"),
    (dict(period="120s"), "period '120s' is none of those Google allows: 60s, 5m, 10m or 15m"),
    (dict(period="often"), "period 'often' is none of"),
    (dict(timeout="61s"), "timeout '61s' must be from 1s to 60s"),
    (dict(timeout=0), "timeout 0 must be from 1s to 60s"),
    (dict(accepted_status_classes=["6xx"]), "accepted status class '6xx' is none of 1xx, 2xx, 3xx, 4xx, 5xx, any"),
    (dict(accepted_status_classes=[]), "accepted_status_classes must name at least one class"),
    (dict(regions=["MARS"]), "region 'MARS' is none of Google's checker regions"),
    (dict(regions=["EUROPE", "USA_IOWA"]), "regions EUROPE, USA_IOWA hold 2 checker(s): Google needs at least 3"),
    (dict(content_matcher=""), "content_matcher must not be empty"),
    (dict(user_labels={"orchestra_id": "x"}), "is the module's own"),
    (dict(display_name="  "), "display_name must not be empty"),
])
def test_bad_uptime_checks_are_refused_naming_the_problem(options, words):
    with pytest.raises(GcpError) as caught:
        validate_uptime_params(uptime_params(**options))
    assert words in caught.value.msg and "Nothing was changed" in caught.value.msg and "uptime check" in caught.value.msg


def test_good_uptime_checks_pass():
    validate_uptime_params(uptime_params(period="5m", timeout=60, regions=["USA"], accepted_status_classes=["2XX", "3xx"]))
    validate_uptime_params(uptime_params(state="absent", url=None, period="whenever"))


@pytest.mark.parametrize("widgets, words", [
    ([widget(chart=chart(), text="x")], "widget 1 ('Requests') needs exactly one of chart, alert or text, not chart and text"),
    ([widget()], "needs exactly one of chart, alert or text, not none"),
    ([widget(chart=chart(filter=None))], "a chart needs a filter"),
    ([widget(chart=chart(aligner="ALIGN_SOMETIMES", alignment_period="60s"))], "aligner 'ALIGN_SOMETIMES' is none of Google's"),
    ([widget(chart=chart(aligner="ALIGN_RATE", alignment_period="30s"))], "alignment_period '30s' must be at least 60s"),
    ([widget(chart=chart(aligner="ALIGN_RATE"))], "aligner ALIGN_RATE needs an alignment_period"),
    ([widget(chart=chart(reducer="REDUCE_SUM"))], "reducer REDUCE_SUM needs an aligner other than ALIGN_NONE"),
    ([widget(chart=chart(plot="PIE"))], "plot 'PIE' is none of LINE, STACKED_AREA, STACKED_BAR, HEATMAP"),
    ([widget(chart=chart(thresholds=["high"]))], "threshold 'high' is not a number"),
    ([widget(text="x", title=" ")], "widget 1 needs a title"),
    ([widget(alert="")], "alert must name an alert policy"),
    ([widget(text="ok"), widget(text="")], "widget 2 ('Requests'): text must not be empty"),
])
def test_bad_dashboards_are_refused_naming_the_problem(widgets, words):
    with pytest.raises(GcpError) as caught:
        validate_dashboard_params(dashboard_params(*widgets))
    assert words in caught.value.msg and "dashboard 'Orchestra prod'" in caught.value.msg


def test_dashboard_columns_and_a_good_one():
    with pytest.raises(GcpError, match="columns must be at least 1, not 0"):
        validate_dashboard_params(dashboard_params(widget(text="x"), columns=0))
    validate_dashboard_params(dashboard_params(widget(chart=chart(aligner="ALIGN_RATE", alignment_period="90s", reducer="REDUCE_SUM",
                                                                  group_by=["resource.label.service_name"], thresholds=[1, "2.5"])),
                                               widget(alert="Orchestra 5xx"), widget(text="# Runbook")))
