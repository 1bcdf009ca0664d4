# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load on a Cloud Run URL with ApacheBench (``ab``), with the ID token a private service needs.

PRIVATE to this collection; the cloud_run_load module and its action plugin use it.

The ID token is minted from the task's credentials for the service URL (``Session.invoker_headers``)
and reaches ``ab`` as a ``-H`` header: ``ab`` takes headers on its command line only, so while it runs
the token is in the controller's process list. The result holds ab's numbers only: never the token,
never ab's command line; the token is also a no_log value of the task, masked wherever it shows.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from urllib.parse import urlsplit

from ._gcp import GcpError

LOAD_SPEC = dict(
    argument_spec=dict(
        url=dict(type="str", required=True),
        audience=dict(type="str"),
        duration=dict(type="int"),
        requests=dict(type="int"),
        concurrency=dict(type="int", default=4),
        timeout=dict(type="int", default=30),
    ),
    required_one_of=[["duration", "requests"]],
)

# ab's summary lines; those of the rate and the time per request are missing when no request completed.
SUMMARY = dict(
    requests=r"^Complete requests:\s+(\d+)\s*$",
    failed_requests=r"^Failed requests:\s+(\d+)\s*$",
    non_2xx=r"^Non-2xx responses:\s+(\d+)\s*$",
    per_second=r"^Requests per second:\s+([0-9.]+) \[#/sec\] \(mean\)\s*$",
    time_per_request_ms=r"^Time per request:\s+([0-9.]+) \[ms\] \(mean\)\s*$",
    seconds=r"^Time taken for tests:\s+([0-9.]+) seconds\s*$",
)
ALWAYS = ("requests", "failed_requests", "seconds")
INSTALL_AB = ("install ApacheBench (ab) on the controller: apache2-utils (Debian, Ubuntu) or httpd-tools (RHEL, Fedora), "
              "or use an AWX execution environment that has it")


def problems(p):
    """What is wrong with the options, before anything runs: a list of sentences, empty when all is well."""
    found = []
    parts = urlsplit(p["url"])
    if parts.scheme not in ("http", "https") or not parts.hostname:
        found.append("url must be an http:// or https:// URL with a host; got %r" % p["url"])
    if p["concurrency"] < 1:
        found.append("concurrency must be 1 or more; got %d" % p["concurrency"])
    if p["requests"] is not None and p["requests"] < max(p["concurrency"], 1):
        found.append("requests must be at least concurrency (%d); got %d" % (p["concurrency"], p["requests"]))
    if p["duration"] is not None and p["duration"] <= 0:
        found.append("duration must be more than 0 seconds; got %d" % p["duration"])
    if p["timeout"] < 1:
        found.append("timeout must be 1 second or more; got %d" % p["timeout"])
    return found


def target(url):
    """The URL ab is given: ab refuses a URL without a path."""
    return url if urlsplit(url).path else url + "/"


def audience(p):
    """The ID token's audience: the ``audience`` option, else the URL's scheme and host."""
    parts = urlsplit(p["url"])
    return p["audience"] or "%s://%s" % (parts.scheme, parts.netloc)


def command(ab, p, headers):
    """ab's arguments: GETs until ``duration`` or ``requests`` ends first, at ``concurrency``, dynamic lengths
    accepted (-l) and receive errors counted rather than fatal (-r). ``-t`` comes before ``-n``: it implies 50000."""
    argv = [ab, "-q", "-r", "-l", "-c", str(p["concurrency"]), "-s", str(p["timeout"])]
    if p["duration"] is not None:
        argv += ["-t", str(p["duration"])]
    if p["requests"] is not None:
        argv += ["-n", str(p["requests"])]
    for name, value in headers.items():
        argv += ["-H", "%s: %s" % (name, value)]
    return argv + [target(p["url"])]


def parse(output):
    """ab's numbers from its report on stdout. Raises ValueError naming the lines that are missing."""
    found = {}
    for name, pattern in SUMMARY.items():
        match = re.search(pattern, output, re.MULTILINE)
        if match:
            found[name] = float(match.group(1)) if "." in match.group(1) else int(match.group(1))
    missing = [name for name in ALWAYS if name not in found]
    if missing:
        raise ValueError("no %s in its report" % ", ".join(missing))
    return dict(requests=found["requests"], failed_requests=found["failed_requests"], non_2xx=found.get("non_2xx", 0),
                per_second=float(found.get("per_second", 0.0)), time_per_request_ms=found.get("time_per_request_ms"),
                seconds=float(found["seconds"]))


def _first_lines(text, count=3):
    return "; ".join(line.strip() for line in text.strip().splitlines()[:count]) or "no output"


def load(session):
    """Send load to ``url`` with ab; return its numbers, the URL and whether an ID token went with it."""
    p = session.params
    wrong = problems(p)
    if wrong:
        raise GcpError("Cannot send load: %s." % "; ".join(wrong))
    ab = shutil.which("ab")
    if ab is None:
        raise GcpError("Cannot send load to %s: ApacheBench (ab) is not on the PATH. Hint: %s." % (p["url"], INSTALL_AB))
    headers, why = session.invoker_headers(audience(p))
    if why:
        session.warn("Sending load to %s without an ID token: %s. A private Cloud Run service refuses these requests (403, "
                     "counted in non_2xx) and they do not reach its request metrics." % (p["url"], why))
    result = dict(changed=False, url=p["url"], token_sent=bool(headers))
    if session.check_mode:
        until = [what % p[name] for name, what in (("requests", "%d requests"), ("duration", "%d seconds")) if p[name] is not None]
        return dict(result, msg="Would send GETs to %s at concurrency %d, %s (whichever ends first), %s an ID token." % (
            p["url"], p["concurrency"], " or ".join(until), "with" if headers else "without"))
    done = subprocess.run(command(ab, p, headers), stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise GcpError("ApacheBench failed against %s (exit %d): %s" % (p["url"], done.returncode, _first_lines(done.stderr)),
                       **result)
    try:
        numbers = parse(done.stdout)
    except ValueError as e:
        raise GcpError("Cannot read ApacheBench's report on %s: %s. It said: %s" % (p["url"], e, _first_lines(done.stderr or done.stdout)),
                       **result)
    return dict(result, **numbers)
