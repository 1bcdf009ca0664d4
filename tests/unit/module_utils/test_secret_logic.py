# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret Manager logic that needs no API: validation, the options table on Google's real secrets, durations,
the payload checksum and generated values."""

from __future__ import annotations

import datetime
import json
import pathlib

import pytest
from google.cloud import secretmanager_v1 as sm

from ansible_collections.orchestra.gcp.plugins.module_utils import _secrets
from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "google"
NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.timezone.utc)


def real_secret(fixture):
    return sm.Secret.from_json(json.dumps(json.loads((FIXTURES / fixture).read_text())["response"]), ignore_unknown_fields=True)


def secret_params(**overrides):
    p = {k: v.get("default") for k, v in _secrets.SECRET_SPEC["argument_spec"].items()}
    p.update(name="db-password")
    p.update(overrides)
    return p


def version_params(**overrides):
    p = {k: v.get("default") for k, v in _secrets.VERSION_SPEC["argument_spec"].items()}
    p.update(secret="db-password", aliases=[])
    p.update(overrides)
    return p


# ---------------------------------------------------------------- Google's real secrets through the options table

def test_a_real_user_managed_secret_reads_as_the_module_s_options():
    have = _secrets.read_options(_secrets.SECRET_OPTIONS, real_secret("secretmanager_secret_create_user_managed.json"))
    assert have["replica_locations"] == ["us-central1"] and have["kms_key_name"] is None
    assert have["rotation_period"] == 3600 and have["next_rotation_time"] == "2025-10-02T15:01:23Z"
    assert have["topics"] == ["projects/${projectId}/topics/topic-${uniqueId}"]
    assert have["ttl"] is None, "Google never returns ttl: it becomes expireTime"
    # What the module would send for the same options is no change.
    want = _secrets.desired_secret(secret_params(replica_locations=["us-central1"], rotation_period="1h",
                                                 next_rotation_time="2025-10-02T15:01:23+00:00", labels=have["labels"]), have)
    assert _secrets.changed_options(_secrets.SECRET_OPTIONS, want, have) == []


def test_real_aliases_are_strings_of_numbers_and_compare_as_numbers():
    secret = real_secret("secretmanager_secret_get_aliases_destroy_ttl.json")
    have = _secrets.read_options(_secrets.SECRET_OPTIONS, secret)
    assert have["version_aliases"] == {"current": 2}
    assert have["version_destroy_ttl"] == 86400
    want = dict(version_aliases={"current": "2"}, version_destroy_ttl="1d")
    assert _secrets.changed_options(_secrets.SECRET_OPTIONS, want, have) == []
    assert _secrets.changed_options(_secrets.SECRET_OPTIONS, dict(version_aliases={"current": 3}), have) == ["version_aliases"]


def test_an_automatic_secret_written_and_read_back():
    secret = sm.Secret(replication=sm.Replication(automatic=sm.Replication.Automatic()))
    want = dict(labels={"app": "orchestra"}, topics=["projects/p/topics/t"], rotation_period="30d",
                next_rotation_time="2026-12-15T03:00:00Z", kms_key_name="projects/p/locations/global/keyRings/r/cryptoKeys/k")
    _secrets.write_options(_secrets.SECRET_OPTIONS, secret, want)
    again = sm.Secret.deserialize(sm.Secret.serialize(secret))
    assert _secrets.changed_options(_secrets.SECRET_OPTIONS, want, _secrets.read_options(_secrets.SECRET_OPTIONS, again)) == []
    assert again.rotation.rotation_period == datetime.timedelta(days=30)


def test_labels_merge_unless_purged():
    have = {"labels": {"owner": "ops"}}
    assert _secrets.desired_secret(secret_params(labels={"app": "x"}), have)["labels"] == {"app": "x"}
    assert _secrets.desired_secret(secret_params(labels={"app": "x"}, purge_labels=False), have)["labels"] == {"app": "x", "owner": "ops"}


# ---------------------------------------------------------------- validation

BAD_SECRETS = [
    (dict(name="db password"), "name 'db password'"),
    (dict(labels={"App": "x"}), "label key 'App'"),
    (dict(rotation_period="30m", topics=["projects/p/topics/t"], next_rotation_time="2027-01-01T00:00:00Z"), "of at least 3600s"),
    (dict(rotation_period="monthly", topics=["projects/p/topics/t"], next_rotation_time="2027-01-01T00:00:00Z"), "'monthly' must be"),
    (dict(topics=["rotation"]), "topic 'rotation' must be a Pub/Sub topic"),
    (dict(next_rotation_time="2020-01-01T00:00:00Z", topics=["projects/p/topics/t"]), "is not in the future"),
    (dict(next_rotation_time="2026-11-30T12:04:00Z", topics=["projects/p/topics/t"]), "less than 5 minutes ahead"),
    (dict(expire_time="tomorrow"), "expire_time 'tomorrow' must be an RFC 3339 time"),
    (dict(version_aliases={"latest": 1}), "alias 'latest' is reserved"),
    (dict(version_aliases={"current": "two"}), "must name a version number"),
    (dict(replica_locations=["US Central"]), "replica location 'US Central'"),
    (dict(replica_locations=[]), "at least one region"),
    (dict(version_destroy_ttl="1h"), "version_destroy_ttl '1h'"),
    (dict(annotations={"-bad": "x"}), "annotation key '-bad'"),
]


@pytest.mark.parametrize("overrides, problem", BAD_SECRETS, ids=[b[1] for b in BAD_SECRETS])
def test_bad_secret_options_are_refused(overrides, problem):
    with pytest.raises(GcpError) as err:
        _secrets.validate_secret_params(secret_params(**overrides), NOW)
    assert problem in err.value.msg and err.value.msg.endswith("Nothing was changed.")


@pytest.mark.parametrize("spec, problem", [
    (dict(rotation_period="30d", next_rotation_time="2027-01-01T00:00:00Z"), "a rotation needs topics"),
    (dict(rotation_period="30d", topics=["projects/p/topics/t"]), "needs next_rotation_time"),
    # the live secret holds what the task leaves out
    (dict(rotation_period="7d", topics=["projects/p/topics/t"], next_rotation_time="2027-01-01T00:00:00Z"), None),
])
def test_rotation_rules_apply_to_what_the_secret_will_hold(spec, problem):
    problems = _secrets.rotation_problems(spec)
    assert [p for p in problems if problem and problem in p] == problems and bool(problems) is (problem is not None)


def test_good_secret_options_pass():
    _secrets.validate_secret_params(secret_params(
        labels={"app": "orchestra"}, topics=["projects/p/topics/t"], rotation_period="30d", next_rotation_time="2026-12-15T03:00:00Z",
        version_aliases={"current": 3}, version_destroy_ttl="7d", replica_locations=["us-central1"]), NOW)


BAD_VERSIONS = [
    (dict(value="x" * (64 * 1024 + 1)), "value must hold 1 to 65536 bytes, not 65537"),
    (dict(value=""), "value must hold 1 to 65536 bytes, not 0"),
    (dict(generate=dict(length=4, charset="hex")), "generate length 4"),
    (dict(generate=dict(length=10 ** 6, charset="hex")), "generate length 1000000"),
    (dict(value="v", aliases=["latest"]), "alias 'latest' is reserved"),
    (dict(value="v", aliases=["9lives"]), "alias '9lives' must start with a letter"),
    (dict(value="v", state="disabled"), "leave state at present"),
    (dict(version="3"), "state must say what to make of it"),
    (dict(version="3", state="destroyed", aliases=["current"]), "aliases cannot point at a destroyed version"),
    (dict(secret="a/b", value="v"), "secret 'a/b'"),
]


@pytest.mark.parametrize("overrides, problem", BAD_VERSIONS, ids=[b[1] for b in BAD_VERSIONS])
def test_bad_version_options_are_refused_without_the_value(overrides, problem):
    with pytest.raises(GcpError) as err:
        _secrets.validate_version_params(version_params(**overrides))
    assert problem in err.value.msg
    assert "xxxxxxxx" not in err.value.msg


# ---------------------------------------------------------------- durations, checksums, generated values

@pytest.mark.parametrize("text, expected", [("90s", 90), ("30m", 1800), ("12h", 43200), ("30d", 2592000), ("1.5h", None), ("", None)])
def test_durations(text, expected):
    assert _secrets.seconds(text) == expected


def test_the_checksum_is_google_s():
    # The access response Google returned: the payload and the dataCrc32c it computed (a string).
    answer = json.loads((FIXTURES / "secretmanager_access_version.json").read_text())["response"]["payload"]
    import base64
    assert _secrets.crc32c(base64.b64decode(answer["data"])) == int(answer["dataCrc32c"])
    assert _secrets.crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value


@pytest.mark.parametrize("charset", sorted(_secrets.CHARSETS))
def test_generated_values(charset):
    values = {_secrets._generated(dict(length=24, charset=charset)) for _unused in range(20)}
    assert len(values) == 20
    assert all(len(v) == 24 and set(v) <= set(_secrets.CHARSETS[charset]) for v in values)


# ---------------------------------------------------------------- a failed addVersion

def test_an_add_that_may_have_been_applied_says_how_to_find_it_before_a_re_run():
    failed = GcpError("Failed to add a version to secret db-password: UNAVAILABLE (503): The service is unavailable. "
                      "Hint: the service stayed unavailable after retries: try again later.", status="UNAVAILABLE")
    error = _secrets.add_failure(failed, ["pending"])
    assert error.status == "UNAVAILABLE"
    assert error.msg.startswith("Failed to add a version to secret db-password: UNAVAILABLE (503): The service is unavailable. Not retried:")
    assert "after retries" not in error.msg  # it was sent once
    assert "no alias was moved (pending)" in error.msg and "disable it, then re-run" in error.msg


def test_an_add_refused_for_a_known_reason_keeps_its_error():
    refused = GcpError("Failed to add a version to secret db-password: PERMISSION_DENIED (403): denied. Hint: grant the caller "
                       "the role this action needs on the project, or check that the API is enabled.", status="PERMISSION_DENIED")
    assert _secrets.add_failure(refused, ["pending"]) is refused
