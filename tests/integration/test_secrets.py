"""secret, secret_version and secret_info, driven through ansible-runner against the emulator's Secret Manager."""

import json

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager_v1 as sm
from test_cloud_run_service import assert_changed_changed_unchanged_unchanged, four_times

VALUE = "s3cr3t-Value-that-must-never-show"
VALUE_VARIABLE = "{{ secret_value }}"  # as a value reaches a task: from a variable (a vault), never written in the play
SECRET_VARS = {"secret_value": VALUE}
TOPIC = "projects/orchestra-test/topics/rotation"


def client(backend):
    return sm.SecretManagerServiceClient(transport="rest", credentials=AnonymousCredentials(),
                                         client_options=ClientOptions(api_endpoint=backend.endpoint))


def secret(name, **options):
    return {"orchestra.gcp.secret": dict(name=name, **options)}


def version(name, **options):
    return {"orchestra.gcp.secret_version": dict(secret=name, **options)}


def test_a_secret_is_created_updated_and_deleted(emulated):
    name = emulated.name("sec")
    play = emulated.run(four_times(secret(name, labels={"app": "orchestra"}, topics=[TOPIC], rotation_period="30d",
                                          next_rotation_time="2030-01-01T00:00:00Z", version_destroy_ttl="1d")))
    assert_changed_changed_unchanged_unchanged(play)
    live = client(emulated).get_secret(name="projects/orchestra-test/secrets/" + name)
    assert dict(live.labels) == {"app": "orchestra"} and live.rotation.rotation_period.total_seconds() == 30 * 86400

    # An update changes what it names and leaves the rest; a label added elsewhere stays with purge_labels off.
    before = len(emulated.emulator.log())
    play = emulated.run(four_times(secret(name, labels={"team": "web"}, purge_labels=False, rotation_period="7d")))
    assert_changed_changed_unchanged_unchanged(play)
    assert sorted(play.task("apply 1")["changed_options"]) == ["labels", "rotation_period"]
    assert play.task("check 1")["diff"]["after"]["rotation_period"] == 7 * 86400
    assert [c["method"] for c in emulated.emulator.log()[before:]] == ["PATCH"], "one update, check runs write nothing"
    live = client(emulated).get_secret(name="projects/orchestra-test/secrets/" + name)
    assert dict(live.labels) == {"app": "orchestra", "team": "web"} and live.topics[0].name == TOPIC

    # Replication cannot change in place: refused with the way forward, then done with recreate.
    play = emulated.run([dict(name="move", ignore_errors=True, **secret(name, replica_locations=["europe-west1"]))])
    assert "Cannot change replica_locations" in play.task("move")["msg"] and "recreate=true" in play.task("move")["msg"]
    play = emulated.run([dict(name="move", **secret(name, replica_locations=["europe-west1"], recreate=True))])
    assert play.task("move")["recreated"]

    play = emulated.run([dict(name="gone", **secret(name, state="absent")), dict(name="again", **secret(name, state="absent"))])
    assert [play.task(n)["changed"] for n in ("gone", "again")] == [True, False]


