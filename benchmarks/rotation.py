"""orchestra.gcp secret rotation benchmark: one secret, two consumer services in two regions each.

    .venv/bin/python benchmarks/rotation.py [--bake 2] [--probe-pause 0.05] [--repeat 1] [--output FILE]

Each run rotates a secret of its own with the ``orchestra.gcp.secret_rotation`` role (one ansible-playbook run)
against a fresh local emulator: no set, test or finish task file (the consumers read the value from Secret Manager
and nothing else checks it), two consumer services each in two regions, so four consumer rollouts of one step
(50% for --bake seconds), and a rotation period, so that the next rotation time moves. Set-up, not timed: the
secret with its first version under the alias current, and the services deployed with their variable pinned to
version 1. The emulator's Monitoring and operations are those of inventories/local.

1. Mutating API calls, from the emulator's log, against the minimum of the role's protocol, 2 + 4 x 3 + 3 = 17:
   create, 2: the version (``addVersion``) and the alias pending on it (a PATCH of the secret: Secret Manager
   keeps aliases in the secret's ``versionAliases``, and addVersion takes none); per consumer rollout, 3: the new
   revision without traffic under the canary tag, the 50% step, the promotion (all the traffic to the canary, the
   stable tag moved); finish, 3: the alias move (one PATCH for current, previous and pending), the disable of the
   replaced version, the next rotation time. What could be merged, and why it is not: the new revision and its
   first step are one PATCH on Cloud Run, but the canary would then get users' traffic before its smoke test; the
   next rotation time and the alias move are one PATCH of the secret (both its fields), which would make 16, but the
   role moves the next rotation time last, once the replaced version is disabled. A version and its alias, and a
   disable and an alias move, are separate methods of Secret Manager's API.
2. All API calls (reads included, from the emulator's count) per API, against a minimum: Secret Manager, the 5
   changes + the secret and its versions read once for the plan + a fresh read of the secret (its etag) before each
   of its 3 PATCHes + the versions listed once for the retention = 11; Cloud Run, per rollout 3 changes + a read
   before each + one poll of each change's operation (it reconciles 0.3 s) = 9; Monitoring, per rollout what the
   canary analysis' contract asks: a measurement (3 timeSeries.list) every interval through the bake and the
   metrics delay, and one at its end, 3 x (1 + (bake + delay) / interval). A pass alone would need only the
   consecutive successes at the end (2 x 3); measuring through the bake is what stops a bad canary early.
3. The wall time of the rotation (the ansible-playbook run), by phase, with the emulator's time answering the API
   calls (its own ``seconds`` of each call) and the planned waits (each rollout's bake plus the metrics delay).
4. Availability: during the whole run a thread per service and region sends HTTP GETs to the service's URL (its
   ``uri``, served by the emulator) one after the other and counts the requests and the failures (an error, or not
   2xx). The goal is none.
"""

import argparse
import datetime
import json
import re
import statistics
import threading
import time
import urllib.request
from pathlib import Path

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2
from orchestra_emulator.projects import project_number

from run import IMAGE, PROJECT, Runner, goal, machine, publish, started_emulator

SERVICES = ["consumer-a", "consumer-b"]
REGIONS = ["us-central1", "europe-west1"]
ROLLOUTS = len(SERVICES) * len(REGIONS)
ENV = "API_KEY"
# inventories/local's: 1-second Monitoring samples visible 2 s after they close, Cloud Run changes reconciling 0.3 s;
# the analysis waits the 3 s the data may be late and needs 10 canary requests, which the probes send. The canary is
# the baseline's image on the same emulator, so only the machine's load makes one slower: a canary fails on latency
# only 200 ms above the baseline (the default, 10 ms, fails it now and then on a busy 2-core machine).
EMULATOR_CONFIG = {"monitoring_sample_seconds": 1, "monitoring_lag_seconds": 2, "operation_seconds": 0.3}
ANALYSIS = {"window": 60, "interval": 1, "metrics_delay": 3, "min_requests": 10, "consecutive_successes": 2, "no_data": "pause",
            "min_latency_increase_ms": 200}
PERCENT = 50
# What the role must change: (what, method, path pattern, minimum).
CHANGES = [
    ("add the version", "POST", r":addVersion$", 1),
    ("PATCH the secret: alias pending, the alias move, the next rotation time", "PATCH", r"/secrets/[^/:]+$", 3),
    ("disable the replaced version", "POST", r"/versions/[0-9]+:disable$", 1),
    ("PATCH a service: the new revision, the 50% step, the promotion, per rollout", "PATCH", r"/services/[^/]+$", 3 * ROLLOUTS),
]
SECRET_MANAGER, CLOUD_RUN, MONITORING = "Secret Manager", "Cloud Run", "Monitoring"


def configure(emulator, config):
    request = urllib.request.Request(emulator.endpoint + "/_emulator/config", data=json.dumps(config).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10):
        pass


