"""Cloud Monitoring v3 alerting (monitoring.v3.json), served by monitoring_v3.MonitoringV3: `projects.alertPolicies`,
`projects.notificationChannels`, `projects.notificationChannelDescriptors` and `projects.uptimeCheckConfigs`, with
uptime checks that really probe.

Stored under state["resources"]["monitoring.v3"]: "alertPolicies", "notificationChannels" and "uptimeCheckConfigs",
{resource name: the resource as Google returns it}. Shapes follow real recordings (k8s-config-connector's
monitoringalertpolicy and monitoringuptimecheckconfig logs, kept as tests/fixtures/google/monitoring_*.json):

- Google assigns the IDs. An alert policy and a notification channel get a number (a condition too, named
  `{policy}/conditions/{number}`); an uptime check a slug of its display name and a random suffix (the emulator's
  guess at Google's form). An alert policy carries `creationRecord` and `mutationRecord` ({mutateTime, mutatedBy});
  a notification channel `creationRecord` ({mutateTime}) and a list `mutationRecords`. `enabled` is true unless sent.
- Validation, where Google documents it: one to six conditions, each with exactly one condition type; a threshold
  condition needs a filter, a comparison and a duration; an aggregation's aligner needs an alignment period of at
  least 60 s, and a cross-series reducer an aligner. In Google's words, from real 400s
  (tests/fixtures/google/monitoring_alert_policy_errors.json): durations and alignment periods in whole minutes,
  evaluation_missing_data only with a non-zero duration, a log matching condition alone in its policy, and an aligner
  the metric's kind and value type refuse (for metrics the emulator writes). A channel's `type` must be a descriptor's, its `labels` that
  descriptor's keys, every key given. An uptime check's period is 60s, 300s, 600s or 900s, its timeout 1s to 60s.
- An uptime check's `authInfo.password` reads as "******" and, with `maskHeaders`, so do its header values (with a
  Content-Length header added when the check sends a body), as recorded. `checkerType` defaults to
  STATIC_IP_CHECKERS.

The prober: every enabled (not `disabled`) uptime check with an `httpCheck` on an `uptime_url` resource is requested
once per `period` (or every `uptime_check_period_seconds` when that admin config is above 0): one request, whose
outcome is written for every checker location of its regions (all six regions when none is selected) as the points
of `monitoring.googleapis.com/uptime_check/check_passed` (GAUGE BOOL) and `uptime_check/request_latency` (GAUGE
DOUBLE, ms), with metric labels check_id, checked_resource_id (the host) and checker_location on the `uptime_url`
resource (project_id, host), as recorded (tests/fixtures/google/monitoring_uptime_check_passed_series.json).
The prober is one thread that probes one check at a time; it runs once a state is loaded or a check is created or
patched, and ends before a reset or a stop (an outcome that arrives after that is not written).
"""

import base64
import copy
import datetime
import random
import re
import string
import threading
import time
import urllib.error
import urllib.request

from orchestra_emulator import paging
from orchestra_emulator.discovery import camel_case, snake_case
from orchestra_emulator.errors import invalid_argument, not_found

DOCUMENT = "monitoring.v3"
PREFIX = "monitoring.projects."
MAX_CONDITIONS = 6  # AlertPolicy.conditions: "A policy can have from one to six conditions."
CONDITION_TYPES = ("conditionThreshold", "conditionAbsent", "conditionMatchedLog", "conditionMonitoringQueryLanguage",
                   "conditionPrometheusQueryLanguage", "conditionSql")
# UptimeCheckConfig.period: "Currently, the only supported values are 60s (1 minute), 300s (5 minutes), 600s (10
# minutes), and 900s (15 minutes). Optional, defaults to 60s." timeout: "Value can be between 1 and 60 seconds."
PERIODS = (60, 300, 600, 900)
TIMEOUT = (1, 60)
MASK = "******"
MIN_CHECKERS = 3
# Checker locations by region: "The uptime-check region USA includes the USA_OREGON, USA_IOWA, and USA_VIRGINIA regions.
# Each of the USA_* regions has one checker [...] The other uptime-check regions, EUROPE, SOUTH_AMERICA, and ASIA_PACIFIC,
# each have one checker." (https://cloud.google.com/monitoring/uptime-checks/introduction). The names are the
# checker_location values of recorded check_passed series (tests/fixtures/google/monitoring_uptime_check_passed_series.json
# and its source, which holds all six).
LOCATIONS = {
    "USA": ("usa-oregon", "usa-iowa", "usa-virginia"),
    "USA_OREGON": ("usa-oregon",),
    "USA_IOWA": ("usa-iowa",),
    "USA_VIRGINIA": ("usa-virginia",),
    "EUROPE": ("eur-belgium",),
    "SOUTH_AMERICA": ("sa-brazil-sao_paulo",),
    "ASIA_PACIFIC": ("apac-singapore",),
}
ALL_REGIONS = ("USA", "EUROPE", "SOUTH_AMERICA", "ASIA_PACIFIC")
CHECK_PASSED = "monitoring.googleapis.com/uptime_check/check_passed"
REQUEST_LATENCY = "monitoring.googleapis.com/uptime_check/request_latency"

