"""One logic, two doors: each module run in the controller process and as a module, on the same
inputs from the same starting state, returns the same result, field by field.

The scenario covers every module: reads, check mode with diff, creation, no-change runs, traffic
changes, rollback, deletion, validation failures, API failures, the task's ``environment`` and
no_log masking. Only what the backend makes up anew on each run (revision suffixes, uids, etags,
times, the ports of the emulated URLs) is normalised before the comparison. It runs on every
ansible-core the collection supports: before 2.19 the door passes values another way.
"""

import json
import re

import pytest

from monitoring_lag import METRICS_DELAY
from test_cloud_run_service import deploy
from test_cloud_run_traffic import traffic

SECRET = "itsvc-s3cr3t-value"
VOLATILE = [
    (re.compile(r"(-\d{5})-[a-z0-9]{3}\b"), r"\1-xxx"),  # revision names: the suffix is random
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"), "TIME"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "UID"),
    (re.compile(r"(127\.0\.0\.1|localhost):\d+"), r"\1:PORT"),
    (re.compile(r'File "[^"]*/ansible_collections/'), 'File "ansible_collections/'),  # a traceback's paths: checkout or payload
]


def scenario(name):
    info = {"orchestra.gcp.cloud_run_service_info": dict(name=name, region="{{ region }}")}
    return [
        dict(name="info of a missing service", **info),
        dict(name="create, check mode", check_mode=True, **deploy(name, "1.0.0", env={"A": "1"})),
        dict(name="create", **deploy(name, "1.0.0", env={"A": "1"}, labels={"app": "x"})),
        dict(name="same again", **deploy(name, "1.0.0", env={"A": "1"}, labels={"app": "x"})),
        dict(name="a warning, check mode", check_mode=True,
             **deploy(name, "1.0.0", env={"A": "1"}, secret_env={"KEY": {"secret": "k", "version": "latest"}})),
        dict(name="canary under a tag", **deploy(name, "1.1.0", env={"A": "1"}, traffic="none", tag="canary")),
        dict(name="info of the service", **info),
        dict(name="split, check mode", check_mode=True,
             **traffic(name, traffic=[{"tag": "canary", "percent": 10}, {"revision": "{{ v1 }}", "percent": 90}])),
        dict(name="split", **traffic(name, traffic=[{"tag": "canary", "percent": 10}, {"revision": "{{ v1 }}", "percent": 90}])),
        dict(name="canary analysis", **{"orchestra.gcp.cloud_run_canary_analysis": dict(
            name=name, region="{{ region }}", canary="canary", window=60, min_requests=1000, metrics_delay=METRICS_DELAY,
            http_checks=[{"url": "/", "requests": 3}])}),  # on the canary's tag URL: no random split
        dict(name="canary analysis of an unknown revision", ignore_errors=True, **{"orchestra.gcp.cloud_run_canary_analysis": dict(
            name=name, region="{{ region }}", canary="nope", metrics=False, http_checks=[{"url": "{{ created.url }}"}])}),
        dict(name="rollback", **traffic(name, rollback=True)),
        dict(name="rollback again", **traffic(name, rollback=True)),
        dict(name="project from the task environment", environment={"GCP_PROJECT": "elsewhere"},
             **{"orchestra.gcp.cloud_run_service_info": dict(name=name, region="{{ region }}", project="{{ omit }}")}),
        dict(name="unsupported option", ignore_errors=True, **deploy(name, "1.0.0", colour="blue")),
        dict(name="wrong type", ignore_errors=True, **deploy(name, "1.0.0", max_instances="many")),
        dict(name="invalid memory", ignore_errors=True, **deploy(name, "1.0.0", memory="64Mi")),
        dict(name="traffic not summing to 100", ignore_errors=True, **traffic(name, traffic=[{"revision": "{{ v1 }}", "percent": 50}])),
        dict(name="image that fails", ignore_errors=True, **deploy(name, "broken")),
        dict(name="service of another project", ignore_errors=True, **{"orchestra.gcp.cloud_run_traffic": dict(
            name=name, region="{{ region }}", project="other-project", traffic=[{"latest": True, "percent": 100}])}),
        dict(name="no_log value in the result", ignore_errors=True, **{"orchestra.gcp.cloud_run_service_info": dict(
            name="{{ secret }}", region="{{ region }}", service_account_contents="{{ secret }}")}),
        dict(name="no_log key with a bad service", ignore_errors=True,
             **deploy("Bad_Name", "1.0.0", service_account_contents={"private_key": "{{ secret }}"})),
        dict(name="delete, check mode", check_mode=True, **deploy(name, "1.0.0", state="absent")),
        dict(name="delete", **deploy(name, "1.0.0", state="absent")),
        dict(name="delete again", **deploy(name, "1.0.0", state="absent")),
    ]


def run_door(emulated, name, in_process):
    emulated.emulator.reset()
    emulated.emulator.admin("failing-images", {"pattern": "*:broken"})
    tasks = scenario(name)
    # v1 is the first revision; the scenario reads it from the create task.
    tasks.insert(3, {"name": "remember v1", "ansible.builtin.set_fact": {"v1": "{{ created.revision }}"}})
    tasks[2]["register"] = "created"
    play = emulated.run(tasks, extravars={"orchestra_gcp_in_process": in_process, "secret": SECRET},
                        verbosity=3)
    assert play.rc == 0, play.stdout
    door = "runs in the controller process" if in_process else "runs as a module: orchestra_gcp_in_process is false"
    assert play.stdout.count(door) == len(tasks) - 1, play.stdout
    return play


