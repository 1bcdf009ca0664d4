"""The emulator's clock: real time moved by an offset that the admin API sets (`POST /_emulator/clock`), so that
tests see what Google does as time passes (a secret expiring, a version's destruction coming due, a rotation
falling due) without waiting. The offset is part of the state: it survives a restart and a reset clears it."""

import time


def now(data):
    """The emulator's now, in seconds since the epoch, for the state `data`."""
    return time.time() + data["admin"]["clock_offset"]
