# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' inputs against the modules they feed: every dict input declares its keys, and those keys are the
module's options with the module's types, so that a misspelled key fails the play before any call and no
option of a module is out of a role's reach."""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from ansible_collections.orchestra.gcp.plugins.module_utils import _canary, _load, _redis, _retention, _run

ROOT = pathlib.Path(__file__).resolve().parents[2]
# What the roles decide themselves rather than take from the service spec.
ROLE_DECIDES = {"region", "state", "traffic", "tag", "wait", "wait_timeout"}
# Free-form maps: the emulator names the keys it accepts, and refuses others itself.
FREE_FORM = {("local_emulator", "local_emulator_config")}


def role_options(role):
    return yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]


def kind(spec):
    """What the role and the module must agree on for an option."""
    return {k: spec[k] for k in ("type", "elements", "choices") if k in spec}


def passed_keys(task_file, variable):
    """The keys of ``variable`` a task file hands to its module (``variable.key``)."""
    return set(re.findall(r"\b%s\.(\w+)" % variable, (ROOT / task_file).read_text()))


@pytest.mark.parametrize("role", sorted(p.name for p in (ROOT / "roles").iterdir()))
def test_every_dict_input_declares_its_keys(role):
    for name, spec in role_options(role).items():
        if (role, name) in FREE_FORM:
            continue
        if spec["type"] == "dict" or spec.get("elements") == "dict":
            assert spec.get("options"), "%s: %s is a dict but declares no options" % (role, name)


@pytest.mark.parametrize("role, variable", [("cloud_run_deploy", "cloud_run_deploy_service"),
                                            ("cloud_run_rollout", "cloud_run_rollout_service")])
def test_the_service_spec_is_the_modules_options(role, variable):
    module = _run.SERVICE_SPEC["argument_spec"]
    declared = role_options(role)[variable]["options"]
    assert set(declared) == set(module) - ROLE_DECIDES
    assert {k: kind(v) for k, v in declared.items()} == {k: kind(module[k]) for k in declared}
    assert {k for k, v in declared.items() if v.get("required")} == {"name", "image"}


def test_the_deploy_task_passes_every_option_of_the_spec():
    declared = role_options("cloud_run_deploy")["cloud_run_deploy_service"]["options"]
    assert passed_keys("roles/cloud_run_deploy/tasks/service.yml", "cloud_run_deploy_service") == set(declared)


def test_the_rollout_inputs_are_the_modules_options():
    options = role_options("cloud_run_rollout")
    analysis = _canary.ANALYSIS_SPEC["argument_spec"]
    declared = options["cloud_run_rollout_analysis"]["options"]
    assert set(declared) <= set(analysis)
    assert {k: kind(v) for k, v in declared.items()} == {k: kind(analysis[k]) for k in declared}
    # Each step gets the analysis options the role does not decide: all but where, what and how long.
    assert set(analysis) - set(declared) == {"name", "region", "canary", "baseline", "bake", "metrics", "http_checks"}
    for checks in ("cloud_run_rollout_smoke_checks", "cloud_run_rollout_step_checks"):
        assert {k: kind(v) for k, v in options[checks]["options"].items()} == {k: kind(v) for k, v in _canary.HTTP_CHECK_SPEC.items()}
    load = options["cloud_run_rollout_load"]["options"]
    assert set(load) - {"path"} <= set(_load.LOAD_SPEC["argument_spec"])
    assert {k: kind(v) for k, v in load.items() if k != "path"} == {k: kind(_load.LOAD_SPEC["argument_spec"][k]) for k in load if k != "path"}
    used = set()
    for task_file in (ROOT / "roles" / "cloud_run_rollout" / "tasks").glob("*.yml"):
        used |= passed_keys(task_file.relative_to(ROOT), "cloud_run_rollout_analysis")
    assert used == set(declared)


def test_the_redis_instance_input_is_the_modules_options_and_the_task_passes_them_all():
    module = _redis.INSTANCE_SPEC["argument_spec"]
    declared = role_options("redis")["redis_instance"]["options"]
    assert set(declared) <= set(module)
    assert {k: kind(v) for k, v in declared.items()} == {k: kind(module[k]) for k in declared}
    assert passed_keys("roles/redis/tasks/main.yml", "redis_instance") == set(declared)


def test_the_backup_retention_input_is_the_retention_policy():
    declared = role_options("redis_backup")["redis_backup_retention"]["options"]
    assert {k: kind(v) for k, v in declared.items()} == {k: kind(v) for k, v in _retention.POLICY_SPEC.items()}


def test_the_metrics_alerts_read_are_the_ones_backups_and_rotations_write():
    monitoring = yaml.safe_load((ROOT / "roles" / "monitoring" / "vars" / "main.yml").read_text())
    backup = yaml.safe_load((ROOT / "roles" / "redis_backup" / "defaults" / "main.yml").read_text())
    (rotate,) = yaml.safe_load((ROOT / "playbooks" / "rotate_secrets.yml").read_text())
    assert monitoring["monitoring_backup_age_metric"] == backup["redis_backup_age_metric"] == role_options("redis_backup")["redis_backup_age_metric"]["default"]
    assert monitoring["monitoring_rotation_overdue_metric"] == rotate["vars"]["__rotate_overdue_metric"]