# Notification channel descriptors (https://cloud.google.com/monitoring/support/notification-options; label keys
# as the API's descriptors list them).
DESCRIPTORS = {
    "email": ("Email", "A channel that sends notifications via email.", (("email_address", "An address to send email."),)),
    "slack": ("Slack", "A channel that sends notifications to a Slack channel.",
              (("channel_name", "The Slack channel to which to post notifications."),
               ("auth_token", "The OAuth access token associated with the Slack channel."))),
    "pubsub": ("Cloud Pub/Sub", "A channel that sends notifications to a Cloud Pub/Sub topic.",
               (("topic", "The Cloud Pub/Sub topic to which to publish notifications, projects/[PROJECT]/topics/[TOPIC]."),)),
    "webhook_tokenauth": ("Webhooks", "A channel that sends notifications as an HTTP POST to a URL, authenticated by a token in it.",
                          (("url", "The public URL to which to publish notifications."),)),
}
# Labels Google does not show when channels are read (Slack's token: "The auth_token is (rightly) not visible when
# fetching", monitoring_notification_channel_label_errors.json); whether Google drops or masks it is not known: the
# emulator masks it.
SENSITIVE_LABELS = {"slack": ("auth_token",)}


class Alerting:
    """The alerting methods of monitoring.v3; `handlers()` is merged into MonitoringV3's."""

    def __init__(self, shared, check_aligner=None, policies_changed=None):
        self._check_aligner = check_aligner  # (metric type, aligner, period) -> raises when the metric's kind refuses it
        self._policies_changed = policies_changed or (lambda: None)  # after a policy is created or patched
        self._store = shared.store
        self._metrics = shared.metrics
        self._metrics.describe(CHECK_PASSED, "GAUGE", "BOOL", "")
        self._metrics.describe(REQUEST_LATENCY, "GAUGE", "DOUBLE", "ms")
        self._due = {}  # uptime check name -> when it runs next
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = None
        self._stop = None

    def handlers(self):
        p = PREFIX
        return {
            p + "alertPolicies.create": (self.create_policy, "alert_policy"),
            p + "alertPolicies.get": (self.get_policy, None),
            p + "alertPolicies.list": (self.list_policies, None),
            p + "alertPolicies.patch": (self.patch_policy, "alert_policy"),
            p + "alertPolicies.delete": (self.delete_policy, None),
            p + "notificationChannels.create": (self.create_channel, "notification_channel"),
            p + "notificationChannels.get": (self.get_channel, None),
            p + "notificationChannels.list": (self.list_channels, None),
            p + "notificationChannels.patch": (self.patch_channel, "notification_channel"),
            p + "notificationChannels.delete": (self.delete_channel, None),
            p + "notificationChannelDescriptors.get": (self.get_descriptor, None),
            p + "notificationChannelDescriptors.list": (self.list_descriptors, None),
            p + "uptimeCheckConfigs.create": (self.create_check, "uptime_check_config"),
            p + "uptimeCheckConfigs.get": (self.get_check, None),
            p + "uptimeCheckConfigs.list": (self.list_checks, None),
            p + "uptimeCheckConfigs.patch": (self.patch_check, "uptime_check_config"),
            p + "uptimeCheckConfigs.delete": (self.delete_check, None),
        }

    # -- alert policies ---------------------------------------------------------------------------

    def create_policy(self, request):
        project = request.variables["projectsId"]
        name = f"projects/{project}/alertPolicies/{_number()}"
        policy = _policy(request.body, name, {}, self._check_aligner)
        record = _record(request)
        policy.update(creationRecord=record, mutationRecord=record)
        policy.setdefault("enabled", True)
        with self._store.mutate() as data:
            _check_log_metrics(data, project, policy)
            _kind(data, "alertPolicies")[name] = policy
        self._policies_changed()
        return _ordered(policy)

    def get_policy(self, request):
        name = f"projects/{request.variables['projectsId']}/alertPolicies/{request.variables['alertPoliciesId']}"
        with self._store.lock:
            return copy.deepcopy(_found(self._store.data, "alertPolicies", name, f"Could not find alert policy {name}."))

    def list_policies(self, request):
        q = request.query
        items = self._listed("alertPolicies", request.variables["projectsId"])
        items = [p for p in items if _filtered(p, q.get("filter", ""))]
        items = _ordered_by(items, q.get("orderBy", ""))
        page, token = paging.page(items, q.get("pageSize"), q.get("pageToken"))
        return {"alertPolicies": page, "nextPageToken": token, "totalSize": len(items)}

    def patch_policy(self, request):
        name = f"projects/{request.variables['projectsId']}/alertPolicies/{request.variables['alertPoliciesId']}"
        with self._store.mutate() as data:
            current = _found(data, "alertPolicies", name, f"Could not find alert policy {name}.")
            mask = _mask(request.query.get("updateMask"))
            if mask:
                merged = copy.deepcopy(current)
                for path in mask:
                    _apply(merged, request.body, path)
            else:
                # AlertPolicyService.UpdateAlertPolicy: with no mask, the supplied policy replaces the existing one.
                merged = {**copy.deepcopy(request.body), "creationRecord": current["creationRecord"]}
            merged.pop("name", None)
            policy = _policy(merged, name, {c["name"]: c for c in current.get("conditions", []) if "name" in c}, self._check_aligner)
            _check_log_metrics(data, request.variables["projectsId"], policy)
            policy["creationRecord"] = current["creationRecord"]
            policy["mutationRecord"] = _record(request)
            policy.setdefault("enabled", True)
            _kind(data, "alertPolicies")[name] = policy
        self._policies_changed()
        return _ordered(policy)

    def delete_policy(self, request):
        name = f"projects/{request.variables['projectsId']}/alertPolicies/{request.variables['alertPoliciesId']}"
        with self._store.mutate() as data:
            _found(data, "alertPolicies", name, f"Could not find alert policy {name}.")
            del _kind(data, "alertPolicies")[name]
        return {}

    # -- notification channels --------------------------------------------------------------------

    def create_channel(self, request):
        project = request.variables["projectsId"]
        name = f"projects/{project}/notificationChannels/{_number()}"
        channel = _channel(request.body)
        now = _now()
        channel.update(name=name, creationRecord={"mutateTime": now}, mutationRecords=[{"mutateTime": now}])
        channel.setdefault("enabled", True)
        with self._store.mutate() as data:
            _kind(data, "notificationChannels")[name] = channel
        return _masked_channel(channel)

    def get_channel(self, request):
        name = _channel_name(request.variables)
        with self._store.lock:
            return _masked_channel(_found(self._store.data, "notificationChannels", name, f"Could not find notification channel {name}."))

    def list_channels(self, request):
        q = request.query
        items = self._listed("notificationChannels", request.variables["projectsId"])
        items = [c for c in items if _filtered(c, q.get("filter", ""))]
        items = _ordered_by(items, q.get("orderBy", ""))
        page, token = paging.page(items, q.get("pageSize"), q.get("pageToken"))
        return {"notificationChannels": [_masked_channel(c) for c in page], "nextPageToken": token, "totalSize": len(items)}

    def patch_channel(self, request):
        name = _channel_name(request.variables)
        with self._store.mutate() as data:
            current = _found(data, "notificationChannels", name, f"Could not find notification channel {name}.")
            mask = _mask(request.query.get("updateMask"))
            merged = copy.deepcopy(current)
            if mask:
                for path in mask:
                    _apply(merged, request.body, path)
            else:
                merged.update({k: v for k, v in request.body.items() if k != "name"})
            for key in ("name", "creationRecord", "mutationRecords", "verificationStatus"):
                merged.pop(key, None)
            for key in SENSITIVE_LABELS.get(merged.get("type"), ()):
                if merged.get("labels", {}).get(key) == MASK and current.get("type") == merged.get("type"):
                    merged["labels"][key] = current["labels"][key]  # the masked value read back: the stored one is kept
            channel = _channel(merged)
            channel.update(name=name, creationRecord=current["creationRecord"],
                           mutationRecords=current.get("mutationRecords", []) + [{"mutateTime": _now()}])
            channel.setdefault("enabled", True)
            _kind(data, "notificationChannels")[name] = channel
            return _masked_channel(channel)

    def delete_channel(self, request):
        name = _channel_name(request.variables)
        with self._store.mutate() as data:
            _found(data, "notificationChannels", name, f"Could not find notification channel {name}.")
            users = [p["name"] for p in _kind(data, "alertPolicies").values() if name in p.get("notificationChannels", [])]
            if users and not request.query.get("force"):
                # DeleteNotificationChannelRequest.force: "If false, channels that are still referenced by an existing
                # alerting policy will fail to be deleted in a delete operation." (The error's wording is the emulator's.)
                raise invalid_argument(f"Notification channel {name} is referenced by alert policies {', '.join(users)}; "
                                       "delete it with force to remove it from them.", field="force")
            for policy_name in users:
                policy = _kind(data, "alertPolicies")[policy_name]
                policy["notificationChannels"] = [c for c in policy["notificationChannels"] if c != name]
            del _kind(data, "notificationChannels")[name]
        return {}

    def get_descriptor(self, request):
        kind = request.variables["notificationChannelDescriptorsId"]
        if kind not in DESCRIPTORS:
            raise not_found(f"Could not find notification channel descriptor {kind}.")
        return _descriptor(request.variables["projectsId"], kind)

    def list_descriptors(self, request):
        items = [_descriptor(request.variables["projectsId"], kind) for kind in sorted(DESCRIPTORS)]
        page, token = paging.page(items, request.query.get("pageSize"), request.query.get("pageToken"))
        return {"channelDescriptors": page, "nextPageToken": token}

    # -- uptime checks ----------------------------------------------------------------------------

    def create_check(self, request):
        project = request.variables["projectsId"]
        check = _check(request.body, project)
        name = f"projects/{project}/uptimeCheckConfigs/{_slug(check.get('displayName', ''))}"
        check["name"] = name
        with self._store.mutate() as data:
            _kind(data, "uptimeCheckConfigs")[name] = check
        self.start()
        self._wake.set()
        return _masked_check(check)

    def get_check(self, request):
        name = _check_name(request.variables)
        with self._store.lock:
            return _masked_check(_found(self._store.data, "uptimeCheckConfigs", name, _check_missing(request.variables)))

    def list_checks(self, request):
        q = request.query
        items = self._listed("uptimeCheckConfigs", request.variables["projectsId"])
        # Filtered as the policies and channels (https://cloud.google.com/monitoring/api/v3/sorting-and-filtering covers
        # uptimeCheckConfigs.list's filter); totalSize counts the checks that match.
        items = [c for c in items if _filtered(c, q.get("filter", ""))]
        page, token = paging.page(items, q.get("pageSize"), q.get("pageToken"))
        return {"uptimeCheckConfigs": [_masked_check(c) for c in page], "nextPageToken": token, "totalSize": len(items)}

    def patch_check(self, request):
        name = _check_name(request.variables)
        project = request.variables["projectsId"]
        with self._store.mutate() as data:
            current = _found(data, "uptimeCheckConfigs", name, _check_missing(request.variables))
            merged = copy.deepcopy(current)
            mask = _mask(request.query.get("updateMask"))
            if mask:
                for path in mask:
                    _apply(merged, request.body, path)
            else:
                merged.update({k: v for k, v in request.body.items() if k != "name"})
            merged.pop("name", None)
            _unmask_check(merged, current)
            check = _check(merged, project)
            check["name"] = name
            _kind(data, "uptimeCheckConfigs")[name] = check
        self._due.pop(name, None)
        self.start()
        self._wake.set()
        return _masked_check(check)

    def delete_check(self, request):
        name = _check_name(request.variables)
        with self._store.mutate() as data:
            _found(data, "uptimeCheckConfigs", name, _check_missing(request.variables))
            del _kind(data, "uptimeCheckConfigs")[name]
        return {}

    def _listed(self, kind, project):
        with self._store.lock:
            return [copy.deepcopy(item) for name, item in sorted(_kind(self._store.data, kind).items())
                    if name.startswith(f"projects/{project}/")]

    # -- the prober -------------------------------------------------------------------------------

    def start(self):
        """Run the prober (after a state is loaded, and when a check is created or patched)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                stop = threading.Event()
                self._thread = threading.Thread(target=self._run, args=(stop,), name="uptime-checks", daemon=True)
                self._stop = stop
                self._thread.start()

    def stop(self):
        """Before a reset or a stop: the prober ends (a reset forgets the checks; the next one created starts it)."""
        with self._lock:
            if self._thread is not None:
                self._stop.set()
                self._wake.set()
                self._thread.join(timeout=5)
                self._thread = None
            self._due.clear()

    def _run(self, stop):
        while not stop.is_set():
            try:
                self._tick(stop)
            except Exception:  # pylint: disable=broad-except  # the prober never dies of one bad check
                pass
            self._wake.wait(0.2)
            self._wake.clear()

    def _tick(self, stop):
        with self._store.lock:
            checks = copy.deepcopy(_kind(self._store.data, "uptimeCheckConfigs"))
            override = self._store.data["admin"]["config"].get("uptime_check_period_seconds", 0)
        for name in list(self._due):
            if name not in checks:
                del self._due[name]
        now = time.time()
        for name, check in checks.items():
            if check.get("disabled") or "httpCheck" not in check or check.get("monitoredResource", {}).get("type") != "uptime_url":
                continue
            if now < self._due.get(name, 0):
                continue
            self._due[name] = now + (override or _seconds(check.get("period", "60s")))
            self._probe(name, check, stop)

    def _probe(self, name, check, stop):
        http = check["httpCheck"]
        labels = check["monitoredResource"].get("labels", {})
        ssl = http.get("useSsl", False)
        port = http.get("port") or (443 if ssl else 80)
        path = http.get("path", "/")
        url = f"{'https' if ssl else 'http'}://{labels.get('host', '')}:{port}{path if path.startswith('/') else '/' + path}"
        method = "POST" if http.get("requestMethod") == "POST" else "GET"
        headers = dict(http.get("headers", {}))
        if http.get("authInfo"):
            token = f"{http['authInfo'].get('username', '')}:{http['authInfo'].get('password', '')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
        body = base64.b64decode(http["body"]) if http.get("body") else None
        started = time.time()
        status, content = 0, b""
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=body, method=method, headers=headers),
                                        timeout=_seconds(check.get("timeout", "10s"))) as answer:
                status, content = answer.status, answer.read(1 << 20)
        except urllib.error.HTTPError as error:
            status, content = error.code, error.read(1 << 20) if error.fp else b""
        except (OSError, ValueError):
            status = 0
        latency = (time.time() - started) * 1000.0
        passed = _status_accepted(status, http.get("acceptedResponseStatusCodes")) and _content_matches(content, check.get("contentMatchers"))
        project = name.split("/")[1]
        resource = {"project_id": labels.get("project_id", project), "host": labels.get("host", "")}
        check_id = name.rsplit("/", 1)[-1]
        if stop.is_set():  # a reset or a stop came while the request was out: its outcome is not written
            return
        for location in _locations(check.get("selectedRegions")):
            metric_labels = {"check_id": check_id, "checked_resource_id": resource["host"], "checker_location": location}
            self._metrics.write(CHECK_PASSED, metric_labels, "uptime_url", resource, passed, at=started)
            self._metrics.write(REQUEST_LATENCY, metric_labels, "uptime_url", resource, latency, at=started)


# -- validation and shapes --------------------------------------------------------------------

def _policy(sent, name, known_conditions, check_aligner=None):
    """The policy as stored: what was sent, checked, its conditions named (a condition keeps a name it was sent with
    when the policy holds it). `check_aligner(metric type, aligner, period seconds)` refuses an aligner the metric's kind
    and value type do not allow, when the emulator knows the metric."""
    policy = {k: copy.deepcopy(v) for k, v in sent.items() if k not in ("name", "creationRecord", "mutationRecord")}
    conditions = policy.get("conditions", [])
    if not 1 <= len(conditions) <= MAX_CONDITIONS:
        raise invalid_argument(f"An alert policy has from one to {MAX_CONDITIONS} conditions, not {len(conditions)}.", field="alert_policy.conditions")
    if len(conditions) > 1 and any("conditionMatchedLog" in c for c in conditions):
        # Google's words (tests/fixtures/google/monitoring_alert_policy_errors.json).
        raise invalid_argument("Alert policies with a log matching condition can only have a single condition.", field="alert_policy.conditions")
    if len(conditions) > 1 and policy.get("combiner", "COMBINE_UNSPECIFIED") == "COMBINE_UNSPECIFIED":
        raise invalid_argument("A policy with more than one condition needs a combiner (AND, OR or AND_WITH_MATCHING_RESOURCE).",
                               field="alert_policy.combiner")
    for i, condition in enumerate(conditions):
        kinds = [k for k in CONDITION_TYPES if k in condition]
        if len(kinds) != 1:
            raise invalid_argument(f"A condition has exactly one condition type ({', '.join(CONDITION_TYPES)}); "
                                   f"conditions[{i}] has {len(kinds)}.", field=f"alert_policy.conditions[{i}]")
        if not condition.get("displayName"):
            raise invalid_argument(f"conditions[{i}].display_name is required.", field=f"alert_policy.conditions[{i}].display_name")
        body = condition[kinds[0]]
        path = f"alert_policy.conditions[{i}].{snake_case(kinds[0])}"
        if kinds[0] in ("conditionThreshold", "conditionAbsent"):
            if not body.get("filter"):
                raise invalid_argument(f"Field {path}.filter is required.", field=f"{path}.filter")
            if "duration" not in body:
                raise invalid_argument(f"Field {path}.duration is required.", field=f"{path}.duration")
            aggregations = [("aggregations", j, a) for j, a in enumerate(body.get("aggregations", []))]
            aggregations += [("denominator_aggregations", j, a) for j, a in enumerate(body.get("denominatorAggregations", []))]
            for field, j, aggregation in aggregations:
                _check_aggregation(aggregation, f"{path}.{field}[{j}]")
                metric = re.search(r'metric\.type\s*=\s*"([^"]+)"', body.get("filter" if field == "aggregations" else "denominatorFilter", ""))
                if check_aligner and metric and aggregation.get("perSeriesAligner", "ALIGN_NONE") != "ALIGN_NONE":
                    check_aligner(metric.group(1), aggregation["perSeriesAligner"], _seconds(aggregation["alignmentPeriod"]))
        if "duration" in body and _seconds(body["duration"]) % 60:
            # Google's words (monitoring_alert_policy_errors.json).
            raise invalid_argument(f'Field {path}.duration had an invalid value of "{body["duration"]}": only multiples of 1 minute are supported',
                                   field=f"{path}.duration")
        missing_data = body.get("evaluationMissingData", "EVALUATION_MISSING_DATA_UNSPECIFIED")
        if missing_data != "EVALUATION_MISSING_DATA_UNSPECIFIED" and not _seconds(body.get("duration", "0s")):
            # Google's words (monitoring_alert_policy_errors.json).
            raise invalid_argument(f'Field {path}.evaluation_missing_data had an invalid value of "{missing_data}": '
                                   "Conditions setting evaluation_missing_data must have a non-zero duration.", field=f"{path}.evaluation_missing_data")
        if kinds[0] == "conditionThreshold" and body.get("comparison", "COMPARISON_UNSPECIFIED") == "COMPARISON_UNSPECIFIED":
            raise invalid_argument(f"Field {path}.comparison is required.", field=f"{path}.comparison")
        if condition.get("name") not in known_conditions:
            condition["name"] = f"{name}/conditions/{_number()}"
    for channel in policy.get("notificationChannels", []):
        if not re.match(r"^projects/[^/]+/notificationChannels/[^/]+$", channel):
            raise invalid_argument(f"Invalid notification channel name {channel!r}: projects/[PROJECT_ID]/notificationChannels/[CHANNEL_ID].",
                                   field="alert_policy.notification_channels")
    policy["name"] = name
    return policy


def _check_log_metrics(data, project, policy):
    """A condition on a log-based metric (logging.googleapis.com/user/NAME) needs that metric in the project: Google's
    404 (tests/fixtures/google/monitoring_alert_policy_unknown_metric.json). Google may take up to 10 minutes to know a
    new metric; the emulator knows it at once. Other metrics are not checked: the emulator does not know Google's
    catalogue of built-in metrics."""
    metrics = data["resources"].get("logging.v2", {}).get("metrics", {})
    for condition in policy.get("conditions", []):
        for kind in ("conditionThreshold", "conditionAbsent"):
            text = condition.get(kind, {}).get("filter", "") + " " + condition.get(kind, {}).get("denominatorFilter", "")
            for metric_type in re.findall(r'metric\.type\s*=\s*"(logging\.googleapis\.com/user/[^"]+)"', text):
                if f"projects/{project}/metrics/{metric_type.split('/', 2)[2]}" not in metrics:
                    raise not_found(f'Cannot find metric(s) that match type = "{metric_type}". If a metric was created recently, it could take '
                                    "up to 10 minutes to become available. Please try again soon.")


def _check_aggregation(aggregation, path):
    # Aggregation.alignmentPeriod: "The value must be at least 60 seconds. If a per-series aligner other than
    # ALIGN_NONE is specified, this field is required". crossSeriesReducer: "If cross_series_reducer is specified,
    # then per_series_aligner must be specified, and must not be ALIGN_NONE".
    aligner = aggregation.get("perSeriesAligner", "ALIGN_NONE")
    if aligner != "ALIGN_NONE" and "alignmentPeriod" not in aggregation:
        raise invalid_argument("An alignment period is required when a per-series aligner is set.", field=path + ".alignment_period")
    if "alignmentPeriod" in aggregation:
        seconds = _seconds(aggregation["alignmentPeriod"])
        if seconds % 60:
            # Google's words (monitoring_alert_policy_errors.json): the period printed as a Duration message.
            raise invalid_argument(f'Field {path}.alignment_period had an invalid value of "{{"seconds":{seconds:g}}}": '
                                   "alignment period must be in multiples of one minute", field=path + ".alignment_period")
        if aligner != "ALIGN_NONE" and seconds < 60:
            raise invalid_argument("The alignment period must be at least 60 seconds.", field=path + ".alignment_period")
    if aggregation.get("crossSeriesReducer", "REDUCE_NONE") != "REDUCE_NONE" and aligner == "ALIGN_NONE":
        raise invalid_argument("A cross-series reducer needs a per-series aligner other than ALIGN_NONE.", field=path + ".cross_series_reducer")


def _channel(sent):
    channel = {k: copy.deepcopy(v) for k, v in sent.items() if k not in ("name", "creationRecord", "mutationRecords", "verificationStatus")}
    kind = channel.get("type", "")
    if kind not in DESCRIPTORS:
        raise invalid_argument(f"Unknown notification channel type {kind!r}; the emulator knows {', '.join(sorted(DESCRIPTORS))}.",
                               field="notification_channel.type")
    keys = [key for key, _unused in DESCRIPTORS[kind][2]]
    labels = channel.get("labels", {})
    unknown = sorted(set(labels) - set(keys))
    if unknown:
        raise invalid_argument(f"Labels {', '.join(unknown)} are not labels of a {kind} channel ({', '.join(keys)}).",
                               field="notification_channel.labels")
    # Google's words (tests/fixtures/google/monitoring_notification_channel_label_errors.json).
    for key in keys:
        if key not in labels:
            raise invalid_argument(f"Request was missing field notification_channel.labels[{key}]", field=f"notification_channel.labels[{key}]")
        if labels[key] == "":
            raise invalid_argument(f"Field notification_channel.labels[{key}] had an invalid value: Value must NOT be empty if provided.",
                                   field=f"notification_channel.labels[{key}]")
    return channel


def _masked_channel(channel):
    out = copy.deepcopy(channel)
    for key in SENSITIVE_LABELS.get(out.get("type"), ()):
        if key in out.get("labels", {}):
            out["labels"][key] = MASK
    return out


def _descriptor(project, kind):
    display, description, labels = DESCRIPTORS[kind]
    return {"name": f"projects/{project}/notificationChannelDescriptors/{kind}", "type": kind, "displayName": display,
            "description": description, "labels": [{"key": key, "description": text} for key, text in labels], "launchStage": "GA"}


def _check(sent, project):
    check = {k: copy.deepcopy(v) for k, v in sent.items() if k != "name"}
    if not check.get("displayName"):
        raise invalid_argument("display_name is required.", field="uptime_check_config.display_name")
    targets = [k for k in ("monitoredResource", "resourceGroup", "syntheticMonitor") if k in check]
    if len(targets) != 1:
        raise invalid_argument("An uptime check has exactly one of monitored_resource, resource_group or synthetic_monitor.",
                               field="uptime_check_config.resource")
    if "syntheticMonitor" not in check and ("httpCheck" in check) == ("tcpCheck" in check):
        raise invalid_argument("An uptime check has exactly one of http_check or tcp_check.", field="uptime_check_config.check_request_type")
    check.setdefault("period", "60s")
    if _seconds(check["period"]) not in PERIODS:
        raise invalid_argument(f"Invalid period {check['period']}: one of 60s, 300s, 600s or 900s.", field="uptime_check_config.period")
    if "timeout" in check and not TIMEOUT[0] <= _seconds(check["timeout"]) <= TIMEOUT[1]:
        raise invalid_argument(f"Invalid timeout {check['timeout']}: from 1s to 60s.", field="uptime_check_config.timeout")
    if check.get("selectedRegions") and len(_locations(check["selectedRegions"])) < MIN_CHECKERS:
        # https://cloud.google.com/monitoring/uptime-checks/introduction: "When you create an uptime check, you must specify
        # at least three checkers, or you can request that all uptime checkers issue requests."
        raise invalid_argument(f"The selected regions {', '.join(check['selectedRegions'])} hold fewer than {MIN_CHECKERS} checkers.",
                               field="uptime_check_config.selected_regions")
    check.setdefault("checkerType", "STATIC_IP_CHECKERS")
    resource = check.get("monitoredResource")
    if resource and resource.get("type") == "uptime_url":
        if not resource.get("labels", {}).get("host"):
            raise invalid_argument("An uptime_url resource needs its host label.", field="uptime_check_config.monitored_resource.labels")
        resource["labels"].setdefault("project_id", project)
    return check


def _unmask_check(sent, current):
    """A check patched with what it read: a password or header value that is the mask keeps the stored value (the
    emulator's choice; what Google does with a masked value sent back is not known)."""
    http, stored = sent.get("httpCheck", {}), current.get("httpCheck", {})
    if http.get("authInfo", {}).get("password") == MASK and stored.get("authInfo", {}).get("password"):
        http["authInfo"]["password"] = stored["authInfo"]["password"]
    headers = http.get("headers", {})
    if "Content-Length" in headers and headers["Content-Length"] == MASK and "Content-Length" not in stored.get("headers", {}):
        del headers["Content-Length"]  # added by the mask, not by the caller
    for key, value in list(headers.items()):
        if value == MASK and key in stored.get("headers", {}):
            headers[key] = stored["headers"][key]


def _masked_check(check):
    out = copy.deepcopy(check)
    http = out.get("httpCheck", {})
    if http.get("authInfo", {}).get("password"):
        http["authInfo"]["password"] = MASK
    if http.get("maskHeaders") and (http.get("headers") or http.get("body")):
        headers = {key: MASK for key in http.get("headers", {})}
        if http.get("body"):
            headers["Content-Length"] = MASK
        http["headers"] = dict(sorted(headers.items()))
    return out


def _status_accepted(status, accepted):
    if not accepted:
        return 200 <= status < 300
    for code in accepted:
        if "statusValue" in code and code["statusValue"] == status:
            return True
        klass = code.get("statusClass")
        if klass == "STATUS_CLASS_ANY" and status:
            return True
        if klass and klass[-3:-2].isdigit() and status // 100 == int(klass[-3]):
            return True
    return False


def _content_matches(content, matchers):
    if not matchers:
        return True
    matcher = matchers[0]  # "Currently, only the first entry in the content_matchers list is supported"
    text = content.decode("utf-8", "replace")
    wanted = matcher.get("content", "")
    kind = matcher.get("matcher", "CONTAINS_STRING")
    if kind in ("CONTAINS_STRING", "CONTENT_MATCHER_OPTION_UNSPECIFIED"):
        return wanted in text
    if kind == "NOT_CONTAINS_STRING":
        return wanted not in text
    if kind == "MATCHES_REGEX":
        return re.search(wanted, text) is not None
    if kind == "NOT_MATCHES_REGEX":
        return re.search(wanted, text) is None
    return True  # JSON path matchers: not evaluated by the emulator


def _locations(regions):
    regions = [r for r in regions or () if r in LOCATIONS] or ALL_REGIONS
    return sorted({location for region in regions for location in LOCATIONS[region]})


# -- helpers ----------------------------------------------------------------------------------

def _kind(data, kind):
    return data["resources"].setdefault(DOCUMENT, {}).setdefault(kind, {})


def _found(data, kind, name, message):
    item = _kind(data, kind).get(name)
    if item is None:
        raise not_found(message)
    return item


def _channel_name(variables):
    return f"projects/{variables['projectsId']}/notificationChannels/{variables['notificationChannelsId']}"


def _check_name(variables):
    return f"projects/{variables['projectsId']}/uptimeCheckConfigs/{variables['uptimeCheckConfigsId']}"


def _check_missing(variables):
    # Google's words (tests/fixtures/google/monitoring_uptime_check_config.json).
    return f"Config not found for check {variables['uptimeCheckConfigsId']} in project {variables['projectsId']}"


def _number():
    return str(random.randrange(10 ** 18, 10 ** 19))


def _slug(display_name):
    slug = re.sub(r"[^a-z0-9]+", "-", display_name.lower()).strip("-")[:50] or "uptime-check"
    return f"{slug}-{''.join(random.choice(string.ascii_letters + string.digits) for _unused in range(11))}"


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _record(request):
    """A MutationRecord: when, and by whom (the emulator does not know the caller's e-mail: `mutatedBy` names the
    caller only when the request says who it is in an X-Goog-User header, else a fixed address)."""
    who = (request.headers or {}).get("X-Goog-User") or "user@example.com"
    return {"mutateTime": _now(), "mutatedBy": who}


def _seconds(duration):
    return float(str(duration).rstrip("s"))


def _mask(text):
    return [camel_case(path.strip()) for path in (text or "").split(",") if path.strip()]


def _apply(target, source, path):
    """Copy the field at the dotted path (camelCase) from source to target; absent in source: cleared."""
    parts = [camel_case(p) for p in path.split(".")]
    src = source
    for part in parts[:-1]:
        src = src.get(part, {}) if isinstance(src, dict) else {}
    dst = target
    for part in parts[:-1]:
        dst = dst.setdefault(part, {})
    if isinstance(src, dict) and parts[-1] in src:
        dst[parts[-1]] = copy.deepcopy(src[parts[-1]])
    else:
        dst.pop(parts[-1], None)


_FILTER = re.compile(r'^\s*([A-Za-z_.]+)\s*(=|!=|:)\s*"?([^"]*)"?\s*$')


def _filtered(item, text):
    """The filters the emulator understands: clauses `field = "value"` (also != and :) joined by AND, on the fields
    of the item, nested with dots (snake_case or camelCase), a key of a labels map as written: display_name, type,
    enabled, name and user_labels.KEY (or labels.KEY) of policies and channels; state and policy.display_name of
    alerts."""
    if not text.strip():
        return True
    for clause in re.split(r"\s+AND\s+", text.strip()):
        found = _FILTER.match(clause)
        if not found:
            raise invalid_argument(f"The emulator supports filters of field = \"value\" clauses joined by AND; cannot parse {clause!r}.",
                                   field="filter")
        field, op, wanted = found.groups()
        value, within_labels = item, False
        for part in field.split("."):
            key = part if within_labels else camel_case(part)
            value = value.get(key) if isinstance(value, dict) else None
            within_labels = key.endswith(("labels", "Labels"))
        value = "" if value in ({}, None) else str(value).lower() if isinstance(value, bool) else str(value)
        ok = wanted in value if op == ":" else (value == wanted) == (op == "=")
        if not ok:
            return False
    return True


def _ordered_by(items, order):
    """orderBy: comma-separated fields, each descending with a leading "-" (Google's form for these lists)."""
    for field in reversed([f.strip() for f in order.split(",") if f.strip()]):
        descending = field.startswith("-")
        key = camel_case(field.lstrip("-"))
        items = sorted(items, key=lambda item, key=key: str(item.get(key, "")), reverse=descending)
    return items


def _ordered(policy):
    return copy.deepcopy(policy)
