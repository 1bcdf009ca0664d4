"""Cloud Monitoring v3 timeSeries.create and the metric descriptors it creates, driven with Google's REST client for it
(google-api-python-client), and compared with Google's real answers (tests/fixtures/google/monitoring_time_series_*.json)."""

import datetime
import json
import pathlib
import time

import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

PROJECT = "projects/demo"
METRIC = "custom.googleapis.com/orchestra/backup_age"
FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google"


@pytest.fixture
def api(emulator):
    return build("monitoring", "v3", credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": emulator.endpoint}).projects()


def stamp(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def series(at, value=None, metric=METRIC, labels=None, resource=None, **extra):
    return dict({"metric": {"type": metric, "labels": labels or {"instance": "cache"}},
                 "resource": resource or {"type": "global", "labels": {"project_id": "demo"}},
                 "points": [{"interval": {"endTime": stamp(at)}, "value": value or {"doubleValue": 3600.5}}]}, **extra)


def write(api, *items):
    return api.timeSeries().create(name=PROJECT, body={"timeSeries": list(items)}).execute()


def error(call):
    with pytest.raises(HttpError) as raised:
        call()
    return raised.value.resp.status, json.loads(raised.value.content)["error"]


def read(api, start, end, metric=METRIC):
    return api.timeSeries().list(name=PROJECT, filter='metric.type = "%s"' % metric, interval_startTime=stamp(start),
                                 interval_endTime=stamp(end)).execute().get("timeSeries", [])


def test_a_point_is_written_read_back_and_its_descriptor_created(api):
    now = time.time()
    assert write(api, series(now - 60)) == {}, "the answer of a write is empty (the method's response is Empty)"
    [found] = read(api, now - 120, now)
    assert (found["metricKind"], found["valueType"], found["resource"], found["metric"]["labels"]) == \
        ("GAUGE", "DOUBLE", {"type": "global", "labels": {"project_id": "demo"}}, {"instance": "cache"})
    [point] = found["points"]
    assert point["value"] == {"doubleValue": 3600.5}
    assert point["interval"]["endTime"] == point["interval"]["startTime"], "a GAUGE point is a moment"
    assert abs(datetime.datetime.fromisoformat(point["interval"]["endTime"].replace("Z", "+00:00")).timestamp() - (now - 60)) < 0.001

    descriptor = api.metricDescriptors().get(name="%s/metricDescriptors/%s" % (PROJECT, METRIC)).execute()
    assert descriptor == {"name": "%s/metricDescriptors/%s" % (PROJECT, METRIC), "type": METRIC, "labels": [{"key": "instance"}],
                          "metricKind": "GAUGE", "valueType": "DOUBLE"}
    listed = api.metricDescriptors().list(name=PROJECT, filter='metric.type = starts_with("custom.googleapis.com/")').execute()
    assert [d["type"] for d in listed["metricDescriptors"]] == [METRIC]
    assert error(lambda: api.metricDescriptors().get(name="%s/metricDescriptors/custom.googleapis.com/nothing" % PROJECT).execute())[0] == 404


def test_points_of_a_series_come_in_order_and_more_than_5_seconds_apart(api):
    now = time.time()
    write(api, series(now - 100))
    status, body = error(lambda: write(api, series(now - 101)))
    real = json.loads((FIXTURES / "monitoring_time_series_out_of_order.json").read_text())["response"]["error"]
    assert status == real["code"] and body["status"] == "INVALID_ARGUMENT"
    assert "Points must be written in order. One or more of the points specified had an older end time than the most recent point." in body["message"]
    assert body["message"].startswith("One or more TimeSeries could not be written: timeSeries[0]: write for resource=global{} failed with:")

    status, body = error(lambda: write(api, series(now - 95)))  # exactly 5 s later: refused, as recorded
    real = json.loads((FIXTURES / "monitoring_time_series_too_frequent.json").read_text())["response"]["error"]
    assert (status, body["status"]) == (real["code"], real["status"])
    assert "One or more points were written more frequently than the maximum sampling period configured for the metric. {Metric: %s, " \
        "Timestamps: {Youngest Existing: '%s" % (METRIC, time.strftime("%Y/%m/%d-%H:%M:%S", time.gmtime(now - 100))) in body["message"]
    assert write(api, series(now - 94.9)) == {}
    assert len(read(api, now - 200, now)[0]["points"]) == 2, "the refused points were not written"


def test_a_write_with_failing_series_writes_the_others_and_summarises(api):
    now = time.time()
    write(api, series(now - 50))
    other = series(now - 50, labels={"instance": "other"})
    status, body = error(lambda: write(api, series(now - 50), other))
    real = json.loads((FIXTURES / "monitoring_time_series_summary.json").read_text())["response"]["error"]
    assert status == real["code"] and body["message"].startswith("One or more TimeSeries could not be written: timeSeries[0]: ")
    assert body["details"] == [{"@type": real["details"][0]["@type"], "totalPointCount": 2, "successPointCount": 1,
                                "errors": [{"status": {"code": 3}, "pointCount": 1}]}]
    assert sorted(s["metric"]["labels"]["instance"] for s in read(api, now - 100, now)) == ["cache", "other"]


@pytest.mark.parametrize("item, words", [
    (series(0, metric="run.googleapis.com/request_count"), "cannot be written"),
    (series(0, metric="custom.googleapis.com/"), "cannot be written"),
    (series(0, labels={"9lives": "x"}), "Invalid metric label key '9lives'"),
    (series(0, resource={"type": "gce_instance", "labels": {"project_id": "demo"}}), "not 'gce_instance'"),
    (series(0, resource={"type": "generic_task", "labels": {"project_id": "demo"}}), "needs exactly the labels"),
    (series(0, resource={"type": "global", "labels": {"project_id": "elsewhere"}}), "is not the project of the request"),
    (dict(series(0), points=[]), "exactly one point, not 0"),
    (series(0, value={"stringValue": "x"}), "int64Value, doubleValue or boolValue"),
    (series(0, metricKind="CUMULATIVE"), "GAUGE points only"),
    (series(0, valueType="INT64"), "is not the type of its point, DOUBLE"),
])
def test_series_that_cannot_be_written(api, item, words):
    item["points"] = [dict(p, interval={"endTime": stamp(time.time() - 30)}) for p in item["points"]]
    status, body = error(lambda: write(api, item))
    assert status == 400 and words in body["message"], body["message"]


def test_a_metric_keeps_its_value_type_and_requests_are_bounded(api):
    now = time.time()
    write(api, series(now - 60, value={"int64Value": "3"}, labels={"instance": "a"}))
    status, body = error(lambda: write(api, series(now - 30, labels={"instance": "b"})))
    assert status == 400 and "has the value type INT64; a point of DOUBLE cannot be written" in body["message"]
    assert error(lambda: write(api))[0] == 400
    status, body = error(lambda: write(api, *[series(now - 10, labels={"instance": "n%d" % i}) for i in range(201)]))
    assert status == 400 and "At most 200" in body["message"]
    [found] = read(api, now - 100, now)
    assert found["points"][0]["value"] == {"int64Value": "3"}
