"""vpc_access_connector and vpc_access_connector_info, and Direct VPC egress through cloud_run_service, driven through
ansible-runner against the emulator's Serverless VPC Access and Cloud Run."""

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import vpcaccess_v1
from test_cloud_run_service import IMAGE, assert_changed_changed_unchanged_unchanged, four_times

NETWORK = dict(network="orchestra", ip_cidr_range="10.8.0.0/28", min_instances=2, max_instances=3)
# (options, words of the error): each refused before any call.
BAD_INPUT = [
    (dict(NETWORK, name="Redis_Path"), "must start with a lowercase letter"),
    (dict(NETWORK, region="mars"), "region 'mars' is not a region name"),
    (dict(NETWORK, ip_cidr_range=None), "needs ip_cidr_range"),
    (dict(NETWORK, ip_cidr_range="10.8.0.0/24"), "must be a /28 IPv4 range"),
    (dict(NETWORK, subnet="redis"), "mutually exclusive: network|subnet"),
    (dict(NETWORK, machine_type="n1-standard-1"), "value of machine_type must be one of"),
    (dict(NETWORK, min_instances=1), "min_instances 1 must be from 2 through 9"),
    (dict(NETWORK, min_instances=3, max_instances=3), "min_instances 3 must be lower than max_instances 3"),
    (dict(NETWORK, min_throughput=250), "min_throughput 250 must be a multiple of 100"),
    (dict(subnet="redis", ip_cidr_range="10.8.0.0/28"), "takes its range from the subnet"),
    (dict(NETWORK, subnet_project="host"), "missing parameter(s) required by 'subnet_project': subnet"),
]


def connector(name, **options):
    options = {key: value for key, value in options.items() if value is not None}
    return {"orchestra.gcp.vpc_access_connector": dict({"name": name, "region": "{{ region }}"}, **options)}


