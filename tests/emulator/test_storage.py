"""Cloud Storage JSON API v1 with Google's API client (google-api-python-client; the google-cloud-storage library is
not a dependency) and plain HTTP: buckets and their IAM policies, objects uploaded (media, multipart, resumable) and
downloaded (whole or by range), checked against Google's answers (tests/fixtures/google/storage_*.json)."""

import base64
import hashlib
import io
import json
import os
import pathlib

import google_crc32c
import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build, build_from_document
from googleapiclient.discovery_cache import get_static_doc
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseDownload, MediaIoBaseUpload

from orchestra_emulator.app import Emulator
from orchestra_emulator.storage_v1 import counter_etag, etag_count, put_object, read_object

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


@pytest.fixture
def objects(emulator):
    """A storage client whose uploads reach the emulator. With `api_endpoint`, google-api-python-client swaps only the
    host of an upload URL and keeps the document's https (googleapis/google-api-python-client#1992), so this client is
    built from the document with its rootUrl set to the emulator: every URL, uploads included, is then the emulator's."""
    document = json.loads(get_static_doc("storage", "v1"))
    document["rootUrl"] = emulator.endpoint + "/"
    client = build_from_document(document, credentials=AnonymousCredentials())
    client.buckets().insert(project=PROJECT, body={"name": BUCKET}).execute()
    return client


def digests(data):
    """(md5Hash, crc32c) of `data` as Storage shows them."""
    return base64.b64encode(hashlib.md5(data).digest()).decode(), base64.b64encode(google_crc32c.value(data).to_bytes(4, "big")).decode()


def download(client, name, chunksize=100 * 1024 * 1024):
    """The bytes of object `name` read with MediaIoBaseDownload, `chunksize` bytes (one Range request) at a time."""
    out = io.BytesIO()
    downloader, done = MediaIoBaseDownload(out, client.objects().get_media(bucket=BUCKET, object=name), chunksize=chunksize), False
    while not done:
        done = downloader.next_chunk()[1]
    return out.getvalue()


def upload(client, name, data, resumable=False, chunksize=256 * 1024, **preconditions):
    """objects.insert of `data` as `name`: a multipart upload, or a resumable one sent `chunksize` bytes at a time."""
    media = MediaIoBaseUpload(io.BytesIO(data), "application/octet-stream", chunksize=chunksize, resumable=resumable)
    return client.objects().insert(bucket=BUCKET, body={"name": name}, media_body=media, **preconditions).execute()


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


def test_each_upload_type_writes_the_object_its_bytes_and_checksums_as_google_answers(objects, emulator):
    real = fixture("storage_object_get.json")
    text = b"first line\r\n--boundary-like line\n\x00\xff"
    media = objects.objects().insert(bucket=BUCKET, name="notes/media.txt", media_body=MediaIoBaseUpload(io.BytesIO(text), "text/plain")).execute()
    assert set(media) == set(real) and (media["kind"], media["name"], media["bucket"]) == ("storage#object", "notes/media.txt", BUCKET)
    assert media["contentType"] == "text/plain"
    assert (media["size"], media["md5Hash"], media["crc32c"], media["metageneration"]) == (str(len(text)), *digests(text), "1")
    assert media["id"] == f"{BUCKET}/notes/media.txt/{media['generation']}" and media["selfLink"].endswith(f"/b/{BUCKET}/o/notes%2Fmedia.txt")
    assert objects.objects().get(bucket=BUCKET, object="notes/media.txt").execute() == media
    assert objects.objects().get_media(bucket=BUCKET, object="notes/media.txt").execute() == text

    body = {"name": "multipart.json", "contentType": "application/json", "metadata": {"source": "test"}, "cacheControl": "no-cache"}
    sent = json.dumps({"a": 1}).encode() + b"\r\n"
    multipart = objects.objects().insert(bucket=BUCKET, body=body, media_body=MediaIoBaseUpload(io.BytesIO(sent), "text/plain")).execute()
    assert {key: multipart[key] for key in body} == body and (multipart["md5Hash"], multipart["crc32c"]) == digests(sent)
    assert download(objects, "multipart.json") == sent

    data = os.urandom(300 * 1024)
    resumable = upload(objects, "resumable.bin", data, resumable=True)
    assert (resumable["size"], resumable["md5Hash"], resumable["crc32c"]) == (str(len(data)), *digests(data))
    assert resumable["contentType"] == "application/octet-stream"
    assert download(objects, "resumable.bin", chunksize=100 * 1024) == data
    empty = upload(objects, "empty", b"", resumable=True)
    assert (empty["size"], empty["md5Hash"], empty["crc32c"]) == ("0", *digests(b""))
    assert download(objects, "empty", chunksize=1024) == b""  # a Range on no bytes: 416 with Content-Range bytes */0

    listed = objects.objects().list(bucket=BUCKET).execute()["items"]
    assert [item["name"] for item in listed] == ["empty", "multipart.json", "notes/media.txt", "resumable.bin"]
    log = [(call["method"], call["status"]) for call in emulator.log() if call["path"] == f"/upload/storage/v1/b/{BUCKET}/o"]
    assert log == [("POST", 200)] * 3 + [("PUT", 308), ("PUT", 200), ("POST", 200), ("PUT", 200)]  # every upload's requests, no read


