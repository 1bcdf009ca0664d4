"""Cloud Monitoring v3 timeSeries.list over what the emulated revisions served, read with Google's
REST client for it (google-api-python-client: Monitoring's google-cloud-* library speaks gRPC only):
request counts by revision and response class, latency percentiles, the aggregations the rollouts
use, paging, errors, revisions told to fail or slow down, and the lag with which samples arrive."""

import datetime
import json
import math
import pathlib
import time
import urllib.error

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from monitoring_lag import MONITORING_CONFIG
from run_helpers import create, deploy, latest, pinned, service_spec, set_traffic

PROJECT = "projects/demo"
COUNT = 'metric.type = "run.googleapis.com/request_count" AND resource.labels.service_name = "app"'
LATENCIES = 'metric.type = "run.googleapis.com/request_latencies" AND resource.labels.service_name = "app"'
FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google"


@pytest.fixture
def metrics(emulator):
    service = build("monitoring", "v3", credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                    client_options={"api_endpoint": emulator.endpoint})

    def list_series(**query):
        """Every series, following nextPageToken as a caller must."""
        series, token = [], None
        while True:
            page = service.projects().timeSeries().list(name=PROJECT, pageToken=token, **query).execute()
            series += page.get("timeSeries", [])
            token = page.get("nextPageToken")
            if not token:
                return series
    return list_series


@pytest.fixture
def two_revisions(services, emulator):
    """app: rev 1 (image :good) and rev 2 (image :bad, 10% 5xx, +40 ms), each behind its own tag."""
    emulator.admin("revision-behaviour", {"image": "*:bad", "error_ratio": 0.1, "latency_ms": 40})
    service = create(services, image="gcr.io/demo/app:good")
    first = service.latest_ready_revision.rsplit("/", 1)[-1]
    service = deploy(services, service, "gcr.io/demo/app:bad")
    second = service.latest_ready_revision.rsplit("/", 1)[-1]
    service = set_traffic(services, service, pinned(first, 100, "stable"), latest(0, "canary"))
    urls = {s.tag: s.uri for s in service.traffic_statuses if s.tag}
    with requests.Session() as http:
        answers = [http.get(urls["stable"], timeout=5).status_code for _unused in range(40)]
        answers += [http.get(urls["canary"], timeout=5).status_code for _unused in range(50)]
    arrive()
    return first, second, answers


def arrive(config=None):
    """Sleep until the sample holding what was sent so far is visible: once it closed and the lag passed
    (under the tests' config unless another is given)."""
    config = config or MONITORING_CONFIG
    length = config["monitoring_sample_seconds"]
    now = time.time()
    time.sleep((math.floor(now / length) + 1) * length + config["monitoring_lag_seconds"] - now + 0.05)


def stamp(moment):
    return moment.isoformat().replace("+00:00", "Z")


def window(seconds=300):
    end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
    return {"interval_startTime": stamp(end - datetime.timedelta(seconds=seconds)), "interval_endTime": stamp(end)}


def aggregated(metrics, filter_, aligner, reducer, group_by, seconds=300):
    return metrics(filter=filter_, aggregation_alignmentPeriod="%ds" % seconds, aggregation_perSeriesAligner=aligner,
                   aggregation_crossSeriesReducer=reducer, aggregation_groupByFields=group_by, **window(seconds))


def test_revisions_told_to_fail_answer_that_share_with_5xx(two_revisions):
    _first, _second, answers = two_revisions
    assert answers[:40] == [200] * 40
    assert answers[40:].count(503) == 5 and answers[40:].count(200) == 45


def test_request_count_by_revision_and_response_class(metrics, two_revisions):
    first, second, _answers = two_revisions
    series = aggregated(metrics, COUNT, "ALIGN_DELTA", "REDUCE_SUM",
                        ["resource.labels.revision_name", "metric.labels.response_code_class"])

    counts = {(s["resource"]["labels"]["revision_name"], s["metric"]["labels"]["response_code_class"]):
              s["points"][0]["value"]["int64Value"] for s in series}
    assert counts == {(first, "2xx"): "40", (second, "2xx"): "45", (second, "5xx"): "5"}
    assert all(len(s["points"]) == 1 and s["metricKind"] == "DELTA" for s in series)
    assert series[0]["resource"] == {"type": "cloud_run_revision", "labels": {"revision_name": first}}


def test_latency_percentiles_per_revision(metrics, two_revisions):
    first, second, _answers = two_revisions
    p95 = {s["resource"]["labels"]["revision_name"]: s["points"][0]["value"]["doubleValue"] for s in aggregated(
        metrics, LATENCIES, "ALIGN_DELTA", "REDUCE_PERCENTILE_95", ["resource.labels.revision_name"])}

    assert p95[first] < 20
    assert 40 <= p95[second] <= 40 * 1.1 + 20  # one exponential bucket (growth 1.1) above the added latency