def test_a_connector_is_created_recreated_checked_and_deleted(emulated):
    name = "redis-path"
    path = "projects/orchestra-test/locations/us-central1/connectors/" + name
    bad = [dict(name="bad %d" % i, ignore_errors=True, **connector(**dict({"name": name}, **options))) for i, (options, _words) in enumerate(BAD_INPUT)]
    play = emulated.run(bad + four_times(connector(name, **NETWORK)))
    for i, (_options, words) in enumerate(BAD_INPUT):
        result = play.task("bad %d" % i)
        assert result["_failed"] and words in result["msg"], (i, result["msg"])
    assert_changed_changed_unchanged_unchanged(play)
    assert play.task("check 1")["diff"]["after"]["ip_cidr_range"] == "10.8.0.0/28"
    assert [(c["method"], c["path"]) for c in emulated.emulator.log()] == [("POST", "/v1/projects/orchestra-test/locations/us-central1/connectors")], \
        "bad input and check runs call nothing that changes"
    client = vpcaccess_v1.VpcAccessServiceClient(transport="rest", credentials=AnonymousCredentials(),
                                                 client_options=ClientOptions(api_endpoint=emulated.endpoint))
    live = client.get_connector(name=path)
    assert (live.network, live.ip_cidr_range, live.min_instances, live.max_instances, live.state.name) == ("orchestra", "10.8.0.0/28", 2, 3, "READY")

    # A range cannot change in place: refused with the way forward, nothing called; then done with recreate.
    moved = {**NETWORK, "ip_cidr_range": "10.9.0.0/28"}
    before = len(emulated.emulator.log())
    play = emulated.run([dict(name="move", ignore_errors=True, **connector(name, **moved)),
                         dict(name="recreate", **connector(name, recreate=True, **moved)),
                         dict(name="again", **connector(name, recreate=True, **moved))])
    assert "Cannot change ip_cidr_range of connector redis-path" in play.task("move")["msg"] and "recreate=true" in play.task("move")["msg"]
    assert play.task("recreate")["recreated"] and play.task("recreate")["changed_options"] == ["ip_cidr_range"]
    assert not play.task("again")["changed"]
    assert [c["method"] for c in emulated.emulator.log()[before:]] == ["DELETE", "POST"]
    assert client.get_connector(name=path).ip_cidr_range == "10.9.0.0/28"

    # An unhealthy connector: the health check names it and what to do; recreate replaces it; then it is deleted.
    emulated.emulator.admin("vpcaccess/connector-state", {"name": path, "state": "ERROR"})
    # The vpc_access role, as deploy.yml runs it before the rollout: it stops the play, naming the connector, and nothing changes.
    before = len(emulated.emulator.log())
    play = emulated.run([{"name": "preflight", "ansible.builtin.include_role": {"name": "orchestra.gcp.vpc_access"},
                          "vars": {"vpc_access_connectors": [dict(moved, name=name, region="us-central1")]}},
                         dict(name="rollout", **{"orchestra.gcp.cloud_run_service": dict(name=emulated.name("vpc"), region="{{ region }}",
                                                                                         image=IMAGE % 1, vpc_connector=path)})])
    assert play.rc != 0 and "connector redis-path in us-central1 is ERROR" in play.task("Stop before the rollout when a connector is not READY")["msg"]
    assert "rollout" not in [r["_task"] for r in play.results] and emulated.emulator.log()[before:] == []
    info = {"orchestra.gcp.vpc_access_connector_info": {"name": name, "region": "{{ region }}"}}
    play = emulated.run([dict(name="sick", **info), dict(name="heal", **connector(name, recreate=True, **moved)), dict(name="healthy", **info),
                         dict(name="gone", **connector(name, state="absent")), dict(name="gone again", **connector(name, state="absent")),
                         dict(name="missing", **info)])
    sick = play.task("sick")
    assert (sick["exists"], sick["state"], sick["ready"], sick["options"]["ip_cidr_range"]) == (True, "ERROR", False, "10.9.0.0/28")
    assert sick["problem"].startswith("connector redis-path in us-central1 is ERROR") and "recreate=true" in sick["problem"]
    assert play.task("heal")["recreated"] and play.task("healthy")["ready"] and play.task("healthy")["problem"] is None
    assert [play.task(n)["changed"] for n in ("gone", "gone again")] == [True, False]
    assert not play.task("missing")["exists"] and "does not exist: create it" in play.task("missing")["problem"]


@pytest.mark.one_core  # cloud_run_service's paths through Ansible are walked on every core by its own scenarios
def test_a_service_uses_direct_vpc_egress(emulated):
    name = emulated.name("vpc")
    interfaces = [{"network": "orchestra", "subnetwork": "orchestra-run", "tags": ["orchestra"]}]
    service = {"orchestra.gcp.cloud_run_service": dict(name=name, region="{{ region }}", image=IMAGE % 1, network_interfaces=interfaces,
                                                       vpc_egress="private-ranges-only")}
    both = {"orchestra.gcp.cloud_run_service": dict(service["orchestra.gcp.cloud_run_service"], vpc_connector="projects/p/locations/l/connectors/c")}
    two = {"orchestra.gcp.cloud_run_service": dict(service["orchestra.gcp.cloud_run_service"], network_interfaces=interfaces * 2)}
    play = emulated.run([dict(name="both", ignore_errors=True, **both), dict(name="two", ignore_errors=True, **two),
                         dict(name="create", **service), dict(name="same", **service)])
    assert "mutually exclusive: vpc_connector|network_interfaces" in play.task("both")["msg"]
    assert "Cloud Run supports a single one" in play.task("two")["msg"]
    assert [play.task(n)["changed"] for n in ("create", "same")] == [True, False]
    vpc = emulated.service(name).template.vpc_access
    assert ([(i.network, i.subnetwork, list(i.tags)) for i in vpc.network_interfaces], vpc.connector, vpc.egress.name) == \
        ([("orchestra", "orchestra-run", ["orchestra"])], "", "PRIVATE_RANGES_ONLY")
