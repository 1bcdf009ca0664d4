"""Cloud Run services through the official client: lifecycle, ids, etags, labels, generations."""

import pytest
from google.api_core import exceptions
from google.cloud import run_v2
from run_helpers import PARENT, create, deploy, google_status, service_spec, short


def test_create_get_and_delete_a_service(services):
    created = create(services, env=[("GREETING", "hi")])

    assert created.name == f"{PARENT}/services/app"
    assert created.generation == 1 == created.observed_generation
    assert created.terminal_condition.type_ == "Ready"
    assert created.terminal_condition.state == run_v2.Condition.State.CONDITION_SUCCEEDED
    assert created.ingress == run_v2.IngressTraffic.INGRESS_TRAFFIC_ALL
    # Two URLs, as Google's (a deterministic one and the legacy one that is also `uri`): here two names of one listener.
    assert created.uri.startswith("http://127.0.0.1:")
    assert list(created.urls) == [created.uri.replace("127.0.0.1", "localhost"), created.uri]
    assert services.get_service(name=created.name) == created

    deleted = services.delete_service(name=created.name).result()

    assert deleted.name == created.name
    with pytest.raises(
        exceptions.NotFound,
        match="Resource 'app' of kind 'SERVICE' in region 'us-central1' in project 'demo' does not exist.",
    ):
        services.get_service(name=created.name)


def test_list_pages_through_services(services):
    for index in range(5):
        create(services, service_id=f"svc-{index}")

    request = {"parent": PARENT, "page_size": 2}
    pages = list(services.list_services(request=request).pages)
    listed = services.list_services(request=request)

    assert [len(page.services) for page in pages] == [2, 2, 1]
    assert [s.name.rsplit("/", 1)[1] for s in listed] == [f"svc-{i}" for i in range(5)]


def test_creating_an_existing_service_is_already_exists(services):
    create(services)

    with pytest.raises(exceptions.Conflict) as raised:
        create(services)
    assert google_status(raised.value) == "ALREADY_EXISTS"


@pytest.mark.parametrize("service_id", ["1app", "App", "app-", "a" * 50, "my_app"])
def test_invalid_service_ids_are_rejected(services, service_id):
    with pytest.raises(exceptions.BadRequest):
        create(services, service_id=service_id)


def test_unknown_location_is_rejected(services):
    with pytest.raises(exceptions.BadRequest, match="Location 'moon-central1' is not a valid location"):
        services.create_service(
            parent="projects/demo/locations/moon-central1", service_id="app", service=service_spec()
        )


def test_update_of_a_missing_service_is_not_found_unless_allow_missing(services):
    service = service_spec()
    service.name = f"{PARENT}/services/ghost"

    with pytest.raises(exceptions.NotFound):
        services.update_service(service=service).result()
    created = services.update_service(request={"service": service, "allow_missing": True}).result()

    assert short(created.latest_ready_revision).startswith("ghost-00001-")


def test_validate_only_changes_nothing(services, emulator):
    operation = services.create_service(
        request={"parent": PARENT, "service_id": "app", "service": service_spec(), "validate_only": True}
    )

    assert operation.done()
    assert emulator.state()["resources"].get("run.v2", {}).get("services", {}) == {}


def test_etag_changes_on_every_update_and_a_stale_one_is_aborted(services):
    first = create(services)
    stale_etag = first.etag
    second = deploy(services, first, "gcr.io/demo/app:2")
    assert second.etag != stale_etag

    second.etag = stale_etag
    with pytest.raises(exceptions.Conflict) as on_update:
        services.update_service(service=second).result()
    with pytest.raises(exceptions.Conflict) as on_delete:
        services.delete_service(request={"name": second.name, "etag": stale_etag}).result()
    assert google_status(on_update.value) == google_status(on_delete.value) == "ABORTED"


def test_generation_counts_spec_changes_and_only_template_changes_make_revisions(services, revisions):
    service = create(services)

    service.labels = {"team": "orchestra"}
    relabelled = services.update_service(service=service).result()
    unchanged = services.update_service(service=relabelled).result()
    redeployed = deploy(services, unchanged, "gcr.io/demo/app:2")

    assert [relabelled.generation, unchanged.generation, redeployed.generation] == [2, 2, 3]
    assert redeployed.observed_generation == 3
    assert relabelled.latest_created_revision == service.latest_created_revision
    assert short(redeployed.latest_created_revision).startswith("app-00003-")
    assert len(list(revisions.list_revisions(parent=service.name))) == 2


def test_update_mask_patches_only_the_named_fields(services):
    service = create(services, labels={"team": "a"}, description="first")

    patch = run_v2.Service(name=service.name, labels={"team": "b"})
    updated = services.update_service(request={"service": patch, "update_mask": "labels"}).result()

    assert updated.labels == {"team": "b"}
    assert updated.description == "first"
    assert updated.template.containers[0].image == "gcr.io/demo/app:1"


@pytest.mark.parametrize(
    "fields",
    [
        {"labels": {"Team": "a"}},
        {"labels": {"team": "A"}},
        {"labels": {"team": "x" * 64}},
        {"labels": {"run.googleapis.com/team": "a"}},
        {"annotations": {"run.googleapis.com/ingress": "all"}},
        {"annotations": {"autoscaling.knative.dev/maxScale": "3"}},
    ],
)
def test_bad_labels_and_reserved_annotations_are_rejected(services, fields):
    with pytest.raises(exceptions.BadRequest):
        create(services, **fields)


def test_template_labels_and_annotations_are_checked_too(services):
    spec = service_spec()
    spec.template.annotations = {"serving.knative.dev/creator": "me"}

    with pytest.raises(exceptions.BadRequest, match="reserved namespace"):
        services.create_service(parent=PARENT, service_id="app", service=spec)
