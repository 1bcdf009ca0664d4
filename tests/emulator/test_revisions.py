"""Cloud Run revisions through the official client: naming, immutability, list/get/delete."""

import re

import pytest
from google.api_core import exceptions
from google.cloud import run_v2
from run_helpers import create, deploy, google_status, latest, pinned, service_spec, set_traffic, short


def test_revisions_are_named_after_service_and_generation(services, revisions):
    service = create(services)
    revision = revisions.get_revision(name=service.latest_created_revision)

    # A full resource name, as Google's; the random suffix holds digits too (`ci-static-ct-00001-6hx`).
    assert re.fullmatch(r"projects/demo/locations/us-central1/services/app/revisions/app-00001-[a-z0-9]{3}",
                        service.latest_created_revision)
    assert revision.service == service.name
    assert revision.containers[0].image == "gcr.io/demo/app:1"
    assert {c.type_: c.state for c in revision.conditions} == {
        kind: run_v2.Condition.State.CONDITION_SUCCEEDED for kind in ("Ready", "ContainerHealthy", "ResourcesAvailable")
    }


def test_template_fields_are_copied_to_the_revision(services, revisions):
    spec = service_spec()
    spec.template.service_account = "runner@demo.iam.gserviceaccount.com"
    spec.template.max_instance_request_concurrency = 7
    spec.template.timeout = {"seconds": 300}
    spec.template.labels = {"tier": "web"}
    service = services.create_service(
        parent="projects/demo/locations/us-central1", service_id="app", service=spec
    ).result()

    revision = revisions.get_revision(name=service.latest_created_revision)

    assert revision.service_account == "runner@demo.iam.gserviceaccount.com"
    assert revision.max_instance_request_concurrency == 7
    assert revision.timeout.seconds == 300
    assert revision.labels == {"tier": "web"}


def test_a_revision_never_changes_after_later_deploys(services, revisions):
    service = create(services)
    first_name = service.latest_created_revision
    first = revisions.get_revision(name=first_name)

    deploy(services, service, "gcr.io/demo/app:2")

    assert revisions.get_revision(name=first_name) == first


def test_a_named_revision_keeps_its_name_and_a_reused_name_conflicts(services):
    spec = service_spec()
    spec.template.revision = "app-blue"
    service = services.create_service(
        parent="projects/demo/locations/us-central1", service_id="app", service=spec
    ).result()
    assert short(service.latest_created_revision) == "app-blue"

    service.template.containers[0].image = "gcr.io/demo/app:2"
    with pytest.raises(exceptions.Conflict) as raised:
        services.update_service(service=service).result()
    assert google_status(raised.value) == "ALREADY_EXISTS"


def test_a_revision_name_must_start_with_the_service_name(services):
    spec = service_spec()
    spec.template.revision = "other-blue"

    with pytest.raises(exceptions.BadRequest, match="must start with 'app-'"):
        services.create_service(parent="projects/demo/locations/us-central1", service_id="app", service=spec)


def test_list_get_and_delete_revisions(services, revisions):
    service = create(services)
    old = short(service.latest_created_revision)
    service = deploy(services, service, "gcr.io/demo/app:2")

    listed = [
        r.name.rsplit("/", 1)[1] for r in revisions.list_revisions(request={"parent": service.name, "page_size": 1})
    ]
    assert listed == [short(service.latest_created_revision), old]

    deleted = revisions.delete_revision(name=f"{service.name}/revisions/{old}").result()

    assert deleted.name.endswith(old)
    with pytest.raises(exceptions.NotFound, match=f"Resource '{old}' of kind 'REVISION'"):
        revisions.get_revision(name=f"{service.name}/revisions/{old}")


def test_a_revision_that_serves_traffic_or_is_tagged_cannot_be_deleted(services, revisions):
    service = create(services)
    old = short(service.latest_created_revision)
    service = deploy(services, service, "gcr.io/demo/app:2")
    service = set_traffic(services, service, latest(100), pinned(old, 0, tag="old"))

    for revision in (short(service.latest_created_revision), old):
        with pytest.raises(exceptions.BadRequest) as raised:
            revisions.delete_revision(name=f"{service.name}/revisions/{revision}").result()
        assert google_status(raised.value) == "FAILED_PRECONDITION"


def test_deleting_a_service_deletes_its_revisions(services, revisions):
    service = create(services)
    services.delete_service(name=service.name).result()

    with pytest.raises(exceptions.NotFound):
        revisions.get_revision(name=service.latest_created_revision)
