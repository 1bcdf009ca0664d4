"""Secret Manager v1 in the emulator, with Google's own client (google-cloud-secret-manager over REST) and as raw
JSON compared with Google's real answers (tests/fixtures/google/secretmanager_*.json)."""

import base64
import datetime
import json
import pathlib
import re
import time

import pytest
import requests
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager_v1
from google.iam.v1 import policy_pb2
from google.protobuf import field_mask_pb2

from orchestra_emulator.projects import project_number

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google"
PROJECT = "demo"
NUMBER = project_number(PROJECT)
PARENT = f"projects/{PROJECT}"
AUTOMATIC = {"automatic": {}}
ETAG = re.compile(r'^"[0-9a-f]{14}"$')
MICROS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
NANOS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
State = secretmanager_v1.SecretVersion.State


def google(name):
    return json.loads((FIXTURES / name).read_text())


def named(secret_id):
    return f"projects/{NUMBER}/secrets/{secret_id}"


def seconds(timestamp):
    return datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


@pytest.fixture
def client(emulator):
    return secretmanager_v1.SecretManagerServiceClient(
        transport="rest", credentials=AnonymousCredentials(), client_options={"api_endpoint": emulator.endpoint})


class Raw:
    """Raw JSON over HTTP, where the client would hide an absent field behind its default."""

    def __init__(self, endpoint):
        self.endpoint = endpoint

    def __call__(self, method, path, body=None, **query):
        response = requests.request(method, f"{self.endpoint}/v1/{path}", json=body, params=query, timeout=10)
        return response.status_code, response.json()


@pytest.fixture
def raw(emulator):
    return Raw(emulator.endpoint)


def create(client, secret_id="app", **fields):
    return client.create_secret(parent=PARENT, secret_id=secret_id, secret={"replication": AUTOMATIC, **fields})


def add(client, secret_id="app", data=b"value", **payload):
    return client.add_secret_version(parent=f"{PARENT}/secrets/{secret_id}", payload={"data": data, **payload})


def error(raw_answer, code, status):
    http_status, body = raw_answer
    assert (http_status, body["error"]["code"], body["error"]["status"]) == (code, code, status), body
    return body["error"]["message"]


# -- secrets -------------------------------------------------------------------------------------


def test_a_created_secret_reads_like_google_s(raw):
    real = google("secretmanager_secret_create_automatic.json")

    status, ours = raw("POST", f"{PARENT}/secrets", real["request"]["body"], secretId="app")

    assert status == 200
    assert set(ours) == set(real["response"])  # nothing unset is printed: no versionAliases, annotations, topics, ...
    assert ours["name"] == named("app") and re.fullmatch(r"projects/\d+/secrets/[\w-]+", real["response"]["name"])
    assert ours["replication"] == real["response"]["replication"] == AUTOMATIC
    assert ours["labels"] == real["response"]["labels"]
    assert ETAG.match(ours["etag"]) and ETAG.match(real["response"]["etag"])
    assert MICROS.match(ours["createTime"]) and MICROS.match(real["response"]["createTime"])
    assert raw("GET", f"projects/{NUMBER}/secrets/app") == (200, ours)  # by number or by id, one secret


def test_user_managed_replication_rotation_topics_and_ttl_read_like_google_s(raw):
    real = google("secretmanager_secret_create_user_managed.json")
    body = json.loads(json.dumps(real["request"]["body"]).replace("${projectId}", PROJECT).replace("${uniqueId}", "x"))
    body["rotation"]["nextRotationTime"] = "2100-01-01T00:00:00Z"

    status, ours = raw("POST", f"{PARENT}/secrets", body, secretId="full")

    assert status == 200
    assert set(ours) == set(real["response"])  # ttl comes back as expireTime, never as ttl
    assert abs(seconds(ours["expireTime"]) - (time.time() + 100)) < 5
    for field in ("replication", "topics", "annotations", "labels", "rotation"):
        assert ours[field] == body[field]
    assert ours["topics"][0]["name"].startswith(f"projects/{PROJECT}/")  # topics keep the project id sent
    _status, version = raw("POST", f"{PARENT}/secrets/full:addVersion", {"payload": {"data": "eA=="}})
    key = body["replication"]["userManaged"]["replicas"][0]["customerManagedEncryption"]["kmsKeyName"]
    assert version["replicationStatus"] == {"userManaged": {"replicas": [
        {"location": "us-central1", "customerManagedEncryption": {"kmsKeyVersionName": f"{key}/cryptoKeyVersions/1"}}]}}


