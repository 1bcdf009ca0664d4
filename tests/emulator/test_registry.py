"""The emulator's shared machinery, exercised by APIs registered next to the built-in ones: the registry
(an API's routes, state, admin settings and config), long-running operations under each API's own path,
etags whose mismatch error is the API's own, update masks, label checks, and the metrics sink that
Monitoring's timeSeries.list reads. The APIs are driven over HTTP with google-api-python-client."""

import datetime
import json
import math
import threading
import time

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from orchestra_emulator import registry, server
from orchestra_emulator.errors import aborted, failed_precondition, not_found
from orchestra_emulator.operations import typed
from orchestra_emulator.resources import apply_mask, check_etag, check_labels, new_etag

MEMORY = "redis.googleapis.com/stats/memory/usage"


class SecretManagerV1Beta2(registry.EmulatedApi):
    """Secrets create, get and patch of Secret Manager v1beta2 (the emulator serves v1): Secret Manager
    answers a stale etag with 400 FAILED_PRECONDITION."""

    document = "secretmanager.v1beta2"
    proto_package = "google.cloud.secretmanager.v1beta2"
    settings = {"sealed_secrets": []}
    config = {"secret_seconds": 5}

    def __init__(self, shared):
        super().__init__(shared)
        prefix = "secretmanager.projects.secrets."
        self.handlers = {prefix + "create": (self.create, "secret"), prefix + "get": (self.get, None),
                         prefix + "patch": (self.patch, "secret")}
        self.admin = {("POST", "sealed-secrets"): self.seal}

    def create(self, request):
        check_labels("secret.labels", request.body.get("labels", {}))
        name = f"projects/{request.variables['projectsId']}/secrets/{request.query['secretId']}"
        with self.shared.store.mutate() as data:
            secret = self._secrets(data)[name] = {**request.body, "name": name, "etag": new_etag()}
            return dict(secret)

    def get(self, request):
        with self.shared.store.lock:
            return dict(self._secret(self.shared.store.data, request.variables))

    def patch(self, request):
        with self.shared.store.mutate() as data:
            current = self._secret(data, request.variables)
            check_etag(request.body.get("etag"), current["etag"], failed_precondition)
            secret = apply_mask(current, request.body, request.query.get("updateMask"))
            secret.update(name=current["name"], etag=new_etag())
            self._secrets(data)[current["name"]] = secret
            return dict(secret)

    def seal(self, body):
        with self.shared.store.mutate() as data:
            data["admin"]["sealed_secrets"].append(body["secret"])
            return {"sealed_secrets": data["admin"]["sealed_secrets"]}

    def _secrets(self, data):
        return data["resources"].setdefault(self.document, {}).setdefault("secrets", {})

    def _secret(self, data, variables):
        name = f"projects/{variables['projectsId']}/secrets/{variables['secretsId']}"
        if name not in self._secrets(data):
            raise not_found(f"Secret [{name}] not found.")
        return self._secrets(data)[name]


def _redis_parent(variables):
    return f"projects/{variables['projectsId']}/locations/{variables['locationsId']}"


class RedisV1(registry.EmulatedApi):
    """instances.create answers an operation that the shared operations serve under /v1."""

    document = "redis.v1"
    proto_package = "google.cloud.redis.v1"

    def __init__(self, shared):
        super().__init__(shared)
        prefix = "redis.projects.locations."
        self.handlers = {prefix + "instances.create": (self.create, "instance"), **self.operations.handlers(prefix, _redis_parent)}

    def create(self, request):
        parent = _redis_parent(request.variables)
        instance = {**request.body, "name": f"{parent}/instances/{request.query['instanceId']}"}
        with self.shared.store.mutate() as data:
            return self.operations.start(data, parent, response=typed("google.cloud.redis.v1.Instance", instance))


@pytest.fixture
def served(tmp_path):
    """(emulator, endpoint): an emulator in this process, over HTTP, with the two APIs above registered."""
    added = [registry.register(SecretManagerV1Beta2), registry.register(RedisV1)]
    httpd = server.bind("127.0.0.1", 0, str(tmp_path))
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield httpd.emulator, "http://127.0.0.1:%d" % httpd.server_port
    finally:
        httpd.shutdown()
        httpd.server_close()
        httpd.emulator.close()
        for api_class in added:
            registry.REGISTERED.remove(api_class)


