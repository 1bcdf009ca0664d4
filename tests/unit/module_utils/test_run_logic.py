# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure functions of _run: units, validation, spec <-> Service, and the traffic helpers."""

from __future__ import annotations

import copy
import re

import pytest
from google.cloud import run_v2

from ansible_collections.orchestra.gcp.plugins.module_utils import _run
from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError

SVC = "projects/p/locations/us-central1/services/svc"
LATEST = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
REVISION = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION


def rev_path(name):
    return "%s/revisions/%s" % (SVC, name)


def status(revision, percent, tag="", latest=False):
    """A traffic status as Google returns it: a LATEST one names no revision (the service's latestReadyRevision is it)."""
    if latest:
        return run_v2.TrafficTargetStatus(percent=percent, tag=tag, type_=LATEST)
    return run_v2.TrafficTargetStatus(revision=revision, percent=percent, tag=tag, type_=REVISION)


def tgt(revision=None, percent=0, tag=""):
    if revision is None:
        return run_v2.TrafficTarget(type_=LATEST, percent=percent, tag=tag)
    return run_v2.TrafficTarget(type_=REVISION, revision=revision, percent=percent, tag=tag)


def service(traffic=(), statuses=(), latest_ready="svc-1", annotations=None):
    return run_v2.Service(name=SVC, traffic=list(traffic), traffic_statuses=list(statuses),
                          latest_ready_revision=rev_path(latest_ready) if latest_ready else "",
                          annotations=annotations or {})


def view(targets):
    return _run.traffic_view(targets)


def row(revision=None, percent=0, tag=None):
    return dict(type="LATEST" if revision is None else "REVISION", revision=revision, percent=percent, tag=tag)


def rows(*items):
    return sorted(items, key=lambda r: (-r["percent"], r["revision"] or "", r["tag"] or ""))


# ---------------------------------------------------------------- units

@pytest.mark.parametrize("value,expected", [
    ("1", 1000), ("2", 2000), ("0.5", 500), ("0.08", 80), ("500m", 500), ("1000m", 1000), ("1.5m", 2), (4, 4000),
    ("", None), ("abc", None), ("-1", None), ("1.5.2", None), ("1 m", None), ("m", None), ("1M", None), (None, None),
])
def test_cpu_millis(value, expected):
    assert _run.cpu_millis(value) == expected


@pytest.mark.parametrize("value,expected", [
    ("512Mi", 512), ("128Mi", 128), ("1Gi", 1024), ("32Gi", 32768), ("1G", 953), ("1000M", 953), ("512M", 488),
    ("512", None), ("1.5Gi", None), ("512mi", None), ("1Ti", None), ("Gi", None), ("-1Gi", None), ("", None), (None, None),
])
def test_memory_mib(value, expected):
    assert _run.memory_mib(value) == expected


# ---------------------------------------------------------------- validate_service_params

def service_params(**overrides):
    """cloud_run_service parameters as AnsibleModule fills them, plus the auth defaults."""
    p = {k: v.get("default") for k, v in _run.SERVICE_SPEC["argument_spec"].items()}
    p.update(name="svc", region="us-central1", image="us-docker.pkg.dev/proj/repo/app:1.2.3")
    p.update(overrides)
    return p


FULL = dict(
    image="us-docker.pkg.dev/proj/repo/app@sha256:" + "a" * 64, command=["/app"], args=["--serve"], port=8080,
    env={"MODE": "prod", "WORKERS": 4}, secret_env={"DB_PASSWORD": {"secret": "db-pass", "version": 3}},
    cpu="2", memory="2Gi", min_instances=1, max_instances=10, concurrency=50, timeout=120,
    execution_environment="gen2", ingress="internal-and-cloud-load-balancing",
    service_account="runner@proj.iam.gserviceaccount.com", vpc_connector="projects/proj/locations/us-central1/connectors/c",
    vpc_egress="private-ranges-only", labels={"team": "payments", "env": "prod"},
    annotations={"example.com/owner": "payments"}, tag="candidate", revision_suffix="v1-2-3", traffic="none",
)


def test_valid_full_parameters():
    assert _run.validate_service_params(service_params(**FULL)) == []


