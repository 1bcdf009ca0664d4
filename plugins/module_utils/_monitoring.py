# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloud Monitoring: the logic behind the monitoring_notification_channel, monitoring_alert_policy, monitoring_uptime_check,
monitoring_dashboard, monitoring_time_series and monitoring_alert_info modules.

PRIVATE to this collection. Cloud Monitoring's client library speaks gRPC only, so the v3 API (and v1 for dashboards)
is called over REST through google-api-python-client (``Session.discovery``), as the canary analysis does.

Google assigns the IDs of notification channels, alert policies and uptime checks, so a task cannot name one. A
resource is found by its display name and the user label ``orchestra_id`` the modules set on it (a slug of the
display name): the list is filtered on the label, then on the exact display name. A resource created elsewhere,
without the label, is not this module's: a second one is created beside it. A dashboard may be named by its caller:
its ID is that slug, so it is read by name.

A time series point (``monitoring_time_series``) is no resource: each run writes one, a GAUGE point of a user-defined
metric at the time of the run, and Google creates the metric's descriptor on the first write.
"""

from __future__ import annotations

import datetime
import math
import re
import time
from urllib.parse import urlsplit

from ._gcp import GcpError, epoch, given_fields_same, invalid, label_problems, rfc3339, short_name

MONITORING_LIBRARIES = (("google-api-python-client", "googleapiclient"),)

ID_LABEL = "orchestra_id"
MAX_LABEL_VALUE = 63
# Labels whose values Google does not show when a channel is read (Slack's auth_token), and their kin: given through
# secret_labels (no_log), written, never read back, never in results or diffs.
SECRET_LABELS = ("auth_token", "password")
# The label keys of each channel type, as the notificationChannelDescriptors list them
# (https://cloud.google.com/monitoring/support/notification-options).
CHANNEL_LABELS = {
    "email": ("email_address",),
    "slack": ("channel_name", "auth_token"),
    "pubsub": ("topic",),
    "webhook_tokenauth": ("url",),
}
TOPIC_RE = re.compile(r"^projects/[^/]+/topics/[^/]+$")

# AlertPolicy.conditions: "A policy can have from one to six conditions."
MAX_CONDITIONS = 6
COMBINERS = ("OR", "AND", "AND_WITH_MATCHING_RESOURCE")
SEVERITIES = ("CRITICAL", "ERROR", "WARNING")
# ComparisonType, with the operators a task may write instead.
COMPARISONS = {">": "COMPARISON_GT", ">=": "COMPARISON_GE", "<": "COMPARISON_LT", "<=": "COMPARISON_LE", "==": "COMPARISON_EQ",
               "!=": "COMPARISON_NE"}
ALIGNERS = ("ALIGN_NONE", "ALIGN_DELTA", "ALIGN_RATE", "ALIGN_INTERPOLATE", "ALIGN_NEXT_OLDER", "ALIGN_MIN", "ALIGN_MAX", "ALIGN_MEAN",
            "ALIGN_COUNT", "ALIGN_SUM", "ALIGN_STDDEV", "ALIGN_COUNT_TRUE", "ALIGN_COUNT_FALSE", "ALIGN_FRACTION_TRUE",
            "ALIGN_PERCENTILE_99", "ALIGN_PERCENTILE_95", "ALIGN_PERCENTILE_50", "ALIGN_PERCENTILE_05", "ALIGN_PERCENT_CHANGE")
REDUCERS = ("REDUCE_NONE", "REDUCE_MEAN", "REDUCE_MIN", "REDUCE_MAX", "REDUCE_SUM", "REDUCE_STDDEV", "REDUCE_COUNT", "REDUCE_COUNT_TRUE",
            "REDUCE_COUNT_FALSE", "REDUCE_FRACTION_TRUE", "REDUCE_PERCENTILE_99", "REDUCE_PERCENTILE_95", "REDUCE_PERCENTILE_50",
            "REDUCE_PERCENTILE_05")
# UptimeCheckConfig.period: "the only supported values are 60s (1 minute), 300s (5 minutes), 600s (10 minutes), and 900s
# (15 minutes)"; timeout: "must be between 1 and 60 seconds".
UPTIME_PERIODS = (60, 300, 600, 900)
UPTIME_TIMEOUT = (1, 60)
# The checker regions of selectedRegions and their checkers ("The uptime-check region USA includes the USA_OREGON, USA_IOWA,
# and USA_VIRGINIA regions. Each of the USA_* regions has one checker [...] EUROPE, SOUTH_AMERICA, and ASIA_PACIFIC, each
# have one checker", https://cloud.google.com/monitoring/uptime-checks/introduction); "If this field is specified, enough
# regions must be provided to include a minimum of 3 locations."
CHECKERS = {"USA": ("USA_OREGON", "USA_IOWA", "USA_VIRGINIA"), "EUROPE": ("EUROPE",), "SOUTH_AMERICA": ("SOUTH_AMERICA",),
            "ASIA_PACIFIC": ("ASIA_PACIFIC",), "USA_OREGON": ("USA_OREGON",), "USA_IOWA": ("USA_IOWA",), "USA_VIRGINIA": ("USA_VIRGINIA",)}
MIN_CHECKERS = 3
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx", "any")  # ResponseStatusCode.statusClass, STATUS_CLASS_2XX...
# What an update may change. UpdateUptimeCheckConfigRequest names "display_name, http_check, tcp_check, timeout,
# content_matchers, and selected_regions", a list older than user labels; Google's Terraform provider also updates the
# period and the user labels in place, and replaces a check whose monitored resource (the host) changes
# (magic-modules mmv1/products/monitoring/UptimeCheckConfig.yaml: monitoredResource immutable, period and userLabels not).
UPTIME_UPDATABLE = ("displayName", "httpCheck", "period", "timeout", "contentMatchers", "selectedRegions", "userLabels")
PLOTS = ("LINE", "STACKED_AREA", "STACKED_BAR", "HEATMAP")  # DataSet.plotType
LAYOUTS = ("gridLayout", "mosaicLayout", "rowLayout", "columnLayout")
WIDGET_KINDS = ("chart", "alert", "text")
DURATION_RE = re.compile(r"^\s*(\d+)\s*(s|m|h)?\s*$")
UNIT_SECONDS = {None: 1, "s": 1, "m": 60, "h": 3600}

COMMON = dict(
    display_name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    user_labels=dict(type="dict", default={}),
)
ENABLED = dict(enabled=dict(type="bool", default=True))

CHANNEL_SPEC = dict(
    argument_spec=dict(
        COMMON, **ENABLED,
        type=dict(type="str"),
        description=dict(type="str", default=""),
        labels=dict(type="dict", default={}),
        secret_labels=dict(type="dict", default={}, no_log=True),
        update_secret_labels=dict(type="bool", default=False),
        force=dict(type="bool", default=False),
    ),
    required_if=[("state", "present", ("type",))],
    libraries=MONITORING_LIBRARIES,
)

CONDITION_SPEC = dict(
    display_name=dict(type="str", required=True),
    kind=dict(type="str", default="threshold", choices=["threshold", "absent"]),
    filter=dict(type="str"),
    denominator_filter=dict(type="str"),
    comparison=dict(type="str"),
    threshold=dict(type="raw"),
    duration=dict(type="raw", default="0s"),
    alignment_period=dict(type="raw"),
    aligner=dict(type="str"),
    reducer=dict(type="str"),
    group_by=dict(type="list", elements="str", default=[]),
    trigger_count=dict(type="int"),
)

POLICY_SPEC = dict(
    argument_spec=dict(
        COMMON, **ENABLED,
        combiner=dict(type="str", default="OR"),
        severity=dict(type="str"),
        conditions=dict(type="list", elements="dict", options=CONDITION_SPEC, default=[]),
        notification_channels=dict(type="list", elements="str", default=[]),
        documentation=dict(type="str"),
    ),
    libraries=MONITORING_LIBRARIES,
)

UPTIME_SPEC = dict(
    argument_spec=dict(
        COMMON,
        url=dict(type="str"),
        period=dict(type="raw", default="60s"),
        timeout=dict(type="raw", default="10s"),
        content_matcher=dict(type="str"),
        accepted_status_classes=dict(type="list", elements="str", default=["2xx"]),
        regions=dict(type="list", elements="str", default=[]),
        recreate=dict(type="bool", default=False),
    ),
    required_if=[("state", "present", ("url",))],
    libraries=MONITORING_LIBRARIES,
)

CHART_SPEC = dict(
    filter=dict(type="str"),
    aligner=dict(type="str"),
    alignment_period=dict(type="raw"),
    reducer=dict(type="str"),
    group_by=dict(type="list", elements="str", default=[]),
    plot=dict(type="str", default="LINE"),
    thresholds=dict(type="list", elements="raw", default=[]),
)

WIDGET_SPEC = dict(
    title=dict(type="str", required=True),
    chart=dict(type="dict", options=CHART_SPEC),
    alert=dict(type="str"),
    text=dict(type="str"),
)

DASHBOARD_SPEC = dict(
    argument_spec=dict(
        display_name=COMMON["display_name"],
        state=COMMON["state"],
        columns=dict(type="int", default=2),
        widgets=dict(type="list", elements="dict", options=WIDGET_SPEC, default=[]),
    ),
    libraries=MONITORING_LIBRARIES,
)


# ---------------------------------------------------------------- shared

def identity(display_name):
    """The value of the orchestra_id label of the resource named ``display_name``: a label value (lowercase letters,
    digits, '_' and '-', at most 63)."""
    return re.sub(r"[^a-z0-9_-]+", "-", display_name.lower()).strip("-")[:MAX_LABEL_VALUE]


def _display_name_problems(display_name):
    if not display_name.strip():
        return ["display_name must not be empty"]
    if not identity(display_name):
        return ["display_name %r needs at least one letter or digit" % display_name]
    return []


def _common_problems(p):
    problems = _display_name_problems(p["display_name"])
    if ID_LABEL in p["user_labels"]:
        problems.append("user label %r is the module's own (it finds the resource by it): leave it out" % ID_LABEL)
    problems += label_problems(p["user_labels"])
    return problems


def _quoted(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def _projects(session):
    return session.discovery("monitoring", "v3").projects()


def _find(session, collection, key, what, display_name, parent="name"):
    """The one resource of ``collection`` carrying this display name's orchestra_id label and this display name; None.
    ``parent`` is the list method's parameter naming the project."""
    resource = "%s %r" % (what, display_name)
    found = session.execute_all("list", resource, lambda token: collection.list(
        **{parent: "projects/%s" % session.project}, filter="user_labels.%s = %s" % (ID_LABEL, _quoted(identity(display_name))), pageToken=token), key)
    # Checked here too: the filter narrows the list, these are what make a resource the module's.
    found = [item for item in found if item.get("displayName") == display_name and (item.get("userLabels") or {}).get(ID_LABEL) == identity(display_name)]
    if len(found) > 1:
        raise GcpError("Found %d %ss named %r with label %s (%s): the module cannot tell which is its own. Nothing was changed. Hint: "
                       "delete all but one." % (len(found), what, display_name, ID_LABEL, ", ".join(sorted(i["name"] for i in found))))
    return found[0] if found else None