def test_errors_name_the_project_number_with_google_s_words(client, raw):
    real_missing = google("secretmanager_error_secret_not_found.json")["response"]["error"]
    real_exists = google("secretmanager_error_already_exists.json")["response"]["error"]
    create(client)

    missing = error(raw("GET", f"{PARENT}/secrets/nope"), 404, real_missing["status"])
    exists = error(raw("POST", f"{PARENT}/secrets", {"replication": AUTOMATIC}, secretId="app"), 409, real_exists["status"])

    assert missing == f"Secret [{named('nope')}] not found."
    assert re.fullmatch(r"Secret \[projects/\S+/secrets/\S+\] not found\.", real_missing["message"])
    assert exists == f"Secret [{named('app')}] already exists."
    assert re.fullmatch(r"Secret \[projects/\d+/secrets/\S+\] already exists\.", real_exists["message"])
    with pytest.raises(exceptions.NotFound):
        client.get_secret(name=f"{PARENT}/secrets/nope")


def test_regional_names_are_refused_as_the_global_endpoint_does(raw):
    real = google("secretmanager_error_name_format.json")["response"]["error"]

    message = error(raw("GET", f"{PARENT}/locations/europe-west1/secrets/app"), 400, real["status"])

    assert message == ("The provided Secret ID [projects/demo/locations/europe-west1/secrets/app] does not match the "
                       "expected format [projects/*/secrets/*]")
    assert real["message"].endswith("does not match the expected format [projects/*/secrets/*]")


