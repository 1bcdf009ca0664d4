"""Cloud Storage JSON API v1 with Google's API client (google-api-python-client; the google-cloud-storage library is
not a dependency) and plain HTTP: buckets and their IAM policies, checked against Google's answers
(tests/fixtures/google/storage_*.json)."""

import json
import pathlib

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from orchestra_emulator.storage_v1 import counter_etag, etag_count

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google"
PROJECT = "demo"
BUCKET = "demo-redis-backups"
ADMIN = "serviceAccount:backup@demo.iam.gserviceaccount.com"
CONDITION = {"title": "nightly", "expression": "request.time.getHours('UTC') < 6"}


def fixture(name):
    return json.loads((FIXTURES / name).read_text())["response"]


@pytest.fixture
def storage(emulator):
    # api_endpoint stands for the whole base URL of a discovery client: the root and the service path.
    return build("storage", "v1", credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": emulator.endpoint + "/storage/v1/"})


def error(call):
    """(HTTP status, Google's error body) of a call that fails."""
    with pytest.raises(HttpError) as raised:
        call.execute()
    return raised.value.resp.status, json.loads(raised.value.content)["error"]


def same_shape(body, fixture_name):
    """`body` has the shape of the recorded error: code, message, errors of one {domain, reason, message}, no status."""
    real = fixture(fixture_name)["error"]
    assert set(body) == set(real) and set(body["errors"][0]) == set(real["errors"][0])
    assert (body["code"], body["errors"][0]["reason"], body["errors"][0]["domain"]) == (real["code"], real["errors"][0]["reason"], "global")


def test_buckets_are_inserted_read_listed_patched_and_deleted_as_google_answers(storage, emulator):
    created = storage.buckets().insert(project=PROJECT, body={"name": BUCKET, "location": "europe-west1", "labels": {"env": "dev"}}).execute()
    real = fixture("storage_bucket_insert.json")
    assert set(real) - set(created) <= {"lifecycle", "versioning"}  # fields the recorded request sent
    assert created["softDeletePolicy"]["retentionDurationSeconds"] == real["softDeletePolicy"]["retentionDurationSeconds"]  # Google's 7 days
    assert set(created["softDeletePolicy"]) == set(real["softDeletePolicy"])
    assert (created["kind"], created["id"], created["name"], created["metageneration"], created["etag"]) == ("storage#bucket", BUCKET, BUCKET, "1", "CAE=")
    assert (created["location"], created["locationType"], created["selfLink"]) == ("EUROPE-WEST1", "region", real["selfLink"].rsplit("/", 1)[0] + "/" + BUCKET)
    assert created["projectNumber"].isdigit() and created["iamConfiguration"]["uniformBucketLevelAccess"] == {"enabled": False}
    assert storage.buckets().get(bucket=BUCKET).execute() == created
    assert [b["name"] for b in storage.buckets().list(project=PROJECT).execute()["items"]] == [BUCKET]
    assert "items" not in storage.buckets().list(project="other-project").execute()

    status, body = error(storage.buckets().insert(project=PROJECT, body={"name": BUCKET}))
    same_shape(body, "storage_bucket_conflict.json")
    assert (status, body["message"]) == (409, fixture("storage_bucket_conflict.json")["error"]["message"])
    assert error(storage.buckets().insert(project="other-project", body={"name": BUCKET}))[1]["message"].startswith("Sorry, that name is not available")
    for name in ("ab", "-starts-with-hyphen", "Upper", "ends.", "a" * 64, "has space"):
        status, body = error(storage.buckets().insert(project=PROJECT, body={"name": name}))
        assert (status, body["errors"][0]["reason"]) == (400, "invalid"), name
    status, body = error(storage.buckets().insert(project=PROJECT, body={"name": "x-bucket", "nope": 1}))  # discovery's check, Storage's shape
    assert (status, body["errors"][0]["reason"]) == (400, "invalid") and "status" not in body

    patched = storage.buckets().patch(bucket=BUCKET, body={"labels": {"team": "data"}, "versioning": {"enabled": True}}).execute()
    assert (patched["metageneration"], patched["etag"], patched["versioning"]) == ("2", "CAI=", {"enabled": True})
    assert patched["labels"] == {"env": "dev", "team": "data"}
    status, body = error(storage.buckets().patch(bucket=BUCKET, ifMetagenerationMatch=1, body={"labels": {}}))
    same_shape(body, "storage_precondition_failed.json")
    assert (status, body["message"]) == (412, fixture("storage_precondition_failed.json")["error"]["message"])

    storage.buckets().delete(bucket=BUCKET).execute()
    missing = fixture("storage_bucket_not_found.json")["error"]
    for call in (storage.buckets().get(bucket=BUCKET), storage.buckets().delete(bucket=BUCKET), storage.buckets().getIamPolicy(bucket=BUCKET)):
        status, body = error(call)
        assert status == 404 and body == missing
    raw = requests.get(f"{emulator.endpoint}/storage/v1/b/{BUCKET}", timeout=5)
    assert (raw.status_code, raw.json()) == (404, {"error": missing})


def test_retention_soft_delete_and_lifecycle_are_filled_locked_and_removed_as_google_does(storage):
    """Bucket's documented output fields (storage.v1.json): a retention policy's effectiveTime and isLocked; a locked
    policy shortened or removed is PERMISSION_DENIED; a soft delete duration of 0 and an empty rule list as recorded."""
    rules = [{"action": {"type": "Delete"}, "condition": {"age": 7}}]
    sent = {"name": BUCKET, "retentionPolicy": {"retentionPeriod": "86400"}, "lifecycle": {"rule": rules}}
    created = storage.buckets().insert(project=PROJECT, body=sent).execute()
    policy = created["retentionPolicy"]
    assert (policy["retentionPeriod"], policy["isLocked"], policy["effectiveTime"]) == ("86400", False, created["timeCreated"])
    patched = storage.buckets().patch(bucket=BUCKET, body={"labels": {"env": "dev"}, "lifecycle": {"rule": []},
                                                           "softDeletePolicy": {"retentionDurationSeconds": "0"}}).execute()
    real = fixture("storage_bucket_patched.json")
    assert patched["retentionPolicy"] == policy and "lifecycle" not in patched and patched["softDeletePolicy"] == real["softDeletePolicy"]
    assert error(storage.buckets().lockRetentionPolicy(bucket=BUCKET, ifMetagenerationMatch=1))[0] == 412
    locked = storage.buckets().lockRetentionPolicy(bucket=BUCKET, ifMetagenerationMatch=2).execute()
    assert (locked["retentionPolicy"]["isLocked"], locked["metageneration"]) == (True, "3")
    for shorter in ({"retentionPeriod": "3600"}, None):
        status, body = error(storage.buckets().patch(bucket=BUCKET, body={"retentionPolicy": shorter}))
        assert (status, body["errors"][0]["reason"]) == (403, "forbidden"), shorter
    longer = storage.buckets().patch(bucket=BUCKET, body={"retentionPolicy": {"retentionPeriod": "172800", "isLocked": False}}).execute()
    assert (longer["retentionPolicy"]["isLocked"], longer["retentionPolicy"]["retentionPeriod"]) == (True, "172800")
    storage.buckets().insert(project=PROJECT, body={"name": "bare-bucket"}).execute()
    assert error(storage.buckets().lockRetentionPolicy(bucket="bare-bucket", ifMetagenerationMatch=1))[0] == 400


def test_a_new_buckets_policy_is_googles_and_writes_are_guarded_by_a_counting_etag(storage, emulator):
    storage.buckets().insert(project=PROJECT, body={"name": BUCKET}).execute()
    policy = storage.buckets().getIamPolicy(bucket=BUCKET).execute()
    real = fixture("storage_bucket_iam_policy.json")
    expected = json.loads(json.dumps(real).replace("forseti-system-test.a.testing", BUCKET).replace("forseti-system-test", PROJECT))
    assert {k: v for k, v in policy.items() if k != "version"} == expected

    written = storage.buckets().setIamPolicy(bucket=BUCKET, body={**policy, "bindings": policy["bindings"] + [
        {"role": "roles/storage.objectAdmin", "members": [ADMIN]}]}).execute()
    assert (written["etag"], written["version"], written["kind"], written["resourceId"]) == ("CAI=", 1, "storage#policy", f"projects/_/buckets/{BUCKET}")
    assert storage.buckets().getIamPolicy(bucket=BUCKET).execute() == written
    status, body = error(storage.buckets().setIamPolicy(bucket=BUCKET, body=policy))  # the etag read before the write
    same_shape(body, "storage_precondition_failed.json")
    assert status == 412

    public = storage.buckets().setIamPolicy(bucket=BUCKET, body={**written, "bindings": written["bindings"] + [
        {"role": "roles/storage.objectViewer", "members": ["allUsers"]}]}).execute()  # Google allows public buckets
    assert public["etag"] == "CAM="
    bad = {**public, "bindings": [{"role": "roles/storage.objectViewer", "members": ["someone@example.com"]}]}
    status, body = error(storage.buckets().setIamPolicy(bucket=BUCKET, body=bad))
    assert (status, body["errors"][0]["reason"]) == (400, "invalid") and "status" not in body


def test_conditions_need_version_3_both_ways(storage, emulator):
    storage.buckets().insert(project=PROJECT, body={"name": BUCKET}).execute()
    policy = storage.buckets().getIamPolicy(bucket=BUCKET).execute()
    conditional = {**policy, "bindings": policy["bindings"] + [{"role": "roles/storage.objectAdmin", "members": [ADMIN], "condition": CONDITION}]}
    assert error(storage.buckets().setIamPolicy(bucket=BUCKET, body=conditional))[0] == 400
    written = storage.buckets().setIamPolicy(bucket=BUCKET, body={**conditional, "version": 3}).execute()
    assert (written["version"], written["bindings"][-1]["condition"]) == (3, CONDITION)
    status, body = error(storage.buckets().getIamPolicy(bucket=BUCKET))
    assert (status, body["errors"][0]["reason"]) == (400, "invalid") and "version" in body["message"]
    assert storage.buckets().getIamPolicy(bucket=BUCKET, optionsRequestedPolicyVersion=3).execute() == written
    raw = requests.get(f"{emulator.endpoint}/storage/v1/b/{BUCKET}/iam", params={"optionsRequestedPolicyVersion": 3}, timeout=5)
    assert raw.json() == written


def test_test_iam_permissions_answers_the_storage_permissions_asked(storage):
    storage.buckets().insert(project=PROJECT, body={"name": BUCKET}).execute()
    held = storage.buckets().testIamPermissions(bucket=BUCKET, permissions=["storage.buckets.get", "storage.objects.create"]).execute()
    assert held == {"kind": "storage#testIamPermissionsResponse", "permissions": ["storage.buckets.get", "storage.objects.create"]}
    assert error(storage.buckets().testIamPermissions(bucket=BUCKET, permissions=["run.services.get"]))[0] == 400


def test_etags_count_as_protobuf_varints():
    assert [counter_etag(n) for n in (1, 2, 3, 127, 128, 300)] == ["CAE=", "CAI=", "CAM=", "CH8=", "CIAB", "CKwC"]
    assert all(etag_count(counter_etag(n)) == n for n in (1, 127, 128, 300, 10**6))