def _user_labels(p):
    return dict(p["user_labels"], **{ID_LABEL: identity(p["display_name"])})


def _changed(want, have):
    return sorted(key for key, value in want.items() if value != have.get(key))


def _snake(key):
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), key)


def _read(session, resource, request):
    """The resource a get ``request`` reads; None when Google has none."""
    try:
        return session.execute("read", resource, request, idempotent=True)
    except GcpError as e:
        if e.status == "NOT_FOUND":
            return None
        raise


# ---------------------------------------------------------------- notification channels

def validate_channel_params(p):
    resource = "notification channel %r" % p["display_name"]
    problems = _common_problems(p)
    if p["state"] == "present":
        kind = p["type"]
        labels = dict(p["labels"], **p["secret_labels"])
        if kind not in CHANNEL_LABELS:
            problems.append("type %r is not a channel type: %s" % (kind, ", ".join(sorted(CHANNEL_LABELS))))
        else:
            keys = CHANNEL_LABELS[kind]
            problems += ["label %r is not a label of a %s channel (%s)" % (key, kind, ", ".join(keys)) for key in sorted(labels) if key not in keys]
            problems += ["a %s channel needs label %r" % (kind, key) for key in keys if key not in labels]
            problems += ["label %r must not be empty" % key for key in keys if key in labels and str(labels[key]) == ""]
        problems += ["label %r is a secret: give it in secret_labels (hidden from logs) rather than labels" % key
                     for key in sorted(p["labels"]) if key in SECRET_LABELS]
        problems += ["secret_labels holds %r, which is no secret: give it in labels" % key for key in sorted(p["secret_labels"])
                     if key not in SECRET_LABELS]
        address = labels.get("email_address")
        if kind == "email" and address and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", str(address)):
            problems.append("email_address %r is not an e-mail address" % address)
        topic = labels.get("topic")
        if kind == "pubsub" and topic and not TOPIC_RE.match(str(topic)):
            problems.append("topic %r must be a full topic name, projects/PROJECT/topics/TOPIC" % topic)
        url = labels.get("url")
        if kind == "webhook_tokenauth" and url and not str(url).startswith(("https://", "http://")):
            problems.append("url %r must be an http(s) URL" % url)
    if problems:
        raise invalid(resource, problems)


