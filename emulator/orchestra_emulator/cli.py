"""`orchestra-gcp-emulator serve|start|stop|status`: run the emulator in the foreground or
the background. `start`/`stop` print one JSON line and are idempotent."""

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from orchestra_emulator.admin import PREFIX
from orchestra_emulator.server import serve

START_TIMEOUT = 10.0


def main(argv=None):
    args = _parser().parse_args(argv)
    endpoint = f"http://{args.host}:{args.port}"
    if args.command == "serve":
        serve(args.host, args.port, args.state_dir)
        return
    result, ok = COMMANDS[args.command](args, endpoint)
    print(json.dumps(result))
    sys.exit(0 if ok else 1)


def _parser():
    parser = argparse.ArgumentParser(prog="orchestra-gcp-emulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("serve", "run in the foreground"),
        ("start", "run in the background; no-op if already up"),
        ("stop", "stop a running emulator"),
        ("status", "tell whether an emulator answers"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--host", default="127.0.0.1")
        command.add_argument("--port", type=int, default=8787)
        command.add_argument("--state-dir", default=".emulator")
    return parser


def _start(args, endpoint):
    health = _health(endpoint)
    if health:
        return {"changed": False, "pid": health["pid"], "endpoint": endpoint}, True
    os.makedirs(args.state_dir, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "orchestra_emulator",
        "serve",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--state-dir",
        args.state_dir,
    ]
    with open(os.path.join(args.state_dir, "emulator.log"), "ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        if _health(endpoint):
            return {"changed": True, "pid": process.pid, "endpoint": endpoint}, True
        time.sleep(0.1)
    log_path = os.path.join(args.state_dir, "emulator.log")
    return {
        "changed": False,
        "failed": True,
        "msg": f"The emulator did not answer on {endpoint}; see {log_path}.",
    }, False


def _stop(args, endpoint):
    if _health(endpoint):
        _post(endpoint + PREFIX + "shutdown")
    else:
        pid = _pidfile_pid(args.state_dir)
        if pid is None:
            return {"changed": False}, True
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not _health(endpoint) and _pidfile_pid(args.state_dir) is None:
            return {"changed": True}, True
        time.sleep(0.1)
    return {"changed": True, "failed": True, "msg": "The emulator did not stop."}, False


def _status(args, endpoint):
    health = _health(endpoint)
    if health:
        return {"running": True, "pid": health["pid"], "endpoint": endpoint}, True
    return {"running": False, "endpoint": endpoint}, False


COMMANDS = {"start": _start, "stop": _stop, "status": _status}


def _health(endpoint):
    """The health answer of the emulator at `endpoint`, or None."""
    try:
        with urllib.request.urlopen(endpoint + PREFIX + "health", timeout=1) as response:
            return json.load(response)
    except (OSError, ValueError, http.client.HTTPException):  # refused, or cut off while shutting down
        return None


def _post(url):
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5).close()


def _pidfile_pid(state_dir):
    """The pid in the state dir's pidfile if that process is alive, else None."""
    try:
        with open(os.path.join(state_dir, "emulator.pid"), encoding="utf-8") as handle:
            pid = int(handle.read().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid
