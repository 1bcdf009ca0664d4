# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serverless VPC Access logic that needs no API: validation, the options table on Google's real connectors, and
the health verdict."""

from __future__ import annotations

import json
import pathlib

import pytest
from google.cloud import run_v2, vpcaccess_v1

from ansible_collections.orchestra.gcp.plugins.module_utils import _run, _vpc
from ansible_collections.orchestra.gcp.plugins.module_utils._gcp import GcpError

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "google"


def real_connector(fixture, **changes):
    response = dict(json.loads((FIXTURES / fixture).read_text())["response"], **changes)
    return vpcaccess_v1.Connector.from_json(json.dumps(response), ignore_unknown_fields=True)


def params(**overrides):
    p = {k: v.get("default") for k, v in _vpc.CONNECTOR_SPEC["argument_spec"].items()}
    p.update(name="orchestra-redis", region="us-central1", network="default", ip_cidr_range="10.8.0.0/28")
    p.update(overrides)
    return p


def test_a_real_network_connector_reads_as_the_module_s_options():
    have = _vpc.read_options(_vpc.CONNECTOR_OPTIONS, real_connector("vpcaccess_connector_get_network.json"))
    assert have == dict(network="${networkID}", subnet=None, subnet_project=None, ip_cidr_range="10.2.0.0/28", machine_type="e2-micro",
                        min_instances=3, max_instances=4, min_throughput=300, max_throughput=400)
    same = params(network="${networkID}", ip_cidr_range="10.2.0.0/28", min_instances=3, max_instances=4)
    assert _vpc.changed_options(_vpc.CONNECTOR_OPTIONS, _vpc.wanted(same), have) == []
    moved = params(network="${networkID}", ip_cidr_range="10.9.0.0/28", machine_type="e2-standard-4")
    assert _vpc.changed_options(_vpc.CONNECTOR_OPTIONS, _vpc.wanted(moved), have) == ["ip_cidr_range", "machine_type"]


def test_a_real_subnet_connector_reads_as_the_module_s_options_and_is_written_back_alike():
    real = real_connector("vpcaccess_connector_get_subnet.json")
    have = _vpc.read_options(_vpc.CONNECTOR_OPTIONS, real)
    assert (have["subnet"], have["subnet_project"], have["network"], have["ip_cidr_range"]) == ("${subnetworkID}", "example-project-02", None, None)
    written = vpcaccess_v1.Connector()
    _vpc.write_options(_vpc.CONNECTOR_OPTIONS, written, _vpc.wanted(params(network=None, ip_cidr_range=None, subnet="${subnetworkID}",
                                                                           subnet_project="example-project-02", min_instances=2,
                                                                           max_instances=3)))
    assert written.subnet == real.subnet and (written.min_instances, written.max_instances) == (2, 3)
    assert _vpc.connector_view(real)["short_name"] == real.name.rsplit("/", 1)[1]


@pytest.mark.parametrize("overrides, problem", [
    (dict(name="Redis"), "name 'Redis' must start with a lowercase letter"),
    (dict(name="orchestra-redis-path-x"), "under 21 characters, a hyphen counting as two"),
    (dict(region="mars"), "region 'mars' is not a region name"),
    (dict(network=None, ip_cidr_range=None), "needs a network (with ip_cidr_range) or a subnet"),
    (dict(ip_cidr_range=None), "needs ip_cidr_range"),
    (dict(network=None, subnet="s"), "takes its range from the subnet"),
    (dict(ip_cidr_range="10.8.0.0/24"), "must be a /28 IPv4 range"),
    (dict(ip_cidr_range="10.8.0.300/28"), "must be a /28 IPv4 range"),
    (dict(min_instances=1), "min_instances 1 must be from 2 through 9"),
    (dict(max_instances=11), "max_instances 11 must be from 3 through 10"),
    (dict(min_instances=4, max_instances=4), "min_instances 4 must be lower than max_instances 4"),
    (dict(min_throughput=250), "min_throughput 250 must be a multiple of 100 from 200 through 900"),
    (dict(min_throughput=500, max_throughput=400), "min_throughput 500 must be lower than max_throughput 400"),
])
def test_every_input_is_checked_before_any_call(overrides, problem):
    with pytest.raises(GcpError) as raised:
        _vpc.validate_connector_params(params(**overrides))
    assert problem in raised.value.msg and raised.value.msg.endswith("Nothing was changed.")


def test_all_problems_are_named_at_once_and_absent_needs_no_network():
    with pytest.raises(GcpError) as raised:
        _vpc.validate_connector_params(params(name="X", ip_cidr_range="bad", max_instances=20))
    assert raised.value.msg.count(";") == 2
    _vpc.validate_connector_params(params(state="absent", network=None, ip_cidr_range=None))


@pytest.mark.parametrize("state, words", [
    ("READY", None),
    ("CREATING", "is CREATING: wait for its operation to finish"),
    ("DELETING", "is being deleted"),
    ("ERROR", "is ERROR: its VMs are unhealthy and Google recommends deleting it. Re-create it"),
])
def test_the_health_verdict_names_the_connector_and_what_to_do(state, words):
    problem = _vpc.health_problem(real_connector("vpcaccess_connector_get_network.json", state=state), "connector c in us-central1")
    if words is None:
        assert problem is None
    else:
        assert problem.startswith("connector c in us-central1 ") and words in problem
    assert "does not exist: create it" in _vpc.health_problem(None, "connector c in us-central1")


def test_direct_vpc_egress_replaces_a_connector_and_reads_back_the_same():
    """cloud_run_service's network_interfaces: Google takes a connector or interfaces, so writing one clears the other."""
    service = run_v2.Service(template=run_v2.RevisionTemplate(vpc_access=run_v2.VpcAccess(connector="projects/p/locations/l/connectors/c")))
    interfaces = [dict(network="orchestra", subnetwork=None, tags=["run"])]
    _run.write_options(_run.SERVICE_OPTIONS, service, dict(network_interfaces=interfaces))
    have = _run.spec_of(service)
    assert have["vpc_connector"] is None and have["network_interfaces"] == [dict(network="orchestra", subnetwork=None, tags=["run"])]
    assert _run.changed_keys(dict(network_interfaces=[dict(network="orchestra", tags=["run"])]), have) == []
    assert _run.changed_keys(dict(network_interfaces=[dict(network="orchestra", subnetwork="run", tags=["run"])]), have) == ["network_interfaces"]
    _run.write_options(_run.SERVICE_OPTIONS, service, dict(vpc_connector="projects/p/locations/l/connectors/c"))
    assert _run.spec_of(service)["network_interfaces"] == []


@pytest.mark.parametrize("interfaces, problem", [
    ([dict(network="a", subnetwork=None, tags=None)] * 2, "network_interfaces holds one interface"),
    ([dict(network=None, subnetwork=None, tags=["run"])], "each of network_interfaces names a network, a subnetwork or both"),
])
def test_network_interfaces_are_checked_before_any_call(interfaces, problem):
    p = {k: v.get("default") for k, v in _run.SERVICE_SPEC["argument_spec"].items()}
    p.update(name="api", region="us-central1", image="us-docker.pkg.dev/p/app/api:1", network_interfaces=interfaces)
    with pytest.raises(GcpError, match=problem):
        _run.validate_service_params(p)