def _public(labels):
    return {key: str(value) for key, value in (labels or {}).items() if key not in SECRET_LABELS}


def channel_view(channel):
    """The channel as Google returns it, its secret labels left out."""
    if channel is None:
        return None
    view = dict(channel)
    view["labels"] = _public(channel.get("labels"))
    return view


def _channel_options(channel):
    if channel is None:
        return {}
    return dict(type=channel.get("type"), description=channel.get("description", ""), enabled=channel.get("enabled", True),
                labels=_public(channel.get("labels")), userLabels=dict(channel.get("userLabels") or {}))


def manage_channel(session):
    """monitoring_notification_channel: the channel exists with the options given, or is gone."""
    p = session.params
    validate_channel_params(p)
    channels = _projects(session).notificationChannels()
    resource = "notification channel %r" % p["display_name"]
    current = _find(session, channels, "notificationChannels", "notification channel", p["display_name"])
    before = _channel_options(current)
    if p["state"] == "absent":
        if current is not None and not session.check_mode:
            session.execute("delete", resource, channels.delete(name=current["name"], force=p["force"]), idempotent=True)
        return dict(changed=current is not None, channel=None, diff=dict(before=before, after={}))

    want = dict(type=p["type"], description=p["description"], enabled=p["enabled"], labels=_public(p["labels"]), userLabels=_user_labels(p))
    body = dict(want, displayName=p["display_name"], labels=dict(want["labels"], **{k: str(v) for k, v in p["secret_labels"].items()}))
    if current is None:
        final = body
        if not session.check_mode:
            final = session.execute("create", resource, channels.create(name="projects/%s" % session.project, body=body), idempotent=False)
        return dict(changed=True, channel=channel_view(final), changed_options=sorted(want), diff=dict(before={}, after=_channel_options(final)))

    keys = _changed(want, before)
    if "type" in keys:
        raise GcpError("Cannot change the type of %s from %s to %s. Nothing was changed. Hint: delete it (state=absent, with force=true "
                       "when policies use it) and create it again." % (resource, current.get("type"), p["type"]))
    if p["update_secret_labels"] and p["secret_labels"] and "labels" not in keys:
        keys.append("labels")  # a secret cannot be read back to compare: written on every run when asked
    final = current
    if keys and not session.check_mode:
        final = session.execute("update", resource, channels.patch(name=current["name"], body=body, updateMask=",".join(_snake(k) for k in keys)),
                                idempotent=True)
    elif keys:
        final = dict(current, **body)
    return dict(changed=bool(keys), channel=channel_view(final), changed_options=sorted(_snake(k) for k in keys),
                diff=dict(before=before, after=_channel_options(final)))


# ---------------------------------------------------------------- alert policies

