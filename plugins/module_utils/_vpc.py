# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serverless VPC Access connectors: the logic behind the vpc_access_connector and vpc_access_connector_info modules.

PRIVATE to this collection. A connector is a regional group of VMs that carries a serverless service's traffic
into a VPC network. Google's client library (google-cloud-vpc-access, the v1 API's VpcAccessService) can create,
read, list and delete a connector, and has no update: a connector that differs from its options is deleted and
created again, and only when the task says ``recreate``.
"""

from __future__ import annotations

import ipaddress
import re

from ._gcp import (LOCATION_ARGSPEC, WAIT_ARGSPEC, GcpError, Option, argument_spec, changed_options, invalid, read_options,
                   short_name, to_dict, write_options)

try:
    from google.cloud import vpcaccess_v1
except ImportError:  # reported by both doors: the specs below declare VPC_LIBRARIES
    vpcaccess_v1 = None

VPC_LIBRARIES = (("google-cloud-vpc-access", "google.cloud.vpcaccess_v1"),)

# https://cloud.google.com/vpc/docs/serverless-vpc-access: a /28 range; these machine types; 2 to 10 instances,
# fewer at the minimum than at the maximum. Throughputs (Mbps, deprecated for the instances): multiples of 100,
# the minimum from 200 through 900, the maximum from 300 through 1000 (the v1 Connector's descriptions).
MACHINE_TYPES = ("e2-micro", "f1-micro", "e2-standard-4")
INSTANCES = (2, 10)
MIN_THROUGHPUT = (200, 900)
MAX_THROUGHPUT = (300, 1000)
RANGE_PREFIX = 28
# Compute Engine's naming, under 21 characters with a hyphen counting as two
# (https://cloud.google.com/appengine/docs/standard/connecting-vpc).
CONNECTOR_ID_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
MAX_ID_LENGTH = 20
REGION_RE = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")

# Every option of a connector once: argument spec and API field. None of them can change in place.
CONNECTOR_OPTIONS = dict(
    network=Option(dict(type="str"), "network"),
    subnet=Option(dict(type="str"), "subnet.name"),
    subnet_project=Option(dict(type="str"), "subnet.project_id"),
    ip_cidr_range=Option(dict(type="str"), "ip_cidr_range"),
    machine_type=Option(dict(type="str", choices=list(MACHINE_TYPES)), "machine_type"),
    min_instances=Option(dict(type="int"), "min_instances"),
    max_instances=Option(dict(type="int"), "max_instances"),
    min_throughput=Option(dict(type="int"), "min_throughput"),
    max_throughput=Option(dict(type="int"), "max_throughput"),
)

CONNECTOR_SPEC = dict(
    argument_spec=dict(
        LOCATION_ARGSPEC, **WAIT_ARGSPEC, **argument_spec(CONNECTOR_OPTIONS),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        recreate=dict(type="bool", default=False),
    ),
    mutually_exclusive=[("network", "subnet")],
    required_by=dict(subnet_project=("subnet",)),
    libraries=VPC_LIBRARIES,
)

INFO_SPEC = dict(argument_spec=dict(LOCATION_ARGSPEC), libraries=VPC_LIBRARIES)


def connector_path(project, region, name):
    return "projects/%s/locations/%s/connectors/%s" % (project, region, name)


# ---------------------------------------------------------------- validation

def _range_problems(low, high, low_bounds, high_bounds, what, step=1):
    problems = ["%s_%s %s must be %sfrom %d through %d" % (bound, what, value, "a multiple of %d " % step if step > 1 else "", lo, hi)
                for bound, value, (lo, hi) in (("min", low, low_bounds), ("max", high, high_bounds))
                if value is not None and (value % step or not lo <= value <= hi)]
    if low is not None and high is not None and low >= high:
        problems.append("min_%s %d must be lower than max_%s %d" % (what, low, what, high))
    return problems


def validate_connector_params(p):
    """Every check that needs no API call; raises GcpError naming all problems."""
    resource = "connector %s" % p["name"]
    problems = []
    if not CONNECTOR_ID_RE.match(p["name"]) or len(p["name"]) + p["name"].count("-") > MAX_ID_LENGTH:
        problems.append("name %r must start with a lowercase letter, hold lowercase letters, digits and hyphens, not end with a hyphen, "
                        "and be under 21 characters, a hyphen counting as two" % p["name"])
    if not REGION_RE.match(p["region"]):
        problems.append("region %r is not a region name like us-central1" % p["region"])
    if p["state"] == "present":
        if not (p["network"] or p["subnet"]):
            problems.append("a connector needs a network (with ip_cidr_range) or a subnet")
        if p["network"] and not p["ip_cidr_range"]:
            problems.append("a connector on network %r needs ip_cidr_range, an unused /28 range like 10.8.0.0/28" % p["network"])
        if p["subnet"] and p["ip_cidr_range"]:
            problems.append("a connector on subnet %r takes its range from the subnet: leave ip_cidr_range out" % p["subnet"])
        if p["ip_cidr_range"]:
            try:
                prefix = ipaddress.IPv4Network(p["ip_cidr_range"]).prefixlen
            except ValueError:
                prefix = None
            if prefix != RANGE_PREFIX:
                problems.append("ip_cidr_range %r must be a /28 IPv4 range like 10.8.0.0/28" % p["ip_cidr_range"])
        problems += _range_problems(p["min_instances"], p["max_instances"], (INSTANCES[0], INSTANCES[1] - 1), (INSTANCES[0] + 1, INSTANCES[1]),
                                    "instances")
        problems += _range_problems(p["min_throughput"], p["max_throughput"], MIN_THROUGHPUT, MAX_THROUGHPUT, "throughput", step=100)
    if problems:
        raise invalid(resource, problems)


# ---------------------------------------------------------------- the connector

def _client(session):
    return session.client(vpcaccess_v1.VpcAccessServiceClient)


def read_connector(session, path, resource):
    return session.get("read", resource, _client(session).get_connector, name=path)


def connector_view(connector):
    if connector is None:
        return None
    view = to_dict(connector)
    view["short_name"] = short_name(connector.name)
    return view


def wanted(p):
    """The options the task sets (those it leaves out are Google's to choose, and never a change)."""
    return {name: p[name] for name in CONNECTOR_OPTIONS if p[name] is not None}


def _diff(connector):
    return read_options(CONNECTOR_OPTIONS, connector) if connector is not None else {}


def manage_connector(session):
    """vpc_access_connector: the connector exists with the options given, or is gone; a change is a recreation."""
    p = session.params
    validate_connector_params(p)
    client = _client(session)
    path = connector_path(session.project, p["region"], p["name"])
    resource = "connector %s in %s" % (p["name"], p["region"])

    def read():
        return read_connector(session, path, resource)

    current = read()
    if p["state"] == "absent":
        if current is not None and not session.check_mode:
            session.finish(session.call("delete", resource, client.delete_connector, name=path, idempotent=True), "delete", resource, read,
                           "connector")
        return dict(changed=current is not None, connector=None, diff=dict(before=_diff(current), after={}))

    want = wanted(p)
    keys = changed_options(CONNECTOR_OPTIONS, want, read_options(CONNECTOR_OPTIONS, current)) if current is not None else []
    # recreate also replaces a connector in ERROR, as Google recommends for one.
    if current is not None and not keys and not (p["recreate"] and current.state.name == "ERROR"):
        if current.state.name != "READY":
            session.warn("%s is %s: run orchestra.gcp.vpc_access_connector_info for what to do." % (resource, current.state.name))
        return dict(changed=False, connector=connector_view(current), changed_options=[], recreated=False,
                    diff=dict(before=_diff(current), after=_diff(current)))
    if keys and not p["recreate"]:
        raise GcpError("Cannot change %s of %s: Google cannot change a connector in place (its client has no update). Nothing was "
                       "changed. Hint: set recreate=true to delete the connector and create it again; the Cloud Run services that "
                       "use it cannot reach the VPC until it is READY again." % (", ".join(keys), resource))
    connector = vpcaccess_v1.Connector()
    write_options(CONNECTOR_OPTIONS, connector, want)
    final = connector
    if not session.check_mode:
        if current is not None:  # the name is free once the delete is done, whatever the wait option says
            session.wait(session.call("delete", resource, client.delete_connector, name=path, idempotent=True), "delete", resource,
                         p["wait_timeout"])
        operation = session.call("create", resource, client.create_connector, parent="projects/%s/locations/%s" % (session.project, p["region"]),
                                 connector_id=p["name"], connector=connector, idempotent=True)
        final = session.finish(operation, "create", resource, read, "connector")
    return dict(changed=True, connector=connector_view(final), changed_options=keys, recreated=current is not None,
                diff=dict(before=_diff(current), after=_diff(final)))


# ---------------------------------------------------------------- health

def health_problem(connector, resource):
    """None for a READY connector; else one sentence naming it, its state and what to do."""
    if connector is None:
        return ("%s does not exist: create it (orchestra.gcp.vpc_access_connector, or the orchestra.gcp.vpc_access role) before "
                "deploying a service that uses it." % resource)
    state = connector.state.name
    if state == "READY":
        return None
    if state in ("CREATING", "UPDATING"):
        return "%s is %s: wait for its operation to finish, then re-run." % (resource, state)
    if state == "DELETING":
        return "%s is being deleted: create it again once it is gone, then re-run." % resource
    return ("%s is %s: its VMs are unhealthy and Google recommends deleting it. Re-create it (orchestra.gcp.vpc_access_connector "
            "with recreate=true), or move the service to Direct VPC egress (network_interfaces), then re-run."
            % (resource, state))


def describe_connector(session):
    """vpc_access_connector_info: the connector, its state, and whether a service can send traffic through it."""
    p = session.params
    resource = "connector %s in %s" % (p["name"], p["region"])
    if not REGION_RE.match(p["region"]):
        raise invalid(resource, ["region %r is not a region name like us-central1" % p["region"]])
    connector = read_connector(session, connector_path(session.project, p["region"], p["name"]), resource)
    problem = health_problem(connector, resource)
    return dict(changed=False, exists=connector is not None, state=connector.state.name if connector is not None else None,
                ready=problem is None, problem=problem, connector=connector_view(connector),
                options=read_options(CONNECTOR_OPTIONS, connector) if connector is not None else None)
