"""Cloud Monitoring v3 timeSeries.list over what the emulated revisions served, read with Google's
REST client for it (google-api-python-client: Monitoring's google-cloud-* library speaks gRPC only):
request counts by revision and response class, latency percentiles, the aggregations the rollouts
use, paging, errors, and revisions told to fail or slow down."""

import datetime
import urllib.error

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from run_helpers import create, deploy, latest, pinned, service_spec, set_traffic

PROJECT = "projects/demo"
COUNT = 'metric.type = "run.googleapis.com/request_count" AND resource.labels.service_name = "app"'
LATENCIES = 'metric.type = "run.googleapis.com/request_latencies" AND resource.labels.service_name = "app"'


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
    return first, second, answers


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
    assert (end - start).total_seconds() == 60


def test_rate_and_paging(metrics, two_revisions):
    rates = aggregated(metrics, COUNT, "ALIGN_RATE", "REDUCE_NONE", [])
    assert sum(s["points"][0]["value"]["doubleValue"] for s in rates) == pytest.approx(90 / 300)

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
     "not valid for a INT64 metric"),
])
def test_bad_requests_are_invalid_argument(metrics, two_revisions, query, message):
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
