"""The emulator's projects: it has none, so a project's number is made up, stable per project id."""

import hashlib


def project_number(project):
    """The number Google would give `project`: a project named by its number keeps it, a project id gets
    a stable 12-digit stand-in."""
    if project.isdigit():
        return int(project)
    return int(hashlib.sha256(project.encode()).hexdigest()[:15], 16) % 10**12
