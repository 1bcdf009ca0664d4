# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloud Logging: the logic behind the logging_metric module (log-based metrics).

PRIVATE to this collection. The v2 API is called over REST through google-api-python-client (``Session.discovery``),
as for Cloud Monitoring: google-cloud-logging is not among the collection's requirements.

A log-based metric is named by its caller, so its name is its identity. Google fills in what a task does not declare
(the ``metricDescriptor``'s name, type, description and display name, ``createTime``, ``updateTime``): only what the
task declares is compared. Some changes Google refuses on an existing metric (the LogMetric.metricDescriptor
description in logging.v2.json: "The metric_kind and value_type fields in the metric_descriptor cannot be updated once
initially configured. New labels can be added in the metric_descriptor, but existing labels cannot be modified except
for their description."; https://cloud.google.com/logging/docs/logs-based-metrics/labels: "After you create a label,
you can't delete it. [...] You can't change the name or value type of a label"): the module refuses them, or deletes
and creates the metric again when ``recreate`` says so.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from ._gcp import GcpError, invalid

LOGGING_LIBRARIES = (("google-api-python-client", "googleapiclient"),)

# LogMetric.name: "Metric identifiers are limited to 100 characters and can include only the following characters:
# A-Z, a-z, 0-9, and the special characters _-.,+!*',()%/. The forward-slash character (/) denotes a hierarchy of name
# pieces, and it cannot be the first character of the name."
NAME_RE = re.compile(r"^[A-Za-z0-9_\-.,+!*',()%][A-Za-z0-9_\-.,+!*',()%/]{0,99}$")
# LabelDescriptor.key (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/LabelDescriptor): "Does not exceed 100
# characters. Matches the following regular expression: [a-zA-Z][a-zA-Z0-9_]*".
LABEL_KEY_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,99}$")
# "You can create up to 10 user-defined labels per metric." (logs-based-metrics/labels)
MAX_LABELS = 10
# LogMetric.filter: "The maximum length of the filter is 20000 characters."; description: 8000.
MAX_FILTER, MAX_DESCRIPTION = 20000, 8000
# LogMetric.valueExtractor: "Two functions are supported for value extraction: EXTRACT(field) or REGEXP_EXTRACT(field,
# regex). [...] It is an error to specify a regex that does not include exactly one capture group." Label extractors
# have "the same" syntax. A field is a LogEntry path: jsonPayload.a.b, labels."compute.googleapis.com/name".
FIELD = r'[A-Za-z_][A-Za-z0-9_]*(?:\.(?:[A-Za-z0-9_@-]+|"[^"]+"))*'
EXTRACT_RE = re.compile(r"^\s*EXTRACT\(\s*(%s)\s*\)\s*$" % FIELD)
REGEXP_EXTRACT_RE = re.compile(r'^\s*REGEXP_EXTRACT\(\s*(%s)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)\s*$' % FIELD)
VALUE_TYPES = ("INT64", "DISTRIBUTION")
# The options compared, by the name of the task's option each comes from.
OPTION_OF = dict(filter="filter", description="description", disabled="disabled", valueType="value_type", unit="unit", labels="labels",
                 labelExtractors="labels", valueExtractor="value_extractor", bucketOptions="buckets")
LABEL_VALUE_TYPES = ("STRING", "BOOL", "INT64")
# The task's bucket options, as Google's BucketOptions: {kind: (Google's field, {option: Google's field})}.
BUCKETS = {
    "exponential": ("exponentialBuckets", {"count": "numFiniteBuckets", "growth_factor": "growthFactor", "scale": "scale"}),
    "linear": ("linearBuckets", {"count": "numFiniteBuckets", "width": "width", "offset": "offset"}),
}

LABEL_SPEC = dict(
    key=dict(type="str", required=True, no_log=False),
    value_type=dict(type="str", default="STRING", choices=list(LABEL_VALUE_TYPES)),
    description=dict(type="str", default=""),
    extractor=dict(type="str", required=True),
)

METRIC_SPEC = dict(
    argument_spec=dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        filter=dict(type="str"),
        description=dict(type="str", default=""),
        disabled=dict(type="bool", default=False),
        labels=dict(type="list", elements="dict", options=LABEL_SPEC, default=[]),
        value_type=dict(type="str", default="INT64", choices=list(VALUE_TYPES)),
        value_extractor=dict(type="str"),
        buckets=dict(type="dict"),
        unit=dict(type="str", default="1"),
        recreate=dict(type="bool", default=False),
    ),
    required_if=[("state", "present", ("filter",))],
    libraries=LOGGING_LIBRARIES,
)


# ---------------------------------------------------------------- validation (no call)

def filter_problems(text):
    """What makes a logs filter unreadable before Google parses it: unbalanced parentheses, an unterminated quote."""
    depth, quoted, escaped = 0, False, False
    for char in text:
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return ["filter has a ')' without its '('"]
    if quoted:
        return ["filter has a '\"' without its closing '\"'"]
    if depth:
        return ["filter has %d '(' without their ')'" % depth]
    return []


