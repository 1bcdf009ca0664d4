"""The cloud_run_rollout role against the emulator, with users hitting the service URL meanwhile:
each scenario asserts on the service's traffic afterwards."""

import os
import pathlib
import signal
import sys
import threading
import time

import pytest
import requests

from conftest import routed
from monitoring_lag import METRICS_DELAY
from test_cloud_run_service import IMAGE, deploy

ANALYSIS = {"window": 60, "interval": 1, "metrics_delay": METRICS_DELAY, "min_requests": 10, "max_error_ratio": 0.02}
STEPS = [{"percent": 20, "bake": 2}, {"percent": 50, "bake": 2}]


class Users(threading.Thread):
    """Requests to the service URL, as users would send them, until stopped."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.stopped = url, threading.Event()

    def run(self):
        with requests.Session() as http:
            while not self.stopped.is_set():
                try:
                    http.get(self.url, timeout=5)
                except requests.RequestException:
                    pass

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.join()


def rollout_task(name, version, **role_vars):
    role_vars = dict({"cloud_run_rollout_service": {"name": name, "image": IMAGE % version},
                      "cloud_run_rollout_region": "{{ region }}", "cloud_run_rollout_steps": STEPS,
                      "cloud_run_rollout_analysis": ANALYSIS}, **role_vars)
    return {"name": "rollout", "ansible.builtin.include_role": {"name": "orchestra.gcp.cloud_run_rollout"}, "vars": role_vars}


def rollout(emulated, name, version, check=False, **role_vars):
    return emulated.run([rollout_task(name, version, **role_vars)], check=check)


def judged(play):
    return [r for r in play.results if r["_task"].startswith("Judge the canary") and "verdict" in r]


def planned(play):
    """The role's result as the plan left it: service, region, plan, stable, canary, outcome, an empty timeline."""
    return play.task("Record the plan")["ansible_facts"]["cloud_run_rollout_result"]


def result(play):
    """The role's result (the fact cloud_run_rollout_result) as last recorded."""
    return play.task("Record the timeline and the outcome")["ansible_facts"]["cloud_run_rollout_result"]


ENTRY_KEYS = {"step", "percent", "verdict", "reason", "time", "window", "canary", "baseline", "load", "serving"}


def serving(emulated, name):
    return {(revision, percent) for _type, revision, percent, _tag in routed(emulated.service(name)) if percent}


@pytest.fixture
def stable(emulated):
    """A service serving v1 (1.0.0) at 100%, and users on its URL."""
    name = emulated.name("rollout")
    play = emulated.run([dict(name="v1", **deploy(name, "1.0.0"))])
    assert play.rc == 0, play.stdout
    with Users(emulated.service(name).uri):
        yield name, play.task("v1")["revision"]


def test_healthy_canary_is_promoted(emulated, stable):
    name, v1 = stable
    play = rollout(emulated, name, "2.0.0")
    assert play.rc == 0, play.stdout
    canary = emulated.revision_names(name)[-1]
    assert canary != v1 and serving(emulated, name) == {(canary, 100)}
    assert {s.tag for s in emulated.service(name).traffic_statuses if s.tag} == {"stable"}
    assert [r["verdict"] for r in judged(play)] == ["pass", "pass"]
    done = result(play)
    assert (done["outcome"], done["stable"], done["canary"]) == ("promoted", v1, canary)
    assert [(e["step"], e["percent"], e["verdict"]) for e in done["timeline"]] == [
        ("smoke", 0, "pass"), ("20%", 20, "pass"), ("50%", 50, "pass"), ("promote", 100, "pass")]
    assert all(set(entry) == ENTRY_KEYS for entry in done["timeline"])  # one shape


def test_a_tenth_of_errors_rolls_back_at_the_first_step(emulated, stable):
    name, v1 = stable
    emulated.emulator.admin("revision-behaviour", {"image": "*:2.0.0-bad", "error_ratio": 0.1})
    play = rollout(emulated, name, "2.0.0-bad")
    assert play.rc != 0
    assert serving(emulated, name) == {(v1, 100)}
    assert "Rolled back the rollout" in play.stdout and "error ratio" in play.stdout
    assert "Confirmed: %s serves 100%%." % v1 in play.stdout
    assert [r["verdict"] for r in judged(play)] == ["fail"]
    done = result(play)
    assert done["outcome"] == "rolled_back" and done["timeline"][-1]["serving"] == {v1: 100}
    assert [e["step"] for e in done["timeline"]] == ["smoke", "20%", "rollback"]
    bad = emulated.revision_names(name)[-1]
    assert emulated.service(name).annotations["orchestra.gcp/rejected-revisions"] == bad


