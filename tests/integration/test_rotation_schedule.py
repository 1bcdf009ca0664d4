"""playbooks/rotate_secrets.yml against time moving in the emulator (its clock, POST /_emulator/clock): what is due
by the age of its current version is rotated by a plain run, what is fresh is left alone, and Secret Manager's own
schedule publishes SECRET_ROTATE and advances next_rotation_time by the period, as Google documents."""

import base64
import datetime
import json
import time

import pytest
import yaml
from google.protobuf import field_mask_pb2

from conftest import REPO
from test_rotation import aliases, client, states

DAY = 86400
PERIOD = 30 * DAY
TOPIC = "projects/orchestra-test/topics/rotation"


def declare(emulated, secret):
    """A secret as deploy.yml leaves it, made with the official client at the emulator's now: a rotation schedule
    one period ahead, and a first version under the alias current."""
    sm = client(emulated)
    now = datetime.datetime.fromisoformat(emulated.emulator.admin("clock", method="GET")["now"].replace("Z", "+00:00"))
    made = sm.create_secret(parent="projects/%s" % emulated.project, secret_id=secret, secret={
        "replication": {"automatic": {}}, "topics": [{"name": TOPIC}],
        "rotation": {"next_rotation_time": now + datetime.timedelta(seconds=PERIOD), "rotation_period": datetime.timedelta(seconds=PERIOD)}})
    sm.add_secret_version(parent=made.name, payload={"data": b"first-value"})
    sm.update_secret(secret={"name": made.name, "version_aliases": {"current": 1}},
                     update_mask=field_mask_pb2.FieldMask(paths=["version_aliases"]))
    return made.name


def next_rotation(emulated, secret):
    return client(emulated).get_secret(name="projects/%s/secrets/%s" % (emulated.project, secret)).rotation.next_rotation_time.timestamp()


def rotations(emulated):
    """The SECRET_ROTATE messages published so far: [(topic, secret name, publish time in seconds)]."""
    found = emulated.emulator.admin("secretmanager/notifications", method="GET")["notifications"]
    for notification in found:
        assert notification["message"]["attributes"]["eventType"] == "SECRET_ROTATE"
        assert json.loads(base64.b64decode(notification["message"]["data"]))["name"] == notification["message"]["attributes"]["secretId"]
    return [(n["topic"], n["message"]["attributes"]["secretId"],
             datetime.datetime.fromisoformat(n["message"]["publishTime"].replace("Z", "+00:00")).timestamp()) for n in found]


@pytest.mark.one_core
def test_a_plain_run_rotates_what_is_old_and_google_advances_its_own_schedule(emulated):
    old, fresh = emulated.name("old"), emulated.name("fresh")
    emulated.emulator.admin("clock", {"offset_seconds": -(PERIOD + DAY)})
    old_name = declare(emulated, old)  # made 31 days ago: first due a day ago
    emulated.emulator.admin("clock", {"offset_seconds": 0})
    fresh_name = declare(emulated, fresh)

    # Google published SECRET_ROTATE a day ago and moved the next rotation one period on: by the time alone, the
    # old secret is not due any more; the age of its current version is what says it is.
    assert [(t, s) for t, s, _at in rotations(emulated)] == [(TOPIC, old_name)]
    assert abs(rotations(emulated)[0][2] - (time.time() - DAY)) < 60
    assert abs(next_rotation(emulated, old) - (time.time() + PERIOD - DAY)) < 60

    inventory = yaml.safe_dump({"gcp": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}", "region": emulated.region,
        "gcp_project": emulated.project, "gcp_api_endpoint": emulated.endpoint,
        "orchestra_secrets": [dict(name=old, rotation_period="30d", retention=1), dict(name=fresh, rotation_period="30d")]}}}})
    before = len(emulated.emulator.log())
    play = emulated.run_playbook((REPO / "playbooks" / "rotate_secrets.yml").read_text(), inventory=inventory)
    assert play.rc == 0, play.stdout
    assert aliases(emulated, old) == {"current": 2, "previous": 1} and states(emulated, old) == {1: "DISABLED", 2: "ENABLED"}
    assert abs(next_rotation(emulated, old) - (time.time() + PERIOD)) < 120  # one period from the rotation
    assert aliases(emulated, fresh) == {"current": 1} and states(emulated, fresh) == {1: "ENABLED"}
    written = [c["path"] for c in emulated.emulator.log()[before:]]
    assert written and not [path for path in written if "/secrets/%s" % fresh in path]  # the fresh secret: read, never written

    # A month and an hour later, for Secret Manager: both schedules came due, each was published once to its topic, and
    # each next rotation moved one period on.
    fresh_next, old_next = next_rotation(emulated, fresh), next_rotation(emulated, old)
    emulated.emulator.admin("clock", {"offset_seconds": PERIOD + 3600})
    assert next_rotation(emulated, fresh) == pytest.approx(fresh_next + PERIOD, abs=1e-3)
    assert next_rotation(emulated, old) == pytest.approx(old_next + PERIOD, abs=1e-3)
    later = rotations(emulated)[1:]
    assert [topic for topic, _secret, _at in later] == [TOPIC, TOPIC]
    assert {secret: at for _topic, secret, at in later} == {fresh_name: pytest.approx(fresh_next, abs=1e-3),
                                                            old_name: pytest.approx(old_next, abs=1e-3)}
