# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Log-based metrics: what is compared of a recorded metric, the body written, the changes Google forbids, and the input
refused before any call."""

from __future__ import annotations

import json
import pathlib

import pytest

from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError
from ansible_collections.orchestra.gcp.plugins.module_utils._logging import (LABEL_SPEC, METRIC_SPEC, bucket_problems, desired_options,
                                                                             extractor_problems, filter_problems, forbidden_changes,
                                                                             live_options, metric_body, validate_metric_params)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "google"
RECORDED = json.loads((FIXTURES / "logging_metric_create.json").read_text())


def params(**options):
    base = {key: spec.get("default") for key, spec in METRIC_SPEC["argument_spec"].items()}
    base.update(name="errors", filter="severity>=ERROR")
    return dict(base, **options)


def label(key, **options):
    base = {k: spec.get("default") for k, spec in LABEL_SPEC.items()}
    return dict(dict(base, key=key, extractor="EXTRACT(labels.%s)" % key), **options)


def test_a_recorded_metric_matches_the_task_that_made_it():
    sent = RECORDED["request"]
    p = params(name=sent["name"], filter=sent["filter"], description=sent["description"])
    assert live_options(RECORDED["response"]) == desired_options(p), "what Google filled in is not a difference"
    assert live_options(RECORDED["response"]) != desired_options(dict(p, disabled=True))


def test_the_body_written_for_a_distribution_with_labels():
    p = params(labels=[label("who", value_type="BOOL", description="caller")], value_type="DISTRIBUTION", unit="ms",
               value_extractor=' REGEXP_EXTRACT(jsonPayload.msg, "took (\\d+)ms")', buckets={"exponential": {"count": 10, "growth_factor": 2, "scale": 1}})
    validate_metric_params(p)
    assert metric_body(p) == {
        "name": "errors", "filter": "severity>=ERROR", "description": "", "disabled": False,
        "metricDescriptor": {"metricKind": "DELTA", "valueType": "DISTRIBUTION", "unit": "ms",
                             "labels": [{"key": "who", "valueType": "BOOL", "description": "caller"}]},
        "labelExtractors": {"who": "EXTRACT(labels.who)"}, "valueExtractor": 'REGEXP_EXTRACT(jsonPayload.msg, "took (\\d+)ms")',
        "bucketOptions": {"exponentialBuckets": {"numFiniteBuckets": 10, "growthFactor": 2.0, "scale": 1.0}}}
    # Google prints 2.0 as 2: the same buckets.
    google = dict(metric_body(p), bucketOptions={"exponentialBuckets": {"numFiniteBuckets": 10, "growthFactor": 2, "scale": 1}})
    assert live_options(google) == desired_options(p)


def test_changes_google_forbids():
    have = desired_options(params(labels=[label("who"), label("where")]))
    assert forbidden_changes(desired_options(params(labels=[label("who"), label("where"), label("new")])), have) == []
    assert forbidden_changes(desired_options(params(labels=[label("who", description="x", extractor="EXTRACT(a.b)"), label("where")])), have) == []
    assert forbidden_changes(desired_options(params(labels=[label("who", value_type="INT64")])), have) == [
        "removing its label 'where'", "changing the value type of its label 'who' from STRING to INT64"]
    distribution = params(value_type="DISTRIBUTION", value_extractor="EXTRACT(x)", buckets={"explicit": [1, 2]})
    assert forbidden_changes(desired_options(distribution), desired_options(params())) == ["changing its value type from INT64 to DISTRIBUTION"]


@pytest.mark.parametrize("text, problems", [
    ('resource.type="cloud_run_revision" AND (severity>=ERROR OR textPayload:"a (b")', []),
    ('x="a \\" (b"', []),
    ("(a OR b", ["filter has 1 '(' without their ')'"]),
    ("a) OR (b", ["filter has a ')' without its '('"]),
    ('x="abc', ["filter has a '\"' without its closing '\"'"]),
])
def test_filter_balance(text, problems):
    assert filter_problems(text) == problems


@pytest.mark.parametrize("text, fine", [
    ("EXTRACT(protoPayload.authenticationInfo.principalEmail)", True),
    ('EXTRACT(labels."compute.googleapis.com/resource_name")', True),
    ('REGEXP_EXTRACT(jsonPayload.request, ".*quantity=(\\d+).*")', True),
    ('REGEXP_EXTRACT(textPayload, "(?:user|svc)=(\\w+)")', True),
    ('REGEXP_EXTRACT(textPayload, "(a)(b)")', False),
    ('REGEXP_EXTRACT(textPayload, "no group")', False),
    ('REGEXP_EXTRACT(textPayload, "(unclosed")', False),
    ("EXTRACT(jsonPayload.a, b)", False),
    ("jsonPayload.user", False),
    ("", False),
])
def test_extractors(text, fine):
    assert (extractor_problems("extractor", text) == []) is fine


@pytest.mark.parametrize("buckets, words", [
    ({"exponential": {"count": 8, "growth_factor": 2, "scale": 0.5}}, None),
    ({"linear": {"count": 8, "width": 10, "offset": -5}}, None),
    ({"explicit": [0, 1.5, 10]}, None),
    ({"explicit": [1, 1, 2]}, "strictly increasing"),
    ({"explicit": []}, "a list of numbers"),
    ({"exponential": {"count": 8, "growth_factor": 1, "scale": 1}}, "growth_factor must be more than 1"),
    ({"exponential": {"count": 0, "growth_factor": 2, "scale": 1}}, "count must be a whole number of at least 1"),
    ({"linear": {"count": 8, "width": 0, "offset": 0}}, "width must be more than 0"),
    ({"linear": {"count": 8, "width": 1}}, "needs exactly count, offset, width"),
    ({"linear": {"count": "8", "width": 1, "offset": 0}}, "count must be a number"),
    ({"exponential": {}, "linear": {}}, "exactly one of"),
])
def test_bucket_options(buckets, words):
    found = bucket_problems(buckets)
    assert found == [] if words is None else words in " ".join(found)


@pytest.mark.parametrize("options, words", [
    (dict(name="/errors"), "not starting with '/'"),
    (dict(name="e" * 101), "must be 1 to 100"),
    (dict(name="errors?"), "must be 1 to 100"),
    (dict(filter="  "), "filter must not be empty"),
    (dict(filter="(severity>=ERROR"), "without their ')'"),
    (dict(labels=[label("9who")]), "label key '9who' must start with a letter"),
    (dict(labels=[label("who"), label("who")]), "two labels have the key 'who'"),
    (dict(labels=[label("l%d" % i) for i in range(11)]), "11 labels is more than the 10"),
    (dict(labels=[label("who", extractor="labels.who")]), "label 'who': extractor 'labels.who' is neither"),
    (dict(value_type="DISTRIBUTION", buckets={"explicit": [1]}), "needs a value_extractor"),
    (dict(value_type="DISTRIBUTION", value_extractor="EXTRACT(x)"), "needs buckets"),
    (dict(value_extractor="EXTRACT(x)"), "an INT64 metric counts entries: it takes no value_extractor"),
])
def test_input_refused_before_any_call(options, words):
    with pytest.raises(GcpError) as raised:
        validate_metric_params(params(**options))
    assert words in raised.value.msg and raised.value.msg.startswith("Invalid parameters for log-based metric")
    assert raised.value.msg.endswith("Nothing was changed.")


def test_absent_needs_no_filter():
    validate_metric_params(params(state="absent", filter=None))