def client(name, version, endpoint):
    return build(name, version, credentials=AnonymousCredentials(), static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": endpoint})


def test_a_registered_api_is_served_with_its_state_admin_settings_and_config(served):
    emulator, endpoint = served
    secrets = client("secretmanager", "v1beta2", endpoint).projects().secrets()

    created = secrets.create(parent="projects/demo", secretId="db", body={"labels": {"team": "core"}}).execute()
    assert secrets.get(name="projects/demo/secrets/db").execute() == created
    assert created["name"] == "projects/demo/secrets/db" and created["labels"] == {"team": "core"}
    with pytest.raises(HttpError) as raised:
        secrets.create(parent="projects/demo", secretId="bad", body={"labels": {"Team": "x"}}).execute()
    assert raised.value.resp.status == 400 and "Invalid label key 'Team'" in raised.value.reason
    with pytest.raises(HttpError) as raised:  # validated against its discovery document
        secrets.create(parent="projects/demo", secretId="odd", body={"colour": "red"}).execute()
    assert 'Unknown name "colour"' in raised.value.reason

    assert requests.post(endpoint + "/_emulator/sealed-secrets", json={"secret": "db"}).json() == {"sealed_secrets": ["db"]}
    config = requests.get(endpoint + "/_emulator/config").json()
    assert config == {"operation_seconds": 0, "monitoring_sample_seconds": 60, "monitoring_lag_seconds": 180, "secret_seconds": 5,
                      "uptime_check_period_seconds": 0, "alert_evaluation_seconds": 60, "alert_duration_scale": 1}
    assert requests.post(endpoint + "/_emulator/config", json={"secret_seconds": 1}).json()["secret_seconds"] == 1

    requests.post(endpoint + "/_emulator/reset")
    state = requests.get(endpoint + "/_emulator/state").json()
    assert state["resources"] == {} and state["admin"]["sealed_secrets"] == [] and state["admin"]["config"]["secret_seconds"] == 5


def test_each_api_serves_its_operations_under_its_own_path(served):
    emulator, endpoint = served
    requests.post(endpoint + "/_emulator/config", json={"operation_seconds": 0.5})
    body = {"tier": "BASIC", "memorySizeGb": 1}
    operation = requests.post(endpoint + "/v1/projects/demo/locations/us-central1/instances?instanceId=cache", json=body).json()

    assert operation["name"].startswith("projects/demo/locations/us-central1/operations/") and "done" not in operation
    assert requests.get(endpoint + "/v2/" + operation["name"]).status_code == 404  # not one of Cloud Run's
    time.sleep(0.6)
    done = requests.get(endpoint + "/v1/" + operation["name"]).json()
    assert done["done"] is True
    assert done["response"]["name"] == "projects/demo/locations/us-central1/instances/cache"
    assert done["response"]["@type"] == "type.googleapis.com/google.cloud.redis.v1.Instance"
    listed = requests.get(endpoint + "/v1/projects/demo/locations/us-central1/operations").json()
    assert [o["name"] for o in listed["operations"]] == [operation["name"]]

    requests.post(endpoint + "/_emulator/failing-operations", json={"path": "/instances", "code": 8, "message": "Out of capacity."})
    failed = requests.post(endpoint + "/v1/projects/demo/locations/us-central1/instances?instanceId=other", json=body).json()
    time.sleep(0.6)
    assert requests.get(endpoint + "/v1/" + failed["name"]).json()["error"] == {"code": 8, "message": "Out of capacity."}
    assert requests.delete(endpoint + "/v1/" + failed["name"]).status_code == 200
    assert requests.get(endpoint + "/v1/" + failed["name"]).status_code == 404


def test_an_etag_mismatch_is_the_error_of_each_api(served):
    emulator, endpoint = served
    secrets = client("secretmanager", "v1beta2", endpoint).projects().secrets()
    secret = secrets.create(parent="projects/demo", secretId="db", body={}).execute()
    secrets.patch(name=secret["name"], updateMask="labels", body={"labels": {"a": "1"}, "etag": secret["etag"]}).execute()
    with pytest.raises(HttpError) as raised:
        secrets.patch(name=secret["name"], updateMask="labels", body={"labels": {"a": "2"}, "etag": secret["etag"]}).execute()
    assert (raised.value.resp.status, json.loads(raised.value.content)["error"]["status"]) == (400, "FAILED_PRECONDITION")

    parent = endpoint + "/v2/projects/demo/locations/us-central1/services"
    body = {"template": {"containers": [{"image": "gcr.io/demo/app:1"}]}}
    service = requests.post(parent + "?serviceId=app", json=body).json()["response"]
    assert requests.patch(parent + "/app", json={**body, "labels": {"a": "1"}, "etag": service["etag"]}).status_code == 200
    stale = requests.patch(parent + "/app", json={**body, "labels": {"a": "2"}, "etag": service["etag"]})
    assert (stale.status_code, stale.json()["error"]["status"]) == (409, "ABORTED")


def test_an_update_mask_changes_only_the_fields_it_names(served):
    emulator, endpoint = served
    secrets = client("secretmanager", "v1beta2", endpoint).projects().secrets()
    name = secrets.create(parent="projects/demo", secretId="db", body={"labels": {"a": "1"}, "annotations": {"k": "v"}}).execute()["name"]

    patched = secrets.patch(name=name, updateMask="labels", body={"labels": {"b": "2"}, "annotations": {"k": "changed"}}).execute()
    assert (patched["labels"], patched["annotations"]) == ({"b": "2"}, {"k": "v"})
    cleared = secrets.patch(name=name, updateMask="annotations", body={}).execute()
    assert "annotations" not in cleared and cleared["labels"] == {"b": "2"}


def test_a_series_written_by_another_api_is_read_by_time_series_list(served):
    emulator, endpoint = served
    emulator.metrics.describe(MEMORY, "GAUGE", "INT64", "By")
    resource = {"project_id": "demo", "instance_id": "projects/demo/locations/us-central1/instances/cache",
                "node_id": "node-0", "region": "us-central1"}
    first = math.floor(time.time() / 60) * 60 - 360  # two 60 s samples closed more than the 180 s lag ago
    for at, value in ((first + 1, 100), (first + 30, 300), (first + 61, 200), (time.time(), 999)):  # the last not visible yet
        emulator.metrics.write(MEMORY, {"role": "primary"}, "redis_instance", resource, value, at=at)
    emulator.metrics.write(MEMORY, {"role": "primary"}, "redis_instance", {**resource, "project_id": "other"}, 5, at=first)

    end = datetime.datetime.now(datetime.timezone.utc)
    window = {"interval_startTime": (end - datetime.timedelta(seconds=600)).isoformat(), "interval_endTime": end.isoformat()}
    series = client("monitoring", "v3", endpoint).projects().timeSeries()
    raw = series.list(name="projects/demo", filter='metric.type = "%s" AND resource.labels.node_id = "node-0"' % MEMORY,
                      **window).execute()["timeSeries"]
    assert len(raw) == 1
    assert (raw[0]["metricKind"], raw[0]["valueType"], raw[0]["unit"]) == ("GAUGE", "INT64", "By")
    assert raw[0]["resource"] == {"type": "redis_instance", "labels": resource}
    assert raw[0]["metric"] == {"type": MEMORY, "labels": {"role": "primary"}}
    assert [p["value"] for p in raw[0]["points"]] == [{"int64Value": "200"}, {"int64Value": "300"}]  # newest first; a gauge's last

    mean = series.list(name="projects/demo", filter='metric.type = "%s"' % MEMORY, aggregation_alignmentPeriod="600s",
                       aggregation_perSeriesAligner="ALIGN_MEAN", **window).execute()["timeSeries"]
    assert [p["value"] for p in mean[0]["points"]] == [{"doubleValue": 250.0}]
    run = series.list(name="projects/demo", filter='metric.type = "run.googleapis.com/request_count"', **window).execute()
    assert run.get("timeSeries", []) == []


def test_check_etag_raises_the_error_it_is_given():
    check_etag("", '"a"', aborted)  # no etag sent: no check
    check_etag('"a"', '"a"', aborted)
    with pytest.raises(Exception) as raised:
        check_etag('"b"', '"a"', failed_precondition)
    assert (raised.value.status, raised.value.http_status) == ("FAILED_PRECONDITION", 400)
    with pytest.raises(Exception) as raised:
        check_etag('"b"', '"a"', aborted)
    assert (raised.value.status, raised.value.http_status) == ("ABORTED", 409)


def test_apply_mask_takes_nested_paths_in_either_case_and_clears_what_the_patch_lacks():
    current = {"template": {"timeout": "10s", "scaling": {"maxInstanceCount": 3}}, "labels": {"a": "1"}}
    patch = {"template": {"timeout": "20s"}, "labels": {"b": "2"}}
    merged = apply_mask(current, patch, "template.timeout, template.scaling.max_instance_count")
    assert merged == {"template": {"timeout": "20s", "scaling": {}}, "labels": {"a": "1"}}
    assert apply_mask(current, patch, None) == apply_mask(current, patch, "*") == patch
    assert current["template"]["timeout"] == "10s"  # the current resource is not changed


@pytest.mark.parametrize("labels, message", [
    ({"Env": "x"}, "Invalid label key 'Env'"),
    ({"1env": "x"}, "Invalid label key '1env'"),
    ({"k" * 64: "x"}, "Invalid label key"),
    ({"env": "X"}, "Invalid label value 'X'"),
    ({"env": "v" * 64}, "Invalid label value"),
    ({"k%d" % i: "" for i in range(65)}, "At most 64 labels"),
])
def test_check_labels_keeps_googles_rules(labels, message):
    with pytest.raises(Exception, match=message):
        check_labels("labels", labels)
    check_labels("labels", {"env": "", "k" * 63: "v" * 63, "a_b-c": "0_-z"})
