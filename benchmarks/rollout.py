"""orchestra.gcp rollout benchmarks: every figure is a ratio of two things measured in this one run.

    .venv/bin/python benchmarks/rollout.py [--steps 1 2 3] [--regions 1 3 6] [--repeat 1] [--output FILE]

All runs are ``deploy.yml`` or ``playbooks/rollback_drill.yml`` on ``inventories/local`` (ab drives
the canary during each step) against a fresh local emulator, each on a service of its own.

1. Mutating API calls per rollout of k steps, from the emulator's log, against the minimum:
   1 (the new revision) + k (traffic steps) + 1 (the promotion, which moves the stable tag); and of a
   first deploy, against 1 (the service created with its traffic and the stable tag).
2. The time from the failed verdict to the confirmed restore (the rollback drill's own report), and
   its share spent outside the API calls (the emulator's time answering the calls in that interval).
3. Multi-region fan-out: the wall time of a one-step rollout to 1, 3 and 6 regions at once; the goal
   is that 6 regions cost at most twice one region.
"""

import argparse
import datetime
import json
import re
import statistics
from pathlib import Path

from run import REPO, Runner, goal, machine, publish, started_emulator

PROJECT = "orchestra-bench"
IMAGE = "us-docker.pkg.dev/orchestra-bench/app/ai-orchestra:%s"
REGIONS = ["us-central1", "europe-west1", "asia-northeast1", "us-east1", "europe-west4", "asia-east1"]
PERCENTS = [10, 25, 50, 75]
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the rollout timeline's


class Deploys:
    """deploy.yml and the drill on inventories/local, against the emulator, with extra variables."""

    def __init__(self, runner, emulator):
        self.runner, self.emulator = runner, emulator
        self.args = ["-i", str(REPO / "inventories" / "local"), "-e", "gcp_project=%s" % PROJECT,
                     "-e", "gcp_api_endpoint=%s" % emulator.endpoint, "-e", "local_emulator_port=%d" % emulator.port]

    def run(self, name, version, regions, playbook="deploy.yml", **more):
        extra = dict(orchestra_service={"name": name, "image": IMAGE % version}, orchestra_regions=regions, **more)
        return self.runner.run(REPO / playbook, *self.args, "-e", json.dumps(extra), cwd=REPO)

    def mutations(self):
        return len(self.emulator.admin("log")["calls"])


def bench_mutations(deploys, steps):
    """(what, calls, minimum) rows: the first deploy of the first service, then each rollout of k steps."""
    rows = []
    for k in steps:
        name = "steps-%d" % k
        before = deploys.mutations()
        deploys.run(name, "1.0.0", REGIONS[:1])
        if not rows:
            rows.append(("first deploy (nothing serves yet)", deploys.mutations() - before, 1))
        before = deploys.mutations()
        deploys.run(name, "2.0.0", REGIONS[:1], orchestra_rollout_steps=[{"percent": p, "bake": 5} for p in PERCENTS[:k]])
        rows.append(("rollout of %d step%s" % (k, "s" if k > 1 else ""), deploys.mutations() - before, 1 + k + 1))
    return rows


def bench_restore(deploys, repeat):
    """(seconds from the failed verdict to the confirmed restore, seconds of API calls in between), medians."""
    totals, api = [], []
    for i in range(repeat):
        name = "drill-%d" % i
        deploys.run(name, "1.0.0", REGIONS[:1])
        deploys.runner.env["ANSIBLE_SHOW_CUSTOM_STATS"] = "true"
        try:
            deploys.run(name, "1.0.0", REGIONS[:1], playbook="playbooks/rollback_drill.yml")
        finally:
            del deploys.runner.env["ANSIBLE_SHOW_CUSTOM_STATS"]
        verdict, restored = (epoch(re.search(r'"%s": "([^"]+)"' % key, deploys.runner.stdout).group(1))
                             for key in ("failed_verdict_at", "restore_confirmed_at"))
        calls = deploys.emulator.admin("calls")["calls"]
        totals.append(restored - verdict)
        api.append(sum(c["seconds"] for c in calls if verdict <= c["start"] <= restored))
    return statistics.median(totals), statistics.median(api)


def epoch(stamp):
    return datetime.datetime.strptime(stamp, TIME_FORMAT).replace(tzinfo=datetime.timezone.utc).timestamp()


def bench_fanout(deploys, counts, repeat):
    rows = []
    for n in counts:
        times = []
        for i in range(repeat):
            name = "fanout-%d-%d" % (n, i)
            deploys.run(name, "1.0.0", REGIONS[:n])
            times.append(deploys.run(name, "2.0.0", REGIONS[:n]))
        rows.append((n, statistics.median(times)))
    return rows


def report(args, mutations, restore, fanout):
    total, api = restore
    one = fanout[0][1]
    most = fanout[-1]
    lines = [
        "# orchestra.gcp rollout benchmarks", "",
        "Measured %s on %s." % (datetime.date.today().isoformat(), machine()), "",
        "Command: `.venv/bin/python benchmarks/rollout.py --steps %s --regions %s --repeat %d`"
        % (" ".join(map(str, args.steps)), " ".join(map(str, args.regions)), args.repeat), "",
        "Every run is `deploy.yml` or `playbooks/rollback_drill.yml` on `inventories/local` (one step of "
        "5 s bake at 50%, ab driving the canary) against the local emulator.", "",
        "## Mutating API calls per first deploy and per rollout of k steps, from the emulator's log", "",
        "| run | calls | minimum (1, or 1 + k + 1) | ratio |", "|---|---|---|---|",
    ]
    lines += ["| %s | %d | %d | %.2f |" % (what, calls, minimum, calls / minimum) for what, calls, minimum in mutations]
    lines += [
        "", "## From the failed verdict to the confirmed restore (rollback drill)", "",
        "| | seconds | share |", "|---|---|---|",
        "| failed verdict to confirmed restore | %.3f | 1.00 |" % total,
        "| of which the emulator answering API calls | %.3f | %.2f |" % (api, api / total),
        "| of which outside the API calls (Ansible, client libraries, HTTP) | %.3f | %.2f |" % (total - api, (total - api) / total),
        "", "## Multi-region fan-out: one rollout to n regions at once", "",
        "| regions | seconds | x one region |", "|---|---|---|",
    ]
    lines += ["| %d | %.2f | %.2f |" % (n, seconds, seconds / one) for n, seconds in fanout]
    lines += ["", "Goal: %d regions at most 2x one region: %s (%.2fx)." % (most[0], goal(most[1] <= 2 * one), most[1] / one)]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 2, 3], help="rollouts of k steps to count calls of")
    parser.add_argument("--regions", type=int, nargs="+", default=[1, 3, 6], help="region counts to time (the first is the base)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each timing; the median counts")
    parser.add_argument("--output", type=Path, help="also write the report (Markdown) to this file")
    args = parser.parse_args()
    if max(args.steps) > len(PERCENTS) or max(args.regions) > len(REGIONS):
        parser.error("at most %d steps and %d regions" % (len(PERCENTS), len(REGIONS)))

    with started_emulator() as (emulator, work):
        deploys = Deploys(Runner(work, emulator), emulator)
        mutations = bench_mutations(deploys, args.steps)
        restore = bench_restore(deploys, args.repeat)
        fanout = bench_fanout(deploys, args.regions, args.repeat)
    publish(report(args, mutations, restore, fanout), args.output)


if __name__ == "__main__":
    main()