def normalised(value, key=None):
    if key in ("etag", "time", "p95_ms", "p99_ms", "max_ms", "trace_id"):  # made anew on each run
        return key.upper()
    if isinstance(value, dict):
        return {k: normalised(v, k) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    if isinstance(value, str):
        for pattern, replacement in VOLATILE:
            value = pattern.sub(replacement, value)
    return value


def test_both_doors_return_the_same_results(emulated):
    name = emulated.name("doors")
    controller, module = plays = [run_door(emulated, name, True), run_door(emulated, name, False)]
    differences = []
    for label in [t["name"] for t in scenario(name)]:
        a, b = normalised(controller.task(label)), normalised(module.task(label))
        for key in sorted(set(a) | set(b)):
            if a.get(key, "<absent>") != b.get(key, "<absent>"):
                differences.append("%s: %s: controller %r, module %r" % (label, key, a.get(key, "<absent>"), b.get(key, "<absent>")))
    assert not differences, "\n".join(differences)

    # The scenario did what it says, so the comparison is not between two identical failures.
    for play in plays:
        assert play.task("create")["changed"] and not play.task("same again")["changed"]
        assert "pin a version number" in json.dumps(play.task("a warning, check mode")["warnings"])
        assert play.task("canary analysis")["verdict"] == "inconclusive"
        assert play.task("rollback")["changed"] and not play.task("rollback again")["changed"]
        assert play.task("info of the service")["exists"] and not play.task("project from the task environment")["exists"]
        for label in ("unsupported option", "wrong type", "invalid memory", "traffic not summing to 100",
                      "canary analysis of an unknown revision",
                      "image that fails", "service of another project", "no_log key with a bad service"):
            assert play.task(label)["_failed"], label
        assert "Unsupported parameters" in play.task("unsupported option")["msg"]
        assert "colour" in play.task("unsupported option")["msg"]
        masked = play.task("no_log value in the result")
        assert masked["invocation"]["module_args"]["service_account_contents"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        assert SECRET not in json.dumps(masked) and SECRET not in json.dumps(play.task("no_log key with a bad service"))
        assert SECRET not in play.stdout


@pytest.mark.parametrize("hidden, in_process, missing, reason", [
    ("google", True, "google-auth, google-api-core, google-cloud-run", "Google's client libraries"),
    ("google", False, "google-auth, google-api-core, google-cloud-run", None),
    ("google/cloud/run_v2", True, "google-cloud-run", "google-cloud-run"),
], ids=["all-controller", "all-module", "run-controller"])
def test_missing_libraries_are_reported_by_either_door(emulated, tmp_path, hidden, in_process, missing, reason):
    """A Python without Google's libraries, or without the Cloud Run one: the controller door hands over to the
    module, which names the packages it lacks."""
    shadow = tmp_path / "shadow" / hidden
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('hidden for this test')\n")
    emulated.extra_env = {"PYTHONPATH": str(tmp_path / "shadow")}
    play = emulated.run([dict(name="info", ignore_errors=True, **{"orchestra.gcp.cloud_run_service_info": dict(
        name="anything", region="{{ region }}")})], extravars={"orchestra_gcp_in_process": in_process, "secret": SECRET}, verbosity=3)
    result = play.task("info")
    assert result["_failed"]
    assert "Failed to import the required Python library (%s)" % missing in result["msg"]
    if reason:
        assert "runs as a module: the controller's Python cannot import %s" % reason in play.stdout
    assert emulated.emulator.log() == []


def test_a_loop_shares_nothing_between_endpoints_or_projects(emulated, emulator_instance):
    """The items of a loop run in one controller process: each still reaches its own endpoint and project."""
    assert emulator_instance.cli("start")[0] == 0
    name = emulated.name("loop")
    assert emulated.run([dict(name="v1", **deploy(name, "1.0.0"))]).rc == 0
    items = [(emulated.endpoint, emulated.project, True), (emulator_instance.endpoint, emulated.project, False),
             (emulated.endpoint, "other-project", False), (emulated.endpoint, emulated.project, True)]
    play = emulated.run([{
        "name": "look", "loop": [[endpoint, project] for endpoint, project, _unused in items],
        "orchestra.gcp.cloud_run_service_info": dict(name=name, region="{{ region }}", api_endpoint="{{ item.0 }}",
                                                     project="{{ item.1 }}")}], verbosity=3)

    assert play.rc == 0, play.stdout
    assert "runs in the controller process" in play.stdout
    assert [r["exists"] for r in play.task("look")["results"]] == [exists for _unused, _unused2, exists in items]


def test_a_warning_belongs_to_its_loop_item(emulated):
    """The items of a loop share a controller process: a warning of one is not repeated in the next."""
    name = emulated.name("warn")
    pinned = {"KEY": {"secret": "k", "version": "1"}}
    play = emulated.run([{"name": "look", "check_mode": True, "loop": [{"KEY": {"secret": "k", "version": "latest"}}, pinned],
                          **deploy(name, "1.0.0", secret_env="{{ item }}")}], verbosity=3)

    assert play.rc == 0, play.stdout
    assert "runs in the controller process" in play.stdout
    first, second = play.items
    assert "pin a version number" in json.dumps(first["warnings"]) and not second.get("warnings"), (first, second)


def test_async_tasks_run_as_modules(emulated):
    play = emulated.run([{"name": "info", "async": 60, "poll": 1, "orchestra.gcp.cloud_run_service_info": dict(
        name="nothing-here", region="{{ region }}")}], verbosity=3)

    assert play.rc == 0, play.stdout
    assert "runs as a module: the task is async" in play.stdout
    assert play.task("info")["exists"] is False
