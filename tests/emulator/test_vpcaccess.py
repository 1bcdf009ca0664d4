"""Serverless VPC Access v1 with Google's client (google-cloud-vpc-access, REST): connectors on a network or a
subnet, their long-running operations and states, checked against Google's recorded answers
(tests/fixtures/google/vpcaccess_*.json), and the checks the emulator makes on a connector."""

import json
import pathlib
import time
import urllib.error
import urllib.request

import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import vpcaccess_v1

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google"
PARENT = "projects/demo/locations/us-central1"
NAME = PARENT + "/connectors/redis-path"


def fixture(name):
    return json.loads((FIXTURES / name).read_text())["response"]


@pytest.fixture
def client(emulator):
    return vpcaccess_v1.VpcAccessServiceClient(transport="rest", credentials=AnonymousCredentials(),
                                               client_options={"api_endpoint": emulator.endpoint})


def raw(emulator, method, path, body=None):
    """(HTTP status, JSON answer) of a call made without the client, to see Google's JSON as sent."""
    request = urllib.request.Request(emulator.endpoint + path, data=None if body is None else json.dumps(body).encode(), method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_create_get_list_delete_answer_as_google_does(emulator, client):
    """Raw JSON against the recordings: the running and done operations, the READY connector, the delete, the 404."""
    emulator.admin("config", {"operation_seconds": 0.3})
    status, running = raw(emulator, "POST", f"/v1/{PARENT}/connectors?connectorId=redis-path",
                          {"network": "default", "ipCidrRange": "10.2.0.0/28", "machineType": "e2-micro", "minThroughput": 300, "maxThroughput": 400})
    assert status == 200
    recorded = fixture("vpcaccess_create_operation.json")
    assert set(running) == set(recorded) and set(running["metadata"]) == set(recorded["metadata"])
    assert running["name"].startswith(PARENT + "/operations/")
    assert running["metadata"]["@type"] == recorded["metadata"]["@type"]
    assert (running["metadata"]["method"], running["metadata"]["target"]) == ("google.cloud.vpcaccess.v1.VpcAccessService.CreateConnector", NAME)
    assert raw(emulator, "GET", f"/v1/{NAME}")[1]["state"] == "CREATING"

    finished = None
    for _attempt in range(50):
        finished = raw(emulator, "GET", f"/v1/{running['name']}")[1]
        if finished.get("done"):
            break
        time.sleep(0.05)
    real_done = fixture("vpcaccess_create_operation_done.json")
    assert set(finished) == set(real_done)
    real = fixture("vpcaccess_connector_get_network.json")
    assert finished["response"] == {"@type": real_done["response"]["@type"], **real, "name": NAME, "network": "default"}
    assert raw(emulator, "GET", f"/v1/{NAME}")[1] == {**real, "name": NAME, "network": "default"}

    listed = list(client.list_connectors(parent=PARENT))
    assert [c.name for c in listed] == [NAME] and listed[0].state.name == "READY"

    status, deleting = raw(emulator, "DELETE", f"/v1/{NAME}")
    assert deleting["metadata"]["method"].endswith("DeleteConnector")
    assert raw(emulator, "GET", f"/v1/{NAME}")[1]["state"] == "DELETING"
    emulator.admin("config", {"operation_seconds": 0})
    time.sleep(0.35)
    assert raw(emulator, "GET", f"/v1/{deleting['name']}")[1]["response"] == fixture("vpcaccess_delete_operation_done.json")["response"]
    assert raw(emulator, "GET", f"/v1/{NAME}") == (404, fixture("vpcaccess_connector_not_found.json"))


def test_the_official_client_creates_on_a_subnet_and_waits(emulator, client):
    emulator.admin("config", {"operation_seconds": 0})
    connector = vpcaccess_v1.Connector(subnet=vpcaccess_v1.Connector.Subnet(name="redis-subnet", project_id="demo"),
                                       min_instances=2, max_instances=3)
    created = client.create_connector(parent=PARENT, connector_id="redis-path", connector=connector).result(timeout=10)
    assert created.state.name == "READY"
    as_json = raw(emulator, "GET", f"/v1/{NAME}")[1]
    real = fixture("vpcaccess_connector_get_subnet.json")
    assert set(as_json) == set(real)
    assert {key: as_json[key] for key in ("machineType", "minInstances", "maxInstances", "minThroughput", "maxThroughput")} == \
        {key: real[key] for key in ("machineType", "minInstances", "maxInstances", "minThroughput", "maxThroughput")}
    with pytest.raises(exceptions.Conflict, match="already exists"):
        client.create_connector(parent=PARENT, connector_id="redis-path", connector=connector)
    client.delete_connector(name=NAME).result(timeout=10)
    with pytest.raises(exceptions.NotFound, match="The connector is not found."):
        client.get_connector(name=NAME)


def test_patch_changes_the_scaling_only(emulator):
    emulator.admin("config", {"operation_seconds": 0})
    raw(emulator, "POST", f"/v1/{PARENT}/connectors?connectorId=redis-path", {"network": "default", "ipCidrRange": "10.8.0.0/28"})
    status, operation = raw(emulator, "PATCH", f"/v1/{NAME}?updateMask=maxInstances,machineType", {"maxInstances": 5, "machineType": "f1-micro"})
    assert status == 200 and operation["metadata"]["method"].endswith("UpdateConnector")
    connector = raw(emulator, "GET", f"/v1/{NAME}")[1]
    assert (connector["machineType"], connector["minInstances"], connector["maxInstances"], connector["maxThroughput"]) == ("f1-micro", 2, 5, 500)
    status, body = raw(emulator, "PATCH", f"/v1/{NAME}?updateMask=network", {"network": "other"})
    assert (status, body["error"]["status"]) == (400, "INVALID_ARGUMENT")


def test_an_unhealthy_connector_is_in_error(emulator):
    emulator.admin("config", {"operation_seconds": 0})
    raw(emulator, "POST", f"/v1/{PARENT}/connectors?connectorId=redis-path", {"network": "default", "ipCidrRange": "10.8.0.0/28"})
    assert emulator.admin("vpcaccess/connector-state", {"name": NAME, "state": "ERROR"})["state"] == "ERROR"
    assert raw(emulator, "GET", f"/v1/{NAME}")[1]["state"] == "ERROR"
    status, body = raw(emulator, "PATCH", f"/v1/{NAME}?updateMask=maxInstances", {"maxInstances": 5})
    assert (status, body["error"]["status"]) == (400, "FAILED_PRECONDITION")


@pytest.mark.parametrize("connector_id, body, field", [
    ("Redis", {"network": "default", "ipCidrRange": "10.8.0.0/28"}, "connector_id"),
    ("a-very-long-connector", {"network": "default", "ipCidrRange": "10.8.0.0/28"}, "connector_id"),
    ("ok", {"ipCidrRange": "10.8.0.0/28"}, "connector"),
    ("ok", {"network": "default", "subnet": {"name": "s"}, "ipCidrRange": "10.8.0.0/28"}, "connector"),
    ("ok", {"network": "default"}, "connector.ip_cidr_range"),
    ("ok", {"network": "default", "ipCidrRange": "10.8.0.0/24"}, "connector.ip_cidr_range"),
    ("ok", {"network": "default", "ipCidrRange": "10.8.0.0/28", "machineType": "n1-standard-1"}, "connector.machine_type"),
    ("ok", {"network": "default", "ipCidrRange": "10.8.0.0/28", "minInstances": 1, "maxInstances": 3}, "connector.min_instances"),
    ("ok", {"network": "default", "ipCidrRange": "10.8.0.0/28", "minInstances": 4, "maxInstances": 4}, "connector.min_instances"),
    ("ok", {"network": "default", "ipCidrRange": "10.8.0.0/28", "minInstances": 2, "maxInstances": 11}, "connector.min_instances"),
    ("ok", {"network": "default", "ipCidrRange": "10.8.0.0/28", "minThroughput": 250, "maxThroughput": 300, "minInstances": 2,
            "maxInstances": 3}, "connector.minThroughput"),
])
def test_what_google_refuses(emulator, connector_id, body, field):
    status, answer = raw(emulator, "POST", f"/v1/{PARENT}/connectors?connectorId={connector_id}", body)
    assert (status, answer["error"]["status"]) == (400, "INVALID_ARGUMENT")
    assert answer["error"]["details"][0]["fieldViolations"][0]["field"] == field
    assert raw(emulator, "GET", f"/v1/{PARENT}/connectors")[1] == {}


def test_ranges_of_one_network_do_not_overlap(emulator):
    assert raw(emulator, "POST", f"/v1/{PARENT}/connectors?connectorId=first", {"network": "default", "ipCidrRange": "10.8.0.0/28"})[0] == 200
    status, answer = raw(emulator, "POST", f"/v1/{PARENT}/connectors?connectorId=second", {"network": "default", "ipCidrRange": "10.8.0.0/28"})
    assert status == 400 and "overlaps" in answer["error"]["message"]
    assert raw(emulator, "POST", f"/v1/{PARENT}/connectors?connectorId=second", {"network": "other", "ipCidrRange": "10.8.0.0/28"})[0] == 200


def test_cloud_run_takes_a_connector_or_network_interfaces(emulator):
    """Direct VPC egress: a revision's network interfaces are kept as sent; with a connector too, Google's refusal."""
    interfaces = [{"network": "orchestra", "subnetwork": "orchestra-run", "tags": ["orchestra"]}]
    template = {"containers": [{"image": "us-docker.pkg.dev/demo/app/api:1"}],
                "vpcAccess": {"networkInterfaces": interfaces, "egress": "PRIVATE_RANGES_ONLY"}}
    path = "/v2/projects/demo/locations/us-central1/services"
    status, answer = raw(emulator, "POST", path + "?serviceId=both",
                         {"template": dict(template, vpcAccess=dict(template["vpcAccess"], connector=NAME))})
    real = fixture("run_v2_vpc_access_one_of.json")["error"]
    assert (status, answer["error"]["status"], answer["error"]["message"]) == (400, real["status"], real["message"])
    for body in ({"template": dict(template, vpcAccess={"networkInterfaces": interfaces * 2})},
                 {"template": dict(template, vpcAccess={"networkInterfaces": [{"tags": ["orchestra"]}]})}):
        assert raw(emulator, "POST", path + "?serviceId=bad", body)[0] == 400
    assert raw(emulator, "POST", path + "?serviceId=direct", {"template": template})[0] == 200
    assert raw(emulator, "GET", path + "/direct")[1]["template"]["vpcAccess"] == template["vpcAccess"]