def test_an_image_that_never_gets_ready_is_aborted(emulated, stable):
    name, v1 = stable
    emulated.emulator.admin("failing-images", {"pattern": "*:broken"})
    play = rollout(emulated, name, "broken")
    assert play.rc != 0
    assert serving(emulated, name) == {(v1, 100)}
    assert not judged(play)


@pytest.mark.one_core
def test_no_traffic_pauses_by_the_no_data_policy(emulated):
    name = emulated.name("quiet")
    assert emulated.run([dict(name="v1", **deploy(name, "1.0.0"))]).rc == 0
    play = rollout(emulated, name, "2.0.0", cloud_run_rollout_analysis=dict(ANALYSIS, no_data="pause"))
    assert play.rc != 0
    assert "Paused the rollout" in play.stdout and "unverified" in play.stdout
    assert result(play)["outcome"] == "paused" and result(play)["timeline"][-1]["step"] == "paused"
    assert {percent for _revision, percent in serving(emulated, name)} == {80, 20}


def test_first_deploy_gets_the_smoke_gate_only(emulated):
    name = emulated.name("first")
    before = len(emulated.emulator.log())
    play = rollout(emulated, name, "1.0.0")
    assert play.rc == 0, play.stdout
    only = emulated.revision_names(name)
    assert len(only) == 1 and serving(emulated, name) == {(only[0], 100)}
    assert {s.tag for s in emulated.service(name).traffic_statuses if s.tag} == {"stable"}
    assert [c["method"] for c in emulated.emulator.log()[before:]] == ["POST"]  # created with its traffic and tag
    assert play.task("Smoke-test the canary's tag URL before it gets traffic")["verdict"] == "pass"
    assert not judged(play)
    assert planned(play)["plan"]["action"] == "first_deploy" and planned(play)["plan"]["steps"] == []
    assert (result(play)["outcome"], [e["step"] for e in result(play)["timeline"]]) == ("promoted", ["smoke", "promote"])


def test_check_mode_shows_the_plan_and_changes_nothing(emulated, stable):
    """Steps given as strings, as extra variables arrive on ansible-core 2.17, are planned as numbers."""
    name, v1 = stable
    before = len(emulated.emulator.log())
    play = rollout(emulated, name, "2.0.0", check=True,
                   cloud_run_rollout_steps=[{"percent": "20", "bake": "2"}, {"percent": "50", "bake": "2"}])
    assert play.rc == 0, play.stdout
    shown = play.task("Show the plan")["msg"]
    assert (shown["outcome"], shown["stable"]) == ("planned", v1)
    assert shown["plan"] == dict(action="rollout", refusal=None, stable=v1, canary=None, new_revision=True, resume_from=0,
                                 roll_back_first=False, steps=STEPS)
    assert len(emulated.emulator.log()) == before


def test_status_module_reads_a_rollout_in_progress_and_stale_tags(emulated):
    name = emulated.name("status")
    status = {"orchestra.gcp.cloud_run_rollout_status": dict(name=name, region="{{ region }}", image=IMAGE % "2.0.0")}
    play = emulated.run([
        dict(name="absent", **status),
        dict(dict(name="v1", **deploy(name, "1.0.0")), register="first"),
        dict(name="canary", **deploy(name, "2.0.0", traffic="none", tag="canary")),
        dict(name="split", **{"orchestra.gcp.cloud_run_traffic": dict(name=name, region="{{ region }}", traffic=[
            {"tag": "canary", "percent": 20}, {"revision": "{{ first.revision }}", "percent": 80, "tag": "stable"},
            {"revision": "{{ first.revision }}", "tag": "old"}])}),
        dict(name="in progress", **status),
    ])
    assert play.rc == 0, play.stdout
    assert play.task("absent")["phase"] == "absent" and play.task("absent")["first_deploy"] is True
    now = play.task("in progress")
    assert (now["phase"], now["canary_percent"], now["same_image"], now["stable"]) == (
        "in_progress", 20, True, play.task("v1")["revision"])
    assert now["problems"] == ["stale tags old (%s): remove them with orchestra.gcp.cloud_run_traffic, or list them in "
                               "allowed_tags" % play.task("v1")["revision"]]