def test_a_20_mb_object_goes_up_and_down_in_chunks(objects, emulator):
    data = os.urandom(20 * 1024 * 1024)
    request = objects.objects().insert(bucket=BUCKET, body={"name": "backups/big.rdb"},
                                       media_body=MediaIoBaseUpload(io.BytesIO(data), "application/octet-stream", chunksize=5 * 1024 * 1024, resumable=True))
    progress, written = [], None
    while written is None:
        status, written = request.next_chunk()
        progress.append(status and status.resumable_progress)
    assert progress == [5 * 1024 * 1024, 10 * 1024 * 1024, 15 * 1024 * 1024, None]
    assert (written["size"], written["md5Hash"], written["crc32c"]) == (str(len(data)), *digests(data))
    assert download(objects, "backups/big.rdb", chunksize=3 * 1024 * 1024) == data
    reads = [call["status"] for call in emulator.calls() if call["method"] == "GET"]
    assert reads == [206] * 7  # 3 MiB ranges of 20 MiB
    assert [call["method"] for call in emulator.log()][-5:] == ["POST"] + ["PUT"] * 4  # the reads are not logged


def test_a_resumable_upload_answers_its_progress_and_resumes_after_a_failed_chunk(objects, emulator):
    data = os.urandom(1024 * 1024)
    media = MediaIoBaseUpload(io.BytesIO(data), "application/octet-stream", chunksize=256 * 1024, resumable=True)
    request = objects.objects().insert(bucket=BUCKET, name="resumed.bin", media_body=media)
    assert request.next_chunk()[0].resumable_progress == 256 * 1024
    emulator.admin("faults", {"method": "PUT", "path": "^/upload/", "status": 503})
    with pytest.raises(HttpError) as failed:
        request.next_chunk()
    assert failed.value.resp.status == 503
    written = None
    while written is None:
        written = request.next_chunk()[1]
    assert (written["size"], written["md5Hash"]) == (str(len(data)), digests(data)[0])

    # The protocol as sent by hand: the session's URI, a status query, a chunk already held in part, one past the end of what is held.
    started = requests.post(f"{emulator.endpoint}/upload/storage/v1/b/{BUCKET}/o", params={"uploadType": "resumable", "name": "raw.bin"},
                            json={"contentType": "text/plain"}, timeout=5)
    session = started.headers["Location"]
    assert started.status_code == 200 and "upload_id=" in session and "name=raw.bin" in session

    def put(body, content_range):
        return requests.put(session, data=body, headers={"Content-Range": content_range}, timeout=5)

    assert (put(b"", "bytes */10").status_code, "Range" in put(b"", "bytes */10").headers) == (308, False)
    held = put(b"abcd", "bytes 0-3/*")
    assert (held.status_code, held.headers["Range"]) == (308, "bytes=0-3")
    assert put(b"cdef", "bytes 2-5/10").headers["Range"] == "bytes=0-5"
    assert put(b"z", "bytes 7-7/10").status_code == 400
    finished = put(b"ghij", "bytes 6-9/10")
    assert (finished.status_code, finished.json()["size"], finished.json()["contentType"]) == (200, "10", "text/plain")
    assert requests.get(f"{emulator.endpoint}/storage/v1/b/{BUCKET}/o/raw.bin", params={"alt": "media"}, timeout=5).content == b"abcdefghij"
    assert put(b"", "bytes */10").status_code == 404  # the session is gone