def test_raw_series_carry_distributions(metrics, two_revisions):
    _first, second, _answers = two_revisions
    series = metrics(filter=LATENCIES + ' AND resource.labels.revision_name = "%s"' % second, view="FULL", **window())

    assert {s["metric"]["labels"]["response_code"] for s in series} == {"200", "503"}
    assert sum(int(p["value"]["distributionValue"]["count"]) for s in series for p in s["points"]) == 50
    point = series[0]["points"][0]
    assert point["value"]["distributionValue"]["bucketOptions"]["exponentialBuckets"]["growthFactor"] == 1.1
    start, end = (datetime.datetime.fromisoformat(point["interval"][k].replace("Z", "+00:00")) for k in ("startTime", "endTime"))
    assert (end - start).total_seconds() == MONITORING_CONFIG["monitoring_sample_seconds"]


def test_rate_and_paging(metrics, two_revisions):
    rates = aggregated(metrics, COUNT, "ALIGN_RATE", "REDUCE_NONE", [])
    assert sum(s["points"][0]["value"]["doubleValue"] for s in rates) == pytest.approx(90 / 300)
    # ALIGN_RATE: "The output is a GAUGE metric with value_type DOUBLE."
    assert {(s["metricKind"], s["valueType"]) for s in rates} == {("GAUGE", "DOUBLE")}

    assert len(metrics(filter=COUNT, pageSize=1, **window())) == 3  # one series per page, three pages


def test_no_traffic_means_no_series(metrics, services):
    create(services, image="gcr.io/demo/app:quiet")
    assert aggregated(metrics, COUNT, "ALIGN_DELTA", "REDUCE_SUM", ["resource.labels.revision_name"]) == []


@pytest.mark.parametrize("query, message", [
    ({"filter": 'resource.labels.service_name = "app"'}, "must name a metric.type"),
    ({"filter": 'metric.type = starts_with("run")'}, "cannot parse"),
    ({"filter": COUNT, "aggregation_alignmentPeriod": "30s", "aggregation_perSeriesAligner": "ALIGN_DELTA"},
     "at least 60 seconds"),
    ({"filter": COUNT, "aggregation_perSeriesAligner": "ALIGN_DELTA"}, "alignment period is required"),
    ({"filter": COUNT, "aggregation_alignmentPeriod": "60s", "aggregation_perSeriesAligner": "ALIGN_PERCENTILE_95"},
     "The aligner cannot be applied to metrics with kind DELTA and value type INT64."),
])
def test_bad_requests_are_invalid_argument(metrics, query, message):
    with pytest.raises(HttpError) as error:
        metrics(**window(), **query)
    assert error.value.resp.status == 400 and message in str(error.value)


def test_a_revision_behaviour_can_pick_revisions_by_resource_name(services, emulator):
    """The same image fails in one region only when the rule names that region's revisions."""
    emulator.admin("revision-behaviour", {"image": "*:same", "revision": "projects/*/locations/europe-west1/*",
                                          "error_ratio": 1.0})
    here = create(services, image="gcr.io/demo/app:same")
    there = services.create_service(parent="projects/demo/locations/europe-west1", service_id="app",
                                    service=service_spec(image="gcr.io/demo/app:same")).result()
    with requests.Session() as http:
        assert {http.get(here.uri, timeout=5).status_code for _unused in range(5)} == {200}
        assert {http.get(there.uri, timeout=5).status_code for _unused in range(5)} == {503}
    with pytest.raises(urllib.error.HTTPError, match="400"):
        emulator.admin("revision-behaviour", {"revision": 3})


# -- the lag: samples, visible only once they closed and the lag passed -----------------------------

def raw_counts(metrics):
    """{(startTime, endTime): requests} of every raw request_count point up to a minute from now."""
    end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=60)
    series = metrics(filter=COUNT, interval_startTime=stamp(end - datetime.timedelta(seconds=600)), interval_endTime=stamp(end))
    return {(p["interval"]["startTime"], p["interval"]["endTime"]): int(p["value"]["int64Value"])
            for s in series for p in s["points"]}


def send(services, n, image="gcr.io/demo/app:lag"):
    service = create(services, image=image)
    with requests.Session() as http:
        assert {http.get(service.uri, timeout=5).status_code for _unused in range(n)} == {200}


def test_a_sample_is_hidden_until_the_lag_after_it_closed(metrics, services):
    send(services, 12)
    assert raw_counts(metrics) == {}  # its sample is still open, and then 2 s late

    arrive()
    counts = raw_counts(metrics)
    assert sum(counts.values()) == 12
    ends = [datetime.datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp() for _start, end in counts]
    assert all(end % MONITORING_CONFIG["monitoring_sample_seconds"] == 0 for end in ends)  # aligned on the epoch
    assert max(ends) <= time.time() - MONITORING_CONFIG["monitoring_lag_seconds"]