def _seconds(value):
    """A duration as whole seconds: an int of seconds, or "300s", "5m", "1h"; None when it is none of these."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    found = DURATION_RE.match(str(value))
    return int(found.group(1)) * UNIT_SECONDS[found.group(2)] if found else None


def _comparison(value):
    value = str(value or "").strip()
    return COMPARISONS.get(value) or (value.upper() if value.upper() in COMPARISONS.values() else None)


def _number(value):
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _aggregation_problems(where, a, whole_minutes):
    """What is wrong with the aligner, reducer, group_by and alignment_period of ``a`` (a condition, a chart). Alert
    policies take whole minutes only; Aggregation.alignmentPeriod: "The value must be at least 60 seconds"."""
    problems = []
    if a["aligner"] is not None and a["aligner"] not in ALIGNERS:
        problems.append("%s: aligner %r is none of Google's (%s)" % (where, a["aligner"], ", ".join(ALIGNERS)))
    if a["reducer"] is not None and a["reducer"] not in REDUCERS:
        problems.append("%s: reducer %r is none of Google's (%s)" % (where, a["reducer"], ", ".join(REDUCERS)))
    if a["reducer"] not in (None, "REDUCE_NONE") and a["aligner"] in (None, "ALIGN_NONE"):
        problems.append("%s: reducer %s needs an aligner other than ALIGN_NONE" % (where, a["reducer"]))
    if a["group_by"] and a["reducer"] in (None, "REDUCE_NONE"):
        problems.append("%s: group_by needs a reducer" % where)
    if a["alignment_period"] is not None:
        period = _seconds(a["alignment_period"])
        if period is None or period < 60 or (whole_minutes and period % 60):
            rule = "whole minutes, at least 60s" if whole_minutes else "at least 60s, like 60s or 5m"
            problems.append("%s: alignment_period %r must be %s" % (where, a["alignment_period"], rule))
    elif a["aligner"] not in (None, "ALIGN_NONE"):
        problems.append("%s: aligner %s needs an alignment_period" % (where, a["aligner"]))
    return problems


def _aggregation(a):
    """The Aggregation of a condition or a chart: only what is given."""
    aggregation = {}
    if a["alignment_period"] is not None:
        aggregation["alignmentPeriod"] = "%ds" % _seconds(a["alignment_period"])
    if a["aligner"] is not None:
        aggregation["perSeriesAligner"] = a["aligner"]
    if a["reducer"] is not None:
        aggregation["crossSeriesReducer"] = a["reducer"]
    if a["group_by"]:
        aggregation["groupByFields"] = list(a["group_by"])
    return aggregation


def _condition_problems(i, c):
    where = "condition %d (%r)" % (i + 1, c["display_name"])
    problems = []
    if not (c["filter"] or "").strip():
        problems.append("%s needs a filter, like metric.type=\"run.googleapis.com/request_count\"" % where)
    duration = _seconds(c["duration"])
    if duration is None:
        problems.append("%s: duration %r is not a duration like 300s or 5m" % (where, c["duration"]))
    elif duration % 60:
        problems.append("%s: duration %r must be whole minutes (Google supports multiples of 1 minute only)" % (where, c["duration"]))
    if c["kind"] == "threshold":
        if c["comparison"] is None:
            problems.append("%s needs a comparison: %s" % (where, ", ".join(COMPARISONS)))
        elif _comparison(c["comparison"]) is None:
            problems.append("%s: comparison %r is none of %s (or Google's COMPARISON_GT...)" % (where, c["comparison"], ", ".join(COMPARISONS)))
        if c["threshold"] is None:
            problems.append("%s needs a threshold" % where)
        elif _number(c["threshold"]) is None:
            problems.append("%s: threshold %r is not a number" % (where, c["threshold"]))
    else:
        problems += ["%s: an absence condition takes no %s" % (where, key) for key in ("comparison", "threshold", "denominator_filter")
                     if c[key] is not None]
    if c["denominator_filter"] is not None and not c["denominator_filter"].strip():
        problems.append("%s: denominator_filter must not be empty (leave it out for a plain threshold)" % where)
    problems += _aggregation_problems(where, c, whole_minutes=True)
    if c["trigger_count"] is not None and c["trigger_count"] < 1:
        problems.append("%s: trigger_count must be at least 1" % where)
    return problems


def validate_policy_params(p):
    resource = "alert policy %r" % p["display_name"]
    problems = _common_problems(p)
    if p["state"] == "present":
        if p["combiner"] not in COMBINERS:
            problems.append("combiner %r is none of %s" % (p["combiner"], ", ".join(COMBINERS)))
        if p["severity"] is not None and p["severity"] not in SEVERITIES:
            problems.append("severity %r is none of %s" % (p["severity"], ", ".join(SEVERITIES)))
        if not 1 <= len(p["conditions"]) <= MAX_CONDITIONS:
            problems.append("a policy has from 1 to %d conditions, not %d" % (MAX_CONDITIONS, len(p["conditions"])))
        names = [c["display_name"] for c in p["conditions"]]
        problems += ["two conditions are named %r" % name for name in sorted(set(n for n in names if names.count(n) > 1))]
        for i, condition in enumerate(p["conditions"]):
            problems += _condition_problems(i, condition)
        problems += ["notification_channels holds an empty name" for name in p["notification_channels"] if not name.strip()][:1]
    if problems:
        raise invalid(resource, problems)


def _condition(c):
    body = dict(filter=c["filter"], duration="%ds" % _seconds(c["duration"]))
    if c["kind"] == "threshold":
        body.update(comparison=_comparison(c["comparison"]), thresholdValue=_number(c["threshold"]))
    aggregation = _aggregation(c)
    if aggregation:
        body["aggregations"] = [aggregation]
    if c["denominator_filter"]:  # a ratio: numerator and denominator aggregated alike, then divided series by series
        body["denominatorFilter"] = c["denominator_filter"]
        if aggregation:
            body["denominatorAggregations"] = [dict(aggregation)]
    if c["trigger_count"] is not None:
        body["trigger"] = {"count": c["trigger_count"]}
    return {"displayName": c["display_name"], "condition" + ("Threshold" if c["kind"] == "threshold" else "Absent"): body}


def _policy_options(policy):
    """What the module compares of a live policy (its conditions without the names Google gave them)."""
    if policy is None:
        return {}
    conditions = [{k: v for k, v in c.items() if k != "name"} for c in policy.get("conditions", [])]
    for condition in conditions:
        if "conditionThreshold" in condition:  # proto3: Google leaves a threshold of 0 out
            condition["conditionThreshold"] = dict(condition["conditionThreshold"],
                                                   thresholdValue=float(condition["conditionThreshold"].get("thresholdValue", 0)))
    return dict(combiner=policy.get("combiner"), enabled=policy.get("enabled", True), conditions=conditions,
                notificationChannels=sorted(policy.get("notificationChannels", [])), documentation=policy.get("documentation"),
                userLabels=dict(policy.get("userLabels") or {}), severity=policy.get("severity"))


def _resolve(session, key, what, user, names):
    """{display name: resource name} of the resources of ``key`` (notificationChannels, alertPolicies) with these display
    names, the module's or not; ``user`` (the policy, the dashboard) is what names them."""
    collection = getattr(_projects(session), key)()
    resolved, missing = {}, []
    for name in names:
        found = session.execute_all("list", "%s %r" % (what, name), lambda token, name=name: collection.list(
            name="projects/%s" % session.project, filter="display_name = %s" % _quoted(name), pageToken=token), key)
        found = [c for c in found if c.get("displayName") == name]
        if len(found) > 1:
            raise GcpError("%d %ss are named %r (%s): the %s cannot tell which to use. Nothing was changed."
                           % (len(found), what, name, ", ".join(sorted(c["name"] for c in found)), user))
        if found:
            resolved[name] = found[0]["name"]
        else:
            missing.append(name)
    if missing and not session.check_mode:
        raise GcpError("No %s is named %s. Nothing was changed. Hint: create it first (orchestra.gcp.monitoring_%s)."
                       % (what, ", ".join(repr(m) for m in missing), what.replace(" ", "_")))
    for name in missing:  # in check mode, one an earlier task would have created
        session.warn("No %s is named %r yet; a run that is not in check mode fails unless it exists by then." % (what, name))
        resolved[name] = "projects/%s/%s/(%s)" % (session.project, key, name)
    return resolved