@pytest.mark.one_core
def test_a_latency_regression_is_rolled_back(emulated, stable):
    name, v1 = stable
    emulated.emulator.admin("revision-behaviour", {"image": "*:2.0.0-slow", "latency_ms": 150})
    play = rollout(emulated, name, "2.0.0-slow", cloud_run_rollout_analysis=dict(ANALYSIS, max_p95_ms=100))
    assert play.rc != 0
    assert serving(emulated, name) == {(v1, 100)}
    assert [r["verdict"] for r in judged(play)] == ["fail"]
    assert "p95 latency (ms)" in judged(play)[0]["reason"]


@pytest.mark.one_core
def test_a_canary_worse_than_stable_but_under_the_limits_fails_the_comparison(emulated, stable):
    name, v1 = stable
    emulated.emulator.admin("revision-behaviour", {"image": "*:2.0.0-worse", "error_ratio": 0.05})
    play = rollout(emulated, name, "2.0.0-worse",
                   cloud_run_rollout_analysis=dict(ANALYSIS, min_requests=40, max_error_ratio=0.2,
                                                   max_error_ratio_increase=0.01))
    assert play.rc != 0
    assert serving(emulated, name) == {(v1, 100)}
    assert [r["verdict"] for r in judged(play)] == ["fail"]
    reason = judged(play)[0]["reason"]
    assert "error ratio against the baseline" in reason and "error ratio 0." not in reason.replace("baseline", "")


def test_503s_on_a_traffic_update_are_retried_and_hooks_run_at_every_point(emulated, stable, tmp_path):
    name, _v1 = stable
    hooks = {}
    for point in ("before_step", "after_step", "after_promotion"):
        hooks[point] = str(tmp_path / (point + ".yml"))
        (tmp_path / (point + ".yml")).write_text(
            "- name: hook %s\n  ansible.builtin.debug:\n    msg: \"{{ cloud_run_rollout_step.percent | default('-') }}\"\n"
            % point)
    # Before the first traffic shift, the API answers the next two updates of the service with 503.
    (tmp_path / "before_step.yml").write_text((tmp_path / "before_step.yml").read_text() + """
- name: make the next two updates of the service fail
  ansible.builtin.uri:
    url: "%s/_emulator/faults"
    method: POST
    body_format: json
    body: {method: PATCH, path: "/services/%s$", status: 503, count: 2}
  when: cloud_run_rollout_step.percent == 20
""" % (emulated.endpoint, name))
    before = len(emulated.emulator.log())
    play = rollout(emulated, name, "2.0.0", cloud_run_rollout_hooks=hooks)
    assert play.rc == 0, play.stdout
    canary = emulated.revision_names(name)[-1]
    assert serving(emulated, name) == {(canary, 100)}
    # the deploy, the 20% shift after two 503s, the 50% shift, the promotion
    assert [c["status"] for c in emulated.emulator.log()[before:] if c["method"] == "PATCH"] == [200, 503, 503, 200, 200, 200]
    ran = [(r["_task"], str(r.get("msg"))) for r in play.results if r["_task"].startswith("hook ")]
    assert ran == [("hook before_step", "20"), ("hook after_step", "20"), ("hook before_step", "50"),
                   ("hook after_step", "50"), ("hook after_promotion", "-")]


@pytest.mark.one_core
def test_the_load_step_drives_the_canary_with_ab_so_a_quiet_service_can_be_judged(emulated):
    name = emulated.name("load")
    assert emulated.run([dict(name="v1", **deploy(name, "1.0.0"))]).rc == 0
    play = rollout(emulated, name, "2.0.0", cloud_run_rollout_steps=[{"percent": 20, "bake": 3}],
                   cloud_run_rollout_analysis=dict(ANALYSIS, no_data="pause", consecutive_successes=2),
                   cloud_run_rollout_load={"concurrency": 2})
    assert play.rc == 0, play.stdout
    assert serving(emulated, name) == {(emulated.revision_names(name)[-1], 100)}
    step = result(play)["timeline"][-2]  # the step, before the promotion
    assert step["verdict"] == "pass" and step["load"]["requests"] >= 10 and step["load"]["failed"] == 0
    assert step["canary"]["requests"] >= 10