def test_the_open_sample_is_never_served(metrics, services, emulator):
    """Even without any lag, a sample is served only once it closed."""
    emulator.admin("config", {"monitoring_sample_seconds": 60, "monitoring_lag_seconds": 0})
    if time.time() % 60 > 55:  # keep the requests inside one minute's sample
        time.sleep(6)
    send(services, 5)
    assert raw_counts(metrics) == {}
    emulator.admin("config", {"monitoring_sample_seconds": 1})
    arrive({"monitoring_sample_seconds": 1, "monitoring_lag_seconds": 0})
    assert sum(raw_counts(metrics).values()) == 5


def test_the_lag_is_google_like_by_default_and_scaled_by_config(emulator):
    emulator.admin("reset")  # a reset clears the config: Google's numbers again
    defaults = emulator.admin("config", {})
    assert (defaults["monitoring_sample_seconds"], defaults["monitoring_lag_seconds"]) == (60, 180)
    assert emulator.admin("config", {"monitoring_sample_seconds": 5, "monitoring_lag_seconds": 0.5})["monitoring_lag_seconds"] == 0.5
    for bad in ({"monitoring_sample_seconds": 0}, {"monitoring_lag_seconds": -1}, {"monitoring_lag_seconds": True},
                {"monitoring_delay": 1}):
        with pytest.raises(urllib.error.HTTPError, match="400"):
            emulator.admin("config", bad)
    assert emulator.admin("config", {})["monitoring_sample_seconds"] == 5
    assert emulator.admin("config", method="GET") == emulator.admin("config", {})


# -- aligners and reducers, in the words of the discovery document -----------------------------------

def test_align_count_is_the_number_of_points_and_align_mean_their_mean(metrics, services):
    """ALIGN_COUNT: "the number of values in each alignment period" (points, not requests); ALIGN_MEAN:
    "valid for GAUGE and DELTA metrics with numeric values. The value_type of the aligned result is DOUBLE"."""
    service = create(services, image="gcr.io/demo/app:samples")
    with requests.Session() as http:
        for n in (3, 5):
            time.sleep(math.ceil(time.time()) - time.time() + 0.1)  # early in a sample of its own
            assert {http.get(service.uri, timeout=5).status_code for _unused in range(n)} == {200}
    arrive()
    assert sorted(raw_counts(metrics).values()) == [3, 5]

    count = aggregated(metrics, COUNT, "ALIGN_COUNT", "REDUCE_NONE", [])
    mean = aggregated(metrics, COUNT, "ALIGN_MEAN", "REDUCE_NONE", [])
    assert [(s["valueType"], s["points"][0]["value"]) for s in count] == [("INT64", {"int64Value": "2"})]
    assert [(s["valueType"], s["points"][0]["value"]) for s in mean] == [("DOUBLE", {"doubleValue": 4.0})]


def test_percentile_aligners_output_a_gauge(metrics, two_revisions):
    # ALIGN_PERCENTILE_95: "The output is a GAUGE metric with value_type DOUBLE."; ALIGN_DELTA: "convert to DELTA".
    p95 = aggregated(metrics, LATENCIES, "ALIGN_PERCENTILE_95", "REDUCE_MAX", ["resource.labels.revision_name"])
    delta = aggregated(metrics, LATENCIES, "ALIGN_DELTA", "REDUCE_SUM", ["resource.labels.revision_name"])
    assert {(s["metricKind"], s["valueType"]) for s in p95} == {("GAUGE", "DOUBLE")}
    assert {(s["metricKind"], s["valueType"]) for s in delta} == {("DELTA", "DISTRIBUTION")}


@pytest.mark.parametrize("aligner", [None, "ALIGN_NONE"])
def test_a_cross_series_reducer_needs_a_per_series_aligner(metrics, aligner):
    """crossSeriesReducer: "If cross_series_reducer is specified, then per_series_aligner must be specified, and
    must not be ALIGN_NONE." """
    query = dict(filter=COUNT, aggregation_crossSeriesReducer="REDUCE_SUM", aggregation_alignmentPeriod="300s", **window())
    if aligner:
        query["aggregation_perSeriesAligner"] = aligner
    with pytest.raises(HttpError) as error:
        metrics(**query)
    assert error.value.resp.status == 400 and "needs a per-series aligner" in str(error.value)


def test_an_aligner_the_metric_does_not_allow_is_google_s_400(metrics):
    """ALIGN_RATE is "valid for CUMULATIVE and DELTA metrics with numeric values": not on request_latencies."""
    real = json.loads((FIXTURES / "monitoring_aligner_rejected.json").read_text())["response"]["error"]
    with pytest.raises(HttpError) as error:
        aggregated(metrics, LATENCIES, "ALIGN_RATE", "REDUCE_NONE", [])
    answer = json.loads(error.value.content)["error"]
    assert (answer["code"], answer["message"], answer["status"]) == (real["code"], real["message"], "INVALID_ARGUMENT")
