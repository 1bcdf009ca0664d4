"""Serverless VPC Access API v1 (vpcaccess.v1.json): connectors.

Stored under state["resources"]["vpcaccess.v1"]["connectors"]: {connector name: {"connector": the Connector as
Google returns it, "settleAt": when its current operation ends, or null}}. Shapes follow real recordings
(k8s-config-connector's vpcaccessconnector logs, kept as tests/fixtures/google/vpcaccess_*.json): a connector is
named by the project as the caller named it; it holds what was sent (`network` as sent, or `subnet`) plus
`machineType` (default e2-micro), both instance counts and both throughputs, and `state`. Create, patch and delete
are long-running operations named `projects/{p}/locations/{l}/operations/{id}` with an OperationMetadata
(createTime, method, target); a create answers the READY connector, a delete google.protobuf.Empty. Meanwhile the
connector is CREATING, UPDATING or DELETING (the state enum's transient states); the state settles when it is read
after `operation_seconds`. `POST /_emulator/vpcaccess/connector-state` puts a connector in ERROR (or back in READY).
"""

import copy
import ipaddress
import re
import time

from orchestra_emulator import paging
from orchestra_emulator.clock import timestamp
from orchestra_emulator.discovery import camel_case
from orchestra_emulator.errors import already_exists, failed_precondition, invalid_argument, not_found
from orchestra_emulator.operations import done_time, typed
from orchestra_emulator.registry import EmulatedApi, register
from orchestra_emulator.projects import regional_parent

DOCUMENT = "vpcaccess.v1"
PACKAGE = "google.cloud.vpcaccess.v1"
READY, CREATING, UPDATING, DELETING, ERROR = "READY", "CREATING", "UPDATING", "DELETING", "ERROR"
# https://cloud.google.com/vpc/docs/serverless-vpc-access (throughput and scaling): these machine types; at least
# 2 and at most 10 instances, fewer at the minimum than at the maximum.
MACHINE_TYPES = ("e2-micro", "f1-micro", "e2-standard-4")
MIN_INSTANCES, MAX_INSTANCES = 2, 10
# Connector.minThroughput / maxThroughput: "a multiple of 100 from 200 through 900" / "from 300 through 1000".
MIN_THROUGHPUT = (200, 900)
MAX_THROUGHPUT = (300, 1000)
# Connector names follow Compute Engine's naming ([a-z]([-a-z0-9]*[a-z0-9])?) and are under 21 characters, a hyphen
# counting as two (https://cloud.google.com/appengine/docs/standard/connecting-vpc).
_CONNECTOR_ID = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
MAX_ID_LENGTH = 20
# Fields a patch may change (the scaling of the connector); the network, subnet and range are fixed at creation.
_UPDATABLE = ("machineType", "minInstances", "maxInstances", "minThroughput", "maxThroughput")
_PAIRS = {"minInstances": "minThroughput", "minThroughput": "minInstances", "maxInstances": "maxThroughput", "maxThroughput": "maxInstances"}
_TRANSIENT = {CREATING: READY, UPDATING: READY}