def test_generation_preconditions_guard_uploads_reads_and_deletes(objects, emulator):
    created = upload(objects, "lock", b"one", ifGenerationMatch=0)
    status, body = error(objects.objects().insert(bucket=BUCKET, name="lock", ifGenerationMatch=0,
                                                  media_body=MediaIoBaseUpload(io.BytesIO(b"two"), "text/plain")))
    assert (status, {"error": body}) == (412, fixture("storage_object_precondition_failed.json"))
    for resumable in (False, True):  # a resumable session starts; its last chunk meets the precondition
        assert error_of(lambda: upload(objects, "lock", b"two", resumable=resumable, ifGenerationMatch=0)) == 412

    replaced = upload(objects, "lock", b"two", ifGenerationMatch=created["generation"])
    assert int(replaced["generation"]) > int(created["generation"]) and replaced["metageneration"] == "1"
    assert replaced["etag"] != created["etag"]
    for stale in ({"ifGenerationMatch": created["generation"]}, {"ifGenerationNotMatch": replaced["generation"]}, {"ifMetagenerationMatch": 2},
                  {"ifMetagenerationNotMatch": 1}):
        assert error_of(lambda: upload(objects, "lock", b"three", **stale)) == 412, stale  # noqa: B023
        assert error(objects.objects().get(bucket=BUCKET, object="lock", **stale))[0] == 412, stale
        assert error(objects.objects().delete(bucket=BUCKET, object="lock", **stale))[0] == 412, stale
    assert upload(objects, "lock", b"three", ifGenerationNotMatch=created["generation"], ifMetagenerationMatch=1)["size"] == "5"
    for absent in ({"ifGenerationNotMatch": 0}, {"ifGenerationMatch": replaced["generation"]}, {"ifMetagenerationMatch": 1}):
        assert error_of(lambda: upload(objects, "new", b"x", **absent)) == 412, absent  # noqa: B023
    assert objects.objects().get_media(bucket=BUCKET, object="lock").execute() == b"three"
    assert "new" not in [item["name"] for item in objects.objects().list(bucket=BUCKET).execute()["items"]]

    md5, crc = digests(b"four")
    status, body = error(objects.objects().insert(bucket=BUCKET, body={"name": "lock", "md5Hash": digests(b"other")[0]},
                                                  media_body=MediaIoBaseUpload(io.BytesIO(b"four"), "text/plain")))
    assert (status, body["message"]) == (400, f'Provided MD5 hash "{digests(b"other")[0]}" doesn\'t match calculated MD5 hash "{md5}".')
    checked = objects.objects().insert(bucket=BUCKET, body={"name": "lock", "md5Hash": md5, "crc32c": crc},
                                       media_body=MediaIoBaseUpload(io.BytesIO(b"four"), "text/plain")).execute()
    assert checked["md5Hash"] == md5
    storage = pathlib.Path(emulator.state_dir) / "storage"
    assert checked["generation"] in os.listdir(storage) and not {created["generation"], replaced["generation"]} & set(os.listdir(storage))
    assert not os.listdir(storage / "uploads")  # nor is anything left of the failed uploads