@pytest.mark.parametrize("overrides", [
    dict(image="nginx"), dict(image="nginx:1.25"), dict(image="localhost:5000/app:dev"),
    dict(image="gcr.io/proj/app_x/sub-dir:v1.0-rc.1"), dict(cpu="0.08", concurrency=1), dict(cpu="1000m"),
    dict(cpu="8", memory="32Gi"), dict(cpu="4", memory="16Gi"), dict(memory="512M"), dict(min_instances=0),
    dict(state="absent", image=None), dict(name="a" * 49),
], ids=lambda o: ",".join("%s=%s" % kv for kv in o.items()))
def test_valid_variants(overrides):
    assert _run.validate_service_params(service_params(**overrides)) == []


BAD = [
    ("negative-min", dict(min_instances=-1), "min_instances -1 must be between 0 and 1000"),
    ("min>max", dict(min_instances=5, max_instances=2), "min_instances 5 is greater than max_instances 2"),
    ("max-0", dict(max_instances=0), "max_instances 0 must be between 1 and 1000"),
    ("image-upper", dict(image="UPPER/Case:tag"), "image 'UPPER/Case:tag' is not a container image reference"),
    ("image-double-colon", dict(image="nginx::1"), "image 'nginx::1' is not a container image reference"),
    ("image-bad-digest", dict(image="nginx@sha256:abc"), "image 'nginx@sha256:abc'"),
    ("region", dict(region="us-nowhere1"), "region 'us-nowhere1' is not a Cloud Run region"),
    ("label-key-upper", dict(labels={"Team": "a"}), "label key 'Team' must start with a lowercase letter"),
    ("label-key-digit", dict(labels={"1abc": "a"}), "label key '1abc' must start with a lowercase letter"),
    ("label-value-upper", dict(labels={"team": "Payments"}), "label value 'Payments' (key 'team')"),
    ("cpu-16", dict(cpu="16"), "cpu '16' must be between 0.08 and 1, or one of 2, 4, 6, 8"),
    ("cpu-0.01", dict(cpu="0.01", concurrency=1), "cpu '0.01' must be between 0.08 and 1"),
    ("cpu-3", dict(cpu="3"), "cpu '3' must be between"),
    ("cpu-garbage", dict(cpu="lots"), "cpu 'lots' must be between"),
    ("memory-64Gi", dict(memory="64Gi", cpu="8"), "memory '64Gi' must be between 128Mi and 32Gi"),
    ("memory-64Mi", dict(memory="64Mi"), "memory '64Mi' must be between 128Mi and 32Gi"),
    ("memory-8Gi-cpu-1", dict(memory="8Gi", cpu="1"), "memory 8Gi needs at least 2 CPU, not 1"),
    ("memory-32Gi-cpu-4", dict(memory="32Gi", cpu="4"), "memory 32Gi needs at least 8 CPU, not 4"),
    ("cpu-half-concurrency-80", dict(cpu="0.5", concurrency=80), "cpu 0.5 below 1 needs concurrency 1"),
    ("concurrency-0", dict(concurrency=0), "concurrency 0 must be between 1 and 1000"),
    ("concurrency-1001", dict(concurrency=1001), "concurrency 1001 must be between 1 and 1000"),
    ("timeout-3601", dict(timeout=3601), "timeout 3601 must be between 1 and 3600"),
    ("port-0", dict(port=0), "port 0 must be between 1 and 65535"),
    ("name-underscore", dict(name="Bad_Name"), "name 'Bad_Name' must start with a lowercase letter"),
    ("name-trailing-dash", dict(name="ends-"), "name 'ends-' must start with a lowercase letter"),
    ("name-too-long", dict(name="a" * 50), "be under 50 characters"),
    ("env-reserved", dict(env={"PORT": "8080"}), "environment variable name 'PORT' is invalid or reserved"),
    ("env-bad-name", dict(env={"1X": "a"}), "environment variable name '1X' is invalid"),
    ("env-both", dict(env={"DB": "x"}, secret_env={"DB": {"secret": "db", "version": 1}}),
     "environment variables ['DB'] are set both in env and secret_env"),
    ("secret-version-decimal", dict(secret_env={"DB": {"secret": "db", "version": "1.5"}}),
     "secret_env 'DB' must be a mapping with 'secret' and a 'version': a number, an alias"),
    ("secret-not-mapping", dict(secret_env={"DB": "db:1"}), "secret_env 'DB' must be a mapping"),
    ("secret-no-secret", dict(secret_env={"DB": {"version": 1}}), "secret_env 'DB' must be a mapping with 'secret'"),
    ("tag-upper", dict(tag="Canary"), "tag 'Canary' must be a lowercase DNS label"),
    ("annotation-reserved", dict(annotations={"run.googleapis.com/foo": "x"}),
     "annotation 'run.googleapis.com/foo' is in a namespace Cloud Run reserves"),
    ("annotation-knative", dict(annotations={"autoscaling.knative.dev/maxScale": "3"}),
     "annotation 'autoscaling.knative.dev/maxScale' is in a namespace Cloud Run reserves"),
    ("suffix-upper", dict(revision_suffix="UP"), "revision_suffix 'UP' must be lowercase letters"),
    ("suffix-too-long", dict(name="s" * 40, revision_suffix="x" * 23), "at most 63 characters"),
]


