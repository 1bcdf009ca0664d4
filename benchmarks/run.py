"""orchestra.gcp benchmarks: every figure is a ratio of two things measured in this one run.

    .venv/bin/python benchmarks/run.py [--tasks 40] [--module-tasks 8] [--repeat 3] [--output FILE]

1. Per-task cost of each module (read-only tasks against the local emulator), in the controller
   process, against ansible.builtin.debug; the goal is at most 2x debug.
2. The module door (orchestra_gcp_in_process=false) against the controller door, same tasks.
3. The idempotent re-run of ``deploy.yml -i inventories/local`` against ``plain_reads.py``, a plain
   Python script that makes the same reads with the same client libraries; the goal is that the re-run
   costs at most 1.5x the plain script above Ansible's own start-up (a playbook with no task).
4. API calls per task, from the emulator's call count, against the minimum the task needs.

A per-task cost is (T(n tasks) - T(1 task)) / (n - 1), each T the median of --repeat runs of
ansible-playbook, so start-up and the one-time imports cancel out.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROJECT, REGION, SERVICE = "orchestra-bench", "us-central1", "bench"
IMAGE = "us-docker.pkg.dev/orchestra-bench/app/ai-orchestra:%s"

# The read-only task of each module, on a service that already matches, and what it must call.
READ_TASKS = {
    "cloud_run_service_info": (dict(name=SERVICE, region=REGION), "GET service + GET revisions (the result lists them)", 2),
    "cloud_run_service": (dict(name=SERVICE, region=REGION, image=IMAGE % "1.0.0"), "GET service", 1),
    "cloud_run_traffic": (dict(name=SERVICE, region=REGION, traffic=[{"latest": True, "percent": 100}]), "GET service", 1),
}
# Changing tasks, in order, each with the calls it cannot do without: a read to compare with, the
# change, and no poll, since the emulator's operations are done at once (operation_seconds 0).
CHANGE_TASKS = [
    ("create a service", "cloud_run_service", dict(name="fresh", region=REGION, image=IMAGE % "1.0.0", tag="first"),
     "GET (absent) + POST", 2),
    ("deploy a new image", "cloud_run_service", dict(name="fresh", region=REGION, image=IMAGE % "1.1.0"),
     "GET + PATCH", 2),
    ("canary with no traffic", "cloud_run_service", dict(name="fresh", region=REGION, image=IMAGE % "2.0.0", traffic="none", tag="canary"),
     "GET + PATCH", 2),
    ("split 90/10", "cloud_run_traffic", dict(name="fresh", region=REGION, traffic=[
        {"tag": "canary", "percent": 10}, {"tag": "first", "percent": 90}]),
     "GET + PATCH", 2),
    # The stable revision (1.1.0, which served 100% before the canary) is in no traffic target any more:
    # it is read to make sure it still exists, since Google would accept traffic to a deleted one.
    ("roll back", "cloud_run_traffic", dict(name="fresh", region=REGION, rollback=True),
     "GET + GET the stable revision + PATCH", 3),
    ("delete", "cloud_run_service", dict(name="fresh", region=REGION, state="absent"), "GET + DELETE", 2),
]


class Emulator:
    """The local emulator, on a free port, through its CLI."""

    def __init__(self, state_dir):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.args = ["--port", str(self.port), "--state-dir", str(state_dir)]

    def cli(self, command):
        subprocess.run([str(BIN / "orchestra-gcp-emulator"), command, *self.args], check=True, capture_output=True)

    def admin(self, path, method="GET"):
        request = urllib.request.Request(self.endpoint + "/_emulator/" + path, method=method, data=b"{}" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)


@contextlib.contextmanager
def started_emulator():
    """(emulator, work directory): the local emulator started on a free port with a fresh state, stopped at the end."""
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp:
        emulator = Emulator(Path(tmp) / "emulator")
        emulator.cli("start")
        try:
            yield emulator, Path(tmp)
        finally:
            emulator.cli("stop")


def publish(text, output):
    """Print a report, and write it to ``output`` when one is given."""
    print(text)
    if output:
        output.write_text(text)


class Runner:
    def __init__(self, workdir, emulator):
        self.workdir = workdir
        self.stdout = ""
        self.inventory = workdir / "inventory"
        self.inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), GCP_PROJECT=PROJECT,
                        ORCHESTRA_GCP_ENDPOINT=emulator.endpoint, NO_GCE_CHECK="true", ANSIBLE_NOCOLOR="1")

    def playbook(self, tasks):
        path = self.workdir / ("play-%d.yml" % time.monotonic_ns())
        path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], sort_keys=False))
        return path

    def run(self, playbook, *args, cwd=None):
        """Seconds that one ansible-playbook run took; it must succeed. Its output is kept in ``stdout``."""
        started = time.perf_counter()
        done = subprocess.run([str(BIN / "ansible-playbook"), str(playbook), "-i", str(self.inventory), *args],
                              cwd=cwd, env=self.env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode:
            sys.exit("ansible-playbook %s failed:\n%s%s" % (playbook, done.stdout, done.stderr))
        self.stdout = done.stdout
        return elapsed


def median_time(run, repeat):
    return statistics.median(run() for _unused in range(repeat))


def per_task(runner, task, n, repeat, *args):
    one, many = runner.playbook([task]), runner.playbook([task] * n)
    return (median_time(lambda: runner.run(many, *args), repeat) - median_time(lambda: runner.run(one, *args), repeat)) / (n - 1)


def module_task(module, options):
    return {"orchestra.gcp." + module: options}


def bench_per_task(runner, args):
    debug = per_task(runner, {"ansible.builtin.debug": {"msg": "x"}}, args.tasks, args.repeat)
    rows = []
    for module, (options, _reads, _minimum) in READ_TASKS.items():
        task = module_task(module, options)
        controller = per_task(runner, task, args.tasks, args.repeat)
        module_door = per_task(runner, task, args.module_tasks, args.repeat, "-e", "orchestra_gcp_in_process=false")
        rows.append((module, controller, module_door))
    return debug, rows


def bench_deploy(runner, emulator, args):
    deploy = ["-i", str(REPO / "inventories" / "local"), "-e", "gcp_project=%s" % PROJECT,
              "-e", "gcp_api_endpoint=%s" % emulator.endpoint, "-e", "local_emulator_port=%d" % emulator.port]
    playbook = REPO / "deploy.yml"
    runner.run(playbook, *deploy, cwd=REPO)  # the first deploy creates the service
    before = len(emulator.admin("calls")["calls"])
    rerun = median_time(lambda: runner.run(playbook, *deploy, cwd=REPO), args.repeat)
    rerun_calls = emulator.admin("calls")["calls"][before:]
    plain = [sys.executable, str(REPO / "benchmarks" / "plain_reads.py"), emulator.endpoint, PROJECT, "ai-orchestra", REGION]

    def run_plain():
        started = time.perf_counter()
        subprocess.run(plain, check=True, capture_output=True)
        return time.perf_counter() - started
    # Ansible's own floor: a play on localhost without a task.
    empty = runner.playbook([])
    floor = median_time(lambda: runner.run(empty), args.repeat)
    return rerun, median_time(run_plain, args.repeat), floor, len(rerun_calls) // args.repeat


def bench_calls(runner, emulator):
    """API calls per task: each task alone, the emulator's count of calls around it."""
    rows = []
    for module, (options, reads, minimum) in READ_TASKS.items():
        rows.append((module + " (no change)", count_calls(runner, emulator, module_task(module, options)), reads, minimum))
    for label, module, options, needs, minimum in CHANGE_TASKS:
        rows.append((label, count_calls(runner, emulator, module_task(module, options)), needs, minimum))
    return rows


