# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""monitoring_time_series: a point's value and type, the TimeSeries written, and the input refused before any call."""

from __future__ import annotations

import pytest

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError
from ansible_collections.orchestra.gcp.plugins.module_utils._monitoring import (TIME_SERIES_SPEC, point_value, time_series,
                                                                                validate_time_series_params)


def params(**options):
    base = {key: spec.get("default") for key, spec in TIME_SERIES_SPEC["argument_spec"].items()}
    base.update(metric_type="custom.googleapis.com/orchestra/backup_age", value=3600)
    return dict(base, **options)


@pytest.mark.parametrize("value, value_type, expected", [
    (3600, None, ("INT64", 3600)),
    (1.5, None, ("DOUBLE", 1.5)),
    (True, None, ("BOOL", True)),
    ("42", None, ("INT64", 42)),
    ("4.5", None, ("DOUBLE", 4.5)),
    ("false", None, ("BOOL", False)),
    (3, "DOUBLE", ("DOUBLE", 3.0)),
    (3.0, "INT64", ("INT64", 3)),
    ("true", "BOOL", ("BOOL", True)),
])
def test_point_values(value, value_type, expected):
    assert point_value(value, value_type) == expected


@pytest.mark.parametrize("value, value_type, why", [
    (1.5, "INT64", "is not a whole number, as value_type INT64 needs"),
    (True, "INT64", "does not fit value_type INT64"),
    (1, "BOOL", "does not fit value_type BOOL"),
    ("lots", None, "is not a number nor a boolean"),
    ("nan", None, "is not a number nor a boolean"),
    (float("inf"), None, "is not a finite number"),
    (None, None, "is not a number nor a boolean"),
    ([1], None, "is not a number nor a boolean"),
])
def test_values_refused(value, value_type, why):
    assert point_value(value, value_type) == (None, why)


def test_the_series_written():
    p = params(metric_labels={"instance": "cache", "shard": 2}, resource_type="generic_task", value="1.25",
               resource_labels={"location": "europe-west1", "namespace": "orchestra", "job": "backup", "task_id": "1"})
    validate_time_series_params(p)
    assert time_series(p, "demo", "2026-01-01T12:00:00.000000Z") == {
        "metric": {"type": "custom.googleapis.com/orchestra/backup_age", "labels": {"instance": "cache", "shard": "2"}},
        "resource": {"type": "generic_task", "labels": {"location": "europe-west1", "namespace": "orchestra", "job": "backup", "task_id": "1",
                                                        "project_id": "demo"}},
        "metricKind": "GAUGE", "valueType": "DOUBLE",
        "points": [{"interval": {"endTime": "2026-01-01T12:00:00.000000Z"}, "value": {"doubleValue": 1.25}}]}
    assert time_series(params(value=7), "demo", "t")["points"][0]["value"] == {"int64Value": "7"}, "int64 is a JSON string"


@pytest.mark.parametrize("options, words", [
    (dict(metric_type="run.googleapis.com/request_count"), "must start with custom.googleapis.com/ or workload.googleapis.com/"),
    (dict(metric_type="custom.googleapis.com/"), "needs a path after custom.googleapis.com/"),
    (dict(metric_type="custom.googleapis.com/a//b"), "needs a path"),
    (dict(metric_labels={"9lives": "x"}), "metric label key '9lives' must start with a letter"),
    (dict(metric_labels={"big": "x" * 1025}), "more than 1024 characters"),
    (dict(resource_labels={"zone": "x"}), "resource label 'zone' is not a label of a global resource"),
    (dict(resource_labels={"project_id": "other"}), "is the task's project, filled in"),
    (dict(resource_type="generic_node", resource_labels={"location": "global", "namespace": "n"}), "a generic_node resource needs label 'node_id'"),
    (dict(value=1.5, value_type="INT64"), "value 1.5 is not a whole number"),
    (dict(value="soon"), "value 'soon' is not a number nor a boolean"),
])
def test_input_refused_before_any_call(options, words):
    with pytest.raises(GcpError) as raised:
        validate_time_series_params(params(**options))
    assert words in raised.value.msg and raised.value.msg.endswith("Nothing was changed.")