def extractor_problems(what, text):
    """Why ``text`` is not EXTRACT(field) nor REGEXP_EXTRACT(field, "regex") with exactly one capture group."""
    if EXTRACT_RE.match(text or ""):
        return []
    found = REGEXP_EXTRACT_RE.match(text or "")
    if not found:
        return ['%s %r is neither EXTRACT(field) nor REGEXP_EXTRACT(field, "regex"), like EXTRACT(jsonPayload.user)' % (what, text)]
    try:
        groups = re.compile(found.group(2).replace('\\"', '"')).groups
    except re.error as e:
        return ["%s %r: the regular expression does not compile (%s)" % (what, text, e)]
    if groups != 1:
        return ["%s %r: the regular expression must have exactly one capture group, not %d" % (what, text, groups)]
    return []


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def bucket_problems(buckets):
    """What is wrong with the ``buckets`` option: one of exponential, linear or explicit, each as Google's BucketOptions."""
    if not isinstance(buckets, dict) or len(buckets) != 1 or next(iter(buckets)) not in list(BUCKETS) + ["explicit"]:
        return ["buckets must hold exactly one of exponential, linear or explicit, like {exponential: {count: 64, growth_factor: 2, scale: 0.01}}"]
    kind, given = next(iter(buckets.items()))
    if kind == "explicit":
        if not isinstance(given, list) or not given or not all(_number(b) for b in given):
            return ["buckets.explicit must be a list of numbers, the bucket bounds"]
        if any(b <= a for a, b in zip(given, given[1:])):
            return ["buckets.explicit bounds must be strictly increasing"]
        return []
    fields = BUCKETS[kind][1]
    if not isinstance(given, dict) or sorted(given) != sorted(fields):
        return ["buckets.%s needs exactly %s" % (kind, ", ".join(sorted(fields)))]
    problems = ["buckets.%s.%s must be a number" % (kind, key) for key in sorted(fields) if not _number(given[key])]
    if problems:
        return problems
    if not isinstance(given["count"], int) or given["count"] < 1:
        problems.append("buckets.%s.count must be a whole number of at least 1" % kind)
    if kind == "exponential":
        if given["growth_factor"] <= 1:
            problems.append("buckets.exponential.growth_factor must be more than 1")
        if given["scale"] <= 0:
            problems.append("buckets.exponential.scale must be more than 0")
    elif given["width"] <= 0:
        problems.append("buckets.linear.width must be more than 0")
    return problems


def validate_metric_params(p):
    resource = "log-based metric %r" % p["name"]
    problems = []
    if not NAME_RE.match(p["name"]):
        problems.append("name %r must be 1 to 100 of A-Z, a-z, 0-9 and _-.,+!*',()%%/, not starting with '/'" % p["name"])
    if p["state"] == "present":
        text = p["filter"] or ""
        if not text.strip():
            problems.append("filter must not be empty: a metric counts the log entries it matches")
        elif len(text) > MAX_FILTER:
            problems.append("filter holds %d characters, more than Google's %d" % (len(text), MAX_FILTER))
        else:
            problems += filter_problems(text)
        if len(p["description"]) > MAX_DESCRIPTION:
            problems.append("description holds %d characters, more than Google's %d" % (len(p["description"]), MAX_DESCRIPTION))
        keys = [label["key"] for label in p["labels"]]
        problems += ["label key %r must start with a letter and hold at most 100 letters, digits or '_'" % key for key in keys if not LABEL_KEY_RE.match(key)]
        problems += ["two labels have the key %r" % key for key in sorted(set(k for k in keys if keys.count(k) > 1))]
        if len(keys) > MAX_LABELS:
            problems.append("%d labels is more than the %d a log-based metric can hold" % (len(keys), MAX_LABELS))
        for label in p["labels"]:
            problems += extractor_problems("label %r: extractor" % label["key"], label["extractor"])
        if p["value_type"] == "DISTRIBUTION":
            if not p["value_extractor"]:
                problems.append("a DISTRIBUTION metric needs a value_extractor, like EXTRACT(jsonPayload.latency_ms)")
            else:
                problems += extractor_problems("value_extractor", p["value_extractor"])
            if p["buckets"] is None:
                problems.append("a DISTRIBUTION metric needs buckets (exponential, linear or explicit)")
            else:
                problems += bucket_problems(p["buckets"])
        else:
            problems += ["an INT64 metric counts entries: it takes no %s (set value_type: DISTRIBUTION)" % key
                         for key in ("value_extractor", "buckets") if p[key] is not None]
    if problems:
        raise invalid(resource, problems)


# ---------------------------------------------------------------- what is compared

def bucket_options(buckets):
    """The task's ``buckets`` as Google's BucketOptions."""
    kind, given = next(iter(buckets.items()))
    if kind == "explicit":
        return {"explicitBuckets": {"bounds": [float(b) for b in given]}}
    field, fields = BUCKETS[kind]
    return {field: {fields[key]: (int(value) if key == "count" else float(value)) for key, value in given.items()}}


