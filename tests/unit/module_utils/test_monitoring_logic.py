# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloud Monitoring alerting: identity, what is compared of a recorded policy and channel, the bodies written, and the
input refused before any call."""

from __future__ import annotations

import json
import pathlib

import pytest

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError, epoch
from ansible_collections.orchestra.gcp.plugins.module_utils._monitoring import (CONDITION_SPEC, _alert_summary, _condition, _policy_options, channel_view,
                                                                                condition_summary, identity, validate_channel_params,
                                                                                validate_policy_params)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "google"


def recorded(name):
    return json.loads((FIXTURES / name).read_text())["response"]


def condition(**options):
    base = {key: spec.get("default") for key, spec in CONDITION_SPEC.items()}
    base.update(display_name="CPU", filter='metric.type="compute.googleapis.com/instance/cpu/utilization"', comparison=">", threshold=0.9,
                duration="15m", alignment_period=60, aligner="ALIGN_MAX", reducer="REDUCE_MEAN")
    return dict(base, **options)


def policy_params(**options):
    return dict(dict(display_name="High CPU", state="present", enabled=True, user_labels={}, combiner="OR", severity=None,
                     conditions=[condition()], notification_channels=[], documentation=None), **options)


def test_identity_is_a_label_value():
    assert identity("Orchestra 5xx (prod)!") == "orchestra-5xx-prod"
    assert len(identity("x" * 100)) == 63


def test_a_recorded_condition_compares_equal_to_the_one_written():
    policy = recorded("monitoring_alert_policy_create.json")
    live = _policy_options(policy)["conditions"][0]["conditionThreshold"]
    written = _condition(condition(group_by=["project", "resource.label.instance_id", "resource.label.zone"], trigger_count=1,
                                   filter='metric.type="compute.googleapis.com/instance/cpu/utilization" AND resource.type="gce_instance"'))
    assert written["conditionThreshold"] == live
    assert "name" not in _policy_options(policy)["conditions"][0]


def test_a_channel_view_hides_its_secret_labels():
    channel = dict(recorded("monitoring_notification_channel_create.json"), type="slack", labels={"channel_name": "#a", "auth_token": "t"})
    assert channel_view(channel)["labels"] == {"channel_name": "#a"}


def test_a_ratio_divides_series_aggregated_alike():
    errors = 'metric.type="run.googleapis.com/request_count" AND metric.label.response_code_class="5xx"'
    written = _condition(condition(filter=errors, denominator_filter='metric.type="run.googleapis.com/request_count"', aligner="ALIGN_RATE",
                                   reducer="REDUCE_SUM", group_by=["resource.label.service_name"]))["conditionThreshold"]
    assert written["denominatorFilter"] == 'metric.type="run.googleapis.com/request_count"'
    assert written["denominatorAggregations"] == written["aggregations"] == [
        {"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_RATE", "crossSeriesReducer": "REDUCE_SUM", "groupByFields": ["resource.label.service_name"]}]
    assert "denominatorFilter" not in _condition(condition())["conditionThreshold"]


@pytest.mark.parametrize("options, words", [
    (dict(conditions=[condition(denominator_filter=" ")]), "denominator_filter must not be empty"),
    (dict(conditions=[condition(kind="absent", comparison=None, threshold=None, denominator_filter="x")]), "takes no denominator_filter"),
    (dict(conditions=[condition(duration="30s")]), "duration '30s' must be whole minutes"),
    (dict(conditions=[condition(comparison="above")]), "comparison 'above' is none of"),
    (dict(conditions=[condition(threshold=True)]), "threshold True is not a number"),
    (dict(conditions=[condition(filter=" ")]), "needs a filter"),
    (dict(conditions=[condition()] * 7), "not 7"),
    (dict(severity="LOW"), "severity 'LOW' is none of"),
])
def test_bad_policies_are_refused_naming_the_problem(options, words):
    with pytest.raises(GcpError) as failure:
        validate_policy_params(policy_params(**options))
    assert words in failure.value.msg and failure.value.msg.endswith("Nothing was changed.")


def test_every_problem_of_a_channel_is_named_at_once():
    with pytest.raises(GcpError) as failure:
        validate_channel_params(dict(display_name="x", state="present", user_labels={}, type="pubsub", labels={"topic": "alerts", "url": "u"},
                                     secret_labels={}))
    assert "label 'url' is not a label of a pubsub channel" in failure.value.msg and "must be a full topic name" in failure.value.msg


def test_a_recorded_condition_reads_as_a_person_says_it():
    (summary,) = [condition_summary(c) for c in recorded("monitoring_alert_policy_create.json")["conditions"]]
    assert summary == dict(display_name="Very high CPU usage", kind="threshold",
                           filter='metric.type="compute.googleapis.com/instance/cpu/utilization" AND resource.type="gce_instance"',
                           denominator_filter=None, comparison=">", threshold=0.9, duration="15m", aligner="ALIGN_MAX", reducer="REDUCE_MEAN",
                           group_by=["project", "resource.label.instance_id", "resource.label.zone"])


def test_a_threshold_google_leaves_out_is_zero_and_an_absence_has_none():
    # proto3: Google leaves thresholdValue 0 and duration 0s out of what it returns.
    assert condition_summary({"conditionThreshold": {"comparison": "COMPARISON_GT"}})["threshold"] == 0.0
    absent = condition_summary({"displayName": "gone", "conditionAbsent": {"duration": "5400s"}})
    assert (absent["kind"], absent["threshold"], absent["comparison"], absent["duration"]) == ("absent", None, None, "1h30m")


def test_an_alert_spans_the_part_of_the_window_it_was_open():
    since, until = epoch("2026-12-01T10:00:00Z"), epoch("2026-12-01T11:00:00Z")
    closed = _alert_summary({"state": "CLOSED", "openTime": "2026-12-01T09:30:00.123456789Z", "closeTime": "2026-12-01T10:15:00Z"}, since, until)
    still = _alert_summary({"state": "OPEN", "openTime": "2026-12-01T10:50:00Z", "resource": {"labels": {"service_name": "a"}}}, since, until)
    assert (closed["span"], still["span"], still["resource_labels"]) == ([0, 900], [3000, 3600], {"service_name": "a"})


def test_a_threshold_of_zero_google_leaves_out_is_no_difference():
    written = _condition(condition(threshold=0))
    live = dict(written, conditionThreshold={k: v for k, v in written["conditionThreshold"].items() if k != "thresholdValue"})
    assert _policy_options({"conditions": [live]})["conditions"] == [written]