class Probe(threading.Thread):
    """GETs a service URL one after the other until stopped, counting requests and failures."""

    def __init__(self, url, pause):
        super().__init__(daemon=True)
        self.url, self.pause = url, pause
        self.requests = self.failures = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.requests += 1
            try:
                with urllib.request.urlopen(self.url, timeout=10) as answer:
                    answer.read()
                    self.failures += not 200 <= answer.status < 300
            except OSError:  # URLError and HTTPError (not 2xx) are OSErrors
                self.failures += 1
            self.stop.wait(self.pause)


def set_up(runner, secret, services):
    tasks = [
        {"orchestra.gcp.secret": {"name": secret, "topics": ["projects/%s/topics/rotation" % PROJECT], "rotation_period": "30d",
                                  "next_rotation_time": "2030-01-01T00:00:00Z"}},
        {"orchestra.gcp.secret_version": {"secret": secret, "generate": {"length": 32}, "aliases": ["current"]}},
        # The consumers run as the project's default compute service account, which must be let read the secret.
        {"orchestra.gcp.iam_binding": {"resource": {"type": "secret", "name": secret}, "role": "roles/secretmanager.secretAccessor",
                                       "members": ["serviceAccount:%s-compute@developer.gserviceaccount.com" % project_number(PROJECT)]}},
    ]
    tasks += [{"orchestra.gcp.cloud_run_service": {"name": service, "region": region, "image": IMAGE % "1.0.0",
                                                   "secret_env": {ENV: {"secret": secret, "version": "1"}}}}
              for service in services for region in REGIONS]
    runner.run(runner.playbook(tasks))


def rotation_task(secret, services, bake):
    return {"ansible.builtin.include_role": {"name": "orchestra.gcp.secret_rotation"}, "vars": {
        "secret_rotation_secret": secret,
        "secret_rotation_period": "30d",
        "secret_rotation_consumers": [{"name": service, "regions": REGIONS, "env": ENV, "spec": {"image": IMAGE % "1.0.0"},
                                       "steps": [{"percent": PERCENT, "bake": bake}], "analysis": ANALYSIS}
                                      for service in services]}}


def rotate(runner, emulator, index, args):
    """One rotation of a secret and services of its own, probed: (seconds, API calls, mutating calls, {(service, region): probe})."""
    secret, services = "rotated-%d" % index, ["%s-%d" % (service, index) for service in SERVICES]
    set_up(runner, secret, services)
    client = run_v2.ServicesClient(credentials=AnonymousCredentials(), transport="rest",
                                   client_options=ClientOptions(api_endpoint=emulator.endpoint))
    probes = {(service, region): Probe(client.get_service(name="projects/%s/locations/%s/services/%s-%d" % (PROJECT, region, service, index)).uri,
                                       args.probe_pause)
              for service in SERVICES for region in REGIONS}
    for probe in probes.values():
        probe.start()
    started = time.time()
    runner.run(runner.playbook([rotation_task(secret, services, args.bake)]))
    ended = time.time()
    for probe in probes.values():
        probe.stop.set()
        probe.join()
    calls = [dict(call, start=call["start"] - started) for call in emulator.admin("calls")["calls"] if started <= call["start"] <= ended]
    mutations = [call for call in emulator.admin("log")["calls"] if started <= call["time"] <= ended]
    return ended - started, calls, mutations, probes


def api_of(call):
    return SECRET_MANAGER if "/secrets" in call["path"] else MONITORING if call["path"].endswith("/timeSeries") else CLOUD_RUN


def ended_at(call):
    return call["start"] + call["seconds"]


def phases(wall, calls):
    """(phase, seconds, seconds of API calls) of one rotation: cut at its first call, at the first and the last call
    of the consumer rollouts (Cloud Run and Monitoring), and at its last call."""
    rollouts = [call for call in calls if api_of(call) != SECRET_MANAGER]
    bounds = [0.0, min(call["start"] for call in calls), min(call["start"] for call in rollouts),
              max(map(ended_at, rollouts)), max(map(ended_at, calls)), wall]
    names = ["Ansible's start-up and the role's checks, to the first call", "the plan and create (the reads, the version, the alias pending)",
             "the %d consumer rollouts, one after the other" % ROLLOUTS,
             "finish (the alias move, the disable, the retention, the next rotation time)", "after the last call (Ansible's end)"]
    return [(name, end - start, sum(call["seconds"] for call in calls if start <= call["start"] < end))
            for name, start, end in zip(names, bounds, bounds[1:])]


