"""Builders for Cloud Run requests made with the official client (imported by the tests)."""

from google.cloud import run_v2

PARENT = "projects/demo/locations/us-central1"
LATEST = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
REVISION = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION


def service_spec(image="gcr.io/demo/app:1", env=(), **fields):
    container = run_v2.Container(image=image, env=[run_v2.EnvVar(name=k, value=v) for k, v in env])
    return run_v2.Service(template=run_v2.RevisionTemplate(containers=[container]), **fields)


def create(services, service_id="app", **spec):
    return services.create_service(parent=PARENT, service_id=service_id, service=service_spec(**spec)).result()


def deploy(services, service, image):
    """Update `service` (as last read) to a new image; returns the served Service."""
    service.template.containers[0].image = image
    return services.update_service(service=service).result()


def latest(percent, tag=""):
    return run_v2.TrafficTarget(type_=LATEST, percent=percent, tag=tag)


def pinned(revision, percent, tag=""):
    return run_v2.TrafficTarget(type_=REVISION, revision=revision, percent=percent, tag=tag)


def set_traffic(services, service, *targets):
    service.traffic = list(targets)
    return services.update_service(service=service).result()


def short(name):
    """The last part of a resource name: Google gives `latestReadyRevision` as a full name."""
    return name.rsplit("/", 1)[-1]


def google_status(error):
    """The canonical status of an API error (HTTP 409 is both ALREADY_EXISTS and ABORTED)."""
    return error.response.json()["error"]["status"]
