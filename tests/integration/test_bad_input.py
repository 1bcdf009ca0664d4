"""Bad input fails with a message that names the problem, and nothing reaches the API as a change."""

import pytest

from test_cloud_run_service import IMAGE, deploy
from test_cloud_run_traffic import traffic


def bad_cases(name, v1):
    svc = dict(name=name, region="{{ region }}", image=IMAGE % "1.0.0")
    run = "orchestra.gcp.cloud_run_service"
    return [
        ("traffic summing to 90", traffic(name, traffic=[{"revision": v1, "percent": 90}]), "sum to 90, want 100"),
        ("traffic summing to 110", traffic(name, traffic=[{"revision": v1, "percent": 100}, {"latest": True, "percent": 10}]),
         "sum to 110, want 100"),
        ("unknown revision", traffic(name, traffic=[{"revision": name + "-99999-zzz", "percent": 100}]), "does not exist"),
        ("duplicate tag", traffic(name, traffic=[{"revision": v1, "percent": 50, "tag": "a"}, {"latest": True, "percent": 50, "tag": "a"}]),
         "tag 'a' is given more than once"),
        ("negative percent", traffic(name, traffic=[{"revision": v1, "percent": 105}, {"latest": True, "percent": -5}]),
         "percent -5 must be between 0 and 100"),
        ("unknown tag", traffic(name, traffic=[{"tag": "nope", "percent": 100}]), "tag 'nope' names no revision"),
        ("rollback without a record", traffic(name, rollback=True), "Cannot roll back"),
        ("reject a revision of another service", traffic(name, traffic=[{"revision": v1, "percent": 100}], reject="other-00001-abc"),
         "reject 'other-00001-abc' is not a revision of the service"),
        ("traffic in an unknown region", {"orchestra.gcp.cloud_run_traffic": dict(
            name=name, region="mars-central1", traffic=[{"latest": True, "percent": 100}])}, "region 'mars-central1' is not"),
        ("traffic of a missing service", traffic(name + "x", traffic=[{"latest": True, "percent": 100}]), "does not exist"),
        ("negative instances", {run: dict(svc, min_instances=-1)}, "min_instances -1 must be between 0 and 1000"),
        ("min above max", {run: dict(svc, min_instances=5, max_instances=2)}, "min_instances 5 is greater than max_instances 2"),
        ("malformed image", {run: dict(svc, image="Not An Image")}, "image 'Not An Image' is not a container image"),
        ("image with empty tag", {run: dict(svc, image="gcr.io/p/app:")}, "is not a container image"),
        ("unknown region", {run: dict(svc, region="us-nowhere1")}, "region 'us-nowhere1' is not a Cloud Run region"),
        ("bad label key", {run: dict(svc, labels={"Team": "web"})}, "label key 'Team'"),
        ("bad label value", {run: dict(svc, labels={"team": "Web Team"})}, "label value 'Web Team'"),
        ("cpu too high", {run: dict(svc, cpu="16")}, "cpu '16' must be between 0.08 and 1, or one of 2, 4, 6, 8"),
        ("memory too high", {run: dict(svc, memory="64Gi")}, "memory '64Gi' must be between 128Mi and 32Gi"),
        ("memory too low", {run: dict(svc, memory="64Mi")}, "memory '64Mi' must be between 128Mi and 32Gi"),
        ("memory above what the cpu allows", {run: dict(svc, memory="8Gi", cpu="1")}, "memory 8Gi needs at least 2 CPU"),
        ("memory above what the live cpu allows", {run: dict(name=name, region="{{ region }}", image=IMAGE % "1.0.0", memory="16Gi")},
         "needs at least 4 CPU"),
        # Google fills concurrency 80 and max instances 100 in: the limits apply to those values.
        ("half a cpu with the filled concurrency", {run: dict(svc, cpu="0.5")}, "cpu 0.5 below 1 needs concurrency 1"),
        ("min above the filled max", {run: dict(svc, min_instances=150)}, "min_instances 150 is greater than max_instances 100"),
        ("concurrency zero", {run: dict(svc, concurrency=0)}, "concurrency 0 must be between 1 and 1000"),
        ("timeout too long", {run: dict(svc, timeout=7200)}, "timeout 7200 must be between 1 and 3600"),
        ("bad service name", {run: dict(svc, name="Bad_Name")}, "name 'Bad_Name' must start with a lowercase letter"),
        ("reserved env name", {run: dict(svc, env={"PORT": "9000"})}, "'PORT' is invalid or reserved"),
        ("secret version neither a number nor an alias", {run: dict(svc, secret_env={"KEY": {"secret": "k", "version": "1.5"}})},
         "secret_env 'KEY' must be a mapping"),
        ("secret alias of a missing secret", {run: dict(svc, secret_env={"KEY": {"secret": "no-such-secret", "version": "current"}})},
         "secret_env KEY names the alias 'current' of secret projects/orchestra-test/secrets/no-such-secret, which does not exist"),
        ("bad tag", {run: dict(svc, tag="Canary")}, "tag 'Canary' must be a lowercase DNS label"),
        ("reserved annotation", {run: dict(svc, annotations={"run.googleapis.com/ingress": "all"})}, "namespace Cloud Run reserves"),
        ("no traffic on a new service", {run: dict(svc, name=name + "-new", traffic="none", tag="canary")}, "Cannot create"),
    ]


@pytest.mark.one_core
def test_bad_input_is_refused_before_any_change(emulated):
    name = emulated.name()
    setup = emulated.run([dict(name="v1", **deploy(name, "1.0.0"))])
    assert setup.rc == 0, setup.stdout
    before = len(emulated.emulator.log())

    cases = bad_cases(name, setup.task("v1")["revision"])
    play = emulated.run([dict(task, name=label, ignore_errors=True) for label, task, _unused in cases])
    wrong = []
    for label, _unused, expected in cases:
        result = play.task(label)
        if not result["_failed"] or expected not in result.get("msg", ""):
            wrong.append("%s: failed=%s msg=%r" % (label, result["_failed"], result.get("msg")))
    assert not wrong, "\n".join(wrong)
    assert len(cases) >= 15
    assert emulated.emulator.log()[before:] == []
    assert emulated.revision_names(name) == [setup.task("v1")["revision"]]
