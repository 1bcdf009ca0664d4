"""The emulator's clock (POST /_emulator/clock) and what Secret Manager does as it moves: createTime and the other
stamps follow it, expiry and scheduled destruction come due, and a rotation schedule publishes SECRET_ROTATE and
advances nextRotationTime by the period, as Google documents (Rotation in the secretmanager.v1 discovery document;
https://cloud.google.com/secret-manager/docs/secret-rotation)."""

import base64
import datetime
import json
import time
import urllib.error

import pytest

from test_secretmanager import AUTOMATIC, PARENT, TOPICS, add, client, create, error, named, raw, seconds  # noqa: F401  pylint: disable=unused-import

DAY = 86400
TWO_TOPICS = TOPICS + [{"name": "projects/other/topics/audit"}]


def stamp(moment):
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def move(emulator, offset):
    return emulator.admin("clock", {"offset_seconds": offset})


def notifications(emulator):
    return emulator.admin("secretmanager/notifications", method="GET")["notifications"]


def test_the_clock_moves_what_secret_manager_stamps_and_a_reset_puts_it_back(emulator, client, raw):
    assert emulator.admin("clock", method="GET")["offset_seconds"] == 0
    answer = move(emulator, -40 * DAY)
    assert answer["offset_seconds"] == -40 * DAY and abs(seconds(answer["now"]) - (time.time() - 40 * DAY)) < 5

    create(client, version_destroy_ttl=datetime.timedelta(days=1))
    add(client)
    _status, secret = raw("GET", f"{PARENT}/secrets/app")
    _status, version = raw("GET", f"{PARENT}/secrets/app/versions/1")
    for created in (secret["createTime"], version["createTime"]):
        assert abs(seconds(created) - (time.time() - 40 * DAY)) < 5
    _status, destroyed = raw("POST", f"{PARENT}/secrets/app/versions/1:destroy", {})
    assert abs(seconds(destroyed["scheduledDestroyTime"]) - (time.time() - 39 * DAY)) < 5

    move(emulator, 0)  # the scheduled destruction has passed for the emulator's now
    _status, version = raw("GET", f"{PARENT}/secrets/app/versions/1")
    assert version["state"] == "DESTROYED" and version["destroyTime"] == destroyed["scheduledDestroyTime"]

    move(emulator, -DAY)
    emulator.reset()
    assert emulator.admin("clock", method="GET")["offset_seconds"] == 0


@pytest.mark.parametrize("body", [{}, {"offset_seconds": "1d"}, {"offset_seconds": True}, {"offset_seconds": 1, "extra": 2}])
def test_the_clock_takes_a_number_of_seconds(emulator, body):
    with pytest.raises(urllib.error.HTTPError) as refused:
        emulator.admin("clock", body)
    assert refused.value.code == 400


def test_a_secret_expires_when_the_clock_passes_its_expire_time(emulator, client, raw):
    create(client, ttl="3600s")
    move(emulator, 3601)
    error(raw("GET", f"{PARENT}/secrets/app"), 404, "NOT_FOUND")


def test_a_rotation_due_is_published_to_each_topic_and_the_next_time_advances_by_the_period(emulator, client, raw):
    first = int(time.time()) + 600
    rotation = {"nextRotationTime": stamp(first), "rotationPeriod": "3600s"}
    _status, created = raw("POST", f"{PARENT}/secrets", {"replication": AUTOMATIC, "topics": TWO_TOPICS, "rotation": rotation},
                           secretId="app")
    assert notifications(emulator) == []

    move(emulator, 599)  # not yet
    assert raw("GET", f"{PARENT}/secrets/app")[1]["rotation"] == rotation and notifications(emulator) == []

    move(emulator, 601 + 2 * 3600)  # three rotation times have passed: first, first + 1 h, first + 2 h
    _status, secret = raw("GET", f"{PARENT}/secrets/app")
    assert secret["rotation"] == {"nextRotationTime": stamp(first + 3 * 3600), "rotationPeriod": "3600s"}
    assert secret["etag"] != created["etag"]
    published = notifications(emulator)
    assert [(n["topic"], n["message"]["publishTime"]) for n in published] == [
        (topic["name"], stamp(first + hours * 3600)) for hours in range(3) for topic in TWO_TOPICS]
    for notification in published:
        assert notification["message"]["attributes"] == {"eventType": "SECRET_ROTATE", "secretId": named("app"),
                                                         "dataFormat": "JSON_API_V1"}
    data = json.loads(base64.b64decode(published[0]["message"]["data"]))
    assert data["name"] == named("app") and data["rotation"]["nextRotationTime"] == stamp(first)  # the Secret when it was due
    assert len(notifications(emulator)) == 6  # published once


def test_listing_secrets_settles_their_rotations_too(emulator, client):
    create(client, topics=TOPICS, rotation={"next_rotation_time": datetime.datetime.fromtimestamp(time.time() + 600, datetime.timezone.utc),
                                            "rotation_period": datetime.timedelta(hours=1)})
    move(emulator, 700)
    listed, = client.list_secrets(parent=PARENT)
    assert listed.rotation.next_rotation_time.timestamp() > time.time() + 700
    assert [n["message"]["attributes"]["secretId"] for n in notifications(emulator)] == [named("app")]


def test_a_rotation_time_without_a_period_is_published_once_and_kept(emulator, client, raw):
    due = stamp(int(time.time()) + 600)
    raw("POST", f"{PARENT}/secrets", {"replication": AUTOMATIC, "topics": TOPICS, "rotation": {"nextRotationTime": due}}, secretId="app")
    move(emulator, 601)
    assert raw("GET", f"{PARENT}/secrets/app")[1]["rotation"] == {"nextRotationTime": due}
    assert raw("GET", f"{PARENT}/secrets/app")[1]["rotation"] == {"nextRotationTime": due}
    assert [n["message"]["publishTime"] for n in notifications(emulator)] == [due]

    # A new time is published in its turn.
    later = stamp(int(time.time()) + 601 + 900)
    status, _secret = raw("PATCH", f"{PARENT}/secrets/app", {"rotation": {"nextRotationTime": later}}, updateMask="rotation")
    assert status == 200
    move(emulator, 601 + 901)
    raw("GET", f"{PARENT}/secrets/app")
    assert [n["message"]["publishTime"] for n in notifications(emulator)] == [due, later]


def test_the_next_rotation_time_is_checked_against_the_emulator_s_now(emulator, raw):
    move(emulator, -DAY)
    body = {"replication": AUTOMATIC, "topics": TOPICS}
    # In the real past but a day ahead of the emulator's now: accepted.
    body["rotation"] = {"nextRotationTime": stamp(time.time() - 3600), "rotationPeriod": "3600s"}
    assert raw("POST", f"{PARENT}/secrets", body, secretId="ahead")[0] == 200
    # Less than 300 s ahead of the emulator's now, or behind it: refused, as Google documents.
    for lead in (120, -60):
        body["rotation"] = {"nextRotationTime": stamp(time.time() - DAY + lead), "rotationPeriod": "3600s"}
        error(raw("POST", f"{PARENT}/secrets", body, secretId="near"), 400, "INVALID_ARGUMENT")