@register
class VpcAccessV1(EmulatedApi):
    document = DOCUMENT
    proto_package = PACKAGE

    def __init__(self, shared):
        super().__init__(shared)
        self._store = shared.store
        prefix = "vpcaccess.projects.locations."
        self.handlers = {
            prefix + "connectors.create": (self.create, "connector"),
            prefix + "connectors.get": (self.get, None),
            prefix + "connectors.list": (self.list, None),
            prefix + "connectors.patch": (self.patch, "connector"),
            prefix + "connectors.delete": (self.delete, None),
            **self.operations.handlers(prefix, regional_parent),
        }
        self.admin = {("POST", "vpcaccess/connector-state"): self._set_state}

    def create(self, request):
        connector_id = request.query.get("connectorId", "")
        if not _CONNECTOR_ID.match(connector_id) or len(connector_id) + connector_id.count("-") > MAX_ID_LENGTH:
            raise invalid_argument(f"Invalid connector id [{connector_id}]: it must start with a lowercase letter, hold lowercase "
                                   "letters, digits and hyphens, not end with a hyphen, and be under 21 characters, a hyphen "
                                   "counting as two.", field="connector_id")
        parent = regional_parent(request.variables)
        name = f"{parent}/connectors/{connector_id}"
        connector = _with_defaults(request.body)
        with self._store.mutate() as data:
            connectors = _settle(data)  # a connector whose delete is done is gone, its name and range free
            if name in connectors:
                raise already_exists(f"Connector {name} already exists.")
            _check_range(connector, name, connectors)
            connectors[name] = {"connector": {"name": name, **connector, "state": CREATING}, "settleAt": done_time(data)}
            ready = typed(f"{PACKAGE}.Connector", {"name": name, **connector, "state": READY})
            return self._operation(data, parent, "CreateConnector", name, ready)

    def get(self, request):
        with self._store.lock:
            return copy.deepcopy(_entry(self._settled(), _name(request.variables))["connector"])

    def list(self, request):
        parent = regional_parent(request.variables)
        with self._store.lock:
            connectors = [copy.deepcopy(entry["connector"]) for name, entry in sorted(_connectors(self._settled()).items())
                          if name.startswith(parent + "/")]
        page, next_token = paging.page(connectors, request.query.get("pageSize"), request.query.get("pageToken"))
        return {"connectors": page, "nextPageToken": next_token}

    def patch(self, request):
        mask = request.query.get("updateMask") or ",".join(_UPDATABLE)
        fields = [camel_case(path.strip()) for path in mask.split(",") if path.strip()]
        if set(fields) - set(_UPDATABLE):
            raise invalid_argument(f"These fields of a connector cannot be updated: {sorted(set(fields) - set(_UPDATABLE))}.",
                                   field="update_mask")
        name = _name(request.variables)
        with self._store.mutate() as data:
            entry = _entry(data, name)
            current = entry["connector"]
            if current["state"] != READY:
                raise failed_precondition(f"The connector is {current['state']}: only a READY connector can be updated.")
            # A masked field takes the sent value (absent: cleared); its pair (instances or throughput) follows it.
            dropped = set(fields) | {_PAIRS[field] for field in fields if field in _PAIRS and _PAIRS[field] not in fields}
            kept = {key: value for key, value in current.items() if key not in dropped}
            updated = _with_defaults({**kept, **{field: request.body[field] for field in fields if field in request.body}})
            entry["connector"] = {"name": name, **updated, "state": UPDATING}
            entry["settleAt"] = done_time(data)
            return self._operation(data, regional_parent(request.variables), "UpdateConnector", name,
                                   typed(f"{PACKAGE}.Connector", {**entry["connector"], "state": READY}))

    def delete(self, request):
        name = _name(request.variables)
        with self._store.mutate() as data:
            entry = _entry(data, name)
            entry["connector"]["state"] = DELETING
            entry["settleAt"] = done_time(data)
            return self._operation(data, regional_parent(request.variables), "DeleteConnector", name, typed("google.protobuf.Empty", {}))

    def _settled(self):
        """The state with every connector whose operation is over settled; use it under the store's lock. A read
        writes the state only when an operation ended since the last one."""
        if any(entry["settleAt"] is not None and time.time() >= entry["settleAt"] for entry in _connectors(self._store.data).values()):
            with self._store.mutate() as data:
                _settle(data)
        return self._store.data

    def _operation(self, data, parent, method, target, response):
        metadata = typed(f"{PACKAGE}.OperationMetadata", {"createTime": timestamp(time.time()), "method": f"{PACKAGE}.VpcAccessService.{method}",
                                                          "target": target})
        return self.operations.start(data, parent, metadata=metadata, response=response)

    def _set_state(self, body):
        """Admin: {"name": connector name, "state": "ERROR" or "READY"}; the connector is in that state at once."""
        state = body.get("state", ERROR)
        if state not in (ERROR, READY):
            raise invalid_argument("state must be ERROR or READY.")
        with self._store.mutate() as data:
            entry = _entry(data, body.get("name", ""))
            entry["connector"]["state"] = state
            entry["settleAt"] = None
            return copy.deepcopy(entry["connector"])