def kill_tree(pid):
    """SIGKILL ``pid`` and every process under it, as when the machine running a job dies. (Ansible's
    workers start sessions of their own, so killing the process group of ansible-playbook spares them.)
    Each process is stopped, and seen stopped, before its children are read: none can fork meanwhile."""
    tree, todo = [], [pid]
    while todo:
        each = todo.pop()
        try:
            os.kill(each, signal.SIGSTOP)
            while _stat(each)[0] not in "TtZX":  # stopped, or already dead
                time.sleep(0.01)
        except (ProcessLookupError, FileNotFoundError):
            continue
        tree.append(each)
        todo += [int(stat.parent.name) for stat in pathlib.Path("/proc").glob("[0-9]*/stat") if _ppid(stat) == each]
    for each in tree:
        os.kill(each, signal.SIGKILL)
    return tree


def _stat(pid):
    """State and parent pid from /proc/<pid>/stat (after the command name, which may hold spaces)."""
    return pathlib.Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[:2]


def _alive(pid):
    try:
        return _stat(pid)[0] != "Z"  # a zombie is dead, waiting for its parent to read its status
    except FileNotFoundError:
        return False


def _ppid(stat):
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def start_and_kill_at(emulated, name, percent):
    """Start a rollout of 2.0.0 whose first step (20%) bakes for a minute; kill its process once the
    canary serves ``percent``. Returns the canary revision."""
    process = emulated.start([rollout_task(name, "2.0.0", cloud_run_rollout_steps=[{"percent": 20, "bake": 60}] + STEPS[1:],
                                           cloud_run_rollout_analysis=dict(ANALYSIS, consecutive_successes=1000))])
    deadline = time.monotonic() + 60
    while {p for _r, p in serving(emulated, name)} != {percent, 100 - percent}:
        assert process.poll() is None and time.monotonic() < deadline, "the rollout never reached %d%%" % percent
        time.sleep(0.2)
    # Kill mid-step: once the step's analysis reads its first metrics, a worker is running it.
    seen = len(emulated.emulator.calls())
    while not [c for c in emulated.emulator.calls()[seen:] if c["path"].endswith("/timeSeries")]:
        assert process.poll() is None and time.monotonic() < deadline, "the step's analysis never started"
        time.sleep(0.1)
    killed = kill_tree(process.pid)
    process.wait()
    assert len(killed) >= 2  # ansible-playbook and the worker running the analysis
    deadline = time.monotonic() + 5
    while [each for each in killed if _alive(each)]:
        assert time.monotonic() < deadline, "processes outlived SIGKILL: %s" % [each for each in killed if _alive(each)]
        time.sleep(0.05)
    canary = emulated.revision_names(name)[-1]
    assert (canary, percent) in serving(emulated, name)
    return canary


def test_a_rollout_killed_mid_step_resumes_where_its_traffic_stands(emulated, stable):
    name, _v1 = stable
    canary = start_and_kill_at(emulated, name, 20)
    play = rollout(emulated, name, "2.0.0")
    assert play.rc == 0, play.stdout
    plan = planned(play)["plan"]
    assert (plan["action"], plan["canary"], plan["resume_from"], plan["steps"]) == ("resume", canary, 20, STEPS)
    assert "verdict" not in play.task("Smoke-test the canary's tag URL before it gets traffic")
    assert emulated.revision_names(name)[-1] == canary and serving(emulated, name) == {(canary, 100)}


@pytest.mark.one_core
def test_a_changed_spec_of_the_same_image_does_not_resume_but_starts_over(emulated, stable):
    name, _v1 = stable
    interrupted = start_and_kill_at(emulated, name, 20)
    play = rollout(emulated, name, "2.0.0", cloud_run_rollout_service={"name": name, "image": IMAGE % "2.0.0",
                                                                       "env": {"FIXED": "1"}})
    assert play.rc == 0, play.stdout
    fixed = emulated.revision_names(name)[-1]
    assert fixed != interrupted and planned(play)["plan"]["action"] == "rollout" and planned(play)["plan"]["new_revision"]
    assert play.task("Smoke-test the canary's tag URL before it gets traffic")["verdict"] == "pass"
    assert serving(emulated, name) == {(fixed, 100)}


