"""Token round trips of one ansible-playbook run, with the run's token cache off and on.

Starts its own emulator with bearer checks on, writes a service-account key whose token_uri is the
emulator, and runs a playbook of N read-only tasks (cloud_run_service_info) with that key, then with
the key impersonating a service account, each once with ORCHESTRA_GCP_TOKEN_CACHE=off and once with
the default (one token per credential per run). Token round trips are the emulator's calls to
/token and to IAM Credentials' generateAccessToken (its /_emulator/calls log). Goal: one fetch of
each token per credential and run, whatever N.
"""

import argparse
import datetime
import json
import sys
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from run import PROJECT, REGION, Runner, goal, machine, publish, started_emulator

TARGET = "deployer@%s.iam.gserviceaccount.com" % PROJECT


def post(emulator, path, body):
    request = urllib.request.Request(emulator.endpoint + "/_emulator/" + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def write_key(path, emulator):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_text(json.dumps({"type": "service_account", "project_id": PROJECT, "private_key_id": "bench",
                                "private_key": pem.decode(), "client_email": "bench@%s.iam.gserviceaccount.com" % PROJECT,
                                "client_id": "1", "token_uri": emulator.endpoint + "/token"}))
    return str(path)


def token_round_trips(runner, emulator, tasks, cache):
    """Token calls and seconds of one run of ``tasks`` with the cache ``cache``."""
    before = len(emulator.admin("calls")["calls"])
    runner.env["ORCHESTRA_GCP_TOKEN_CACHE"] = cache
    seconds = runner.run(runner.playbook(tasks))
    calls = emulator.admin("calls")["calls"][before:]
    return sum(1 for c in calls if c["path"] == "/token" or c["path"].endswith(":generateAccessToken")), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--tasks", type=int, default=20, help="tasks per playbook")
    parser.add_argument("--output", type=Path, help="also write the report (Markdown) to this file")
    args = parser.parse_args()

    rows = []
    with started_emulator() as (emulator, work):
        post(emulator, "auth", {"check_tokens": True})
        runner = Runner(work, emulator)
        key = write_key(work / "key.json", emulator)
        for label, auth, minimum in (("service-account key", {}, 1),
                                     ("key impersonating a service account", {"impersonate_service_account": TARGET}, 2)):
            task = {"orchestra.gcp.cloud_run_service_info": dict(name="absent", region=REGION, service_account_file=key, **auth)}
            off, off_seconds = token_round_trips(runner, emulator, [task] * args.tasks, "off")
            on, on_seconds = token_round_trips(runner, emulator, [task] * args.tasks, "run")
            rows.append((label, minimum, off, on, off_seconds, on_seconds))

    lines = ["# Token round trips per run", "",
             "%s. %s; `benchmarks/tokens.py --tasks %d`." % (datetime.date.today().isoformat(), machine(), args.tasks), "",
             "One ansible-playbook run of %d `cloud_run_service_info` tasks (controller door) against the emulator "
             "with bearer checks on; token round trips are calls to the key's token_uri and to IAM Credentials' "
             "generateAccessToken. Cache off: `ORCHESTRA_GCP_TOKEN_CACHE=off`; on: the default." % args.tasks, "",
             "| Credential | Minimum per run | Cache off | Cache on | Off / on | Per task, off | Per task, on | Run seconds, off / on | Goal (minimum) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, minimum, off, on, off_seconds, on_seconds in rows:
        lines.append("| %s | %d | %d | %d | %.1f | %.2f | %.2f | %.1f / %.1f | %s |" % (
            label, minimum, off, on, off / float(on), off / float(args.tasks), on / float(args.tasks), off_seconds, on_seconds,
            goal(on == minimum)))
    publish("\n".join(lines) + "\n", args.output)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