def count_calls(runner, emulator, task):
    before = len(emulator.admin("calls")["calls"])
    runner.run(runner.playbook([task]))
    return len(emulator.admin("calls")["calls"]) - before


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    core = subprocess.run([str(BIN / "ansible"), "--version"], capture_output=True, text=True, check=True).stdout.split("\n")[0]
    return "%s, %d cores, %s; Python %s; %s" % (cpu, os.cpu_count(), platform.platform(), platform.python_version(), core)


def goal(met):
    return "met" if met else "**not met**"


def report(args, debug, rows, deploy, calls):
    rerun, plain, floor, rerun_calls = deploy
    worst = max(controller for _unused, controller, _unused2 in rows)
    lines = [
        "# orchestra.gcp benchmarks", "",
        "Measured %s on %s." % (datetime.date.today().isoformat(), machine()), "",
        "Command: `.venv/bin/python benchmarks/run.py --tasks %d --module-tasks %d --repeat %d`"
        % (args.tasks, args.module_tasks, args.repeat), "",
        "Every figure is a ratio of two measurements of this run. A per-task cost is "
        "(T(n tasks) - T(1 task)) / (n - 1), each T the median of %d runs of ansible-playbook: "
        "start-up and one-time imports cancel out." % args.repeat, "",
        "## Per-task cost of read-only tasks against the emulator", "",
        "| task | controller door | x debug | module door | module / controller |",
        "|---|---|---|---|---|",
        "| ansible.builtin.debug | %.1f ms | 1.00 | | |" % (debug * 1000),
    ]
    for module, controller, module_door in rows:
        lines.append("| orchestra.gcp.%s | %.1f ms | %.2f | %.0f ms | %.1f |" % (
            module, controller * 1000, controller / debug, module_door * 1000, module_door / controller))
    lines += [
        "", "Goal: every module at most 2x debug in the controller door: %s (worst %.2fx)." % (goal(worst <= 2 * debug), worst / debug),
        "", "## Idempotent re-run of deploy.yml against plain Python", "",
        "| run | seconds | ratio |", "|---|---|---|",
        "| `ansible-playbook deploy.yml -i inventories/local` (nothing to change) | %.2f | %.2f |" % (rerun, rerun / plain),
        "| `benchmarks/plain_reads.py` (the same reads, same client libraries) | %.2f | 1.00 |" % plain,
        "| `ansible-playbook` of a play with no task (Ansible's own start-up) | %.2f | %.2f |" % (floor, floor / plain),
        "", "API calls in one re-run: %d. Above Ansible's own start-up, the re-run costs %.2f s, %.2fx the plain script. "
        "Goal: at most 1.5x: %s." % (rerun_calls, rerun - floor, (rerun - floor) / plain, goal(rerun - floor <= 1.5 * plain)),
        "", "## API calls per task, from the emulator's count", "",
        "| task | calls | minimum | the minimum |", "|---|---|---|---|",
    ]
    lines += ["| %s | %d | %d | %s |" % (label, count, minimum, needs) for label, count, needs, minimum in calls]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--tasks", type=int, default=40, help="tasks per playbook, controller door and debug")
    parser.add_argument("--module-tasks", type=int, default=8, help="tasks per playbook, module door (about 0.5 s each)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each playbook; the median counts")
    parser.add_argument("--output", type=Path, help="also write the report (Markdown) to this file")
    args = parser.parse_args()

    with started_emulator() as (emulator, work):
        runner = Runner(work, emulator)
        runner.run(runner.playbook([module_task("cloud_run_service", READ_TASKS["cloud_run_service"][0])]))
        calls = bench_calls(runner, emulator)
        debug, rows = bench_per_task(runner, args)
        deploy = bench_deploy(runner, emulator, args)
    publish(report(args, debug, rows, deploy, calls), args.output)


if __name__ == "__main__":
    main()