def _floats(value):
    """Bucket options with every number a float but the bucket count, as the task's are (Google prints 2 for 2.0)."""
    if isinstance(value, dict):
        return {k: (int(v) if k == "numFiniteBuckets" else _floats(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return float(value) if _number(value) else value


def desired_options(p):
    """The options the task declares, in Google's names and shapes."""
    return dict(
        filter=p["filter"], description=p["description"], disabled=p["disabled"], valueType=p["value_type"], unit=p["unit"],
        labels=sorted(({"key": lb["key"], "valueType": lb["value_type"], "description": lb["description"]} for lb in p["labels"]),
                      key=lambda lb: lb["key"]),
        labelExtractors={lb["key"]: lb["extractor"].strip() for lb in p["labels"]},
        valueExtractor=(p["value_extractor"] or "").strip(),
        bucketOptions=bucket_options(p["buckets"]) if p["value_type"] == "DISTRIBUTION" else {},
    )


def live_options(metric):
    """The same options of a metric as Google returns it, with its defaults filled in."""
    if metric is None:
        return {}
    descriptor = metric.get("metricDescriptor") or {}
    return dict(
        filter=metric.get("filter", ""), description=metric.get("description", ""), disabled=metric.get("disabled", False),
        valueType=descriptor.get("valueType", "INT64"), unit=descriptor.get("unit", "1"),
        labels=sorted(({"key": lb["key"], "valueType": lb.get("valueType", "STRING"), "description": lb.get("description", "")}
                       for lb in descriptor.get("labels", [])), key=lambda lb: lb["key"]),
        labelExtractors=dict(metric.get("labelExtractors") or {}), valueExtractor=metric.get("valueExtractor", ""),
        bucketOptions=_floats(metric.get("bucketOptions") or {}),
    )


def forbidden_changes(want, have):
    """The changes Google refuses on an existing metric: its value type, and a label's removal or value type."""
    problems = []
    if want["valueType"] != have["valueType"]:
        problems.append("changing its value type from %s to %s" % (have["valueType"], want["valueType"]))
    wanted = {lb["key"]: lb["valueType"] for lb in want["labels"]}
    for label in have["labels"]:
        if label["key"] not in wanted:
            problems.append("removing its label %r" % label["key"])
        elif wanted[label["key"]] != label["valueType"]:
            problems.append("changing the value type of its label %r from %s to %s" % (label["key"], label["valueType"], wanted[label["key"]]))
    return problems


def metric_body(p):
    want = desired_options(p)
    descriptor = {"metricKind": "DELTA", "valueType": want["valueType"], "unit": want["unit"], "labels": want["labels"]}
    body = dict(name=p["name"], filter=want["filter"], description=want["description"], disabled=want["disabled"],
                metricDescriptor=descriptor, labelExtractors=want["labelExtractors"])
    if p["value_type"] == "DISTRIBUTION":
        body.update(valueExtractor=want["valueExtractor"], bucketOptions=want["bucketOptions"])
    return body


# ---------------------------------------------------------------- the module

def metric_type(name):
    return "logging.googleapis.com/user/%s" % name


def manage_metric(session):
    """logging_metric: the log-based metric exists with the options given, or is gone."""
    p = session.params
    validate_metric_params(p)
    resource = "log-based metric %r" % p["name"]
    metrics = session.discovery("logging", "v2").projects().metrics()
    # A name's '/' is part of the metric ID: escaped in the resource name (LogMetric.name: "nginx%2Frequests").
    full_name = "projects/%s/metrics/%s" % (session.project, quote(p["name"], safe=""))
    try:
        current = session.execute("read", resource, metrics.get(metricName=full_name), idempotent=True)
    except GcpError as e:
        if e.status != "NOT_FOUND":
            raise
        current = None
    before = live_options(current)
    result = dict(metric_type=metric_type(p["name"]))
    if p["state"] == "absent":
        if current is not None and not session.check_mode:
            session.execute("delete", resource, metrics.delete(metricName=full_name), idempotent=True)
        return dict(result, changed=current is not None, metric=None, diff=dict(before=before, after={}))

    want = desired_options(p)
    body = metric_body(p)
    keys = sorted(key for key in want if current is None or want[key] != before[key])
    final = current
    if current is None:
        if not session.check_mode:
            final = session.execute("create", resource, metrics.create(parent="projects/%s" % session.project, body=body), idempotent=True)
    elif keys:
        refused = forbidden_changes(want, before)
        if refused and not p["recreate"]:
            raise GcpError("Google does not allow %s on the existing %s. Nothing was changed. Hint: set recreate: true to delete the metric "
                           "and create it again (its past data is lost), or give the new definition another name." % ("; ".join(refused), resource))
        if not session.check_mode and refused:
            session.execute("delete", resource, metrics.delete(metricName=full_name), idempotent=True)
            final = session.execute("create", resource, metrics.create(parent="projects/%s" % session.project, body=body), idempotent=True)
        elif not session.check_mode:
            final = session.execute("update", resource, metrics.update(metricName=full_name, body=body), idempotent=True)
    if session.check_mode and keys:
        final = dict(current or {}, **body)
    return dict(result, changed=bool(keys), metric=final, changed_options=sorted(set(OPTION_OF[key] for key in keys)),
                diff=dict(before=before, after=live_options(final)))
