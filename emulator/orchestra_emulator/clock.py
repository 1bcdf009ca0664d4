"""The emulator's clock: real time moved by an offset that the admin API sets (`POST /_emulator/clock`), so that
tests see what Google does as time passes (a secret expiring, a version's destruction coming due, a rotation
falling due) without waiting. The offset is part of the state: it survives a restart and a reset clears it.

The clock itself is the emulator's own plumbing (Google has no such control). What is stamped and compared with it
follows Google's documents: Secret Manager's times and its rotation schedule as the secretmanager.v1 discovery
document (`Rotation`, `Rotation.rotationPeriod`, `Secret.expireTime`) and
https://cloud.google.com/secret-manager/docs/secret-rotation say, quoted in emulator/README.md; the recorded
timestamps of tests/fixtures/google/secretmanager_*.json give their form."""

import datetime
import time


def timestamp(seconds):
    """RFC 3339 in UTC with microseconds, as Google stamps most resources (`2024-05-01T10:00:00.123456Z`)."""
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now(data):
    """The emulator's now, in seconds since the epoch, for the state `data`."""
    return time.time() + data["admin"]["clock_offset"]