def resolve_channels(session, names):
    """The resource names of the channels with these display names (any channel, the module's or not)."""
    return list(_resolve(session, "notificationChannels", "notification channel", "policy", names).values())


def manage_policy(session):
    """monitoring_alert_policy: the policy exists with the conditions and options given, or is gone."""
    p = session.params
    validate_policy_params(p)
    policies = _projects(session).alertPolicies()
    resource = "alert policy %r" % p["display_name"]
    current = _find(session, policies, "alertPolicies", "alert policy", p["display_name"])
    before = _policy_options(current)
    if p["state"] == "absent":
        if current is not None and not session.check_mode:
            session.execute("delete", resource, policies.delete(name=current["name"]), idempotent=True)
        return dict(changed=current is not None, policy=None, diff=dict(before=before, after={}))

    want = dict(combiner=p["combiner"], enabled=p["enabled"], conditions=[_condition(c) for c in p["conditions"]],
                notificationChannels=sorted(resolve_channels(session, p["notification_channels"])),
                documentation={"content": p["documentation"], "mimeType": "text/markdown"} if p["documentation"] else None,
                userLabels=_user_labels(p), severity=p["severity"])
    body = dict({k: v for k, v in want.items() if v is not None}, displayName=p["display_name"])
    if current is None:
        final = body
        if not session.check_mode:
            final = session.execute("create", resource, policies.create(name="projects/%s" % session.project, body=body), idempotent=False)
        return dict(changed=True, policy=final, changed_options=sorted(_snake(k) for k in want),
                    diff=dict(before={}, after=_policy_options(final)))
    keys = _changed(want, before)
    final = current
    if keys and not session.check_mode:
        final = session.execute("update", resource, policies.patch(name=current["name"], body=body, updateMask=",".join(_snake(k) for k in keys)),
                                idempotent=True)
    elif keys:
        final = dict(current, **body)
    return dict(changed=bool(keys), policy=final, changed_options=sorted(_snake(k) for k in keys),
                diff=dict(before=before, after=_policy_options(final)))


# ---------------------------------------------------------------- alerting, as it stands

ALERT_INFO_SPEC = dict(
    argument_spec=dict(
        user_labels=dict(type="dict", default={}),
        window=dict(type="raw", default="1h"),
    ),
    libraries=MONITORING_LIBRARIES,
)
SYMBOLS = {value: key for key, value in COMPARISONS.items()}


