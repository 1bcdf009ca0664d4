"""monitoring_notification_channel and monitoring_alert_policy, driven through ansible-runner against the emulator's
Cloud Monitoring v3 alerting; what the emulator holds is read with Google's REST client."""

from __future__ import annotations

import json

from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from test_cloud_run_service import assert_changed_changed_unchanged_unchanged, four_times

PROJECT = "projects/orchestra-test"
TOKEN = "xoxb-not-a-real-token-31337"
SLACK = dict(display_name="Orchestra on-call", type="slack", labels={"channel_name": "#oncall"}, secret_labels={"auth_token": TOKEN})
EMAIL = dict(display_name="Orchestra mail", type="email", labels={"email_address": "oncall@example.com"})
CONDITION = dict(display_name="5xx rate", filter='metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"',
                 comparison=">", threshold=1, duration="5m", alignment_period="60s", aligner="ALIGN_RATE", reducer="REDUCE_SUM",
                 group_by=["resource.label.service_name"])
POLICY = dict(display_name="Orchestra 5xx", notification_channels=["Orchestra on-call", "Orchestra mail"], conditions=[CONDITION],
              documentation="Look at the service's logs.", severity="ERROR")


def condition(**options):
    return dict(CONDITION, **options)


# (module, options, words of the error): each refused before any call.
BAD_INPUT = [
    ("channel", dict(SLACK, type="carrier_pigeon"), "type 'carrier_pigeon' is not a channel type"),
    ("channel", dict(SLACK, secret_labels={}), "a slack channel needs label 'auth_token'"),
    ("channel", dict(EMAIL, labels={"email_address": "oncall@example.com", "topic": "x"}), "label 'topic' is not a label of a email channel"),
    ("channel", dict(SLACK, labels={"channel_name": "#oncall", "auth_token": "x"}, secret_labels={}), "give it in secret_labels"),
    ("channel", dict(EMAIL, labels={"email_address": ""}), "label 'email_address' must not be empty"),
    ("channel", dict(EMAIL, labels={"email_address": "nobody"}), "is not an e-mail address"),
    ("channel", dict(EMAIL, user_labels={"Team": "sre"}), "label key 'Team' must start with a lowercase letter"),
    ("channel", dict(EMAIL, user_labels={"orchestra_id": "x"}), "is the module's own"),
    ("channel", dict(EMAIL, display_name=" "), "display_name must not be empty"),
    ("channel", dict(display_name="no type"), "state is present but all of the following are missing: type"),
    ("policy", dict(POLICY, conditions=[]), "a policy has from 1 to 6 conditions, not 0"),
    ("policy", dict(POLICY, conditions=[condition(duration="90s")]), "duration '90s' must be whole minutes"),
    ("policy", dict(POLICY, conditions=[condition(comparison="bigger")]), "comparison 'bigger' is none of"),
    ("policy", dict(POLICY, conditions=[condition(filter="")]), "needs a filter"),
    ("policy", dict(POLICY, conditions=[condition(threshold="lots")]), "threshold 'lots' is not a number"),
    ("policy", dict(POLICY, conditions=[condition(alignment_period="30s")]), "alignment_period '30s' must be whole minutes, at least 60s"),
    ("policy", dict(POLICY, conditions=[condition(aligner="ALIGN_NONE")]), "reducer REDUCE_SUM needs an aligner other than ALIGN_NONE"),
    ("policy", dict(POLICY, conditions=[condition(aligner="ALIGN_WHATEVER")]), "aligner 'ALIGN_WHATEVER' is none of Google's"),
    ("policy", dict(POLICY, conditions=[condition(duration="soon")]), "duration 'soon' is not a duration"),
    ("policy", dict(POLICY, conditions=[CONDITION, CONDITION]), "two conditions are named '5xx rate'"),
    ("policy", dict(POLICY, combiner="XOR"), "combiner 'XOR' is none of"),
    ("policy", dict(POLICY, conditions=[condition(kind="absent")]), "an absence condition takes no comparison"),
    ("policy", dict(POLICY, conditions=[condition(threshold=None)]), "needs a threshold"),
    ("policy", dict(POLICY, notification_channels=["Nobody"]), "No notification channel is named 'Nobody'"),
]


def task(kind, **options):
    return {"orchestra.gcp.monitoring_%s" % ("notification_channel" if kind == "channel" else "alert_policy"): options}


