"""orchestra.gcp IAM benchmark: an environment's least-privilege declaration, 40 bindings on 10 resources.

    .venv/bin/python benchmarks/iam.py [--repeat 3] [--output FILE]

The declaration: 4 roles on each of 10 resources (the project, 3 secrets, 3 service accounts, 3 Cloud Run services),
one entry per role as an inventory declares them. Each repeat makes 10 fresh resources (set-up, not timed) and
applies the declaration to them four ways, each one ansible-playbook run against the local emulator:

1. the ``orchestra.gcp.iam`` role, which groups the bindings by resource (one ``iam_binding`` task per policy);
2. the same role again: nothing to change;
3. the baseline, one ``iam_binding`` task per binding (a loop of 40), on another 10 fresh resources;
4. the baseline again.

For each: the policy reads (getIamPolicy) and writes (setIamPolicy) from the emulator's count of every call, against
the minimum of one read and at most one write per resource policy (10 and 10; 10 and 0 when nothing changes), and the
wall time against the baseline's first run of the same repeat (the median over the repeats).
"""

import argparse
import datetime
import statistics
from pathlib import Path

from run import IMAGE, PROJECT, REGION, Runner, goal, machine, publish, started_emulator

RESOURCES_PER_TYPE = 3
ROLES = {
    "project": ["roles/monitoring.metricWriter", "roles/logging.logWriter", "roles/cloudtrace.agent", "roles/run.developer"],
    "secret": ["roles/secretmanager.secretAccessor", "roles/secretmanager.viewer", "roles/secretmanager.secretVersionAdder",
               "roles/secretmanager.secretVersionManager"],
    "service_account": ["roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator", "roles/iam.workloadIdentityUser",
                        "roles/iam.serviceAccountViewer"],
    "cloud_run_service": ["roles/run.invoker", "roles/run.viewer", "roles/run.developer", "roles/run.sourceViewer"],
}


def member(name):
    return "serviceAccount:%s@%s.iam.gserviceaccount.com" % (name, PROJECT)


def resources(suffix):
    """The 10 resources of one application of the declaration, as iam_binding takes them."""
    found = [{"type": "project"}]
    for index in range(RESOURCES_PER_TYPE):
        found += [{"type": "secret", "name": "bench-secret-%d-%s" % (index, suffix)},
                  {"type": "service_account", "name": "bench-sa-%d-%s" % (index, suffix)},
                  {"type": "cloud_run_service", "name": "bench-run-%d-%s" % (index, suffix), "region": REGION}]
    return found


def declaration(suffix):
    """40 bindings: each role of each resource granted to an account of its own; authoritative on what the environment
    owns, additive on the project (which others share)."""
    return [{"resource": resource, "role": role, "members": [member("bench-%s-%s" % (role.rsplit(".", maxsplit=1)[-1].lower()[:12], suffix))],
             "mode": "additive" if resource["type"] == "project" else "authoritative"}
            for resource in resources(suffix) for role in ROLES[resource["type"]]]


def set_up(runner, suffix):
    tasks = []
    for resource in resources(suffix)[1:]:
        name = resource["name"]
        if resource["type"] == "secret":
            tasks.append({"orchestra.gcp.secret": {"name": name}})
        elif resource["type"] == "service_account":
            tasks.append({"orchestra.gcp.service_account": {"account_id": name}})
        else:
            tasks.append({"orchestra.gcp.cloud_run_service": {"name": name, "region": REGION, "image": IMAGE % "1.0.0"}})
    runner.run(runner.playbook(tasks))


def grouped(suffix):
    return [{"ansible.builtin.include_role": {"name": "orchestra.gcp.iam"}, "vars": {"iam_bindings": declaration(suffix)}}]


def per_binding(suffix):
    return [{"orchestra.gcp.iam_binding": {"resource": "{{ item.resource }}", "role": "{{ item.role }}", "members": "{{ item.members }}",
                                           "mode": "{{ item.mode }}"}, "loop": declaration(suffix)}]


def measure(runner, emulator, playbook):
    """(seconds, policy reads, policy writes, all API calls) of one run of ``playbook``."""
    before = len(emulator.admin("calls")["calls"])
    seconds = runner.run(playbook)
    calls = emulator.admin("calls")["calls"][before:]
    return (seconds, sum(c["path"].endswith(":getIamPolicy") for c in calls), sum(c["path"].endswith(":setIamPolicy") for c in calls),
            len(calls))


def repeat_once(runner, emulator, index):
    runs = {}
    for way, tasks in (("grouped", grouped), ("per binding", per_binding)):
        suffix = "%s%d" % (way[0], index)
        set_up(runner, suffix)
        playbook = runner.playbook(tasks(suffix))
        runs[way] = measure(runner, emulator, playbook)
        runs[way + ", again"] = measure(runner, emulator, playbook)
    return runs


def report(args, repeats):
    resources_count = len(resources("x"))
    bindings = len(declaration("x"))
    lines = [
        "# orchestra.gcp IAM benchmark", "",
        "Measured %s on %s." % (datetime.date.today().isoformat(), machine()), "",
        "Command: `.venv/bin/python benchmarks/iam.py --repeat %d`" % args.repeat, "",
        "%d bindings on %d resources (the project, %d secrets, %d service accounts, %d Cloud Run services), declared one per "
        "role. Calls are counted by the emulator; a time is the median over %d repeats, each on fresh resources, and its "
        "ratio is against the per-binding baseline's first run of the same repeat." % (
            bindings, resources_count, RESOURCES_PER_TYPE, RESOURCES_PER_TYPE, RESOURCES_PER_TYPE, args.repeat), "",
        "| run | policy reads | policy writes | all API calls | minimum (reads + writes) | calls / minimum | seconds | time / baseline |",
        "|---|---|---|---|---|---|---|---|",
    ]
    met = True
    for way in ("grouped", "grouped, again", "per binding", "per binding, again"):
        _seconds, reads, writes, calls = repeats[0][way]
        minimum = resources_count + (0 if way.endswith("again") else resources_count)
        seconds = statistics.median(r[way][0] for r in repeats)
        ratio = statistics.median(r[way][0] / r["per binding"][0] for r in repeats)
        label = {"grouped": "`orchestra.gcp.iam` role (one task per policy)", "grouped, again": "the role again (nothing to change)",
                 "per binding": "baseline: one `iam_binding` task per binding", "per binding, again": "the baseline again"}[way]
        lines.append("| %s | %d | %d | %d | %d | %.2f | %.2f | %.2f |" % (label, reads, writes, calls, minimum, calls / minimum, seconds, ratio))
        if way.startswith("grouped"):
            met = met and reads == resources_count and writes == (0 if way.endswith("again") else resources_count) and calls == reads + writes
    lines += ["", "Goal: the role makes one read and at most one write per resource policy, and a re-run reads only: %s." % goal(met)]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--repeat", type=int, default=3, help="applications of each way, each on fresh resources")
    parser.add_argument("--output", type=Path, help="also write the report (Markdown) to this file")
    args = parser.parse_args()

    with started_emulator() as (emulator, work):
        runner = Runner(work, emulator)
        repeats = [repeat_once(runner, emulator, index) for index in range(args.repeat)]
    publish(report(args, repeats), args.output)


if __name__ == "__main__":
    main()