def _with_defaults(sent):
    """The connector's settings as Google stores them, after the checks Google makes on them. Recorded: instances
    left out follow the throughputs (300 and 400 Mbps: 3 and 4 instances), and both are kept. Assumed: throughputs
    left out follow the instances (100 Mbps each), and with neither Google's defaults of 2 and 10 instances."""
    connector = {key: value for key, value in sent.items() if key in ("network", "subnet", "ipCidrRange", *_UPDATABLE)}
    subnet = connector.get("subnet", {}).get("name")
    if bool(connector.get("network")) == bool(subnet):
        raise invalid_argument("A connector needs either a network (with an ipCidrRange) or a subnet, not both.", field="connector")
    if connector.get("network") and not connector.get("ipCidrRange"):
        raise invalid_argument("A connector on a network needs an ipCidrRange, a /28 range.", field="connector.ip_cidr_range")
    if subnet and connector.get("ipCidrRange"):
        raise invalid_argument("A connector on a subnet takes its range from the subnet: leave ipCidrRange out.",
                               field="connector.ip_cidr_range")
    connector.setdefault("machineType", "e2-micro")
    if connector["machineType"] not in MACHINE_TYPES:
        raise invalid_argument(f"Invalid machine type [{connector['machineType']}]: one of {', '.join(MACHINE_TYPES)}.",
                               field="connector.machine_type")
    for low, high in (("minThroughput", "minInstances"), ("maxThroughput", "maxInstances")):
        if high not in connector:
            connector[high] = connector[low] // 100 if low in connector else (MIN_INSTANCES if high == "minInstances" else MAX_INSTANCES)
        connector.setdefault(low, connector[high] * 100)
    if not MIN_INSTANCES <= connector["minInstances"] < connector["maxInstances"] <= MAX_INSTANCES:
        raise invalid_argument(f"Instances must be at least {MIN_INSTANCES} and at most {MAX_INSTANCES}, fewer at the minimum "
                               f"({connector['minInstances']}) than at the maximum ({connector['maxInstances']}).",
                               field="connector.min_instances")
    for field, (low, high) in (("minThroughput", MIN_THROUGHPUT), ("maxThroughput", MAX_THROUGHPUT)):
        value = connector[field]
        if value % 100 or not low <= value <= high:
            raise invalid_argument(f"{field} must be a multiple of 100 from {low} through {high}, not {value}.", field=f"connector.{field}")
    if connector["minThroughput"] >= connector["maxThroughput"]:
        raise invalid_argument("minThroughput must be lower than maxThroughput.", field="connector.min_throughput")
    return connector


def _check_range(connector, name, connectors):
    """ipCidrRange: an unused /28 (https://cloud.google.com/vpc/docs/serverless-vpc-access, IP address ranges), here
    one that overlaps no other connector's range on the same network of the project."""
    if "ipCidrRange" not in connector:
        return
    try:
        network = ipaddress.IPv4Network(connector["ipCidrRange"])
    except ValueError:
        network = None
    if network is None or network.prefixlen != 28:
        raise invalid_argument(f"Invalid IP CIDR range [{connector['ipCidrRange']}]: it must be a /28 IPv4 range, like 10.8.0.0/28.",
                               field="connector.ip_cidr_range")
    project = name.split("/")[1]
    for other in connectors.values():
        theirs = other["connector"]
        if (theirs["name"].split("/")[1] == project and theirs.get("network") == connector["network"] and "ipCidrRange" in theirs
                and ipaddress.IPv4Network(theirs["ipCidrRange"]).overlaps(network)):
            raise invalid_argument(f"The IP CIDR range {network} overlaps the range {theirs['ipCidrRange']} of connector {theirs['name']}.",
                                   field="connector.ip_cidr_range")


def _connectors(data):
    return data["resources"].setdefault(DOCUMENT, {}).setdefault("connectors", {})


def _entry_or_none(data, name):
    """The connector, its transient state settled when its operation is over (a deleted one is gone)."""
    entry = _connectors(data).get(name)
    if entry is not None and entry["settleAt"] is not None and time.time() >= entry["settleAt"]:
        if entry["connector"]["state"] == DELETING:
            del _connectors(data)[name]
            return None
        entry["connector"]["state"] = _TRANSIENT.get(entry["connector"]["state"], entry["connector"]["state"])
        entry["settleAt"] = None
    return entry


def _settle(data):
    """Every connector settled (see _entry_or_none); returns them."""
    for name in list(_connectors(data)):
        _entry_or_none(data, name)
    return _connectors(data)


def _entry(data, name):
    entry = _entry_or_none(data, name)
    if entry is None:
        raise not_found("The connector is not found.")  # Google's words (tests/fixtures/google/vpcaccess_connector_not_found.json)
    return entry


def _name(variables):
    return f"{regional_parent(variables)}/connectors/{variables['connectorsId']}"