def test_versions_values_and_aliases(emulated):
    name = emulated.name("sec")
    assert emulated.run([secret(name)]).rc == 0
    play = emulated.run(four_times(version(name, value=VALUE_VARIABLE, aliases=["current"])), extravars=SECRET_VARS)
    assert_changed_changed_unchanged_unchanged(play)
    assert play.task("apply 1")["version"]["version"] == 1 and play.task("apply 1")["version"]["aliases"] == ["current"]

    # A generated value is made once under its alias: a re-run finds it and adds nothing.
    play = emulated.run([dict(name="gen 1", **version(name, generate={"length": 40, "charset": "urlsafe"}, aliases=["pending"])),
                         dict(name="gen 2", **version(name, generate={"length": 40, "charset": "urlsafe"}, aliases=["pending"]))])
    assert [play.task(n)["changed"] for n in ("gen 1", "gen 2")] == [True, False]
    assert play.task("gen 2")["version"]["version"] == 2
    generated = client(emulated).access_secret_version(name="projects/orchestra-test/secrets/%s/versions/pending" % name)
    assert len(generated.payload.data) == 40

    # A version an alias names is not disabled: its consumers would break. Once the alias moves, it is.
    play = emulated.run([dict(name="disable", ignore_errors=True, **version(name, version="current", state="disabled"))])
    assert "aliases current point at it" in play.task("disable")["msg"]
    play = emulated.run([
        dict(name="move", **version(name, version="2", state="enabled", aliases=["current"])),
        dict(name="disable", **version(name, version="1", state="disabled")),
        dict(name="again", **version(name, version="1", state="disabled")),
        dict(name="destroy", **version(name, version="1", state="destroyed")),
        {"name": "info", "orchestra.gcp.secret_info": {"name": name}}])
    assert play.rc == 0, play.stdout
    assert [play.task(n)["changed"] for n in ("move", "disable", "again", "destroy")] == [True, True, False, True]
    info = play.task("info")["secrets"][0]
    versions = [(v["version"], v["state"], v["aliases"]) for v in info["versions"]]
    assert versions == [(2, "ENABLED", ["current", "pending"]), (1, "DESTROYED", [])]
    assert VALUE not in json.dumps(play.results)

    # Enabled already, with its alias: the secret (its aliases) and the version read once each, nothing written.
    before = len(emulated.emulator.calls())
    play = emulated.run([dict(name="same", **version(name, version="2", state="enabled", aliases=["current"]))])
    assert play.rc == 0 and not play.task("same")["changed"], play.stdout
    assert [(c["method"], c["path"].split("/secrets/")[1]) for c in emulated.emulator.calls()[before:]] == [
        ("GET", name), ("GET", name + "/versions/2")]


def test_bad_input_is_refused_before_any_change(emulated):
    name = emulated.name("sec")
    assert emulated.run([secret(name), version(name, value=VALUE_VARIABLE, aliases=["current"])], extravars=SECRET_VARS).rc == 0
    cases = [
        ("payload over 64 KiB", version(name, value="{{ 'x' * 65537 }}"), "value must hold 1 to 65536 bytes"),
        ("alias latest", version(name, value=VALUE_VARIABLE, aliases=["latest"]), "alias 'latest' is reserved"),
        ("rotation under an hour", secret(name, rotation_period="10m", topics=[TOPIC], next_rotation_time="2030-01-01T00:00:00Z"),
         "rotation_period '10m'"),
        ("rotation without topics", secret(name, rotation_period="30d", next_rotation_time="2030-01-01T00:00:00Z"), "a rotation needs topics"),
        ("replication change", secret(name, replica_locations=["us-east1"]), "Cannot change replica_locations"),
        ("impossible generator", version(name, generate={"length": 3}), "generate length 3"),
        ("unknown charset", version(name, generate={"charset": "emoji"}), "charset"),
        ("alias to a missing version", secret(name, version_aliases={"current": 9}), "alias 'current' names version 9, which does not exist"),
        ("missing secret", version(name + "-nope", value=VALUE_VARIABLE), "the secret does not exist"),
        ("missing version", version(name, version="7", state="disabled"), "Cannot make version 7"),
        ("bad secret name", secret("has space"), "name 'has space'"),
    ]
    before = len(emulated.emulator.log())
    play = emulated.run([dict(name=label, ignore_errors=True, **task) for label, task, _unused in cases], extravars=SECRET_VARS)
    for label, _unused, message in cases:
        result = play.task(label)
        assert result["_failed"], label
        assert message in result["msg"], (label, result["msg"])
    assert emulated.emulator.log()[before:] == []
    assert VALUE not in play.stdout and VALUE not in json.dumps(play.results)
