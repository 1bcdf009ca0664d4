"""Cloud Logging entries and Secret Manager's Data Access audit logs: a project's audit configs turn them on, each
secret read is logged with the caller's identity (its access token's), entries.list filters them in the Logging query
language, and log-based metrics count them into time series Monitoring serves. Read with Google's clients; the audit
entries are shaped as recorded ones (tests/fixtures/google/logging_audit_*.json)."""

import datetime
import json
import pathlib
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import Request
from google.cloud import secretmanager_v1
from google.oauth2 import credentials as bearer
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from orchestra_emulator import log_filter


FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google"
PROJECT = "projects/demo"
SECRET = "projects/demo/secrets/db-password"
ACCESS = "google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion"
DATA_ACCESS = "projects/demo/logs/cloudaudit.googleapis.com%2Fdata_access"
READER, INTRUDER, EXEMPT = ("%s@demo.iam.gserviceaccount.com" % name for name in ("reader", "intruder", "exempt"))
READS = f'logName="{DATA_ACCESS}" AND protoPayload.methodName="{ACCESS}"'


def google(name):
    return json.loads((FIXTURES / name).read_text())["response"]


def client(emulator, api, version):
    return build(api, version, credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": emulator.endpoint})


@pytest.fixture(scope="module")
def key_pem():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


@pytest.fixture
def read_as(emulator, key_pem):
    """read_as(email): the secret's latest payload, read with Secret Manager's client as that service account (an
    access token from the emulator's token endpoint, as google-auth gets one from a key)."""
    def read(email):
        info = {"type": "service_account", "project_id": "demo", "private_key_id": "k1", "private_key": key_pem,
                "client_email": email, "client_id": "1", "token_uri": emulator.endpoint + "/token"}
        key = service_account.Credentials.from_service_account_info(info, scopes=["https://www.googleapis.com/auth/cloud-platform"])
        key.refresh(Request())
        secrets = secretmanager_v1.SecretManagerServiceClient(transport="rest", credentials=bearer.Credentials(key.token),
                                                              client_options={"api_endpoint": emulator.endpoint})
        return secrets.access_secret_version(name=SECRET + "/versions/latest").payload.data
    return read


@pytest.fixture
def secret(emulator):
    secrets = secretmanager_v1.SecretManagerServiceClient(transport="rest", credentials=AnonymousCredentials(),
                                                          client_options={"api_endpoint": emulator.endpoint})
    secrets.create_secret(parent=PROJECT, secret_id="db-password", secret={"replication": {"automatic": {}}})
    secrets.add_secret_version(parent=SECRET, payload={"data": b"s3cret"})
    return secrets  # an anonymous caller's


def audit(emulator, service="secretmanager.googleapis.com", exempted=()):
    """The project's audit configs: DATA_READ of `service`, `exempted` members aside."""
    config = {"service": service, "auditLogConfigs": [{"logType": "ADMIN_READ"}, {"logType": "DATA_READ", "exemptedMembers": list(exempted)}]}
    client(emulator, "cloudresourcemanager", "v3").projects().setIamPolicy(
        resource=PROJECT, body={"policy": {"auditConfigs": [config]}, "updateMask": "auditConfigs"}).execute()


def entries(emulator, filter_text="", **body):
    return client(emulator, "logging", "v2").entries().list(body={"resourceNames": [PROJECT], "filter": filter_text, **body}).execute()


def keys(value):
    """The key paths of a JSON value (lists by their first element)."""
    if isinstance(value, list):
        return keys(value[0]) if value else set()
    if not isinstance(value, dict):
        return set()
    return set(value) | {f"{key}.{inner}" for key, item in value.items() for inner in keys(item)}


def without_lag(emulator):
    """Monitoring serves a 1-second sample once it closes: the points just written are read a second later."""
    emulator.admin("config", {"monitoring_sample_seconds": 1, "monitoring_lag_seconds": 0})


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_each_read_is_logged_with_its_caller_but_the_exempted_ones(emulator, secret, read_as):
    audit(emulator, exempted=["serviceAccount:" + EXEMPT])
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    assert {read_as(email) for email in (READER, INTRUDER, EXEMPT)} == {b"s3cret"}

    found = entries(emulator, READS)["entries"]
    assert [e["protoPayload"]["authenticationInfo"]["principalEmail"] for e in found] == [READER, INTRUDER]
    newest_first = entries(emulator, READS, orderBy="timestamp desc")["entries"]
    assert [e["insertId"] for e in newest_first] == [e["insertId"] for e in reversed(found)]

    entry = found[0]
    recorded, example = google("logging_audit_secret_access.json"), google("logging_audit_data_access_example.json")
    assert keys(recorded) <= keys(entry)  # every field of the recorded Secret Manager entry
    assert {"timestamp", "severity", "logName", "receiveTimestamp", "protoPayload.authenticationInfo.principalEmail"} <= keys(entry) & keys(example)
    assert entry["resource"] == {"type": "audited_resource", "labels": {**recorded["resource"]["labels"], "project_id": "demo"}}
    name = SECRET + "/versions/latest"  # as the caller named it, as recorded
    assert (entry["logName"], entry["protoPayload"]["resourceName"], entry["protoPayload"]["request"]["name"]) == (DATA_ACCESS, name, name)
    [authorization] = recorded["protoPayload"]["authorizationInfo"]
    assert entry["protoPayload"]["authorizationInfo"] == [{**authorization, "resourceAttributes": {**authorization["resourceAttributes"], "name": name}}]

    who = 'protoPayload.authenticationInfo.principalEmail'
    assert len(entries(emulator, f'{who}:"INTRUDER@" OR NOT (resource.type = "audited_resource")')["entries"]) == 1
    assert len(entries(emulator, f'{READS} -{who}="{READER}" timestamp >= "{stamp(before)}"')["entries"]) == 1
    assert entries(emulator, f'timestamp >= "{stamp(before + datetime.timedelta(hours=1))}"').get("entries", []) == []
    first = entries(emulator, READS, pageSize=1)
    assert len(first["entries"]) == 1 and entries(emulator, READS, pageToken=first["nextPageToken"])["entries"] == found[1:]


def test_reads_are_not_logged_without_an_audit_config_for_secret_manager(emulator, secret, read_as):
    read_as(READER)
    audit(emulator, service="storage.googleapis.com")
    read_as(READER)
    assert entries(emulator).get("entries", []) == []
    audit(emulator, service="allServices")
    read_as(READER)
    assert len(entries(emulator, READS)["entries"]) == 1


def test_a_log_based_metric_counts_reads_per_principal(emulator, secret, read_as):
    audit(emulator)
    without_lag(emulator)
    metrics = client(emulator, "logging", "v2").projects().metrics()
    metrics.create(parent=PROJECT, body={
        "name": "secret-reads", "filter": f'protoPayload.methodName="{ACCESS}"',
        "labelExtractors": {"principal": "EXTRACT(protoPayload.authenticationInfo.principalEmail)",
                            "account": r'REGEXP_EXTRACT(protoPayload.authenticationInfo.principalEmail, "^([^@]+)@")'},
        "metricDescriptor": {"metricKind": "DELTA", "valueType": "INT64", "labels": [{"key": "principal"}, {"key": "account"}]}}).execute()
    metrics.create(parent=PROJECT, body={"name": "off", "filter": f'protoPayload.methodName="{ACCESS}"', "disabled": True}).execute()
    for email in (READER, INTRUDER, READER):
        read_as(email)
    secret.access_secret_version(name=SECRET + "/versions/1")  # no token: logged without a principal
    time.sleep(1.05)

    now = datetime.datetime.now(datetime.timezone.utc)
    series = client(emulator, "monitoring", "v3").projects().timeSeries()
    query = {"name": PROJECT, "filter": 'metric.type = "logging.googleapis.com/user/secret-reads"', "interval_endTime": stamp(now),
             "interval_startTime": stamp(now - datetime.timedelta(minutes=2)), "aggregation_alignmentPeriod": "120s"}
    found = series.list(**query, aggregation_perSeriesAligner="ALIGN_SUM").execute()["timeSeries"]
    counts = {s["metric"]["labels"]["principal"]: sum(int(p["value"]["int64Value"]) for p in s["points"]) for s in found}
    assert counts == {READER: 2, INTRUDER: 1, "": 1}  # a label the extractor finds nothing for is empty
    assert {s["metric"]["labels"]["account"] for s in found} == {"reader", "intruder", ""}
    assert {(s["resource"]["type"], s["resource"]["labels"]["project_id"], s["metricKind"], s["valueType"]) for s in found} == {
        ("audited_resource", "demo", "DELTA", "INT64")}
    disabled = {**query, "filter": 'metric.type = "logging.googleapis.com/user/off"'}
    assert series.list(**disabled, aggregation_perSeriesAligner="ALIGN_SUM").execute() == {}
    with pytest.raises(HttpError) as refused:  # the metric's kind is known to Monitoring's aligner checks
        series.list(**query, aggregation_perSeriesAligner="ALIGN_PERCENTILE_99").execute()
    assert refused.value.status_code == 400 and "kind DELTA and value type INT64" in refused.value.reason


def test_entries_written_by_a_client_are_listed_and_counted(emulator):
    without_lag(emulator)
    logging = client(emulator, "logging", "v2")
    logging.projects().metrics().create(parent=PROJECT, body={
        "name": "slow-requests", "filter": 'logName="projects/demo/logs/app" AND severity>=WARNING',
        "valueExtractor": "EXTRACT(jsonPayload.latency_ms)",
        "metricDescriptor": {"metricKind": "DELTA", "valueType": "DISTRIBUTION"},
        "bucketOptions": {"exponentialBuckets": {"numFiniteBuckets": 10, "growthFactor": 2, "scale": 1}}}).execute()
    logging.entries().write(body={"logName": "projects/demo/logs/app", "resource": {"type": "global"}, "labels": {"team": "ops"}, "entries": [
        {"severity": "INFO", "jsonPayload": {"message": "fine", "latency_ms": 5}},
        {"severity": "ERROR", "jsonPayload": {"message": "slow backend", "latency_ms": 900}, "labels": {"team": "db"}},
        {"severity": "WARNING", "textPayload": "no latency"},
        {"logName": "projects/demo/logs/other", "severity": "CRITICAL", "jsonPayload": {"latency_ms": 1}}]}).execute()

    found = entries(emulator, 'logName="projects/demo/logs/app" AND severity >= "WARNING"')["entries"]
    assert [(e["severity"], e["labels"]["team"], e["resource"]) for e in found] == [("ERROR", "db", {"type": "global"}), ("WARNING", "ops", {"type": "global"})]
    assert all(e["insertId"] and e["timestamp"] and e["receiveTimestamp"] for e in found)
    assert [e.get("textPayload") for e in entries(emulator, 'textPayload =~ "^no "')["entries"]] == ["no latency"]

    time.sleep(1.05)
    now = datetime.datetime.now(datetime.timezone.utc)
    series = client(emulator, "monitoring", "v3").projects().timeSeries().list(
        name=PROJECT, filter='metric.type = "logging.googleapis.com/user/slow-requests"', interval_endTime=stamp(now),
        interval_startTime=stamp(now - datetime.timedelta(minutes=1))).execute()["timeSeries"]
    assert [(s["resource"], s["valueType"], [p["value"]["distributionValue"]["mean"] for p in s["points"]]) for s in series] == [
        ({"type": "global", "labels": {"project_id": "demo"}}, "DISTRIBUTION", [900.0])]  # the entry without a latency is not counted


@pytest.mark.parametrize("body", [
    {"filter": 'protoPayload.methodName ='},
    {"filter": '"AccessSecretVersion"'},
    {"filter": 'resource.type = ("global" OR "audited_resource")'},
    {"filter": 'timestamp >= "yesterday"'},
    {"filter": '(severity = ERROR'},
    {"orderBy": "insertId"},
    {"resourceNames": ["organizations/1"]},
])
def test_requests_outside_what_the_emulator_reads_are_refused(emulator, body):
    with pytest.raises(HttpError) as refused:
        client(emulator, "logging", "v2").entries().list(body={"resourceNames": [PROJECT], **body}).execute()
    assert refused.value.status_code == 400


def test_extractors_are_checked_and_entries_need_a_log_name(emulator):
    logging = client(emulator, "logging", "v2")
    for extractors in ({"who": "principal"}, {"who": 'REGEXP_EXTRACT(protoPayload.authenticationInfo.principalEmail, "(a)(b)")'}, {}):
        with pytest.raises(HttpError) as refused:
            logging.projects().metrics().create(parent=PROJECT, body={
                "name": "bad", "filter": "severity>=ERROR", "labelExtractors": extractors,
                "metricDescriptor": {"labels": [{"key": "who"}]}}).execute()
        assert refused.value.status_code == 400
    with pytest.raises(HttpError) as refused:
        logging.entries().write(body={"entries": [{"textPayload": "where?", "resource": {"type": "global"}}]}).execute()
    assert refused.value.status_code == 400


def test_the_filter_subset_reads_as_the_logging_query_language():
    entry = {"severity": "ERROR", "logName": "projects/demo/logs/app", "timestamp": "2026-01-02T03:04:05.123456789Z",
             "jsonPayload": {"items": [{"id": "a"}, {"id": "b"}], "ok": False, "count": 12}, "resource": {"type": "global"}}

    def matches(text):
        return log_filter.parse(text)(entry)

    assert matches('severity = "error"') and matches("severity>=WARNING") and not matches("severity > ERROR")
    assert matches('jsonPayload.items.id = "b"') and matches("jsonPayload.ok = false") and matches("jsonPayload.count > 9")
    assert matches('timestamp > "2026-01-02T03:04:05.1Z"') and not matches('timestamp >= "2026-01-02T03:04:06Z"')
    assert matches('logName:"/logs/" resource.type = "global"') and matches("jsonPayload.items:*") and not matches("textPayload:*")
    assert not matches('severity = ERROR OR resource.type = "gce_instance" AND jsonPayload.count = 13')  # OR binds tighter
    assert matches('severity = ERROR OR (resource.type = "gce_instance" AND jsonPayload.count = 13)')
    assert matches('jsonPayload.count = 13 OR severity = ERROR jsonPayload.ok = false OR severity = INFO')
    assert matches('NOT jsonPayload.items.id = "c"') and not matches('-jsonPayload.items.id = "a"') and matches('severity != "INFO"')
    assert matches('logName =~ "^projects/[a-z]+/logs/app$"') and not matches('logName !~ "app"')
    assert matches("") and log_filter.extract('REGEXP_EXTRACT(logName, "logs/(.*)")', entry) == "app"
    assert log_filter.extract("EXTRACT(jsonPayload.count)", entry) == "12" and log_filter.extract("EXTRACT(jsonPayload.none)", entry) is None
