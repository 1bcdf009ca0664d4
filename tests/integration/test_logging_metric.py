"""logging_metric and monitoring_time_series, driven through ansible-runner against the emulator's Cloud Logging v2 and
Cloud Monitoring v3; what the emulator holds is read with Google's REST client."""

from __future__ import annotations

import datetime
import time

from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from test_cloud_run_service import assert_changed_changed_unchanged_unchanged, four_times

PROJECT = "projects/orchestra-test"
WHO = dict(key="principal", description="Who read the secret", extractor="EXTRACT(protoPayload.authenticationInfo.principalEmail)")
METRIC = dict(name="secret_access", description="Secret versions accessed",
              filter='protoPayload.methodName="google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion"', labels=[WHO])
LATENCY = dict(name="latency", filter='resource.type="cloud_run_revision" AND jsonPayload.latency_ms:*', value_type="DISTRIBUTION",
               value_extractor="EXTRACT(jsonPayload.latency_ms)", unit="ms", buckets={"exponential": {"count": 64, "growth_factor": 1.4, "scale": 1}})
POINT = dict(metric_type="custom.googleapis.com/orchestra/backup_age", metric_labels={"instance": "orchestra-cache"}, value=3600.5)

# (module, options, words of the error): each refused before any call.
BAD_INPUT = [
    ("metric", dict(METRIC, name="/secret_access"), "not starting with '/'"),
    ("metric", dict(METRIC, filter=" "), "filter must not be empty"),
    ("metric", dict(METRIC, filter="(severity>=ERROR"), "filter has 1 '(' without their ')'"),
    ("metric", dict(METRIC, filter='textPayload:"open'), "without its closing"),
    ("metric", dict(METRIC, labels=[dict(WHO, extractor="protoPayload.authenticationInfo.principalEmail")]), "is neither EXTRACT(field)"),
    ("metric", dict(METRIC, labels=[dict(WHO, extractor='REGEXP_EXTRACT(textPayload, "(a)-(b)")')]), "exactly one capture group, not 2"),
    ("metric", dict(METRIC, labels=[dict(WHO, key="who-read")]), "label key 'who-read' must start with a letter"),
    ("metric", dict(METRIC, labels=[dict(WHO, key="l%d" % i) for i in range(11)]), "11 labels is more than the 10"),
    ("metric", dict(LATENCY, value_extractor=None), "a DISTRIBUTION metric needs a value_extractor"),
    ("metric", dict(METRIC, value_extractor="EXTRACT(jsonPayload.n)"), "an INT64 metric counts entries: it takes no value_extractor"),
    ("metric", dict(LATENCY, buckets={"exponential": {"count": 64, "growth_factor": 0.5, "scale": 1}}), "growth_factor must be more than 1"),
    ("metric", dict(name="secret_access"), "state is present but all of the following are missing: filter"),
    ("series", dict(POINT, metric_type="run.googleapis.com/request_count"), "must start with custom.googleapis.com/"),
    ("series", dict(POINT, value=1.5, value_type="INT64"), "is not a whole number"),
    ("series", dict(POINT, resource_type="generic_task"), "a generic_task resource needs label 'location'"),
]


def task(kind, **options):
    return {"orchestra.gcp.%s" % ("logging_metric" if kind == "metric" else "monitoring_time_series"): options}