def report(args, runs):
    _wall, calls, mutations, probes = runs[0]
    measurements = 1 + (args.bake + ANALYSIS["metrics_delay"]) // ANALYSIS["interval"]
    minimum = {SECRET_MANAGER: (11, "5 changes + the plan's 2 reads + 3 etag reads + the retention's list"),
               CLOUD_RUN: (9 * ROLLOUTS, "per rollout 3 changes, a read before each, one operation poll each"),
               MONITORING: (3 * measurements * ROLLOUTS, "per rollout 3 timeSeries.list x %d measurements" % measurements)}
    lines = [
        "# orchestra.gcp secret rotation benchmark", "",
        "Measured %s on %s." % (datetime.date.today().isoformat(), machine()), "",
        "Command: `.venv/bin/python benchmarks/rotation.py --bake %d --probe-pause %g --repeat %d`" % (args.bake, args.probe_pause, args.repeat), "",
        "One secret; consumers %s, each in %s: %d consumer rollouts of one step, %d%% for %d s (then %d s of metrics delay); "
        "against a fresh local emulator. Calls are those of the first run; times are medians of %d run(s)."
        % (" and ".join(SERVICES), " and ".join(REGIONS), ROLLOUTS, PERCENT, args.bake, ANALYSIS["metrics_delay"], len(runs)), "",
        "## Mutating API calls, from the emulator's log", "",
        "| change | calls | minimum |", "|---|---|---|",
    ]
    counted = 0
    for what, method, pattern, least in CHANGES:
        count = sum(1 for call in mutations if call["method"] == method and re.search(pattern, call["path"]))
        counted += count
        lines.append("| %s | %d | %d |" % (what, count, least))
    least = sum(change[3] for change in CHANGES)
    lines += [
        "| anything else | %d | 0 |" % (len(mutations) - counted),
        "| **all** | **%d** | **%d** |" % (len(mutations), least), "",
        "Mutating calls: %.2fx the minimum. Goal: the minimum: %s." % (len(mutations) / least, goal(len(mutations) <= least)),
        "", "## All API calls, reads included, from the emulator's count", "",
        "| API | calls | of which reads | minimum | the minimum | ratio |", "|---|---|---|---|---|---|",
    ]
    for api, (least_api, why) in minimum.items():
        mine = [call for call in calls if api_of(call) == api]
        reads = sum(1 for call in mine if call["method"] == "GET")
        lines.append("| %s | %d | %d | %d | %s | %.2f |" % (api, len(mine), reads, least_api, why, len(mine) / least_api))
    least_all = sum(least_api for least_api, _why in minimum.values())
    lines += ["| **all** | **%d** | | **%d** | | **%.2f** |" % (len(calls), least_all, len(calls) / least_all)]

    lines += ["", "## Wall time of the rotation, by phase", "",
              "| phase | seconds | share | of which the emulator answering API calls |", "|---|---|---|---|"]
    walls = statistics.median(run[0] for run in runs)
    by_run = [phases(run[0], run[1]) for run in runs]
    for i, (name, _seconds, _api) in enumerate(by_run[0]):
        seconds, api = (statistics.median(run[i][k] for run in by_run) for k in (1, 2))
        lines.append("| %s | %.2f | %.2f | %.2f |" % (name, seconds, seconds / walls, api))
    api = statistics.median(sum(call["seconds"] for call in run[1]) for run in runs)
    waits = ROLLOUTS * (args.bake + ANALYSIS["metrics_delay"])
    lines += ["| **the rotation** (one ansible-playbook run) | **%.2f** | 1.00 | **%.2f** (%.2f) |" % (walls, api, api / walls), "",
              "Planned waits inside the rollouts: %d x (bake %d s + metrics delay %d s) = %d s (%.2f of the rotation). The rest, "
              "%.2f s (%.2f), is Ansible, the client libraries and HTTP."
              % (ROLLOUTS, args.bake, ANALYSIS["metrics_delay"], waits, waits / walls, walls - waits - api, (walls - waits - api) / walls),
              "", "## Availability: HTTP GETs to each service URL during the rotation", "",
              "| service | region | requests | failures |", "|---|---|---|---|"]
    failures = 0
    for service, region in probes:
        sent = sum(run[3][service, region].requests for run in runs)
        failed = sum(run[3][service, region].failures for run in runs)
        failures += failed
        lines.append("| %s | %s | %d | %d |" % (service, region, sent, failed))
    lines += ["", "Summed over %d run(s). Goal: no failure: %s." % (len(runs), goal(failures == 0))]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--bake", type=int, default=2, help="seconds of each consumer rollout's 50%% step")
    parser.add_argument("--probe-pause", type=float, default=0.05, help="seconds between two requests of a probe")
    parser.add_argument("--repeat", type=int, default=1, help="rotations, each of a secret and services of its own")
    parser.add_argument("--output", type=Path, help="also write the report (Markdown) to this file")
    args = parser.parse_args()

    with started_emulator() as (emulator, work):
        configure(emulator, EMULATOR_CONFIG)
        runner = Runner(work, emulator)
        runs = [rotate(runner, emulator, index, args) for index in range(args.repeat)]
    publish(report(args, runs), args.output)


if __name__ == "__main__":
    main()
