"""Traffic splitting: Knative's validation rules, trafficStatuses and the serving URLs."""

import collections
import hashlib
import typing

import pytest
import requests
from google.api_core import exceptions
from run_helpers import LATEST, REVISION, create, deploy, latest, pinned, set_traffic, short


class Deployed(typing.NamedTuple):
    service: object  # run_v2.Service as last deployed
    old: str  # revision 1, gcr.io/demo/app:1
    new: str  # revision 2, gcr.io/demo/app:2 (the latest)


@pytest.fixture
def two_revisions(services):
    """A service with two revisions; its env holds a secret the URLs must not reveal."""
    service = create(services, env=[("SECRET_TOKEN", "hunter2")])
    first = short(service.latest_created_revision)
    service = deploy(services, service, "gcr.io/demo/app:2")
    return Deployed(service, first, short(service.latest_created_revision))


def test_an_empty_traffic_means_all_to_latest(services):
    service = create(services)

    assert [(t.type_, t.percent) for t in service.traffic] == [(LATEST, 100)]
    [status] = service.traffic_statuses
    # Google's LATEST status names no revision: clients resolve it from latestReadyRevision.
    assert (status.type_, status.revision, status.percent) == (LATEST, "", 100)
    assert service.latest_ready_revision == service.latest_created_revision


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (lambda old: [latest(50), pinned(old, 40)], "Traffic targets sum to 90, want 100"),
        (lambda old: [latest(60), pinned(old, 50)], "Traffic targets sum to 110, want 100"),
        (lambda old: [latest(50, tag="x"), pinned(old, 50, tag="x")], 'Multiple definitions for "x"'),
        (lambda old: [latest(100, tag="Bad_Tag")], "DNS-1035 label"),
        (lambda old: [latest(100, tag="1abc")], "DNS-1035 label"),
    ],
)
def test_invalid_traffic_is_rejected_and_changes_nothing(services, two_revisions, targets, message):
    service, old = two_revisions.service, two_revisions.old

    with pytest.raises(exceptions.BadRequest, match=message):
        set_traffic(services, service, *targets(old))
    assert services.get_service(name=service.name).generation == service.generation


def test_target_types_and_revision_names_must_agree(services, two_revisions):
    service, old = two_revisions.service, two_revisions.old
    latest_naming_a_revision = latest(100)
    latest_naming_a_revision.revision = old
    revision_without_name = pinned("", 100)

    for target in (latest_naming_a_revision, revision_without_name):
        with pytest.raises(exceptions.BadRequest):
            set_traffic(services, service, target)


def test_traffic_statuses_follow_traffic_with_a_uri_per_tag(services, two_revisions):
    service, old, new = two_revisions

    split = set_traffic(services, service, latest(50, tag="candidate"), pinned(old, 50, tag="stable"))

    assert [(t.type_, t.revision, t.percent, t.tag) for t in split.traffic] == [
        (LATEST, "", 50, "candidate"),
        (REVISION, old, 50, "stable"),
    ]
    # "traffic and traffic_statuses will match" (run.v2 discovery document): a LATEST status names no revision.
    assert [(s.type_, s.revision, s.percent, s.tag) for s in split.traffic_statuses] == [
        (LATEST, "", 50, "candidate"),
        (REVISION, old, 50, "stable"),
    ]
    uris = {s.tag: s.uri for s in split.traffic_statuses}
    assert len({split.uri, *uris.values()}) == 3
    assert requests.get(uris["candidate"] + "/any/path").json()["revision"] == new
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    stable = requests.get(uris["stable"], headers={"traceparent": trace})
    assert stable.headers["X-Orchestra-Revision"] == old
    assert stable.json() == {
        "revision": old,
        "service": "app",
        "image": "gcr.io/demo/app:1",
        "env": ["SECRET_TOKEN"],
        "env_sha256": {"SECRET_TOKEN": hashlib.sha256(b"hunter2").hexdigest()},  # what the process sees, never the value
        "tag": "stable",
        "traceparent": trace,
    }


def test_the_service_url_splits_requests_by_percent(services, two_revisions):
    service, old, new = two_revisions
    split = set_traffic(services, service, latest(50), pinned(old, 50))

    with requests.Session() as session:
        counts = collections.Counter(session.get(split.uri).headers["X-Orchestra-Revision"] for attempt in range(200))

    assert set(counts) == {old, new}
    assert 60 <= counts[new] <= 140


def test_the_container_gets_the_callers_trace_context_or_a_new_one(services):
    service = create(services)
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    assert requests.get(service.uri, headers={"traceparent": caller}, timeout=5).json()["traceparent"] == caller
    started = requests.get(service.uri, timeout=5).json()["traceparent"]
    assert started != caller and started.startswith("00-") and started.endswith("-00") and len(started) == 55


def test_a_removed_tag_stops_serving(services, two_revisions):
    service, old = two_revisions.service, two_revisions.old
    tagged = set_traffic(services, service, latest(100), pinned(old, 0, tag="stable"))
    [tag_uri] = [s.uri for s in tagged.traffic_statuses if s.tag]

    untagged = set_traffic(services, tagged, latest(100))

    assert requests.get(untagged.uri).json()["revision"] == short(untagged.latest_ready_revision)
    with pytest.raises(requests.ConnectionError):
        requests.get(tag_uri, timeout=2)


def test_deleting_a_service_stops_its_url(services):
    service = create(services)
    services.delete_service(name=service.name).result()

    with pytest.raises(requests.ConnectionError):
        requests.get(service.uri, timeout=2)
