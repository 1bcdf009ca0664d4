"""The emulator's projects and their regions: it has no projects, so a project's number is made up, stable per
project id, and every project has the same regions.

Why a number at all: Google names Secret Manager resources, and reports their errors, by project number
even when the request used the project id (tests/fixtures/google/secretmanager_secret_create_automatic.json,
secretmanager_error_secret_not_found.json), and Cloud Run revisions read secrets by number
(run_v2_secret_not_found.json). A real number is 12 digits; which one a project gets is Google's choice,
unknown here, so the emulator derives one from the id. A project named by its number keeps it.
"""

import hashlib

from orchestra_emulator.errors import invalid_argument


def project_number(project):
    """The number Google would give `project`: a project named by its number keeps it, a project id gets
    a stable 12-digit stand-in."""
    if project.isdigit():
        return int(project)
    return int(hashlib.sha256(project.encode()).hexdigest()[:15], 16) % 10**12


# Cloud Run's regions, https://cloud.google.com/run/docs/locations; the emulator's regional APIs (Cloud Run,
# Serverless VPC Access) take these.
LOCATIONS = frozenset("""
    us-central1 us-east1 us-east4 us-east5 us-south1 us-west1 us-west2 us-west3 us-west4
    northamerica-northeast1 northamerica-northeast2 southamerica-east1 southamerica-west1
    europe-central2 europe-north1 europe-southwest1 europe-west1 europe-west2 europe-west3
    europe-west4 europe-west6 europe-west8 europe-west9 europe-west10 europe-west12
    me-central1 me-central2 me-west1 africa-south1 asia-east1 asia-east2 asia-northeast1
    asia-northeast2 asia-northeast3 asia-south1 asia-south2 asia-southeast1 asia-southeast2
    australia-southeast1 australia-southeast2
    """.split())


def regional_parent(variables):
    """`projects/{p}/locations/{l}` of a request's path variables; 400 for a region the emulator does not know (the
    wording is the emulator's; Google answers 400 INVALID_ARGUMENT for unknown regions)."""
    location = variables["locationsId"]
    if location not in LOCATIONS:
        raise invalid_argument(f"Location '{location}' is not a valid location.", field="parent")
    return f"projects/{variables['projectsId']}/locations/{location}"
