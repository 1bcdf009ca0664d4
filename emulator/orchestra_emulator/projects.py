"""The emulator's projects: it has none, so a project's number is made up, stable per project id.

Why a number at all: Google names Secret Manager resources, and reports their errors, by project number
even when the request used the project id (tests/fixtures/google/secretmanager_secret_create_automatic.json,
secretmanager_error_secret_not_found.json), and Cloud Run revisions read secrets by number
(run_v2_secret_not_found.json). A real number is 12 digits; which one a project gets is Google's choice,
unknown here, so the emulator derives one from the id. A project named by its number keeps it.
"""

import hashlib


def project_number(project):
    """The number Google would give `project`: a project named by its number keeps it, a project id gets
    a stable 12-digit stand-in."""
    if project.isdigit():
        return int(project)
    return int(hashlib.sha256(project.encode()).hexdigest()[:15], 16) % 10**12