@pytest.mark.one_core
def test_a_rollout_killed_mid_step_is_rolled_back_by_policy_before_the_next_one(emulated, stable):
    name, v1 = stable
    canary = start_and_kill_at(emulated, name, 20)
    mutations = len(emulated.emulator.log())
    refused = rollout(emulated, name, "3.0.0")
    assert refused.rc != 0
    plan = refused.task("Read where the rollout stands, and plan it")["plan"]
    assert plan["action"] == "refuse" and "is in progress" in plan["refusal"] and plan["refusal"].endswith("Nothing was changed.")
    assert refused.task("Refuse what the plan refuses")["msg"] == plan["refusal"]
    assert len(emulated.emulator.log()) == mutations and (canary, 20) in serving(emulated, name)

    play = rollout(emulated, name, "3.0.0", cloud_run_rollout_resume="rollback")
    assert play.rc == 0, play.stdout
    assert play.task("Send the traffic of the interrupted rollout back to the stable revision, as "
                     "cloud_run_rollout_resume asks")["changed"]
    assert planned(play)["plan"]["roll_back_first"] is True
    fixed = emulated.revision_names(name)[-1]
    assert fixed not in (v1, canary) and serving(emulated, name) == {(fixed, 100)}
    assert "orchestra.gcp/rejected-revisions" not in emulated.service(name).annotations


def test_an_unchanged_spec_is_nothing_to_roll_out_and_a_rejected_one_is_refused(emulated, stable):
    name, v1 = stable
    mutations = len(emulated.emulator.log())
    play = rollout(emulated, name, "1.0.0")
    assert play.rc == 0 and play.changed() == [], play.stdout
    assert (planned(play)["plan"]["action"], planned(play)["outcome"], planned(play)["canary"]) == ("up_to_date", "up_to_date", v1)
    assert len(emulated.emulator.log()) == mutations

    emulated.emulator.admin("revision-behaviour", {"image": "*:2.0.0-bad", "error_ratio": 0.5})
    assert rollout(emulated, name, "2.0.0-bad").rc != 0
    mutations = len(emulated.emulator.log())
    again = rollout(emulated, name, "2.0.0-bad")
    assert again.rc != 0, again.stdout
    plan = again.task("Read where the rollout stands, and plan it")["plan"]
    assert plan["action"] == "refuse" and "an earlier rollout rejected it" in plan["refusal"]
    assert len(emulated.emulator.log()) == mutations and serving(emulated, name) == {(v1, 100)}


RULES = "steps must list steps with an integer percent from 1 to 99, increasing, and a bake of 0 or more seconds"


@pytest.mark.parametrize("steps, message", [
    ([{"percent": 50}, {"percent": 20}], RULES), ([{"percent": 0}], RULES), ([{"percent": 100}], RULES),
    ([{"percent": 10, "bake": -1}], RULES),
    # what is no integer at all, or missing, the role's argument spec refuses first
    ([{"percent": "ten"}], "unable to convert to int"), ([{"bake": 10}], "missing required arguments: percent")])
def test_bad_steps_are_refused_before_any_call(emulated, steps, message):
    before = len(emulated.emulator.calls())
    play = rollout(emulated, emulated.name("steps"), "2.0.0", cloud_run_rollout_steps=steps)
    assert play.rc != 0 and message in play.stdout, play.stdout
    assert emulated.emulator.calls()[before:] == []


def test_a_load_step_without_ab_is_refused_before_any_call(emulated):
    emulated.extra_env["PATH"] = os.path.dirname(sys.executable)  # the virtualenv's tools, without /usr/bin/ab
    before = len(emulated.emulator.calls())
    play = rollout(emulated, emulated.name("noab"), "2.0.0", cloud_run_rollout_load={"concurrency": 1})
    assert play.rc != 0 and "needs ApacheBench (ab)" in play.stdout, play.stdout
    assert emulated.emulator.calls()[before:] == []