def monitoring(emulated):
    return build("monitoring", "v3", credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": emulated.endpoint}).projects()


def test_channels_and_a_policy_are_created_kept_and_deleted(emulated):
    api = monitoring(emulated)
    bad = [dict(name="bad %d" % i, ignore_errors=True, **task(kind, **options)) for i, (kind, options, _words) in enumerate(BAD_INPUT)]
    channels = four_times(task("channel", **SLACK))
    play = emulated.run(bad + channels + [dict(name="mail", **task("channel", **EMAIL))])
    for i, (_kind, _options, words) in enumerate(BAD_INPUT):
        result = play.task("bad %d" % i)
        assert result["_failed"] and words in result["msg"], (i, result["msg"])
    assert_changed_changed_unchanged_unchanged(play)
    # (ansible-core quotes a failed task's source, the playbook's own text, in its output: the results are what the modules said)
    assert TOKEN not in json.dumps(play.results), "a secret label is never shown"
    assert "auth_token" not in play.task("apply 1")["channel"]["labels"] and "auth_token" not in json.dumps(play.task("check 1")["diff"])
    assert [(c["method"], c["path"]) for c in emulated.emulator.log()] == [("POST", "/v3/%s/notificationChannels" % PROJECT)] * 2, \
        "bad input and check runs call nothing that changes"
    stored = api.notificationChannels().list(name=PROJECT).execute()["notificationChannels"]
    assert sorted((c["displayName"], c["type"], c["userLabels"]["orchestra_id"]) for c in stored) == \
        [("Orchestra mail", "email", "orchestra-mail"), ("Orchestra on-call", "slack", "orchestra-on-call")]
    names = {c["displayName"]: c["name"] for c in stored}

    # The policy, its channels resolved from their display names.
    before = len(emulated.emulator.log())
    play = emulated.run(four_times(task("policy", **POLICY)))
    assert_changed_changed_unchanged_unchanged(play)
    assert [c["method"] for c in emulated.emulator.log()[before:]] == ["POST"]
    [policy] = api.alertPolicies().list(name=PROJECT).execute()["alertPolicies"]
    assert sorted(policy["notificationChannels"]) == sorted(names.values())
    threshold = policy["conditions"][0]["conditionThreshold"]
    assert (threshold["comparison"], threshold["thresholdValue"], threshold["duration"], threshold["aggregations"][0]["alignmentPeriod"]) == \
        ("COMPARISON_GT", 1, "300s", "60s")
    assert policy["userLabels"] == {"orchestra_id": "orchestra-5xx"} and policy["severity"] == "ERROR"

    # Edited behind the module's back: brought back, the same policy (Google's ID kept).
    api.alertPolicies().patch(name=policy["name"], updateMask="enabled,conditions", body={
        "enabled": False, "conditions": [dict(policy["conditions"][0], conditionThreshold=dict(threshold, thresholdValue=50))]}).execute()
    before = len(emulated.emulator.log())
    play = emulated.run([dict(name="drift", **task("policy", **POLICY)), dict(name="again", **task("policy", **POLICY))])
    assert play.task("drift")["changed_options"] == ["conditions", "enabled"] and not play.task("again")["changed"]
    assert [c["method"] for c in emulated.emulator.log()[before:]] == ["PATCH"]
    healed = api.alertPolicies().get(name=policy["name"]).execute()
    assert healed["enabled"] and healed["conditions"][0]["conditionThreshold"]["thresholdValue"] == 1

    # A channel change is an update in place; then everything goes.
    changed = {**SLACK, "labels": {"channel_name": "#alerts"}, "description": "paged"}
    gone = [dict(name="policy gone", **task("policy", display_name=POLICY["display_name"], state="absent")),
            dict(name="policy gone again", **task("policy", display_name=POLICY["display_name"], state="absent")),
            dict(name="mail gone", **task("channel", display_name=EMAIL["display_name"], state="absent"))]
    play = emulated.run([dict(name="slack change", **task("channel", **changed)), dict(name="slack same", **task("channel", **changed))] + gone)
    assert play.task("slack change")["changed_options"] == ["description", "labels"] and not play.task("slack same")["changed"]
    assert TOKEN not in play.stdout and TOKEN not in json.dumps(play.results)
    assert [play.task(n)["changed"] for n in ("policy gone", "policy gone again", "mail gone")] == [True, False, True]
    assert api.alertPolicies().list(name=PROJECT).execute().get("alertPolicies", []) == []
    [slack] = api.notificationChannels().list(name=PROJECT).execute()["notificationChannels"]
    assert (slack["name"], slack["labels"]["channel_name"], slack["description"]) == (names["Orchestra on-call"], "#alerts", "paged")
