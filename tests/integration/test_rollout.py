"""The cloud_run_rollout role against the emulator, with users hitting the service URL meanwhile:
each scenario asserts on the service's traffic afterwards."""

import threading

import pytest
import requests

from test_cloud_run_service import IMAGE, deploy

ANALYSIS = {"window": 60, "interval": 1, "min_requests": 10, "max_error_ratio": 0.02}
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


def rollout(emulated, name, version, check=False, **role_vars):
    role_vars = dict({"cloud_run_rollout_service": {"name": name, "image": IMAGE % version},
                      "cloud_run_rollout_region": "{{ region }}", "cloud_run_rollout_steps": STEPS,
                      "cloud_run_rollout_analysis": ANALYSIS}, **role_vars)
    return emulated.run([{"name": "rollout", "ansible.builtin.include_role": {"name": "orchestra.gcp.cloud_run_rollout"},
                          "vars": role_vars}], check=check)


def serving(emulated, name):
    return {(s.revision, s.percent) for s in emulated.service(name).traffic_statuses if s.percent}


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
    steps = [r for r in play.results if r["_task"].startswith("Judge the canary")]
    assert [r["verdict"] for r in steps] == ["pass", "pass"]


def test_a_tenth_of_errors_rolls_back_at_the_first_step(emulated, stable):
    name, v1 = stable
    emulated.emulator.admin("revision-behaviour", {"image": "*:2.0.0-bad", "error_ratio": 0.1})
    play = rollout(emulated, name, "2.0.0-bad")
    assert play.rc != 0
    assert serving(emulated, name) == {(v1, 100)}
    assert "Rolled back the rollout" in play.stdout and "error ratio" in play.stdout
    steps = [r for r in play.results if r["_task"].startswith("Judge the canary")]
    assert len(steps) == 1 and steps[0]["verdict"] == "fail"
    bad = emulated.revision_names(name)[-1]
    assert emulated.service(name).annotations["orchestra.gcp/rejected-revisions"] == bad


def test_an_image_that_never_gets_ready_is_aborted(emulated, stable):
    name, v1 = stable
    emulated.emulator.admin("failing-images", {"pattern": "*:broken"})
    play = rollout(emulated, name, "broken")
    assert play.rc != 0
    assert serving(emulated, name) == {(v1, 100)}
    assert not [r for r in play.results if r["_task"].startswith("Judge the canary")]


def test_no_traffic_pauses_by_the_no_data_policy(emulated):
    name = emulated.name("quiet")
    assert emulated.run([dict(name="v1", **deploy(name, "1.0.0"))]).rc == 0
    play = rollout(emulated, name, "2.0.0", cloud_run_rollout_analysis=dict(ANALYSIS, no_data="pause"))
    assert play.rc != 0
    assert "Paused the rollout" in play.stdout and "unverified" in play.stdout
    assert {percent for _revision, percent in serving(emulated, name)} == {80, 20}


def test_first_deploy_gets_the_smoke_gate_only(emulated):
    name = emulated.name("first")
    play = rollout(emulated, name, "1.0.0")
    assert play.rc == 0, play.stdout
    only = emulated.revision_names(name)
    assert len(only) == 1 and serving(emulated, name) == {(only[0], 100)}
    assert not [r for r in play.results if r["_task"].startswith("Judge the canary")]


def test_check_mode_shows_the_plan_and_changes_nothing(emulated, stable):
    name, v1 = stable
    before = len(emulated.emulator.log())
    play = rollout(emulated, name, "2.0.0", check=True)
    assert play.rc == 0, play.stdout
    assert "steps 20%%, 50%% against %s" % v1 in play.task("Show the plan")["msg"]
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
