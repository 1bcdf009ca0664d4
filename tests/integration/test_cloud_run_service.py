"""cloud_run_service and cloud_run_service_info, driven through ansible-runner."""

import os

import requests
from conftest import routed

# On a real project, ORCHESTRA_LIVE_IMAGE names a repository holding tags 1.0.0, 1.1.0 and 2.0.0,
# e.g. "us-docker.pkg.dev/my-project/test/hello:%s".
IMAGE = os.environ.get("ORCHESTRA_LIVE_IMAGE", "us-docker.pkg.dev/orchestra-test/app/ai-orchestra:%s")


def four_times(task):
    """check, apply, check, apply — the pattern every change is tested with."""
    return [dict(task, name="check 1", check_mode=True), dict(task, name="apply 1"),
            dict(task, name="check 2", check_mode=True), dict(task, name="apply 2")]


def assert_changed_changed_unchanged_unchanged(play):
    assert play.rc == 0, play.stdout
    assert [play.task(n).get("changed") for n in ("check 1", "apply 1", "check 2", "apply 2")] == [True, True, False, False]


def deploy(name, version, **options):
    return {"orchestra.gcp.cloud_run_service": dict(name=name, region="{{ region }}", image=IMAGE % version, **options)}


def serving(backend, name):
    return {(revision, percent, tag) for _type, revision, percent, tag in routed(backend.service(name))}


def test_create_update_and_delete(backend):
    name = backend.name()
    play = backend.run(four_times(deploy(name, "1.0.0", cpu="1", memory="512Mi", max_instances=3,
                                         env={"LOG_LEVEL": "debug"}, labels={"app": "orchestra"})))
    assert_changed_changed_unchanged_unchanged(play)
    assert play.task("check 1")["diff"]["before"] == {}
    service = backend.service(name)
    assert service.template.containers[0].image == IMAGE % "1.0.0"
    assert service.template.scaling.max_instance_count == 3
    assert dict(service.labels) == {"app": "orchestra"}
    first = backend.revision_names(name)
    assert len(first) == 1 and first[0].startswith(name + "-00001-")
    assert play.task("apply 1")["revision"] == first[0]

    # The service really serves its revision over HTTP.
    if backend.emulator:
        answer = requests.get(service.uri, timeout=5).json()
        assert answer["revision"] == first[0] and answer["env"] == ["LOG_LEVEL"]

    play = backend.run(four_times(deploy(name, "1.1.0", memory="1Gi")))
    assert_changed_changed_unchanged_unchanged(play)
    assert play.task("apply 1")["changed_options"] == ["image", "memory"]
    revisions = backend.revision_names(name)
    assert len(revisions) == 2
    service = backend.service(name)
    assert service.template.containers[0].resources.limits["memory"] == "1Gi"
    assert service.template.containers[0].resources.limits["cpu"] == "1"  # untouched option kept
    assert serving(backend, name) == {(play.task("apply 1")["revision"], 100, "")}

    # A service-level change (labels) is not a new revision.
    play = backend.run(four_times(deploy(name, "1.1.0", labels={"app": "orchestra", "tier": "web"})))
    assert_changed_changed_unchanged_unchanged(play)
    assert len(backend.revision_names(name)) == 2
    assert dict(backend.service(name).labels) == {"app": "orchestra", "tier": "web"}

    play = backend.run(four_times({"orchestra.gcp.cloud_run_service": dict(name=name, region="{{ region }}", state="absent")}))
    assert_changed_changed_unchanged_unchanged(play)
    assert backend.service(name) is None


def test_traffic_revision_gives_the_new_revision_all_the_traffic_by_name_under_the_tag(backend):
    name = backend.name()
    play = backend.run(four_times(deploy(name, "1.0.0", traffic="revision", tag="stable")))
    assert_changed_changed_unchanged_unchanged(play)
    first = play.task("apply 1")["revision"]
    assert routed(backend.service(name)) == [("REVISION", first, 100, "stable")]
    assert play.task("apply 1")["tag_url"] == backend.service(name).traffic_statuses[0].uri

    play = backend.run([dict(name="v2", **deploy(name, "2.0.0", traffic="revision", tag="stable"))])
    assert play.rc == 0, play.stdout
    second = play.task("v2")["revision"]
    service = backend.service(name)
    assert second != first and routed(service) == [("REVISION", second, 100, "stable")]
    assert service.annotations["orchestra.gcp/stable-revision"] == first


def test_canary_without_traffic_and_info(backend):
    name = backend.name()
    assert backend.run([dict(name="v1", **deploy(name, "1.0.0"))]).rc == 0
    stable = backend.revision_names(name)[0]
    play = backend.run(four_times(deploy(name, "2.0.0", traffic="none", tag="canary")))
    assert_changed_changed_unchanged_unchanged(play)
    canary = play.task("apply 1")["revision"]
    assert canary != stable
    assert serving(backend, name) == {(canary, 0, "canary"), (stable, 100, "")}
    service = backend.service(name)
    tag_url = play.task("apply 1")["tag_url"]
    assert tag_url == next(s.uri for s in service.traffic_statuses if s.tag == "canary")
    if backend.emulator:
        assert requests.get(tag_url, timeout=5).json()["revision"] == canary
        assert {requests.get(service.uri, timeout=5).json()["revision"] for _unused in range(20)} == {stable}

    info = backend.run([{"name": "info", "orchestra.gcp.cloud_run_service_info": {"name": name, "region": "{{ region }}"}}])
    result = info.task("info")
    assert result["exists"] is True and result["changed"] is False
    assert [r["name"] for r in result["revisions"]] == [canary, stable]
    assert all(r["ready"] and r["create_time"] for r in result["revisions"])
    assert {(t["revision"], t["percent"], t["tag"]) for t in result["traffic"]} == {(stable, 100, None), (canary, 0, "canary")}
    assert result["stable_revision"] is None  # no split yet: nothing to roll back to

    missing = backend.run([{"name": "info", "orchestra.gcp.cloud_run_service_info": {"name": backend.name("none"), "region": "{{ region }}"}}])
    assert missing.task("info")["exists"] is False