def api(emulated, name, version):
    return build(name, version, credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": emulated.endpoint}).projects()


def mutations(emulated, since=0):
    return [(c["method"], c["path"]) for c in emulated.emulator.log()[since:]]


def test_a_log_metric_is_created_kept_brought_back_and_deleted(emulated):
    metrics = api(emulated, "logging", "v2").metrics()
    bad = [dict(name="bad %d" % i, ignore_errors=True, **task(kind, **options)) for i, (kind, options, _words) in enumerate(BAD_INPUT)]
    play = emulated.run(bad + four_times(task("metric", **METRIC)) + [dict(name="latency", **task("metric", **LATENCY)),
                                                                      dict(name="latency again", **task("metric", **LATENCY))])
    for i, (_kind, _options, words) in enumerate(BAD_INPUT):
        result = play.task("bad %d" % i)
        assert result["_failed"] and words in result["msg"], (i, result["msg"])
    assert_changed_changed_unchanged_unchanged(play)
    assert play.task("latency")["changed"] and not play.task("latency again")["changed"]
    assert play.task("apply 1")["metric_type"] == "logging.googleapis.com/user/secret_access"
    assert play.task("check 1")["diff"]["after"]["labelExtractors"] == {"principal": WHO["extractor"]}
    assert mutations(emulated) == [("POST", "/v2/%s/metrics" % PROJECT)] * 2, "bad input and check runs call nothing that changes"
    stored = metrics.get(metricName="%s/metrics/secret_access" % PROJECT).execute()
    assert stored["labelExtractors"] == {"principal": WHO["extractor"]} and stored["description"] == METRIC["description"]
    assert [(lb["key"], lb["description"]) for lb in stored["metricDescriptor"]["labels"]] == [("principal", WHO["description"])]
    latency = metrics.get(metricName="%s/metrics/latency" % PROJECT).execute()
    assert (latency["metricDescriptor"]["valueType"], latency["metricDescriptor"]["unit"], latency["bucketOptions"]) == \
        ("DISTRIBUTION", "ms", {"exponentialBuckets": {"numFiniteBuckets": 64, "growthFactor": 1.4, "scale": 1}})

    # Changed behind the module's back: brought back by an update (PUT), the metric kept (its createTime).
    metrics.update(metricName="%s/metrics/secret_access" % PROJECT, body=dict(
        stored, filter="severity>=ERROR", disabled=True, labelExtractors={"principal": "EXTRACT(labels.who)"})).execute()
    before = len(emulated.emulator.log())
    refused = {**METRIC, "labels": [dict(WHO, value_type="BOOL")]}
    play = emulated.run([dict(name="drift", **task("metric", **METRIC)), dict(name="again", **task("metric", **METRIC)),
                         dict(name="refused", ignore_errors=True, **task("metric", **refused)),
                         dict(name="recreated", **task("metric", recreate=True, **refused)),
                         dict(name="gone", **task("metric", name="latency", state="absent")),
                         dict(name="gone again", **task("metric", name="latency", state="absent"))])
    assert play.task("drift")["changed_options"] == ["disabled", "filter", "labels"] and not play.task("again")["changed"]
    assert "Google does not allow changing the value type of its label 'principal' from STRING to BOOL on the existing log-based metric" \
        in play.task("refused")["msg"]
    assert "recreate: true" in play.task("refused")["msg"]
    assert [play.task(n)["changed"] for n in ("recreated", "gone", "gone again")] == [True, True, False]
    metric = "/v2/%s/metrics/secret_access" % PROJECT
    assert mutations(emulated, before) == [("PUT", metric), ("DELETE", metric), ("POST", "/v2/%s/metrics" % PROJECT),
                                           ("DELETE", "/v2/%s/metrics/latency" % PROJECT)]
    healed = metrics.get(metricName="%s/metrics/secret_access" % PROJECT).execute()
    assert (healed["filter"], healed.get("disabled", False), healed["metricDescriptor"]["labels"][0]["valueType"]) == (METRIC["filter"], False, "BOOL")
    assert [m["name"] for m in metrics.list(parent=PROJECT).execute()["metrics"]] == ["secret_access"]


def test_a_time_series_point_is_written_and_read_back(emulated):
    started = time.time()
    play = emulated.run([dict(name="check", check_mode=True, **task("series", **POINT)), dict(name="write", **task("series", **POINT)),
                         dict(name="flag", **task("series", metric_type="custom.googleapis.com/orchestra/rotation_overdue",
                                                  metric_labels={"secret": "api-key"}, value="{{ 'yes' is truthy }}"))])
    assert play.rc == 0, play.stdout
    assert [play.task(n)["changed"] for n in ("check", "write", "flag")] == [True, True, True], "a point is always a change"
    assert mutations(emulated) == [("POST", "/v3/%s/timeSeries" % PROJECT)] * 2, "check mode writes nothing"
    written = play.task("write")["time_series"]
    assert (written["valueType"], written["resource"]) == ("DOUBLE", {"type": "global", "labels": {"project_id": "orchestra-test"}})

    def stamp(seconds):
        return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    series = api(emulated, "monitoring", "v3").timeSeries()
    [found] = series.list(name=PROJECT, filter='metric.type = "%s"' % POINT["metric_type"], interval_startTime=stamp(started - 1),
                          interval_endTime=stamp(time.time())).execute()["timeSeries"]
    assert (found["metricKind"], found["metric"]["labels"], [p["value"] for p in found["points"]]) == \
        ("GAUGE", POINT["metric_labels"], [{"doubleValue": 3600.5}])
    assert found["points"][0]["interval"]["endTime"] == written["points"][0]["interval"]["endTime"]
    [flag] = series.list(name=PROJECT, filter='metric.type = "custom.googleapis.com/orchestra/rotation_overdue"',
                         interval_startTime=stamp(started - 1), interval_endTime=stamp(time.time())).execute()["timeSeries"]
    assert (flag["valueType"], flag["points"][0]["value"]) == ("BOOL", {"boolValue": True})


def test_both_doors_give_the_same_results(emulated):
    """The controller process and the module (orchestra_gcp_in_process: false) run the same logic."""
    tasks = [dict(name="create", **task("metric", **LATENCY)), dict(name="same", **task("metric", **LATENCY)),
             dict(name="bad", ignore_errors=True, **task("metric", **{**METRIC, "filter": "(x"})),
             dict(name="point", **task("series", **{**POINT, "metric_labels": {"door": "{{ orchestra_gcp_in_process }}"}}))]
    results = []
    for in_process in (True, False):
        emulated.emulator.reset()
        play = emulated.run(tasks, extravars={"orchestra_gcp_in_process": in_process}, verbosity=3)
        assert play.rc == 0, play.stdout
        door = "runs in the controller process" if in_process else "runs as a module: orchestra_gcp_in_process is false"
        assert play.stdout.count(door) == len(tasks), play.stdout
        results.append([{k: v for k, v in play.task(t["name"]).items() if k in ("changed", "msg", "changed_options", "metric_type")}
                        for t in tasks])
        for name in ("create", "same"):
            metric = play.task(name)["metric"]
            buckets = {"exponentialBuckets": {"numFiniteBuckets": 64, "growthFactor": 1.4, "scale": 1}}
            assert (metric["name"], metric["bucketOptions"]) == ("latency", buckets)
        assert play.task("point")["time_series"]["metric"]["labels"] == {"door": str(in_process)}
    assert results[0] == results[1]
    assert [r["changed"] for r in results[0]] == [True, False, False, True]