@pytest.mark.parametrize("overrides,expected", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_invalid_service_params(overrides, expected):
    p = service_params(**overrides)
    with pytest.raises(GcpError) as err:
        _run.validate_service_params(p)
    msg = err.value.msg
    assert expected in msg
    assert msg.startswith("Invalid parameters for Cloud Run service %s: " % p["name"])
    assert msg.endswith("Nothing was changed.")


def test_all_problems_are_listed_at_once():
    with pytest.raises(GcpError) as err:
        _run.validate_service_params(service_params(region="mars1", concurrency=0, tag="X", labels={"A": "b"}))
    msg = err.value.msg
    for part in ("region 'mars1'", "concurrency 0", "tag 'X'", "label key 'A'"):
        assert part in msg
    assert msg.count("; ") >= 3


def test_absent_checks_only_name_and_region():
    assert _run.validate_service_params(service_params(state="absent", image=None, cpu="99")) == []
    with pytest.raises(GcpError, match="region 'nowhere'"):
        _run.validate_service_params(service_params(state="absent", region="nowhere"))


def test_secret_version_latest_warns():
    p = service_params(secret_env={"B_KEY": {"secret": "b", "version": "latest"},
                                   "A_KEY": {"secret": "a", "version": "latest"},
                                   "PINNED": {"secret": "c", "version": 7}})
    warnings = _run.validate_service_params(p)
    assert len(warnings) == 2
    assert warnings[0].startswith("secret_env A_KEY uses version 'latest'")
    assert warnings[1].startswith("secret_env B_KEY uses version 'latest'")
    assert all("pin a version number" in w for w in warnings)


# ---------------------------------------------------------------- validate_traffic_entries

def entry(revision=None, latest=False, tag=None, percent=0):
    return dict(revision=revision, latest=latest, tag=tag, percent=percent)


@pytest.mark.parametrize("entries", [
    [entry(latest=True, percent=100)],
    [entry("svc-1", percent=90, tag="stable"), entry("svc-2", percent=10, tag="canary")],
    [entry("svc-1", percent=100), entry(tag="candidate")],
], ids=["latest", "split", "tag-reference"])
def test_valid_traffic(entries):
    assert _run.validate_traffic_entries("svc", entries) is None


@pytest.mark.parametrize("entries,expected", [
    ([entry("svc-1", percent=90)], "percentages sum to 90, want 100"),
    ([entry("svc-1", percent=60), entry("svc-2", percent=50)], "percentages sum to 110, want 100"),
    ([entry("svc-1", percent=100, tag="a"), entry("svc-2", tag="a")], "tag 'a' is given more than once"),
    ([entry("svc-1", percent=-5), entry("svc-2", percent=105)], "traffic[0] percent -5 must be between 0 and 100"),
    ([entry("svc-1", percent=101)], "traffic[0] percent 101 must be between 0 and 100"),
    ([entry("svc-1", latest=True, percent=100)], "traffic[0] names both a revision and latest"),
    ([entry("svc-1", percent=100), entry()], "traffic[1] needs a revision, latest: true, or the tag"),
    ([entry("svc-1", percent=100, tag="Bad_Tag")], "traffic[0] tag 'Bad_Tag' must be a lowercase DNS label"),
], ids=["sum-90", "sum-110", "dup-tag", "minus-5", "101", "revision-and-latest", "empty", "bad-tag"])
def test_invalid_traffic(entries, expected):
    with pytest.raises(GcpError) as err:
        _run.validate_traffic_entries("svc", entries)
    assert expected in err.value.msg
    assert err.value.msg.startswith("Invalid traffic for Cloud Run service svc: ")


# ---------------------------------------------------------------- names

@pytest.mark.parametrize("live,want,problem", [
    ({}, dict(memory="8Gi"), "memory 8Gi needs at least 2 CPU, not 1000m"),  # a new service gets Google's cpu
    ({}, dict(cpu="0.5"), "cpu 0.5 below 1 needs concurrency 1"),  # ... and its concurrency 80
    ({}, dict(min_instances=150), "min_instances 150 is greater than max_instances 100"),  # ... and its 100 instances
    (dict(cpu="2"), dict(memory="8Gi"), None),  # the live cpu counts, not the default
    (dict(concurrency=1), dict(cpu="0.5"), None),
    (dict(max_instances=200), dict(min_instances=150), None),
], ids=["memory-default-cpu", "cpu-default-concurrency", "min-default-max", "memory-live-cpu", "cpu-live-concurrency",
        "min-live-max"])
def test_resource_limits_apply_to_live_values_and_google_defaults(live, want, problem):
    """The limits that involve an option the user leaves out are checked against what the revision will have."""
    merged = dict(_run.GOOGLE_DEFAULTS, **dict(live, **want))
    assert _run._problems_in_resources(merged) == ([problem] if problem else [])
    assert _run._problems_in_resources(want) == []  # alone, the option breaks no rule: the live service decides


def test_new_revision_name_pattern():
    names = {_run.new_revision_name("svc", 7) for _unused in range(20)}
    assert all(re.match(r"^svc-00007-[a-z0-9]{3}$", n) for n in names)  # digits too, as Google's (`-6hx`)
    assert len(names) > 1  # random


def test_new_revision_name_with_suffix():
    assert _run.new_revision_name("svc", 7, "v2") == "svc-v2"


@pytest.mark.parametrize("name,short", [(rev_path("svc-1"), "svc-1"), ("svc-1", "svc-1"), ("", ""), (None, "")])
def test_short_name(name, short):
    assert _run.short_name(name) == short


# ---------------------------------------------------------------- spec <-> Service

def test_apply_then_spec_of_round_trip():
    p = service_params(**FULL)
    want = _run.desired_spec(p, {})
    svc = run_v2.Service(name=SVC)

    _run.apply_spec(svc, want, "svc-v1-2-3")
    have = _run.spec_of(svc)

    assert _run.changed_keys(want, have) == []
    assert have["image"] == FULL["image"]
    assert have["env"] == {"MODE": "prod", "WORKERS": "4"}
    assert have["secret_env"] == {"DB_PASSWORD": {"secret": "db-pass", "version": "3"}}
    assert have["revision"] == "svc-v1-2-3"
    assert svc.template.revision == "svc-v1-2-3"
    assert svc.template.containers[0].ports[0].container_port == 8080
    assert svc.ingress == run_v2.IngressTraffic.INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER
    assert svc.template.vpc_access.egress == run_v2.VpcAccess.VpcEgress.PRIVATE_RANGES_ONLY
    # and it survives the wire format
    again = run_v2.Service.deserialize(run_v2.Service.serialize(svc))
    assert _run.changed_keys(want, _run.spec_of(again)) == []


def test_desired_spec_only_manages_what_is_set():
    want = _run.desired_spec(service_params(memory="1Gi"), {})
    assert want == {"image": "us-docker.pkg.dev/proj/repo/app:1.2.3", "memory": "1Gi"}


def test_spec_of_empty_service():
    have = _run.spec_of(run_v2.Service(name=SVC))
    assert have["image"] is None and have["env"] == {} and have["labels"] == {}
    assert have["cpu"] is None and have["memory"] is None and have["revision"] is None


@pytest.mark.parametrize("key,live,wanted,changed", [
    ("memory", "1Gi", "1024Mi", False),
    ("memory", "1Gi", "2Gi", True),
    ("cpu", "1", "1000m", False),
    ("cpu", "1", "2", True),
])
def test_unit_equivalence_is_not_a_change(key, live, wanted, changed):
    svc = run_v2.Service(name=SVC)
    _run.apply_spec(svc, {"image": "nginx", key: live}, "svc-00001-abc")
    want = _run.desired_spec(service_params(image="nginx", **{key: wanted}), _run.spec_of(svc))
    assert _run.changed_keys(want, _run.spec_of(svc)) == ([key] if changed else [])


def test_defaults_compare_to_unset_limits():
    svc = run_v2.Service(name=SVC)
    _run.apply_spec(svc, {"image": "nginx"}, None)
    have = _run.spec_of(svc)
    assert _run.changed_keys({"cpu": "1", "memory": "512Mi"}, have) == []
    assert _run.changed_keys({"cpu": "2", "memory": "1Gi"}, have) == ["cpu", "memory"]


def test_image_change_is_a_change():
    svc = run_v2.Service(name=SVC)
    _run.apply_spec(svc, {"image": "nginx:1"}, None)
    assert _run.changed_keys({"image": "nginx:2"}, _run.spec_of(svc)) == ["image"]


def test_labels_merge_when_not_purging():
    svc = run_v2.Service(name=SVC, labels={"team": "a", "cost": "x"})
    have = _run.spec_of(svc)

    merged = _run.desired_spec(service_params(labels={"env": "prod"}, purge_labels=False), have)
    purged = _run.desired_spec(service_params(labels={"env": "prod"}), have)

    assert merged["labels"] == {"team": "a", "cost": "x", "env": "prod"}
    assert purged["labels"] == {"env": "prod"}
    assert _run.changed_keys(merged, have) == ["image", "labels"]
    assert _run.changed_keys(_run.desired_spec(service_params(labels={"team": "a"}, purge_labels=False), have),
                             have) == ["image"]
    _run.apply_spec(svc, merged, None)
    assert dict(svc.labels) == {"team": "a", "cost": "x", "env": "prod"}


def test_annotations_keep_stable_marker():
    svc = run_v2.Service(name=SVC, annotations={_run.STABLE_ANNOTATION: "svc-1", "example.com/a": "1"})
    have = _run.spec_of(svc)
    assert have["annotations"] == {"example.com/a": "1"}  # the marker is not a user option

    _run.apply_spec(svc, {"annotations": {"example.com/b": "2"}}, None)

    assert dict(svc.annotations) == {"example.com/b": "2", _run.STABLE_ANNOTATION: "svc-1"}


def test_apply_spec_env_only_keeps_secrets():
    svc = run_v2.Service(name=SVC)
    _run.apply_spec(svc, {"image": "nginx", "env": {"A": "1"}, "secret_env": {"S": {"secret": "s", "version": 2}}}, None)
    _run.apply_spec(svc, {"env": {"B": "2"}}, None)
    have = _run.spec_of(svc)
    assert have["env"] == {"B": "2"}
    assert have["secret_env"] == {"S": {"secret": "s", "version": "2"}}


def test_apply_spec_leaves_unmanaged_options_alone():
    svc = run_v2.Service(name=SVC)
    _run.apply_spec(svc, {"image": "nginx", "max_instances": 7, "timeout": 30}, None)
    _run.apply_spec(svc, {"image": "nginx:2"}, None)
    have = _run.spec_of(svc)
    assert (have["image"], have["max_instances"], have["timeout"]) == ("nginx:2", 7, 30)


def test_revision_suffix_round_trip_on_service_not_yet_created():
    # What deploy_service builds for a create (and shows as the check-mode diff): a Service without a name.
    p = service_params(image="nginx", revision_suffix="v1")
    want = _run.desired_spec(p, {})
    svc = run_v2.Service()

    _run.apply_spec(svc, want, _run.new_revision_name("svc", 1, "v1"))

    assert want["revision"] == "svc-v1"
    assert _run.spec_of(svc)["revision"] == "svc-v1"
    assert _run.changed_keys(want, _run.spec_of(svc)) == []


def test_revision_suffix_change_is_a_template_change():
    svc = run_v2.Service(name=SVC)
    _run.apply_spec(svc, {"image": "nginx"}, "svc-v1")
    want = _run.desired_spec(service_params(image="nginx", revision_suffix="v2"), _run.spec_of(svc))
    assert _run.changed_keys(want, _run.spec_of(svc)) == ["revision"]
    assert "revision" in _run.TEMPLATE_KEYS


def test_no_suffix_does_not_manage_revision_name():
    svc = run_v2.Service(name=SVC)
    _run.apply_spec(svc, {"image": "nginx"}, "svc-00003-abc")
    want = _run.desired_spec(service_params(image="nginx"), _run.spec_of(svc))
    assert "revision" not in want
    assert _run.changed_keys(want, _run.spec_of(svc)) == []


# ---------------------------------------------------------------- deploy_traffic

def test_deploy_latest_from_simple_service():
    current = service(traffic=[tgt(None, 100)], latest_ready="svc-1")
    assert view(_run.deploy_traffic(current, "svc-2", "latest", None)) == [row(None, 100)]


def test_deploy_latest_keeps_tag_only_targets_and_tags_new_revision():
    current = service(traffic=[tgt("svc-1", 90, "stable"), tgt("svc-2", 10), tgt("svc-0", 0, "old"),
                               tgt(None, 0, "head"), tgt("svc-2", 0, "candidate")], latest_ready="svc-2")

    result = _run.deploy_traffic(current, "svc-3", "latest", "candidate")

    assert view(result) == rows(row(None, 100), row("svc-1", 0, "stable"), row("svc-0", 0, "old"),
                                row(None, 0, "head"), row("svc-3", 0, "candidate"))
    assert sum(t.percent for t in result) == 100


def test_deploy_none_pins_latest_to_ready_revision():
    current = service(traffic=[tgt(None, 100), tgt("svc-0", 0, "old")], latest_ready="svc-2")

    result = _run.deploy_traffic(current, "svc-3", "none", None)

    assert view(result) == rows(row("svc-2", 100), row("svc-0", 0, "old"))


def test_deploy_none_moves_tag_to_new_revision():
    current = service(traffic=[tgt(None, 80), tgt("svc-1", 20), tgt("svc-1", 0, "candidate")], latest_ready="svc-2")

    result = _run.deploy_traffic(current, "svc-3", "none", "candidate")

    assert view(result) == rows(row("svc-2", 80), row("svc-1", 20), row("svc-3", 0, "candidate"))
    assert sum(t.percent for t in result) == 100


def test_deploy_none_keeps_tag_of_pinned_latest():
    current = service(traffic=[tgt(None, 100, "live")], latest_ready="svc-2")
    assert view(_run.deploy_traffic(current, "svc-3", "none", "candidate")) == rows(
        row("svc-2", 100, "live"), row("svc-3", 0, "candidate"))


def test_deploy_none_moving_tag_off_serving_revision_keeps_its_traffic():
    current = service(traffic=[tgt("svc-1", 100, "candidate")], latest_ready="svc-1")

    result = _run.deploy_traffic(current, "svc-2", "none", "candidate")

    assert sum(t.percent for t in result) == 100
    assert view(result) == rows(row("svc-1", 100), row("svc-2", 0, "candidate"))


def test_deploy_latest_keeps_tags_of_serving_targets():
    current = service(traffic=[tgt("svc-1", 90, "stable"), tgt("svc-2", 10, "canary")], latest_ready="svc-2")

    result = _run.deploy_traffic(current, "svc-3", "latest", None)

    assert {t.tag for t in result if t.tag} == {"stable", "canary"}
    assert sum(t.percent for t in result) == 100


def test_deploy_revision_of_a_new_service_is_one_target_by_name_with_the_tag():
    assert view(_run.deploy_traffic(run_v2.Service(), "svc-1", "revision", "stable")) == [row("svc-1", 100, "stable")]


def test_deploy_revision_moves_the_tag_and_keeps_other_tags_at_zero():
    current = service(traffic=[tgt("svc-1", 90, "stable"), tgt("svc-2", 10, "canary"), tgt(None, 0, "head")], latest_ready="svc-2")

    result = _run.deploy_traffic(current, "svc-3", "revision", "stable")

    assert view(result) == rows(row("svc-3", 100, "stable"), row("svc-2", 0, "canary"), row(None, 0, "head"))


# ---------------------------------------------------------------- remember_stable

def test_remember_stable_when_traffic_moves_away():
    current = service(statuses=[status("svc-1", 100, latest=True)], latest_ready="svc-1")
    new = copy.deepcopy(current)
    new.traffic = [tgt(None, 100)]

    _run.remember_stable(new, current, "svc-2")

    assert new.annotations[_run.STABLE_ANNOTATION] == "svc-1"


def test_remember_stable_when_splitting_to_canary():
    current = service(statuses=[status("svc-1", 100)], latest_ready="svc-2")
    new = copy.deepcopy(current)
    new.traffic = [tgt("svc-1", 90), tgt("svc-2", 10)]

    _run.remember_stable(new, current, "svc-2")

    assert new.annotations[_run.STABLE_ANNOTATION] == "svc-1"


@pytest.mark.parametrize("statuses,traffic,latest", [
    ([status("svc-1", 100)], [tgt("svc-1", 100), tgt("svc-2", 0, "candidate")], "svc-2"),  # --no-traffic deploy
    ([status("svc-1", 100, latest=True)], [tgt(None, 100)], "svc-1"),  # LATEST still resolves to svc-1
    ([status("svc-1", 50), status("svc-2", 50)], [tgt(None, 100)], "svc-3"),  # nothing served 100% before
], ids=["pinned", "same-latest", "was-split"])
def test_remember_stable_not_otherwise(statuses, traffic, latest):
    current = service(statuses=statuses, annotations={"example.com/a": "1"})
    new = copy.deepcopy(current)
    new.traffic = traffic

    _run.remember_stable(new, current, latest)

    assert _run.STABLE_ANNOTATION not in new.annotations
    assert dict(new.annotations) == {"example.com/a": "1"}


# ---------------------------------------------------------------- rollback_targets

def test_rollback_targets():
    current = service(traffic=[tgt("svc-2", 90, "canary"), tgt("svc-1", 10, "stable"), tgt("svc-0", 0, "old"),
                               tgt(None, 0, "head"), tgt("svc-3", 0)],
                      annotations={_run.STABLE_ANNOTATION: "svc-1"})

    result = _run.rollback_targets(current, "Cloud Run service svc in us-central1")

    assert view(result) == rows(row("svc-1", 100, "stable"), row("svc-2", 0, "canary"), row("svc-0", 0, "old"),
                                row(None, 0, "head"))


def test_rollback_untagged_stable():
    current = service(traffic=[tgt(None, 100)], annotations={_run.STABLE_ANNOTATION: "svc-1"})
    assert view(_run.rollback_targets(current, "r")) == [row("svc-1", 100)]


def test_rollback_without_annotation_names_service():
    current = service(traffic=[tgt(None, 100)], statuses=[status("svc-2", 100, latest=True)], latest_ready="svc-2")
    with pytest.raises(GcpError) as err:
        _run.rollback_targets(current, "Cloud Run service svc in us-central1")
    msg = err.value.msg
    assert msg.startswith("Cannot roll back Cloud Run service svc in us-central1")
    assert "svc-2 100%" in msg  # what it serves now
    assert "Hint:" in msg


def test_rollback_keeps_every_tag_of_stable_revision():
    current = service(traffic=[tgt("svc-2", 100), tgt("svc-1", 0, "stable"), tgt("svc-1", 0, "v1")],
                      annotations={_run.STABLE_ANNOTATION: "svc-1"})

    result = _run.rollback_targets(current, "r")

    assert {t.tag for t in result if t.tag} == {"stable", "v1"}
    assert sum(t.percent for t in result) == 100


# ---------------------------------------------------------------- views

def test_traffic_view_and_summary():
    svc = service(statuses=[status("svc-1", 90, "stable"), status("svc-2", 10), status("svc-0", 0, "old")])
    assert _run.summary(svc) == "svc-1 90% (tag stable), svc-2 10%"
    assert _run.summary(service()) == "nothing"
    assert view(svc.traffic_statuses)[0] == row("svc-1", 90, "stable")
