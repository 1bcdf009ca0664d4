# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tokens of a run: one OAuth access token per credential (and one ID token per credential and
audience), fetched once and reused by every task of the run until shortly before it expires.

PRIVATE to this collection; ``_gcp`` uses it.

A run is one ansible-playbook process, its forked workers and the modules they start. The
controller process calls ``start_run()`` when it loads the collection's action plugins, before it
forks any worker: it makes a fresh directory ``<tmp>/orchestra-gcp-<uid>/<pid>-<random>`` (0700,
in a per-user 0700 directory whose owner and mode are checked) and names it in the environment
variable ``ORCHESTRA_GCP_TOKEN_RUN``, which its workers and the module processes they start on the
controller inherit. Each token is a 0600 file there named by a hash of the credential (see
``_gcp.Session``), written atomically; a lock file per credential makes parallel workers wait for
the one that fetches, so a credential is fetched once even with many forks. The controller removes
the directory when it exits, and every new run first removes the directories of runs whose process
is gone (a killed run). Concurrent runs, of the same user or not, each have their own directory; so
do AWX jobs, each of which is its own ansible-playbook process (in its own container).

``ORCHESTRA_GCP_TOKEN_CACHE`` changes this: ``keep`` shares one directory per user across runs
(``$XDG_CACHE_HOME/orchestra.gcp/tokens``, default ``~/.cache``), kept after the run, expired
entries removed at the start of the next; ``off`` keeps tokens only in the memory of each process.
A process outside any run (a module on a remote host, or with ``become``, which cannot read the
directory) keeps its tokens in memory. Any failure to use the directory falls back to fetching.
"""

from __future__ import annotations

import atexit
import datetime
import errno
import fcntl
import json
import os
import shutil
import tempfile

try:
    from google.auth import credentials as gcreds
    HAS_GOOGLE_AUTH = True
except ImportError:
    HAS_GOOGLE_AUTH = False
    gcreds = None

RUN_VARIABLE = "ORCHESTRA_GCP_TOKEN_RUN"
MODE_VARIABLE = "ORCHESTRA_GCP_TOKEN_CACHE"
MODES = ("run", "keep", "off")
# A stored token is handed out only while it has more than this left; more than google-auth's own
# refresh threshold (3 min 45 s), so a token handed out is one google-auth does not refresh at once.
MARGIN = datetime.timedelta(minutes=5)
EPOCH = datetime.datetime(1970, 1, 1)


def start_run(environ=None):
    """Make this process's run directory and name it in ``environ``; called once by the controller."""
    environ = os.environ if environ is None else environ
    mode = environ.get(MODE_VARIABLE) or "run"
    if mode not in MODES or mode == "off" or environ.get(RUN_VARIABLE):
        return None  # an unknown mode caches nothing; an ansible-playbook inside a run uses that run's
    try:
        if mode == "keep":
            cache_home = environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
            if not os.path.isdir(cache_home):
                os.makedirs(cache_home, 0o700)
            directory = _private_directory(os.path.join(_private_directory(os.path.join(cache_home, "orchestra.gcp")), "tokens"))
            _remove_expired(directory)
        else:
            base = _private_directory(os.path.join(tempfile.gettempdir(), "orchestra-gcp-%d" % os.geteuid()))
            _remove_dead_runs(base)
            directory = tempfile.mkdtemp(prefix="%d-" % os.getpid(), dir=base)
            atexit.register(_remove_run, directory, os.getpid())
    except OSError:
        return None
    environ[RUN_VARIABLE] = directory
    return directory


def run_directory(environ=None):
    """This run's token directory, when there is one this user alone can use."""
    environ = os.environ if environ is None else environ
    directory = environ.get(RUN_VARIABLE)
    if not directory or (environ.get(MODE_VARIABLE) or "run") == "off":
        return None
    try:
        return directory if _is_private(os.lstat(directory)) else None
    except OSError:
        return None


def _private_directory(path):
    """``path`` as a directory of this user's that nobody else can read or write."""
    try:
        os.mkdir(path, 0o700)
    except OSError as e:
        if e.errno != errno.EEXIST:
            raise
    if not _is_private(os.lstat(path)):
        raise OSError(errno.EPERM, "not a private directory of this user", path)
    return path


def _is_private(stat):
    return (stat.st_mode & 0o170000) == 0o040000 and stat.st_uid == os.geteuid() and not stat.st_mode & 0o077


def _remove_run(directory, pid):
    if os.getpid() == pid:  # the run's own process, not a forked worker that inherited the hook
        shutil.rmtree(directory, ignore_errors=True)


def _remove_dead_runs(base):
    for name in os.listdir(base):
        pid = name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_expired(directory):
    now = _utcnow()
    for name in os.listdir(directory):
        if name.endswith(".json"):
            entry = _read(os.path.join(directory, name))
            if entry is None or entry[1] <= now:
                for suffix in (".json", ".lock"):
                    _unlink(os.path.join(directory, name[:-5] + suffix))


def _utcnow():
    """Naive UTC, as google-auth's ``expiry``."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _fresh(expiry):
    return expiry is not None and expiry - MARGIN > _utcnow()


def _read(path):
    """``(token, expiry)`` stored at ``path``, or None."""
    try:
        with open(path) as f:
            entry = json.load(f)
        return entry["token"], EPOCH + datetime.timedelta(seconds=entry["expiry"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path, token, expiry):
    """Store atomically in a 0600 file."""
    temporary = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(dict(token=token, expiry=(expiry - EPOCH).total_seconds()), f)
    os.replace(temporary, path)


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


if HAS_GOOGLE_AUTH:
    class CachedCredentials(gcreds.Credentials):
        """``inner``'s token, fetched once per run: stored under ``key`` in ``directory`` (None: this
        process only). A refresh asked while the token is still fresh means the API refused it (401):
        the stored token is dropped and fetched again, once, whichever process asks first."""

        def __init__(self, inner, key, directory):
            super().__init__()
            self.inner = inner
            self._path = os.path.join(directory, key) if directory else None

        def refresh(self, request):
            rejected = self.token if _fresh(self.expiry) else None
            if self._path is None:
                return self._fetch(request)
            try:
                lock = os.open(self._path + ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            except OSError:
                return self._fetch(request)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)  # parallel workers wait for the one that fetches
                stored = _read(self._path + ".json")
                if stored and stored[0] != rejected and _fresh(stored[1]):
                    self.token, self.expiry = stored
                    return None
                self._fetch(request)
                if self.expiry is not None:  # a token without an expiry is not worth storing
                    try:
                        _write(self._path + ".json", self.token, self.expiry)
                    except OSError:
                        pass
            finally:
                os.close(lock)
            return None

        def _fetch(self, request):
            self.inner.refresh(request)
            self.token, self.expiry = self.inner.token, self.inner.expiry