@pytest.mark.parametrize("secret_id", ["has.dot", "x" * 256])
def test_bad_secret_ids_are_refused(raw, secret_id):
    error(raw("POST", f"{PARENT}/secrets", {"replication": AUTOMATIC}, secretId=secret_id), 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize("body", [
    {},
    {"replication": {"automatic": {}, "userManaged": {"replicas": [{"location": "us-east1"}]}}},
    {"replication": {"userManaged": {}}},
    {"replication": {"userManaged": {"replicas": [{"location": "us-east1"}, {"location": "us-east1"}]}}},
    {"replication": AUTOMATIC, "labels": {"Upper": "x"}},
    {"replication": AUTOMATIC, "labels": {"key": "x" * 64}},
    {"replication": AUTOMATIC, "annotations": {"-dash": "x"}},
    {"replication": AUTOMATIC, "annotations": {"big": "x" * 16384}},
    {"replication": AUTOMATIC, "topics": [{"name": "not-a-topic"}]},
    {"replication": AUTOMATIC, "topics": [{"name": f"projects/p/topics/t{i}"} for i in range(11)]},
    {"replication": AUTOMATIC, "expireTime": "2000-01-01T00:00:00Z"},
    {"replication": AUTOMATIC, "ttl": "-5s"},
    {"replication": AUTOMATIC, "versionAliases": {"current": "1"}},  # no version 1 yet
])
def test_fields_breaking_google_s_rules_are_refused(raw, body):
    error(raw("POST", f"{PARENT}/secrets", body, secretId="app"), 400, "INVALID_ARGUMENT")


TOPICS = [{"name": "projects/demo/topics/rotation"}]


@pytest.mark.parametrize("rotation, topics", [
    ({"rotationPeriod": "3599s", "nextRotationTime": "2100-01-01T00:00:00Z"}, TOPICS),
    ({"rotationPeriod": "3600s"}, TOPICS),  # a period needs the next rotation time
    ({"nextRotationTime": "2000-01-01T00:00:00Z"}, TOPICS),  # in the past
    ({"rotationPeriod": "3600s", "nextRotationTime": "2100-01-01T00:00:00Z"}, []),  # rotation needs topics
])
def test_rotation_rules(raw, rotation, topics):
    body = {"replication": AUTOMATIC, "rotation": rotation, "topics": topics}
    error(raw("POST", f"{PARENT}/secrets", body, secretId="app"), 400, "INVALID_ARGUMENT")
    body["rotation"] = {"rotationPeriod": "3600s", "nextRotationTime": "2100-01-01T00:00:00Z"}
    body["topics"] = TOPICS
    assert raw("POST", f"{PARENT}/secrets", body, secretId="app")[1]["rotation"] == body["rotation"]


def test_patch_applies_the_update_mask_like_google(client, raw):
    real = google("secretmanager_secret_patch_update_mask.json")
    create(client, labels={"managed-by-cnrm": "true"}, topics=TOPICS)
    _status, current = raw("GET", f"{PARENT}/secrets/app")
    body = json.loads(json.dumps(real["request"]["body"]).replace("${projectId}", PROJECT).replace("${uniqueId}", "x"))
    body.update(etag=current["etag"], expireTime="2100-01-01T00:00:00.123456Z", replication=AUTOMATIC,
                rotation={"nextRotationTime": "2100-01-01T00:00:00Z", "rotationPeriod": "7200s"})
    mask = re.search(r"updateMask=([^&]+)", real["request"]["url"]).group(1).replace("%2C", ",")

    status, ours = raw("PATCH", f"{PARENT}/secrets/app", body, updateMask=mask)

    assert status == 200
    assert set(ours) == set(real["response"])
    for field in ("annotations", "labels", "topics", "rotation", "expireTime"):
        assert ours[field] == body[field]
    assert ours["createTime"] == current["createTime"] and ours["etag"] != current["etag"] and ETAG.match(ours["etag"])


def test_patch_is_guarded_by_the_etag_keeps_replication_and_needs_a_mask(client, raw):
    secret = create(client)
    stale = secret.etag
    client.update_secret(secret={"name": secret.name, "labels": {"a": "b"}}, update_mask=field_mask_pb2.FieldMask(paths=["labels"]))

    message = error(raw("PATCH", f"{PARENT}/secrets/app", {"etag": stale, "labels": {}}, updateMask="labels"), 400,
                    "FAILED_PRECONDITION")
    assert stale in message
    with pytest.raises(exceptions.BadRequest, match="does not match the current etag"):  # 400 FAILED_PRECONDITION
        client.update_secret(secret={"name": secret.name, "etag": stale}, update_mask=field_mask_pb2.FieldMask(paths=["labels"]))
    user_managed = {"userManaged": {"replicas": [{"location": "us-east1"}]}}
    error(raw("PATCH", f"{PARENT}/secrets/app", {"replication": user_managed}, updateMask="replication"), 400, "INVALID_ARGUMENT")
    error(raw("PATCH", f"{PARENT}/secrets/app", {"labels": {}}), 400, "INVALID_ARGUMENT")
    error(raw("PATCH", f"{PARENT}/secrets/app", {"labels": {}}, updateMask="create_time"), 400, "INVALID_ARGUMENT")
    assert raw("GET", f"{PARENT}/secrets/app")[1]["labels"] == {"a": "b"}


def test_a_ttl_patch_sets_the_expire_time_and_an_expired_secret_is_gone(client, raw):
    create(client, secret_id="keep")
    create(client, secret_id="brief")
    _status, patched = raw("PATCH", f"{PARENT}/secrets/brief", {"ttl": "1s"}, updateMask="ttl")
    assert "ttl" not in patched and abs(seconds(patched["expireTime"]) - (time.time() + 1)) < 1

    time.sleep(1.2)

    error(raw("GET", f"{PARENT}/secrets/brief"), 404, "NOT_FOUND")
    assert [s.name for s in client.list_secrets(parent=PARENT)] == [named("keep")]
    create(client, secret_id="brief")  # the name is free again


def test_delete_answers_an_empty_object_and_is_guarded_by_the_etag(client, raw, emulator):
    assert google("secretmanager_secret_delete.json")["response"] == {}
    secret = create(client)
    client.set_iam_policy(request={"resource": secret.name, "policy": policy_pb2.Policy(
        bindings=[policy_pb2.Binding(role="roles/secretmanager.secretAccessor", members=["user:a@example.com"])])})

    error(raw("DELETE", f"{PARENT}/secrets/app", etag='"10000000000000"'), 400, "FAILED_PRECONDITION")
    assert raw("DELETE", f"{PARENT}/secrets/app", etag=secret.etag) == (200, {})

    error(raw("GET", f"{PARENT}/secrets/app"), 404, "NOT_FOUND")
    create(client)
    assert client.get_iam_policy(request={"resource": secret.name}).bindings == []
    assert [(c["method"], c["path"], c["status"]) for c in emulator.log()][-4:] == [  # the call log, as Cloud Run's
        ("POST", f"/v1/{named('app')}:setIamPolicy", 200),
        ("DELETE", f"/v1/{PARENT}/secrets/app", 400),
        ("DELETE", f"/v1/{PARENT}/secrets/app", 200),
        ("POST", f"/v1/{PARENT}/secrets", 200),
    ]


def test_iam_policies_of_secrets(client):
    secret = create(client)
    assert client.get_iam_policy(request={"resource": secret.name}).etag == base64.b64decode("ACAB")  # as an empty Cloud Run policy

    policy = client.set_iam_policy(request={"resource": secret.name, "policy": policy_pb2.Policy(
        bindings=[policy_pb2.Binding(role="roles/secretmanager.secretAccessor", members=["serviceAccount:run@demo.iam.gserviceaccount.com"])])})

    assert client.get_iam_policy(request={"resource": secret.name}) == policy
    allowed = client.test_iam_permissions(request={"resource": secret.name, "permissions": ["secretmanager.versions.access"]})
    assert list(allowed.permissions) == ["secretmanager.versions.access"]
    with pytest.raises(exceptions.NotFound):
        client.get_iam_policy(request={"resource": f"{PARENT}/secrets/nope"})


def test_list_filters_and_pages(client, raw):
    for index in range(5):
        create(client, secret_id=f"s{index}", labels={"env": "prod" if index % 2 else "dev"})

    pages = list(client.list_secrets(request={"parent": PARENT, "page_size": 2}).pages)

    assert [len(page.secrets) for page in pages] == [2, 2, 1]
    assert pages[0].total_size == 5
    assert [s.name for s in client.list_secrets(request={"parent": PARENT, "filter": "labels.env=prod"})] == [named("s1"), named("s3")]
    assert [s.name for s in client.list_secrets(request={"parent": PARENT, "filter": "name:s4"})] == [named("s4")]
    assert [s.name for s in client.list_secrets(request={"parent": PARENT, "filter": "labels.env:* AND name:s0"})] == [named("s0")]
    _status, filtered = raw("GET", f"{PARENT}/secrets", filter="labels.env=dev")
    assert "totalSize" not in filtered and len(filtered["secrets"]) == 3  # totalSize is 0 with a filter
    error(raw("GET", f"{PARENT}/secrets", filter="create_time>1"), 400, "INVALID_ARGUMENT")
    assert list(client.list_secrets(parent="projects/other")) == []


# -- versions ------------------------------------------------------------------------------------


def test_add_version_and_access_read_like_google_s(client, raw):
    real_add = google("secretmanager_version_add.json")
    real_access = google("secretmanager_access_version.json")
    create(client)

    status, added = raw("POST", f"{PARENT}/secrets/app:addVersion", real_add["request"]["body"])
    _status, accessed = raw("GET", f"{PARENT}/secrets/app/versions/latest:access")

    assert status == 200
    assert set(added) == set(real_add["response"])  # no clientSpecifiedPayloadChecksum (false), no destroyTime
    assert added["name"] == f"{named('app')}/versions/1" and added["state"] == real_add["response"]["state"] == "ENABLED"
    assert added["replicationStatus"] == real_add["response"]["replicationStatus"]
    assert ETAG.match(added["etag"]) and MICROS.match(added["createTime"])
    # Google computes and stores a CRC32C when the client sent none; int64 is a JSON string; access names the number.
    assert accessed == {"name": added["name"], "payload": real_access["response"]["payload"]}
    assert accessed["payload"]["dataCrc32c"] == "98593831"


def test_access_computes_the_documented_crc32c(client):
    real = google("secretmanager_access_version_docs.json")["response"]["payload"]
    create(client)
    add(client, data=base64.b64decode(real["data"]))

    payload = client.access_secret_version(name=f"{PARENT}/secrets/app/versions/1").payload

    assert payload.data == b"seCr3t\n" and payload.data_crc32c == int(real["dataCrc32c"]) == 3131222104


def test_a_client_checksum_is_checked_and_recorded(client, raw):
    create(client)

    version = add(client, data=b"seCr3t\n", data_crc32c=3131222104)
    with pytest.raises(exceptions.BadRequest):
        add(client, data=b"seCr3t\n", data_crc32c=3131222105)

    assert version.client_specified_payload_checksum
    assert raw("GET", f"{PARENT}/secrets/app/versions/1")[1]["clientSpecifiedPayloadChecksum"] is True
    assert [v.name for v in client.list_secret_versions(parent=f"{PARENT}/secrets/app")] == [version.name]


def test_payloads_up_to_64_kib(client):
    create(client)

    add(client, data=b"x" * 65536)
    with pytest.raises(exceptions.BadRequest, match="64 KiB"):
        add(client, data=b"x" * 65537)

    assert client.access_secret_version(name=f"{PARENT}/secrets/app/versions/latest").payload.data == b"x" * 65536


def test_versions_are_numbered_from_one_never_reused_and_listed_newest_first(client, raw):
    create(client)
    for value in (b"one", b"two"):
        add(client, data=value)
    client.destroy_secret_version(name=f"{PARENT}/secrets/app/versions/2")

    third = add(client, data=b"three")

    assert third.name.endswith("/versions/3")
    assert [v.name.rsplit("/", 1)[1] for v in client.list_secret_versions(parent=f"{PARENT}/secrets/app")] == ["3", "2", "1"]
    _status, disabled_only = raw("GET", f"{PARENT}/secrets/app/versions", filter="state:DESTROYED")
    assert [v["name"] for v in disabled_only["versions"]] == [f"{named('app')}/versions/2"]
    pages = list(client.list_secret_versions(request={"parent": f"{PARENT}/secrets/app", "page_size": 2}).pages)
    assert [len(page.versions) for page in pages] == [2, 1]


def test_latest_is_the_most_recently_created_version(client, raw):
    real = google("secretmanager_error_access_destroyed_latest.json")["response"]["error"]
    real_none = google("secretmanager_error_no_versions.json")["response"]["error"]
    create(client)
    message = error(raw("GET", f"{PARENT}/secrets/app/versions/latest"), 404, "NOT_FOUND")
    assert message == f"Secret [{named('app')}] not found or has no versions."
    assert re.fullmatch(r"Secret \[projects/\d+/secrets/\S+\] not found or has no versions\.", real_none["message"])
    add(client, data=b"three")
    add(client, data=b"four")
    client.destroy_secret_version(name=f"{PARENT}/secrets/app/versions/2")

    message = error(raw("GET", f"{PARENT}/secrets/app/versions/latest:access"), real["code"], real["status"])

    assert message == f"Secret Version [{named('app')}/versions/2] is in DESTROYED state."
    assert real["message"] == "Secret Version [<path>/versions/4] is in DESTROYED state."
    assert client.get_secret_version(name=f"{PARENT}/secrets/app/versions/latest").name.endswith("/versions/2")
    error(raw("GET", f"{PARENT}/secrets/app/versions/7"), 404, "NOT_FOUND")
    error(raw("GET", f"{PARENT}/secrets/app/versions/-1"), 400, "INVALID_ARGUMENT")
    error(raw("GET", f"{PARENT}/secrets/nope/versions/latest:access"), 404, "NOT_FOUND")


def test_enable_disable_destroy_read_like_google_s(client, raw):
    real_enable = google("secretmanager_version_enable_already_enabled.json")["response"]
    real_disable = google("secretmanager_version_disable_with_etag.json")
    real_destroy = google("secretmanager_version_destroy.json")
    real_denied = google("secretmanager_error_access_disabled.json")["response"]["error"]
    create(client)
    added = add(client)

    _status, enabled = raw("POST", f"{PARENT}/secrets/app/versions/1:enable")
    assert set(enabled) == set(real_enable) and enabled["state"] == "ENABLED" and enabled["etag"] != added.etag
    error(raw("POST", f"{PARENT}/secrets/app/versions/1:disable", {"etag": added.etag}), 400, "FAILED_PRECONDITION")
    status, disabled = raw("POST", f"{PARENT}/secrets/app/versions/1:disable", {"etag": enabled["etag"]},
                           **{"$alt": "json;enum-encoding=int"})
    assert status == 200 and set(disabled) == set(real_disable["response"]) and disabled["state"] == real_disable["response"]["state"] == 2
    message = error(raw("GET", f"{PARENT}/secrets/app/versions/1:access"), real_denied["code"], real_denied["status"])
    assert message == f"Secret Version [{named('app')}/versions/1] is in DISABLED state."
    assert re.fullmatch(r"Secret Version \[projects/\d+/secrets/\S+/versions/\d+\] is in DISABLED state\.", real_denied["message"])

    _status, destroyed = raw("POST", f"{PARENT}/secrets/app/versions/1:destroy", {"etag": disabled["etag"]})

    assert set(destroyed) == set(real_destroy["response"]) and destroyed["state"] == "DESTROYED"
    assert NANOS.match(destroyed["destroyTime"]) and NANOS.match(real_destroy["response"]["destroyTime"])
    assert destroyed["createTime"] == enabled["createTime"]
    for action in ("enable", "disable", "destroy"):
        error(raw("POST", f"{PARENT}/secrets/app/versions/1:{action}"), 400, "FAILED_PRECONDITION")
    assert client.get_secret_version(name=f"{PARENT}/secrets/app/versions/1").state == State.DESTROYED


def test_a_destroy_ttl_disables_then_destroys_when_the_time_comes(client, raw):
    real = google("secretmanager_versions_list_scheduled_destroy.json")["response"]
    create(client, version_destroy_ttl={"seconds": 1})
    add(client, data=b"one")
    add(client, data=b"two")
    client.destroy_secret_version(name=f"{PARENT}/secrets/app/versions/2")
    _status, scheduled = raw("POST", f"{PARENT}/secrets/app/versions/1:destroy")

    _status, listed = raw("GET", f"{PARENT}/secrets/app/versions")
    assert set(listed["versions"][1]) == set(real[1]) - {"clientSpecifiedPayloadChecksum"}
    assert scheduled["state"] == real[1]["state"] == "DISABLED" and "destroyTime" not in scheduled
    assert NANOS.match(scheduled["scheduledDestroyTime"]) and NANOS.match(real[1]["scheduledDestroyTime"])
    assert abs(seconds(scheduled["scheduledDestroyTime"]) - (time.time() + 1)) < 1
    assert raw("GET", f"{PARENT}/secrets/app/versions/2")[1]["state"] == "DISABLED"
    client.enable_secret_version(name=f"{PARENT}/secrets/app/versions/2")  # enabling cancels the destruction

    time.sleep(1.2)

    version = raw("GET", f"{PARENT}/secrets/app/versions/1")[1]
    assert version["state"] == "DESTROYED" and version["destroyTime"] == scheduled["scheduledDestroyTime"]
    assert "scheduledDestroyTime" not in version and version["etag"] != scheduled["etag"]
    assert client.access_secret_version(name=f"{PARENT}/secrets/app/versions/2").payload.data == b"two"


def test_aliases_name_versions_for_reads(client, raw):
    real = google("secretmanager_secret_patch_version_aliases_docs.json")["response"]
    real_live = google("secretmanager_secret_get_aliases_destroy_ttl.json")["response"]
    create(client)
    add(client, data=b"one")
    add(client, data=b"two")

    status, patched = raw("PATCH", f"{PARENT}/secrets/app", {"versionAliases": {"current": 2, "previous": "1"}},
                          updateMask="version_aliases")

    assert status == 200 and patched["versionAliases"] == {"current": "2", "previous": "1"}  # strings, as Google's
    assert all(isinstance(v, str) for v in [*real["versionAliases"].values(), *real_live["versionAliases"].values()])
    accessed = client.access_secret_version(name=f"{PARENT}/secrets/app/versions/current")
    assert accessed.name == f"{named('app')}/versions/2" and accessed.payload.data == b"two"
    assert client.get_secret_version(name=f"{PARENT}/secrets/app/versions/previous").name.endswith("/versions/1")
    error(raw("GET", f"{PARENT}/secrets/app/versions/unknown:access"), 404, "NOT_FOUND")
    error(raw("POST", f"{PARENT}/secrets/app/versions/previous:disable"), 400, "INVALID_ARGUMENT")  # aliases serve reads
    client.disable_secret_version(name=f"{PARENT}/secrets/app/versions/1")
    message = error(raw("GET", f"{PARENT}/secrets/app/versions/previous:access"), 400, "FAILED_PRECONDITION")
    assert message == f"Secret Version [{named('app')}/versions/1] is in DISABLED state."
    client.destroy_secret_version(name=f"{PARENT}/secrets/app/versions/1")
    for aliases in ({"latest": "2"}, {"NEW": "2"}, {"1st": "2"}, {"x" * 64: "2"}, {"gone": "1"}, {"future": "3"},
                    {f"a{i}": "2" for i in range(51)}):
        error(raw("PATCH", f"{PARENT}/secrets/app", {"versionAliases": aliases}, updateMask="versionAliases"), 400, "INVALID_ARGUMENT")