def _duration_text(value):
    """Google's "300s" as a person says it: 5m, 1h30m, 0s."""
    total = int(float(str(value or "0s").rstrip("s")))
    parts = [(total // 3600, "h"), (total % 3600 // 60, "m"), (total % 60, "s")]
    return "".join("%d%s" % (n, unit) for n, unit in parts if n) or "0s"


def condition_summary(condition):
    """What a condition of a live policy watches and from which threshold, in plain data."""
    threshold = condition.get("conditionThreshold")
    body = threshold if threshold is not None else condition.get("conditionAbsent") or {}
    aggregation = (body.get("aggregations") or [{}])[0]
    return dict(display_name=condition.get("displayName"), kind="threshold" if threshold is not None else "absent", filter=body.get("filter"),
                denominator_filter=body.get("denominatorFilter"), comparison=SYMBOLS.get(body.get("comparison")),
                threshold=body.get("thresholdValue", 0.0 if threshold is not None else None), duration=_duration_text(body.get("duration")),
                aligner=aggregation.get("perSeriesAligner"), reducer=aggregation.get("crossSeriesReducer"),
                group_by=aggregation.get("groupByFields", []))


def _policy_id(name):
    """The policy's ID: an alert names its policy under the project's ID or number."""
    return (name or "").rsplit("/", 1)[-1]


def _alert_summary(alert, since, until):
    """An alert in plain data, with its span in the window: seconds from the window's start to its opening and to its
    closing (the window's end while it is open)."""
    opened, closed = epoch(alert.get("openTime")) or since, epoch(alert.get("closeTime")) or until
    return dict(name=alert.get("name"), state=alert.get("state"), open_time=alert.get("openTime"), close_time=alert.get("closeTime"),
                resource_labels=(alert.get("resource") or {}).get("labels", {}), metric_labels=(alert.get("metric") or {}).get("labels", {}),
                span=[round(max(opened, since) - since), round(min(closed, until) - since)])


def describe_alerting(session):
    """monitoring_alert_info: the policies with these user labels, each with its conditions, its channels and the alerts it
    opened in the window (or still open)."""
    p = session.params
    window = _seconds(p["window"])
    problems = label_problems(p["user_labels"])
    if window is None or window <= 0:
        problems.append("window %r is not a duration like 3600, 90m or 1h" % p["window"])
    if problems:
        raise invalid("the alerting of project %s" % session.project, problems)
    projects = _projects(session)
    parent = "projects/%s" % session.project
    label_filter = " AND ".join("user_labels.%s = %s" % (key, _quoted(str(value))) for key, value in sorted(p["user_labels"].items()))
    policies = session.execute_all("list", "the alert policies of project %s" % session.project, lambda token: projects.alertPolicies().list(
        name=parent, filter=label_filter or None, pageToken=token), "alertPolicies")
    policies = [policy for policy in policies if all((policy.get("userLabels") or {}).get(k) == str(v) for k, v in p["user_labels"].items())]
    channels = {channel["name"]: channel for channel in session.execute_all(
        "list", "the notification channels of project %s" % session.project,
        lambda token: projects.notificationChannels().list(name=parent, pageToken=token), "notificationChannels")}
    alerts = session.execute_all("list", "the alerts of project %s" % session.project,
                                 lambda token: projects.alerts().list(parent=parent, pageToken=token), "alerts")
    until = time.time()
    since = until - window
    found = []
    for policy in sorted(policies, key=lambda item: item.get("displayName", "")):
        opened = [_alert_summary(alert, since, until) for alert in alerts if _policy_id((alert.get("policy") or {}).get("name")) == _policy_id(policy["name"])
                  and (alert.get("state") == "OPEN" or (epoch(alert.get("closeTime") or alert.get("openTime")) or 0) >= since)]
        found.append(dict(name=policy["name"], display_name=policy.get("displayName"), enabled=policy.get("enabled", True),
                          severity=policy.get("severity"), combiner=policy.get("combiner"),
                          documentation=(policy.get("documentation") or {}).get("content"),
                          conditions=[condition_summary(c) for c in policy.get("conditions", [])],
                          channels=[dict(name=name, display_name=channels.get(name, {}).get("displayName"), type=channels.get(name, {}).get("type"))
                                    for name in policy.get("notificationChannels", [])],
                          alerts=sorted(opened, key=lambda a: a["open_time"] or ""),
                          open=any(a["state"] == "OPEN" for a in opened), fired=bool(opened)))
    return dict(changed=False, policies=found, window_seconds=window, since=rfc3339(since), until=rfc3339(until))


# ---------------------------------------------------------------- time series written by a task

# Metric types a project may write (https://cloud.google.com/monitoring/api/v3/naming-conventions: user-defined
# custom.googleapis.com/PATH, and workload.googleapis.com/PATH as OpenTelemetry writes them).
METRIC_PREFIXES = ("custom.googleapis.com/", "workload.googleapis.com/")
METRIC_PATH_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
# LabelDescriptor.key (https://cloud.google.com/monitoring/api/ref_v3/rest/v3/LabelDescriptor): "Does not exceed 100
# characters. Matches the following regular expression: [a-zA-Z][a-zA-Z0-9_]*"; values of a STRING label: "not to
# exceed 1,024 characters".
METRIC_LABEL_KEY_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,99}$")
MAX_METRIC_LABEL_VALUE = 1024
# The labels of the monitored resources a custom metric may be written on
# (https://cloud.google.com/monitoring/custom-metrics/creating-metrics#custom-metric-resources,
# https://cloud.google.com/monitoring/api/resources#tag_generic_task): project_id is filled in.
RESOURCE_LABELS = {
    "global": ("project_id",),
    "generic_task": ("project_id", "location", "namespace", "job", "task_id"),
    "generic_node": ("project_id", "location", "namespace", "node_id"),
}
POINT_VALUE_TYPES = ("INT64", "DOUBLE", "BOOL")

TIME_SERIES_SPEC = dict(
    argument_spec=dict(
        metric_type=dict(type="str", required=True),
        metric_labels=dict(type="dict", default={}),
        resource_type=dict(type="str", default="global", choices=list(RESOURCE_LABELS)),
        resource_labels=dict(type="dict", default={}),
        value=dict(type="raw", required=True),
        value_type=dict(type="str", choices=list(POINT_VALUE_TYPES)),
    ),
    libraries=MONITORING_LIBRARIES,
)


def point_value(value, value_type):
    """``(value_type, typed value)`` of a point, the type inferred from the value when not given; (None, why) when they
    do not fit. Strings (a templated value) are read as a boolean, a whole number or a number."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("true", "false"):
            value = text.lower() == "true"
        else:
            try:
                value = int(text)
            except ValueError:
                value = _number(text)
    if not isinstance(value, (bool, int, float)):
        return None, "is not a number nor a boolean"
    if isinstance(value, float) and not math.isfinite(value):
        return None, "is not a finite number"
    inferred = "BOOL" if isinstance(value, bool) else "INT64" if isinstance(value, int) else "DOUBLE"
    value_type = value_type or inferred
    if (value_type == "BOOL") != (inferred == "BOOL"):
        return None, "does not fit value_type %s" % value_type
    if value_type == "INT64" and inferred == "DOUBLE":
        if not value.is_integer():
            return None, "is not a whole number, as value_type INT64 needs"
        value = int(value)
    return value_type, float(value) if value_type == "DOUBLE" else value


def validate_time_series_params(p):
    resource = "time series of %r" % p["metric_type"]
    problems = []
    prefix = next((pre for pre in METRIC_PREFIXES if p["metric_type"].startswith(pre)), None)
    if prefix is None:
        problems.append("metric_type %r must start with %s: a task writes only user-defined metrics" % (p["metric_type"], " or ".join(METRIC_PREFIXES)))
    elif not METRIC_PATH_RE.match(p["metric_type"][len(prefix):]):
        problems.append("metric_type %r needs a path after %s of letters, digits, '_', '.', '-' parted by '/'" % (p["metric_type"], prefix))
    problems += ["metric label key %r must start with a letter and hold at most 100 letters, digits or '_'" % key
                 for key in sorted(p["metric_labels"]) if not METRIC_LABEL_KEY_RE.match(str(key))]
    problems += ["metric label %r: its value holds more than %d characters" % (key, MAX_METRIC_LABEL_VALUE)
                 for key, value in sorted(p["metric_labels"].items()) if len(str(value)) > MAX_METRIC_LABEL_VALUE]
    labels = [key for key in RESOURCE_LABELS[p["resource_type"]] if key != "project_id"]
    if "project_id" in p["resource_labels"]:
        problems.append("resource label 'project_id' is the task's project, filled in: leave it out (or set the project option)")
    problems += ["resource label %r is not a label of a %s resource (%s)" % (key, p["resource_type"], ", ".join(labels) or "only project_id")
                 for key in sorted(p["resource_labels"]) if key not in labels + ["project_id"]]
    problems += ["a %s resource needs label %r" % (p["resource_type"], key) for key in labels if str(p["resource_labels"].get(key) or "") == ""]
    value_type, why = point_value(p["value"], p["value_type"])
    if value_type is None:
        problems.append("value %r %s" % (p["value"], why))
    if problems:
        raise invalid(resource, problems)


def time_series(p, project, end_time):
    """The TimeSeries of one GAUGE point at ``end_time`` (RFC 3339)."""
    value_type, value = point_value(p["value"], p["value_type"])
    typed = {"INT64": {"int64Value": str(value)}, "DOUBLE": {"doubleValue": value}, "BOOL": {"boolValue": value}}[value_type]
    return {
        "metric": {"type": p["metric_type"], "labels": {key: str(v) for key, v in p["metric_labels"].items()}},
        "resource": {"type": p["resource_type"], "labels": dict({key: str(v) for key, v in p["resource_labels"].items()}, project_id=project)},
        "metricKind": "GAUGE", "valueType": value_type,
        "points": [{"interval": {"endTime": end_time}, "value": typed}],
    }


def write_time_series(session):
    """monitoring_time_series: one point written now; in check mode, the point that would be written."""
    p = session.params
    validate_time_series_params(p)
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
    series = time_series(p, session.project, now)
    if session.check_mode:
        return dict(changed=True, time_series=series, diff=dict(before={}, after=series))
    try:
        session.execute("write", "time series of %r" % p["metric_type"],
                        _projects(session).timeSeries().create(name="projects/%s" % session.project, body={"timeSeries": [series]}),
                        idempotent=False)
    except GcpError as e:
        if "more frequently than the maximum sampling period" not in e.msg:
            raise
        raise GcpError(e.msg.rsplit(" Hint: ", 1)[0] + " Hint: a series takes at most one point every 5 seconds: write less often, or tell "
                       "the writers apart with a metric label.", status=e.status)
    return dict(changed=True, time_series=series, diff=dict(before={}, after=series))


# ---------------------------------------------------------------- uptime checks

def _url(url):
    """(host, port, path, https) of an http(s) URL (the port given, else the scheme's); None when it is not one."""
    parts = urlsplit(str(url).strip())
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username is not None or parts.fragment:
        return None
    https = parts.scheme == "https"
    return parts.hostname, port or (443 if https else 80), (parts.path or "/") + ("?" + parts.query if parts.query else ""), https


def _regions(p):
    return [str(region).upper() for region in p["regions"]]


def validate_uptime_params(p):
    resource = "uptime check %r" % p["display_name"]
    problems = _common_problems(p)
    if p["state"] == "present":
        if _url(p["url"]) is None:
            problems.append("url %r is not an http(s) URL like https://HOST[:PORT]/PATH (without a user or a #fragment)" % p["url"])
        if _seconds(p["period"]) not in UPTIME_PERIODS:
            problems.append("period %r is none of those Google allows: 60s, 5m, 10m or 15m" % p["period"])
        timeout = _seconds(p["timeout"])
        if timeout is None or not UPTIME_TIMEOUT[0] <= timeout <= UPTIME_TIMEOUT[1]:
            problems.append("timeout %r must be from 1s to 60s" % p["timeout"])
        if p["content_matcher"] == "":
            problems.append("content_matcher must not be empty: leave it out to check the status only")
        if not p["accepted_status_classes"]:
            problems.append("accepted_status_classes must name at least one class, like 2xx")
        problems += ["accepted status class %r is none of %s" % (c, ", ".join(STATUS_CLASSES)) for c in p["accepted_status_classes"]
                     if str(c).lower() not in STATUS_CLASSES]
        unknown = [region for region in _regions(p) if region not in CHECKERS]
        problems += ["region %r is none of Google's checker regions (%s)" % (region, ", ".join(CHECKERS)) for region in unknown]
        checkers = set(checker for region in _regions(p) for checker in CHECKERS.get(region, ()))
        if p["regions"] and not unknown and len(checkers) < MIN_CHECKERS:
            problems.append("regions %s hold %d checker(s): Google needs at least %d; add regions, or give none for all of them"
                            % (", ".join(_regions(p)), len(checkers), MIN_CHECKERS))
    if problems:
        raise invalid(resource, problems)


def _uptime_check(p, project):
    """The check the task describes, as Google holds it."""
    host, port, path, https = _url(p["url"])
    http = dict(path=path, port=port, useSsl=https, validateSsl=https, requestMethod="GET",
                acceptedResponseStatusCodes=[{"statusClass": "STATUS_CLASS_" + str(c).upper()} for c in p["accepted_status_classes"]])
    return dict(displayName=p["display_name"], monitoredResource={"type": "uptime_url", "labels": {"host": host, "project_id": project}},
                httpCheck=http, period="%ds" % _seconds(p["period"]), timeout="%ds" % _seconds(p["timeout"]),
                contentMatchers=[{"content": p["content_matcher"], "matcher": "CONTAINS_STRING"}] if p["content_matcher"] else [],
                selectedRegions=_regions(p), userLabels=_user_labels(p))


def _uptime_changes(want, have):
    """The fields of ``want`` that ``have`` holds otherwise: the user labels whole, the others as given."""
    return sorted(key for key, value in want.items()
                  if not (value == dict(have.get(key) or {}) if key == "userLabels" else given_fields_same(value, have.get(key))))


def _fields(resource, keys):
    """The fields ``keys`` of a resource, for a diff; {} for none."""
    return {key: resource.get(key) for key in keys} if resource else {}


def manage_uptime_check(session):
    """monitoring_uptime_check: an HTTP(S) uptime check on a URL with the options given, or none."""
    p = session.params
    validate_uptime_params(p)
    checks = _projects(session).uptimeCheckConfigs()
    resource = "uptime check %r" % p["display_name"]
    current = _find(session, checks, "uptimeCheckConfigs", "uptime check", p["display_name"], parent="parent")
    if p["state"] == "absent":
        if current is not None and not session.check_mode:
            session.execute("delete", resource, checks.delete(name=current["name"]), idempotent=True)
        return dict(changed=current is not None, uptime_check=None, check_id=None,
                    diff=dict(before=current or {}, after={}))

    want = _uptime_check(p, session.project)
    keys = sorted(want) if current is None else _uptime_changes(want, current)
    fixed = [key for key in keys if key not in UPTIME_UPDATABLE]
    if current is not None and fixed and not p["recreate"]:
        raise GcpError("Cannot change the %s of %s in place: Google does not update the host a check requests. Nothing was changed. "
                       "Hint: set recreate=true to delete the check and create it again (its check_id changes: alert policies and charts "
                       "on it must follow), or keep the live value (%s)."
                       % (", ".join(_snake(k) for k in fixed), resource, "; ".join("%s: %s" % (_snake(k), current.get(k)) for k in fixed)))
    final = current
    if keys and session.check_mode:
        final = dict(current or {}, **want)
    elif current is None or fixed:
        if current is not None:
            session.execute("delete", resource, checks.delete(name=current["name"]), idempotent=True)
        final = session.execute("create", resource, checks.create(parent="projects/%s" % session.project, body=want), idempotent=False)
    elif keys:
        final = session.execute("update", resource, checks.patch(name=current["name"], body={k: want[k] for k in keys},
                                                                 updateMask=",".join(_snake(k) for k in keys)), idempotent=True)
    return dict(changed=bool(keys), uptime_check=final, check_id=short_name(final.get("name")) or None,
                changed_options=[_snake(k) for k in keys], diff=dict(before=_fields(current, want), after=_fields(final, want)))


# ---------------------------------------------------------------- dashboards

def _widget_problems(i, w):
    where = "widget %d (%r)" % (i + 1, w["title"])
    problems = [] if w["title"].strip() else ["widget %d needs a title" % (i + 1)]
    kinds = [kind for kind in WIDGET_KINDS if w[kind] is not None]
    if len(kinds) != 1:
        problems.append("%s needs exactly one of chart, alert or text, not %s" % (where, " and ".join(kinds) or "none"))
    chart = w["chart"]
    if chart is not None:
        if not (chart["filter"] or "").strip():
            problems.append("%s: a chart needs a filter, like metric.type=\"run.googleapis.com/request_count\"" % where)
        if chart["plot"] not in PLOTS:
            problems.append("%s: plot %r is none of %s" % (where, chart["plot"], ", ".join(PLOTS)))
        problems += ["%s: threshold %r is not a number" % (where, t) for t in chart["thresholds"] if _number(t) is None]
        problems += _aggregation_problems(where, chart, whole_minutes=False)
    if w["alert"] is not None and not w["alert"].strip():
        problems.append("%s: alert must name an alert policy by its display name" % where)
    if w["text"] is not None and not w["text"].strip():
        problems.append("%s: text must not be empty" % where)
    return problems


def validate_dashboard_params(p):
    resource = "dashboard %r" % p["display_name"]
    problems = _display_name_problems(p["display_name"])
    if p["state"] == "present":
        if p["columns"] < 1:
            problems.append("columns must be at least 1, not %d" % p["columns"])
        for i, widget in enumerate(p["widgets"]):
            problems += _widget_problems(i, widget)
    if problems:
        raise invalid(resource, problems)


def _widget(w, policies):
    """A widget of the grid: a chart (xyChart), an alert policy's chart (alertChart) or markdown (text)."""
    if w["chart"] is not None:
        c = w["chart"]
        query = {"timeSeriesFilter": {"filter": c["filter"], "aggregation": _aggregation(c)}}
        return {"title": w["title"], "xyChart": {"dataSets": [{"timeSeriesQuery": query, "plotType": c["plot"]}],
                                                 "thresholds": [{"value": _number(t)} for t in c["thresholds"]]}}
    if w["alert"] is not None:
        return {"title": w["title"], "alertChart": {"name": policies[w["alert"]]}}
    return {"title": w["title"], "text": {"content": w["text"], "format": "MARKDOWN"}}


def dashboard_name(project, display_name):
    """A dashboard's resource name: its ID is the slug of its display name, chosen by the module as Google allows."""
    return "projects/%s/dashboards/%s" % (project, identity(display_name))


def manage_dashboard(session):
    """monitoring_dashboard: a dashboard of the widgets given, on a grid, or none. Compared on what the task gives (Google
    fills in defaults); written with the etag read, read again once when another writer came between."""
    p = session.params
    validate_dashboard_params(p)
    dashboards = session.discovery("monitoring", "v1").projects().dashboards()
    name = dashboard_name(session.project, p["display_name"])
    resource = "dashboard %r (%s)" % (p["display_name"], name)
    if p["state"] == "absent":
        current = _read(session, resource, dashboards.get(name=name))
        if current is not None and not session.check_mode:
            session.execute("delete", resource, dashboards.delete(name=name), idempotent=True)
        return dict(changed=current is not None, dashboard=None, diff=dict(before=current or {}, after={}))

    alerts = [w["alert"] for w in p["widgets"] if w["alert"] is not None]
    policies = _resolve(session, "alertPolicies", "alert policy", "dashboard", list(dict.fromkeys(alerts)))
    want = {"displayName": p["display_name"], "gridLayout": {"columns": str(p["columns"]), "widgets": [_widget(w, policies) for w in p["widgets"]]}}

    def build(current):
        keys = sorted(want) if current is None else [key for key in sorted(want) if not given_fields_same(want[key], current.get(key))]
        if not keys:
            return None, keys
        # The dashboard is replaced whole: what else it holds is kept (labels, filters), but another layout.
        return dict({k: v for k, v in (current or {}).items() if k not in LAYOUTS}, name=name, **want), keys

    def write(current, body):
        if current is None:  # a named create: a repeat finds it ALREADY_EXISTS
            return session.execute("create", resource, dashboards.create(parent="projects/%s" % session.project, body=body), idempotent=True)
        return session.execute("update", resource, dashboards.patch(name=name, body=body), idempotent=True)

    # Another writer: a stale etag (ABORTED), or a create that lost to another (ALREADY_EXISTS); through
    # google-api-python-client every 409 reads as ALREADY_EXISTS, whatever status its body names.
    current, change, keys, written = session.read_modify_write(resource, lambda: _read(session, resource, dashboards.get(name=name)),
                                                               build, write, conflicts=("ABORTED", "ALREADY_EXISTS"), attempts=2)
    final = written or change or current
    return dict(changed=bool(keys), dashboard=final, changed_options=[_snake(k) for k in keys],
                diff=dict(before=_fields(current, want), after=_fields(final, want)))
