"""A role input with a key no module knows fails the play before any call, naming the key."""

import pytest

from test_cloud_run_service import IMAGE

SERVICE = dict(name="{{ service }}", image=IMAGE % "1.0.0")
CASES = [
    ("cloud_run_deploy", dict(cloud_run_deploy_service=dict(SERVICE, cpus="2"), cloud_run_deploy_regions=["{{ region }}"]), "cpus"),
    ("cloud_run_deploy", dict(cloud_run_deploy_service=dict(SERVICE, max_instances="many"), cloud_run_deploy_regions=["{{ region }}"]),
     "max_instances"),
    ("cloud_run_rollout", dict(cloud_run_rollout_service=dict(SERVICE, purge_label=False), cloud_run_rollout_region="{{ region }}"),
     "purge_label"),
    ("cloud_run_rollout", dict(cloud_run_rollout_service=SERVICE, cloud_run_rollout_region="{{ region }}",
                               cloud_run_rollout_steps=[dict(percent=10, bak=60)]), "bak"),
    ("cloud_run_rollout", dict(cloud_run_rollout_service=SERVICE, cloud_run_rollout_region="{{ region }}",
                               cloud_run_rollout_analysis=dict(max_error_rate=0.1)), "max_error_rate"),
]


@pytest.mark.parametrize("role, variables, key", CASES, ids=[c[2] for c in CASES])
def test_a_misspelled_key_fails_before_any_call(emulated, role, variables, key):
    before = len(emulated.emulator.calls())
    play = emulated.run([{"name": "the role", "ansible.builtin.include_role": {"name": "orchestra.gcp." + role}, "vars": variables}],
                        extravars={"service": emulated.name()})
    assert play.rc != 0
    failure = next(r for r in play.results if r["_failed"])
    assert "Validating arguments against arg spec" in failure["_task"], failure["_task"]
    assert key in failure["msg"], failure["msg"]
    assert len(emulated.emulator.calls()) == before, "the role called the API before refusing its input"
