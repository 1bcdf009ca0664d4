# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloud Storage bucket logic that needs no API: validation, Google's real buckets read as the module's options, what
counts as a change, the refusals of what Google cannot do, and the PATCH built."""

from __future__ import annotations

import json
import pathlib

import pytest
from google.api_core import exceptions as gexc

from ansible_collections.orchestra.gcp.plugins.module_utils import _storage
from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError, api_error

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "google"
NONCURRENT = {"action": {"type": "Delete", "storage_class": None}, "condition": dict(dict.fromkeys(_storage.CONDITIONS), is_live=False,
                                                                                     days_since_noncurrent_time=30)}


def fixture(name):
    return json.loads((FIXTURES / name).read_text())["response"]


def params(**overrides):
    """The parameters as Ansible hands them over: every option, defaults filled in."""
    p = {k: v.get("default") for k, v in _storage.BUCKET_SPEC["argument_spec"].items()}
    p.update(name="orchestra-dev-redis-backups", location="europe-west1")
    p.update(overrides)
    return p


def problems(**overrides):
    with pytest.raises(GcpError) as raised:
        _storage.validate_bucket_params(params(**overrides))
    assert raised.value.msg.startswith("Invalid parameters for bucket ") and raised.value.msg.endswith("Nothing was changed.")
    return raised.value.msg


@pytest.mark.parametrize("text, expected", [("604800", 604800), ("7d", 604800), ("12h", 43200), ("30m", 1800), ("90s", 90), ("0", 0),
                                            (86400, 86400), ("7w", None), ("-1", None), ("1.5d", None), ("", None)])
def test_durations_are_seconds_or_a_number_with_a_unit(text, expected):
    assert _storage.seconds(text) == expected


@pytest.mark.parametrize("name", ["abc", "a" * 63, "orchestra_prod-redis.backups", ".".join(["a" * 63] * 3) + ".ab"])
def test_names_google_takes(name):
    assert _storage.name_problems(name) == []


@pytest.mark.parametrize("name, words", [("ab", "3 to 63"), ("a" * 64, "3 to 63"), ("Upper", "lowercase"), ("-start", "start and end"),
                                         ("end.", "start and end"), ("a..b", "3 to 63"), ("192.168.5.4", "IP address"),
                                         ("a" * 64 + ".b", "63 between them"), ("googbackups", "'goog'"), ("my-google-backups", "'google'")])
def test_names_google_refuses(name, words):
    (problem,) = _storage.name_problems(name)
    assert words in problem


@pytest.mark.parametrize("location, kind", [("US", "multi-region"), ("EU", "multi-region"), ("NAM4", "dual-region"), ("EUROPE-WEST1", "region")])
def test_a_location_implies_its_type(location, kind):
    assert _storage.location_type(location) == kind


def test_valid_parameters_pass_and_absent_needs_only_a_name():
    _storage.validate_bucket_params(params(location="us", retention_period="7d", lock_retention_policy=True, soft_delete_retention="90d",
                                           lifecycle_rules=[NONCURRENT], labels={"env": "prod"}))
    _storage.validate_bucket_params(params(location="eur4", soft_delete_retention="0"))
    _storage.validate_bucket_params(params(state="absent", location=None, retention_period="nonsense"))


def test_every_problem_is_named_at_once():
    msg = problems(name="Bad", location="mars", retention_period="101y", soft_delete_retention="6d", labels={"Env": "x"})
    for words in ("bucket name 'Bad'", "location 'mars' is not a region", "retention_period '101y' must be 0",
                  "soft_delete_retention '6d' must be 0 (off) or from 7 to 90 days", "label key 'Env'"):
        assert words in msg


@pytest.mark.parametrize("overrides, words", [
    (dict(retention_period=str(_storage.MAX_RETENTION + 1)), "at most 3155760000 seconds"),
    (dict(retention_period="0", lock_retention_policy=True), "lock_retention_policy needs a retention_period"),
    (dict(lock_retention_policy=True), "lock_retention_policy needs a retention_period"),
    (dict(soft_delete_retention="91d"), "from 7 to 90 days"),
    (dict(location="europe west1"), "location 'europe west1'"),
])
def test_bounds(overrides, words):
    assert words in problems(**overrides)


def rule(action, storage_class=None, **condition):
    return {"action": {"type": action, "storage_class": storage_class}, "condition": dict(dict.fromkeys(_storage.CONDITIONS), **condition)}


@pytest.mark.parametrize("bad, words", [
    (rule("Delete"), "lifecycle_rules[0] needs at least one condition"),
    (rule("SetStorageClass", age=30), "lifecycle_rules[0]: a SetStorageClass action needs its storage_class"),
    (rule("Delete", "COLDLINE", age=30), "only a SetStorageClass action takes a storage_class"),
    (rule("Delete", num_newer_versions=-1), "condition num_newer_versions -1 must be a whole number of 0 or more"),
    (rule("Delete", created_before="31/01/2025"), "condition created_before '31/01/2025' must be a date like 2025-01-31"),
])
def test_lifecycle_rule_shapes(bad, words):
    assert words in problems(lifecycle_rules=[NONCURRENT, bad]).replace("lifecycle_rules[1]", "lifecycle_rules[0]")
    assert "more than the 100" in problems(lifecycle_rules=[NONCURRENT] * 101)


def test_a_rule_is_written_as_the_json_api_takes_it():
    assert _storage.rule_json(rule("SetStorageClass", "COLDLINE", age=30, matches_prefix=["redis/"], is_live=True)) == {
        "action": {"type": "SetStorageClass", "storageClass": "COLDLINE"}, "condition": {"age": 30, "matchesPrefix": ["redis/"], "isLive": True}}


def test_googles_buckets_read_as_options():
    created = _storage.bucket_options(fixture("storage_bucket_insert.json"))
    assert created == dict(location="US", location_type="multi-region", storage_class="STANDARD", versioning=False, retention_period=0,
                           retention_locked=False, lifecycle_rules=[{"action": {"type": "Delete"}, "condition": {"age": 7}}],
                           uniform_bucket_level_access=False, public_access_prevention="inherited",
                           labels={"cnrm-test": "true", "label-one": "value-one", "managed-by-cnrm": "true"}, soft_delete_retention=604800)
    patched = _storage.bucket_options(fixture("storage_bucket_patched.json"))
    assert (patched["lifecycle_rules"], patched["soft_delete_retention"], patched["versioning"]) == ([], 0, True)


def test_what_google_fills_in_is_no_change_and_values_compare_as_google_returns_them():
    live = fixture("storage_bucket_insert.json")
    want = _storage.wanted(params(location="us", storage_class="STANDARD", versioning=False, retention_period="0", soft_delete_retention="7d",
                                  lifecycle_rules=[rule("Delete", age=7)], uniform_bucket_level_access=False,
                                  public_access_prevention="inherited", labels={"label-one": "value-one"}))
    have = _storage.bucket_options(live)
    assert _storage.changed_keys(want, have) == [] and _storage.fixed_problems(live["name"], "us", have) == []
    bumped = dict(live, metageneration="7", etag="CAc=", updated="2026-01-01T00:00:00.000000Z", projectNumber="1")
    assert _storage.changed_keys(want, _storage.bucket_options(bumped)) == []


def test_the_options_that_differ_and_their_patch():
    live = fixture("storage_bucket_insert.json")
    want = _storage.wanted(params(location="US", versioning=True, retention_period="7d", lifecycle_rules=[], public_access_prevention="enforced",
                                  labels={"label-one": "value-two"}))
    keys = _storage.changed_keys(want, _storage.bucket_options(live))
    assert keys == ["versioning", "retention_period", "lifecycle_rules", "public_access_prevention", "labels"]
    assert _storage.patch_body(live, want, keys) == {
        "versioning": {"enabled": True}, "retentionPolicy": {"retentionPeriod": "604800"}, "lifecycle": {"rule": []},
        "labels": {"label-one": "value-two"},
        # the whole iamConfiguration, the live uniform access kept
        "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": False}, "publicAccessPrevention": "enforced"}}
    assert _storage.patch_body(dict(live, retentionPolicy={"retentionPeriod": "60"}), {"retention_period": 0}, ["retention_period"]) == {
        "retentionPolicy": None}  # a null clears the policy


def test_a_new_bucket_is_inserted_with_what_the_task_sets_only():
    body = _storage.insert_body(params(location="europe-west1", retention_period="0", versioning=True),
                                _storage.wanted(params(retention_period="0", versioning=True)))
    assert body == {"name": "orchestra-dev-redis-backups", "location": "EUROPE-WEST1", "versioning": {"enabled": True}}


def test_a_move_is_refused_naming_the_bucket_the_field_and_the_way_forward():
    (problem,) = _storage.fixed_problems("orchestra-prod-redis-backups", "europe-west1", _storage.bucket_options(fixture("storage_bucket_insert.json")))
    assert problem.startswith("Cannot move bucket orchestra-prod-redis-backups from US to EUROPE-WEST1") and "create a bucket under another name" in problem


def test_a_locked_policy_is_never_shortened_nor_removed_but_may_grow():
    locked = _storage.bucket_options(dict(fixture("storage_bucket_insert.json"),
                                          retentionPolicy={"retentionPeriod": "604800", "effectiveTime": "2026-01-01T00:00:00Z", "isLocked": True}))
    assert "Cannot shorten the locked retention policy of bucket b (604800 seconds)" in _storage.locked_problems("b", {"retention_period": 86400}, locked)[0]
    assert _storage.locked_problems("b", {"retention_period": 0}, locked)[0].startswith("Cannot remove")
    assert _storage.locked_problems("b", {"retention_period": 1209600}, locked) == []
    assert _storage.locked_problems("b", {}, locked) == []


class RefusingSession:
    """What the delete meets on a bucket that holds objects: Google's 409, as Session.execute translates it."""

    def __init__(self, error):
        self.error = error

    def execute(self, action, resource, request, idempotent):
        raise api_error(action, resource, gexc.from_http_status(409, self.error["message"]))


def test_a_bucket_that_is_not_empty_is_reported_with_what_to_do(monkeypatch):
    monkeypatch.setattr(_storage, "_buckets", lambda session: type("Buckets", (), {"delete": lambda self, **kwargs: kwargs})())
    with pytest.raises(GcpError) as raised:
        _storage._delete(RefusingSession(fixture("storage_bucket_not_empty.json")["error"]), {"name": "b", "metageneration": "3"}, "bucket b")
    assert raised.value.msg.startswith("Cannot delete bucket b: it is not empty") and "delete its objects and their noncurrent versions" in raised.value.msg
    assert "The bucket you tried to delete is not empty" in raised.value.msg