def test_an_emulator_starting_removes_the_bytes_no_object_holds(tmp_path):
    """A reset forgets the objects and leaves their files: the next start removes them (and a crash's)."""
    first = Emulator(str(tmp_path))
    assert first.handle("POST", "/storage/v1/b?project=demo", json.dumps({"name": BUCKET}).encode())[0] == 200
    kept = put_object(first.store, BUCKET, "kept", b"kept")
    storage = tmp_path / "storage"
    for orphan in (storage / "1", storage / "uploads" / "abandoned"):
        orphan.write_bytes(b"orphan")
    first.close()
    second = Emulator(str(tmp_path))
    assert sorted(os.listdir(storage)) == [kept["generation"], "uploads"] and not os.listdir(storage / "uploads")
    assert read_object(second.store, BUCKET, "kept") == b"kept"
    second.close()


def error_of(call):
    """The HTTP status of the HttpError a call raises."""
    with pytest.raises(HttpError) as raised:
        call()
    return raised.value.resp.status


def test_a_range_download_answers_206_with_content_range(objects, emulator):
    written = objects.objects().insert(bucket=BUCKET, name="range.txt", media_body=MediaIoBaseUpload(io.BytesIO(b"0123456789"), "text/plain")).execute()
    url = f"{emulator.endpoint}/storage/v1/b/{BUCKET}/o/range.txt"
    whole = requests.get(url, params={"alt": "media"}, timeout=5)
    assert (whole.status_code, whole.content, whole.headers["Content-Type"]) == (200, b"0123456789", "text/plain")
    assert (whole.headers["X-Goog-Generation"], whole.headers["X-Goog-Stored-Content-Length"]) == (written["generation"], "10")
    assert whole.headers["X-Goog-Hash"] == f"crc32c={written['crc32c']},md5={written['md5Hash']}"
    for asked, answer, content in (("bytes=2-5", "bytes 2-5/10", b"2345"), ("bytes=7-", "bytes 7-9/10", b"789"), ("bytes=-3", "bytes 7-9/10", b"789"),
                                   ("bytes=8-100", "bytes 8-9/10", b"89")):
        part = requests.get(url, params={"alt": "media"}, headers={"Range": asked}, timeout=5)
        assert (part.status_code, part.headers["Content-Range"], part.content) == (206, answer, content), asked
    beyond = requests.get(url, params={"alt": "media"}, headers={"Range": "bytes=10-"}, timeout=5)
    assert (beyond.status_code, beyond.headers["Content-Range"]) == (416, "bytes */10")
    assert beyond.json()["error"]["errors"][0]["reason"] == "requestedRangeNotSatisfiable"
    assert download(objects, "range.txt", chunksize=4) == b"0123456789"
    assert not [call for call in emulator.log() if call["method"] == "GET"]


def test_uploads_and_downloads_of_a_missing_bucket_are_404(objects, emulator):
    missing = {"error": fixture("storage_bucket_not_found.json")["error"]}
    for resumable in (False, True):
        media = MediaIoBaseUpload(io.BytesIO(b"x"), "text/plain", resumable=resumable)
        with pytest.raises(HttpError) as raised:
            objects.objects().insert(bucket="no-such-bucket", name="x", media_body=media).execute()
        assert (raised.value.resp.status, json.loads(raised.value.content)) == (404, missing)
    raw = requests.post(f"{emulator.endpoint}/upload/storage/v1/b/no-such-bucket/o", params={"uploadType": "media", "name": "x"}, data=b"x", timeout=5)
    assert (raw.status_code, raw.json()) == (404, missing)
    assert error(objects.objects().get_media(bucket="no-such-bucket", object="x"))[0] == 404
    status, body = error(objects.objects().get_media(bucket=BUCKET, object="x"))
    assert (status, body["message"]) == (404, f"No such object: {BUCKET}/x")
    wrong = requests.post(f"{emulator.endpoint}/storage/v1/b/{BUCKET}/o", json={"name": "x"}, timeout=5)  # the metadata path takes no upload
    assert (wrong.status_code, wrong.json()["error"]["errors"][0]["reason"]) == (400, "wrongUrlForUpload")
