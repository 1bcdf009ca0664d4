# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cloud Run services, revisions and traffic: the logic behind the cloud_run_* modules.

PRIVATE to this collection. Each public function takes a ``Session`` (see ``_gcp``) and returns
the module result; each ``*_SPEC`` is the argument spec of the module of the same name.
"""

from __future__ import annotations

import datetime
import random
import re
import string

from ._gcp import (LOCATION_ARGSPEC, WAIT_ARGSPEC, GcpError, Option, argument_spec, changed_options, copy_message, invalid,
                   label_problems, merge_labels, missing_libraries, read_options, short_name, to_dict, write_options)
from ._secrets import ALIAS_RE, SECRET_LIBRARIES, read_secret, secret_path

try:
    from google.cloud import run_v2
except ImportError:  # reported by both doors: the specs below declare RUN_LIBRARIES
    run_v2 = None

RUN_LIBRARIES = (("google-cloud-run", "google.cloud.run_v2"),)

# https://cloud.google.com/run/docs/locations
REGIONS = frozenset("""
    africa-south1 asia-east1 asia-east2 asia-northeast1 asia-northeast2 asia-northeast3 asia-south1
    asia-south2 asia-southeast1 asia-southeast2 australia-southeast1 australia-southeast2
    europe-central2 europe-north1 europe-southwest1 europe-west1 europe-west10 europe-west12
    europe-west2 europe-west3 europe-west4 europe-west6 europe-west8 europe-west9 me-central1
    me-central2 me-west1 northamerica-northeast1 northamerica-northeast2 southamerica-east1
    southamerica-west1 us-central1 us-east1 us-east4 us-east5 us-south1 us-west1 us-west2 us-west3
    us-west4""".split())

# Service-level annotation in which the modules remember the revision that served 100% of the
# traffic before they moved traffic away from it: the target of ``rollback``.
STABLE_ANNOTATION = "orchestra.gcp/stable-revision"
# Service-level annotation listing the revisions a rollout rejected (newest last, at most REJECTED_KEPT).
# A revision cannot carry the mark itself: the v2 API has no method that changes a revision
# (run.v2 discovery document: projects.locations.services.revisions has delete, exportStatus, get, list).
REJECTED_ANNOTATION = "orchestra.gcp/rejected-revisions"
REJECTED_KEPT = 10
# The v2 API rejects annotations in these namespaces (run.v2 discovery document, Service.annotations).
RESERVED_NAMESPACES = ("run.googleapis.com", "cloud.googleapis.com", "serving.knative.dev", "autoscaling.knative.dev")
# Set by Cloud Run in every container (https://cloud.google.com/run/docs/container-contract#env-vars).
RESERVED_ENV = frozenset(["PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"])

SERVICE_NAME_RE = re.compile(r"^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$")
DNS_LABEL_RE = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
SUFFIX_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
SECRET_VERSION_RE = re.compile(r"^([1-9][0-9]*|latest)$")  # what a revision holds: an alias is resolved to its number
CPU_RE = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
MEMORY_RE = re.compile(r"^(\d+)(Mi|Gi|M|G)$")
# A container image reference: [registry[:port]/]path[:tag][@sha256:digest], lowercase path.
IMAGE_RE = re.compile(
    r"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$")

INGRESS = {"all": "INGRESS_TRAFFIC_ALL", "internal": "INGRESS_TRAFFIC_INTERNAL_ONLY",
           "internal-and-cloud-load-balancing": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"}
EXECUTION_ENVIRONMENTS = {"gen1": "EXECUTION_ENVIRONMENT_GEN1", "gen2": "EXECUTION_ENVIRONMENT_GEN2"}
VPC_EGRESS = {"all-traffic": "ALL_TRAFFIC", "private-ranges-only": "PRIVATE_RANGES_ONLY"}

TRAFFIC_SPEC = dict(
    argument_spec=dict(
        LOCATION_ARGSPEC, **WAIT_ARGSPEC,
        traffic=dict(type="list", elements="dict", options=dict(
            revision=dict(type="str"),
            latest=dict(type="bool", default=False),
            tag=dict(type="str"),
            percent=dict(type="int", default=0),
        )),
        rollback=dict(type="bool", default=False),
        reject=dict(type="str"),
    ),
    mutually_exclusive=[("traffic", "rollback")],
    required_one_of=[("traffic", "rollback")],
    libraries=RUN_LIBRARIES,
)

SERVICE_INFO_SPEC = dict(argument_spec=dict(LOCATION_ARGSPEC), libraries=RUN_LIBRARIES)


# ---------------------------------------------------------------- names and conversions

def service_path(project, region, name):
    return "projects/%s/locations/%s/services/%s" % (project, region, name)


def cpu_millis(value):
    """'1' -> 1000, '0.5' -> 500, '500m' -> 500; None when malformed."""
    m = CPU_RE.match(str(value))
    if not m:
        return None
    return int(round(float(m.group(1)) * (1 if m.group(2) else 1000)))


def memory_mib(value):
    """'512Mi' -> 512, '1Gi' -> 1024, '1G' -> 953; None when malformed."""
    m = MEMORY_RE.match(str(value))
    if not m:
        return None
    factor = {"Mi": 1.0, "Gi": 1024.0, "M": 1e6 / 2 ** 20, "G": 1e9 / 2 ** 20}[m.group(2)]
    return int(int(m.group(1)) * factor)


# ---------------------------------------------------------------- validation

def _annotation_problems(annotations):
    return ["annotation %r is in a namespace Cloud Run reserves (%s)" % (key, ", ".join(RESERVED_NAMESPACES))
            for key in annotations or {} if str(key).split("/", 1)[0] in RESERVED_NAMESPACES]


# What Google fills in when a template leaves these out (tests/fixtures/google/run_v2_service_latest.json; cpu and
# memory from k8s-config-connector's mockgcp; max instances from the run.v2 discovery document, "When unspecified,
# the field is set to the server default value of 100"). The cross-field limits apply to them as to set values.
GOOGLE_DEFAULTS = dict(cpu="1000m", memory="512Mi", concurrency=80, max_instances=100)


def _problems_in_resources(spec):
    """Cross-field limits (https://cloud.google.com/run/docs/configuring/services/cpu and .../memory-limits)
    between the options ``spec`` holds; a rule whose options are not all known is not checked."""
    problems = []
    cpu = cpu_millis(spec["cpu"]) if spec.get("cpu") else None
    mem = memory_mib(spec["memory"]) if spec.get("memory") else None
    if cpu is not None and mem is not None:
        for limit_mib, min_cpu in ((24 * 1024, 8000), (16 * 1024, 6000), (8 * 1024, 4000), (4 * 1024, 2000),
                                   (1024, 1000), (512, 500)):
            if mem > limit_mib and cpu < min_cpu:
                problems.append("memory %s needs at least %g CPU, not %s" % (spec["memory"], min_cpu / 1000.0, spec["cpu"]))
                break
    if cpu is not None and cpu < 1000 and spec.get("concurrency") not in (None, 1):
        problems.append("cpu %s below 1 needs concurrency 1" % spec["cpu"])
    min_i, max_i = spec.get("min_instances"), spec.get("max_instances")
    if min_i and max_i and min_i > max_i:
        problems.append("min_instances %d is greater than max_instances %d" % (min_i, max_i))
    return problems


REGION_PROBLEM = "region %r is not a Cloud Run region (see https://cloud.google.com/run/docs/locations)"


def check_region(region, resource):
    if region not in REGIONS:
        raise invalid(resource, [REGION_PROBLEM % region])


def validate_service_params(p):
    """Every check that needs no API call; raises GcpError listing all problems."""
    problems = []
    if not SERVICE_NAME_RE.match(p["name"]):
        problems.append("name %r must start with a lowercase letter, hold only lowercase letters, digits and '-', "
                        "not end with '-', and be under 50 characters" % p["name"])
    if p["region"] not in REGIONS:
        problems.append(REGION_PROBLEM % p["region"])
    if p["state"] == "present":
        if p["image"] is not None and not IMAGE_RE.match(p["image"]):
            problems.append("image %r is not a container image reference like "
                            "REGISTRY/PATH[:TAG][@sha256:DIGEST] with a lowercase path" % p["image"])
        cpu = p["cpu"]
        if cpu is not None:
            millis = cpu_millis(cpu)
            if millis is None or not (80 <= millis <= 1000 or millis in (2000, 4000, 6000, 8000)):
                problems.append("cpu %r must be between 0.08 and 1, or one of 2, 4, 6, 8" % cpu)
        mem = p["memory"]
        if mem is not None:
            mib = memory_mib(mem)
            if mib is None or not 128 <= mib <= 32 * 1024:
                problems.append("memory %r must be between 128Mi and 32Gi (units Mi, Gi, M or G)" % mem)
        for key, low, high in (("min_instances", 0, 1000), ("max_instances", 1, 1000), ("concurrency", 1, 1000),
                               ("timeout", 1, 3600), ("port", 1, 65535)):
            if p[key] is not None and not low <= p[key] <= high:
                problems.append("%s %d must be between %d and %d" % (key, p[key], low, high))
        problems += _problems_in_resources({k: p[k] for k in ("cpu", "memory", "concurrency", "min_instances", "max_instances")})
        problems += label_problems(p["labels"])
        problems += _annotation_problems(p["annotations"])
        if len(p["network_interfaces"] or []) > 1:
            problems.append("network_interfaces holds one interface: Cloud Run supports a single one")
        if any(not (i["network"] or i["subnetwork"]) for i in p["network_interfaces"] or []):
            problems.append("each of network_interfaces names a network, a subnetwork or both")
        names = list(p["env"] or {}) + list(p["secret_env"] or {})
        for env_name in names:
            if not ENV_NAME_RE.match(env_name) or env_name in RESERVED_ENV:
                problems.append("environment variable name %r is invalid or reserved by Cloud Run" % env_name)
        if len(set(names)) != len(names):
            problems.append("environment variables %s are set both in env and secret_env"
                            % sorted(set(n for n in names if names.count(n) > 1)))
        for env_name, ref in (p["secret_env"] or {}).items():
            version = str(ref.get("version", "")) if isinstance(ref, dict) else ""
            if not isinstance(ref, dict) or not ref.get("secret") or not (SECRET_VERSION_RE.match(version) or ALIAS_RE.match(version)):
                problems.append("secret_env %r must be a mapping with 'secret' and a 'version': a number, an alias such as "
                                "'current', or 'latest'" % env_name)
        if p["tag"] is not None and not DNS_LABEL_RE.match(p["tag"]):
            problems.append("tag %r must be a lowercase DNS label (letters, digits, '-'; starting with a letter)" % p["tag"])
        if p["revision_suffix"] is not None and (not SUFFIX_RE.match(p["revision_suffix"])
                                                 or len(p["name"]) + 1 + len(p["revision_suffix"]) > 63):
            problems.append("revision_suffix %r must be lowercase letters, digits and '-', and the revision name "
                            "'%s-SUFFIX' at most 63 characters" % (p["revision_suffix"], p["name"]))
    if problems:
        raise invalid("Cloud Run service %s" % p["name"], problems)
    return ["secret_env %s uses version 'latest': Cloud Run reads it when an instance starts, so a rotated secret "
            "reaches the service only through a new revision; pin a version number" % env_name
            for env_name, ref in sorted((p["secret_env"] or {}).items()) if str(ref["version"]) == "latest"]


def resolve_secret_aliases(session, p, resource, refuse=True):
    """``p`` with each secret_env version that is an alias replaced by the number the alias names now. A revision is
    immutable, and Cloud Run would read an alias again each time an instance starts: pinned to the number, a revision
    keeps the value it was made with, and a rotation reaches the service through a new revision. So a spec that names
    ``current`` deploys what the last rotation made current, and is no change after it. One read per secret.
    An alias that names no version is refused; in check mode, and with ``refuse`` false (a plan, which the deploy
    that follows checks again), it is left as it is with a warning: an earlier task may create the secret."""
    refs = {env: ref for env, ref in (p.get("secret_env") or {}).items()
            if isinstance(ref, dict) and ref.get("secret") and ALIAS_RE.match(str(ref.get("version"))) and ref["version"] != "latest"}
    if not refs:
        return p
    missing = missing_libraries(SECRET_LIBRARIES)
    if missing:
        raise GcpError("Cannot resolve the secret aliases of %s (secret_env %s): the Python library %s is missing on the "
                       "host that runs the module. Install it, or pin version numbers. Nothing was changed."
                       % (resource, ", ".join(sorted(refs)), ", ".join(missing)))
    resolved, secrets, problems = dict(p["secret_env"]), {}, []
    for env, ref in sorted(refs.items()):
        path = ref["secret"] if ref["secret"].startswith("projects/") else secret_path(session.project, ref["secret"])
        if path not in secrets:
            secrets[path] = read_secret(session, path, "secret %s" % path)
        aliases = dict(secrets[path].version_aliases) if secrets[path] else None
        if aliases is None or ref["version"] not in aliases:
            problems.append("secret_env %s names the alias %r of secret %s, which %s" % (
                env, ref["version"], path, "does not exist" if aliases is None else
                "has no such alias (its aliases: %s)" % (", ".join("%s=%s" % kv for kv in sorted(aliases.items())) or "none")))
        else:
            resolved[env] = dict(ref, version=str(aliases[ref["version"]]))
    if problems and refuse and not session.check_mode:
        raise invalid(resource, problems)
    for problem in problems:
        session.warn("%s: left unresolved; a deploy refuses it unless the secret has the alias by then" % problem)
    return dict(p, secret_env=resolved)


def validate_traffic_entries(name, entries):
    problems = []
    tags = [e["tag"] for e in entries if e["tag"]]
    for i, e in enumerate(entries):
        where = "traffic[%d]" % i
        if bool(e["revision"]) + bool(e["latest"]) > 1:
            problems.append("%s names both a revision and latest: choose one" % where)
        if not e["revision"] and not e["latest"] and not e["tag"]:
            problems.append("%s needs a revision, latest: true, or the tag of a revision" % where)
        if not 0 <= e["percent"] <= 100:
            problems.append("%s percent %d must be between 0 and 100" % (where, e["percent"]))
        if e["tag"] and not DNS_LABEL_RE.match(e["tag"]):
            problems.append("%s tag %r must be a lowercase DNS label" % (where, e["tag"]))
    for tag in sorted(set(t for t in tags if tags.count(t) > 1)):
        problems.append("tag %r is given more than once" % tag)
    total = sum(e["percent"] for e in entries)
    if total != 100:
        # Knative's rule, which Cloud Run follows (knative/serving pkg/apis/serving/v1/route_validation.go,
        # validateTrafficList: "Traffic targets sum to %d, want 100").
        problems.append("percentages sum to %d, want 100" % total)
    if problems:
        raise invalid("Cloud Run service %s" % name, problems, "traffic")


# ---------------------------------------------------------------- the options of a service

def _container(service):
    t = service.template
    return t.containers[0] if t.containers else run_v2.Container()


def _read_port(service):
    c = _container(service)
    return c.ports[0].container_port if c.ports else None


def _write_port(service, port):
    c = service.template.containers[0]
    probe = c.startup_probe.tcp_socket
    if probe.port and c.ports and probe.port == c.ports[0].container_port:
        probe.port = port  # Google's default TCP startup probe checks the old port by number
    c.ports = [run_v2.ContainerPort(name="http1", container_port=port)]


def _read_env(service, secret):
    """The plain variables (``secret`` false) or those read from Secret Manager, of the first container."""
    env = {}
    for var in _container(service).env:
        ref = var.value_source.secret_key_ref
        if secret and ref.secret:
            env[var.name] = {"secret": ref.secret, "version": ref.version}
        elif not secret and not ref.secret:
            env[var.name] = var.value
    return env


def _write_env(service, values, secret):
    """Replace the plain variables or the secret ones, keeping the others; plain ones first, each kind sorted."""
    plain = _read_env(service, False) if secret else values
    secrets = values if secret else _read_env(service, True)
    service.template.containers[0].env = [run_v2.EnvVar(name=k, value=str(plain[k])) for k in sorted(plain)] + [
        run_v2.EnvVar(name=k, value_source=run_v2.EnvVarSource(secret_key_ref=run_v2.SecretKeySelector(
            secret=secrets[k]["secret"], version=str(secrets[k]["version"])))) for k in sorted(secrets)]


def _write_annotations(service, annotations):
    stable = service.annotations.get(STABLE_ANNOTATION)
    service.annotations = dict(annotations, **({STABLE_ANNOTATION: stable} if stable else {}))


def _write_timeout(service, seconds):
    service.template.timeout = datetime.timedelta(seconds=seconds)


def _read_interfaces(service):
    return [{"network": i.network or None, "subnetwork": i.subnetwork or None, "tags": list(i.tags)}
            for i in service.template.vpc_access.network_interfaces]


def _write_interfaces(service, interfaces):
    """Direct VPC egress; Google takes a connector or network interfaces, never both, so these replace the connector."""
    service.template.vpc_access.network_interfaces = [
        run_v2.VpcAccess.NetworkInterface(network=i.get("network") or "", subnetwork=i.get("subnetwork") or "", tags=i.get("tags") or [])
        for i in interfaces]
    if interfaces:
        service.template.vpc_access.connector = ""


def _write_connector(service, connector):
    service.template.vpc_access.connector = connector
    if connector:
        service.template.vpc_access.network_interfaces = []


def _same_interfaces(want, have):
    return [dict(network=i.get("network") or None, subnetwork=i.get("subnetwork") or None, tags=list(i.get("tags") or []))
            for i in want] == (have or [])


C = "template.containers.0."
# Every option of a service, once: its argument spec, the API field, and how it compares. ``revision`` marks the
# options of the revision template: a change to one of them makes a new revision.
SERVICE_OPTIONS = dict(
    image=Option(dict(type="str"), C + "image", revision=True),
    command=Option(dict(type="list", elements="str"), C + "command", revision=True),
    args=Option(dict(type="list", elements="str"), C + "args", revision=True),
    port=Option(dict(type="int"), read=_read_port, write=_write_port, revision=True),
    env=Option(dict(type="dict"), read=lambda s: _read_env(s, False), write=lambda s, v: _write_env(s, v, False),
               same=lambda want, have: {k: str(v) for k, v in want.items()} == (have or {}), revision=True),
    # secret names and versions, never values
    secret_env=Option(dict(type="dict", no_log=False), read=lambda s: _read_env(s, True), write=lambda s, v: _write_env(s, v, True),
                      same=lambda want, have: {k: dict(v, version=str(v["version"])) for k, v in want.items()} == (have or {}),
                      revision=True),
    # equal quantities in any notation; an unset one is Google's default
    cpu=Option(dict(type="str"), C + "resources.limits.cpu", same=lambda want, have: cpu_millis(want) == cpu_millis(have or GOOGLE_DEFAULTS["cpu"]),
               revision=True),
    memory=Option(dict(type="str"), C + "resources.limits.memory",
                  same=lambda want, have: memory_mib(want) == memory_mib(have or GOOGLE_DEFAULTS["memory"]), revision=True),
    min_instances=Option(dict(type="int"), "template.scaling.min_instance_count", revision=True),
    max_instances=Option(dict(type="int"), "template.scaling.max_instance_count", revision=True),
    concurrency=Option(dict(type="int"), "template.max_instance_request_concurrency", revision=True),
    timeout=Option(dict(type="int"), read=lambda s: int(s.template.timeout.total_seconds()) if s.template.timeout else None,
                   write=_write_timeout, revision=True),
    execution_environment=Option(dict(type="str", choices=sorted(EXECUTION_ENVIRONMENTS)), "template.execution_environment",
                                 choices=EXECUTION_ENVIRONMENTS, revision=True),
    ingress=Option(dict(type="str", choices=sorted(INGRESS)), "ingress", choices=INGRESS),
    service_account=Option(dict(type="str"), "template.service_account", revision=True),
    vpc_connector=Option(dict(type="str"), "template.vpc_access.connector", write=_write_connector, revision=True),
    network_interfaces=Option(dict(type="list", elements="dict", options=dict(network=dict(type="str"), subnetwork=dict(type="str"),
                                                                              tags=dict(type="list", elements="str"))),
                              read=_read_interfaces, write=_write_interfaces, same=_same_interfaces, revision=True),
    vpc_egress=Option(dict(type="str", choices=sorted(VPC_EGRESS)), "template.vpc_access.egress", choices=VPC_EGRESS, revision=True),
    labels=Option(dict(type="dict"), "labels"),
    annotations=Option(dict(type="dict"), read=lambda s: {k: v for k, v in s.annotations.items() if k != STABLE_ANNOTATION},
                       write=_write_annotations),
)
# The revision's name is a field of the template too: the module sets it from revision_suffix, or names one itself.
MANAGED_OPTIONS = dict(SERVICE_OPTIONS, revision=Option(dict(type="str"), "template.revision", revision=True))
TEMPLATE_KEYS = tuple(name for name, option in MANAGED_OPTIONS.items() if option.tags.get("revision"))

SERVICE_SPEC = dict(
    argument_spec=dict(
        LOCATION_ARGSPEC, **WAIT_ARGSPEC, **argument_spec(SERVICE_OPTIONS),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        purge_labels=dict(type="bool", default=True),
        purge_annotations=dict(type="bool", default=True),
        traffic=dict(type="str", default="latest", choices=["latest", "revision", "none"]),
        tag=dict(type="str"),
        revision_suffix=dict(type="str"),
    ),
    required_if=[("state", "present", ["image"])],
    mutually_exclusive=[("vpc_connector", "network_interfaces")],
    libraries=RUN_LIBRARIES,
)


# ---------------------------------------------------------------- spec <-> Service

def spec_of(service):
    """The module's view of a Service (its options), for comparison and diff."""
    return read_options(MANAGED_OPTIONS, service)


def desired_spec(p, current):
    """The options the user set, with labels and annotations merged per purge_*; only these are managed."""
    want = {k: p[k] for k in SERVICE_OPTIONS if p.get(k) is not None}
    if p.get("revision_suffix"):
        want["revision"] = new_revision_name(p["name"], 0, p["revision_suffix"])
    for key in ("labels", "annotations"):
        if key in want:
            want[key] = merge_labels(want[key], current.get(key), p["purge_" + key])
    return want


def changed_keys(want, current):
    return changed_options(MANAGED_OPTIONS, want, current)


def apply_spec(service, want, revision_name):
    """Write the managed options into ``service`` (a copy of the live one), leaving the rest alone."""
    if not service.template.containers:
        service.template.containers.append(run_v2.Container())
    write_options(MANAGED_OPTIONS, service, want)
    if revision_name:
        service.template.revision = revision_name


def new_revision_name(service_name, generation, suffix=None):
    """Google's pattern ``{service}-{NNNNN}-{xyz}`` (the suffix holds digits too: ``ci-static-ct-00001-6hx``),
    chosen here so that a retried request names the same revision and cannot create a second one."""
    if suffix:
        return "%s-%s" % (service_name, suffix)
    return "%s-%05d-%s" % (service_name, generation, "".join(random.choices(string.ascii_lowercase + string.digits, k=3)))


# ---------------------------------------------------------------- traffic

LATEST = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
REVISION = "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"


def target(revision=None, percent=0, tag=""):
    """A TrafficTarget: to ``revision``, or to LATEST when it is None."""
    if revision is None:
        return run_v2.TrafficTarget(type_=LATEST, percent=percent, tag=tag)
    return run_v2.TrafficTarget(type_=REVISION, revision=revision, percent=percent, tag=tag)


def routed_revision(service, status):
    """The revision a traffic status (or target) of ``service`` routes to. Google leaves ``revision`` out of
    a LATEST status (a real Ready service reads ``"trafficStatuses": [{"percent": 100, "type":
    "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"}]``, firebase-tools src/gcp/runv2.ts); like gcloud
    (command_lib/run/v2/instance_split.py), resolve it from ``latestReadyRevision``, a full resource name."""
    if status.type_.name == LATEST:
        return short_name(service.latest_ready_revision)
    return status.revision


def traffic_view(targets, service=None):
    """Targets or statuses as sorted plain rows, for comparison and diff; with ``service``, a LATEST row
    names the revision it routes to."""
    rows = [dict(type="LATEST" if t.type_.name == LATEST else "REVISION",
                 revision=(routed_revision(service, t) if service is not None else t.revision) or None,
                 percent=t.percent, tag=t.tag or None) for t in targets]
    return sorted(rows, key=lambda r: (-r["percent"], r["revision"] or "", r["tag"] or ""))


def serving_revision(service):
    """The revision that serves 100% of the traffic now, if one does."""
    full = [routed_revision(service, s) for s in service.traffic_statuses if s.percent == 100]
    return full[0] if full else None


def tagged_revisions(service):
    """Tag -> the revision it reaches, from what the service serves now."""
    return {s.tag: routed_revision(service, s) for s in service.traffic_statuses if s.tag}


def _single_target(targets, latest):
    full = [t for t in targets if t.percent == 100]
    if not full:
        return None
    return latest if full[0].type_.name == LATEST else full[0].revision


def remember_stable(service, current, latest):
    """When traffic moves away from a revision that served 100%, note it as the rollback target."""
    stable = serving_revision(current)
    if stable and _single_target(service.traffic, latest) != stable:
        service.annotations[STABLE_ANNOTATION] = stable


def deploy_traffic(current, revision, mode, tag):
    """Traffic for a new revision: all of it, to LATEST at 100% (``latest``) or to the new revision by
    name (``revision``), or none (LATEST pinned where it points now, as ``gcloud run deploy --no-traffic``
    does). Other tags stay where they are (at 0% when the new revision takes all the traffic); ``tag``
    moves to the new revision."""
    latest_ready = short_name(current.latest_ready_revision)
    kept = []
    for t in current.traffic:
        pinned = t.revision if t.type_.name == REVISION else latest_ready
        own_tag = "" if t.tag == tag else t.tag
        if mode == "none":
            if t.percent or own_tag:
                kept.append(target(pinned, t.percent, own_tag))
        elif own_tag:  # a tag on LATEST keeps following the latest revision
            kept.append(target(t.revision if t.type_.name == REVISION else None, 0, own_tag))
    if mode == "revision":
        return [target(revision, 100, tag or "")] + kept
    head = [target(None, 100)] if mode == "latest" else []
    return head + kept + ([target(revision, 0, tag)] if tag else [])


def summary(service):
    """'rev-a 90% (tag stable), rev-b 10%' — what the service serves now."""
    return ", ".join("%s %d%%%s" % (routed_revision(service, s), s.percent, " (tag %s)" % s.tag if s.tag else "")
                     for s in service.traffic_statuses if s.percent) or "nothing"


def tag_uri(service, tag):
    return next((s.uri for s in service.traffic_statuses if s.tag == tag), None)


# ---------------------------------------------------------------- the module logic

def _resource(p):
    return "Cloud Run service %s in %s" % (p["name"], p["region"])


def read_service(session, client, path, resource):
    """The Service at ``path``, or None when it does not exist."""
    return session.get("read", resource, client.get_service, name=path)


def _apply(session, client, path, resource, build, verb):
    """Read, build the new Service from what is live, and write it with the live etag (Cloud Run says ABORTED when
    someone else changed the service in between, and ALREADY_EXISTS when someone created it)."""
    def write(current, service):
        if current is None:
            return session.call("create", resource, client.create_service, parent=path.rsplit("/services/", 1)[0],
                                service=service, service_id=short_name(path), idempotent=True)
        return session.call(verb, resource, client.update_service, request={"service": service}, idempotent=True)
    return session.read_modify_write(resource, lambda: read_service(session, client, path, resource), build, write,
                                     conflicts=("ABORTED", "ALREADY_EXISTS"))


def _finish(session, client, path, resource, op, action):
    """Wait for ``op`` (unless wait is off) and return the service as it then stands: the operation's response is
    the Service as the change left it (ServicesClient.create_service / update_service return Operation[Service])."""
    def explain(service, message):
        reason = service.terminal_condition.message if service else ""
        return "%s The service now serves: %s." % (" (%s)" % reason if reason and reason not in message else "",
                                                   summary(service) if service else "nothing")
    return session.finish(op, action, resource, lambda: read_service(session, client, path, resource), "service", explain)


def deploy_service(session):
    """cloud_run_service: make the service match the options; a template change is a new revision."""
    p = session.params
    for warning in validate_service_params(p):
        session.warn(warning)
    client = session.client(run_v2.ServicesClient)
    path = service_path(session.project, p["region"], p["name"])
    resource = _resource(p)
    if p["state"] == "absent":
        return _delete_service(session, client, path, resource)
    p = resolve_secret_aliases(session, p, resource)

    def build(current):
        have = spec_of(current) if current else {}
        want = desired_spec(p, have)
        # What the revision will have: the live values (Google's filled defaults included), the new ones, and
        # for a new service Google's defaults.
        problems = _problems_in_resources(dict(GOOGLE_DEFAULTS, **dict((k, v) for k, v in dict(have, **want).items() if v is not None)))
        if problems:
            raise invalid(resource, problems)
        keys = changed_keys(want, have)
        if current is not None and not keys:
            return None, dict(have=have, want=want, keys=keys, revision=None)
        new_template = current is None or any(k in TEMPLATE_KEYS for k in keys)
        if current is None and p["traffic"] == "none":
            raise GcpError("Cannot create %s without traffic: a new service serves its first revision. Deploy it with "
                           "traffic=latest first (gcloud refuses --no-traffic on create too). Nothing was changed." % resource)
        service = copy_message(current) if current else run_v2.Service()
        revision = None
        if new_template:
            revision = new_revision_name(p["name"], (current.generation if current else 0) + 1, p["revision_suffix"])
        apply_spec(service, want, revision)
        if new_template:
            service.traffic = deploy_traffic(service, revision, p["traffic"], p["tag"])
        if current is not None:
            remember_stable(service, current, revision or short_name(current.latest_ready_revision))
        return service, dict(have=have, want=want, keys=keys, revision=revision)

    current, service, info, op = _apply(session, client, path, resource, build, "deploy a new revision of")
    if service is None and current.terminal_condition.state.name == "CONDITION_FAILED":
        # Nothing to change, yet what was asked for does not serve: say so rather than report success.
        raise GcpError("%s is as asked, but its latest revision %s is not serving: %s The service now serves: %s. "
                       "Hint: deploy a working image or configuration." % (
                           resource, short_name(current.latest_created_revision), current.terminal_condition.message,
                           summary(current)), service=to_dict(current))
    changed = service is not None
    after = service
    if op is not None:
        after = _finish(session, client, path, resource, op, "deploy" if current else "create")
    final = after if after is not None else current
    return dict(
        changed=changed,
        service=to_dict(final),
        revision=info["revision"] or short_name(final.latest_ready_revision),
        created_revision=bool(info["revision"]),
        url=final.uri or None,
        tag_url=tag_uri(final, p["tag"]) if p["tag"] else None,
        reconciling=final.reconciling,
        changed_options=info["keys"],
        diff=dict(before=_diff_view(current), after=_diff_view(final)),
    )


def _diff_view(service):
    if service is None:
        return {}
    view = spec_of(service)
    view["traffic"] = traffic_view(service.traffic)
    return view


def _delete_service(session, client, path, resource):
    current = read_service(session, client, path, resource)
    if current is None:
        return dict(changed=False, service=None, diff=dict(before={}, after={}))
    if not session.check_mode:
        op = session.call("delete", resource, client.delete_service, request={"name": path, "etag": current.etag}, idempotent=True)
        session.finish(op, "delete", resource, lambda: read_service(session, client, path, resource), "service")
    return dict(changed=True, service=None, diff=dict(before=_diff_view(current), after={}))


def _resolve_targets(session, p, current, resource):
    """TrafficTargets for the entries, with tag references resolved and revision names checked."""
    by_tag = tagged_revisions(current)
    revisions = set(routed_revision(current, s) for s in current.traffic_statuses)
    if not set(e["revision"] for e in p["traffic"] if e["revision"]) <= revisions:
        # Only a revision outside the current traffic needs the list to be checked against.
        revisions = set(short_name(r.name) for r in session.list(
            "list revisions of", resource, session.client(run_v2.RevisionsClient).list_revisions, parent=current.name))
    targets, problems = [], []
    for i, e in enumerate(p["traffic"]):
        revision = e["revision"]
        if not revision and not e["latest"]:
            revision = by_tag.get(e["tag"])
            if revision is None:
                problems.append("traffic[%d] tag %r names no revision of the service (tags now: %s)"
                                % (i, e["tag"], ", ".join(sorted(by_tag)) or "none"))
                continue
        if revision and revision not in revisions:
            problems.append("traffic[%d] revision %r does not exist (revisions: %s)" % (i, revision, ", ".join(sorted(revisions))))
            continue
        targets.append(target(revision, e["percent"], e["tag"] or ""))
    if problems:
        raise invalid(resource, problems, "traffic")
    return targets


def rejected_revisions(service):
    return [r for r in service.annotations.get(REJECTED_ANNOTATION, "").split(",") if r]


def rejected_after(current, revision, resource):
    """The rejected revisions once ``revision`` is added (in the same update as the traffic)."""
    rejected = rejected_revisions(current)
    if revision is None or revision in rejected:
        return rejected
    if not revision.startswith(short_name(current.name) + "-"):
        raise invalid(resource, ["reject %r is not a revision of the service" % revision])
    return (rejected + [revision])[-REJECTED_KEPT:]


def rollback_targets(current, resource):
    """100% to the revision that served 100% before the current split; every tag kept, at 0%."""
    stable = current.annotations.get(STABLE_ANNOTATION)
    if not stable:
        raise GcpError("Cannot roll back %s: no revision is recorded as having served 100%% before the current traffic "
                       "(%s). Hint: set traffic to a named revision instead." % (resource, summary(current)))
    tagged = [t for t in current.traffic if t.tag]
    stable_tags = [t.tag for t in tagged if routed_revision(current, t) == stable]
    targets = [target(stable, 100, stable_tags[0] if stable_tags else "")]
    for t in tagged:
        if t.tag not in stable_tags[:1]:
            targets.append(target(t.revision or None, 0, t.tag))
    return targets


def _check_rollback_target(session, current, stable, resource):
    """The recorded stable revision must still exist: Google accepts traffic to a deleted revision and fails
    the rollout after the fact (operation error 13, "Revision '...' does not exist or is deleted"; see
    tests/fixtures/google/run_v2_operation_missing_revision.json). A revision the traffic references exists."""
    if stable in set(routed_revision(current, s) for s in current.traffic_statuses):
        return
    found = session.get("read revision %s of" % stable, resource, session.client(run_v2.RevisionsClient).get_revision,
                        name="%s/revisions/%s" % (current.name, stable))
    if found is None:
        raise GcpError("Cannot roll back %s: the recorded stable revision %s no longer exists. Nothing was changed. The "
                       "service serves: %s. Hint: set traffic to a named revision with orchestra.gcp.cloud_run_traffic."
                       % (resource, stable, summary(current)))


def set_traffic(session):
    """cloud_run_traffic: set the service's traffic targets, or roll back."""
    p = session.params
    resource = _resource(p)
    check_region(p["region"], resource)
    if not p["rollback"]:
        validate_traffic_entries(p["name"], p["traffic"])
    client = session.client(run_v2.ServicesClient)
    path = service_path(session.project, p["region"], p["name"])

    def build(current):
        if current is None:
            raise GcpError("Cannot set traffic of %s: the service does not exist. Hint: deploy it with "
                           "orchestra.gcp.cloud_run_service first." % resource)
        if p["rollback"]:
            targets = rollback_targets(current, resource)
            _check_rollback_target(session, current, targets[0].revision, resource)
        else:
            targets = _resolve_targets(session, p, current, resource)
        rejected = rejected_after(current, p["reject"], resource)
        if traffic_view(targets) == traffic_view(current.traffic) and rejected == rejected_revisions(current):
            return None, None
        service = copy_message(current)
        service.traffic = targets
        if rejected:
            service.annotations[REJECTED_ANNOTATION] = ",".join(rejected)
        if not p["rollback"]:  # going back keeps the target: a second rollback changes nothing
            remember_stable(service, current, short_name(current.latest_ready_revision))
        return service, None

    current, service, _unused, op = _apply(session, client, path, resource, build, "update traffic of")
    final = service if service is not None else current
    if op is not None:
        final = _finish(session, client, path, resource, op, "update traffic of")
    return dict(
        changed=service is not None,
        service=to_dict(final),
        # What the service serves; in check mode, or while it reconciles, what it would serve.
        traffic=traffic_view(final.traffic if (session.check_mode and service is not None) or final.reconciling
                             else final.traffic_statuses, final),
        reconciling=final.reconciling,
        rolled_back_to=current.annotations.get(STABLE_ANNOTATION) if p["rollback"] else None,
        rejected_revisions=rejected_revisions(final),
        diff=dict(before=dict(traffic=traffic_view(current.traffic)), after=dict(traffic=traffic_view(final.traffic))),
    )


def describe_service(session):
    """cloud_run_service_info: the service, its revisions (readiness, creation time) and its traffic."""
    p = session.params
    resource = _resource(p)
    check_region(p["region"], resource)
    client = session.client(run_v2.ServicesClient)
    service = read_service(session, client, service_path(session.project, p["region"], p["name"]), resource)
    if service is None:
        return dict(changed=False, exists=False, service=None, revisions=[], traffic=[])
    served = {}
    for s in service.traffic_statuses:
        row = served.setdefault(routed_revision(service, s), dict(percent=0, tags=[]))
        row["percent"] += s.percent
        if s.tag:
            row["tags"].append(s.tag)
    revisions = []
    for r in session.list("list revisions of", resource, session.client(run_v2.RevisionsClient).list_revisions,
                          parent=service.name):
        name = short_name(r.name)
        ready = next((c for c in r.conditions if c.type_ == "Ready"), None)
        revisions.append(dict(
            name=name, ready=bool(ready and ready.state.name == "CONDITION_SUCCEEDED"),
            ready_message=ready.message if ready else "", create_time=r.create_time.isoformat() if r.create_time else None,
            image=r.containers[0].image if r.containers else None,
            percent=served.get(name, {}).get("percent", 0), tags=served.get(name, {}).get("tags", [])))
    revisions.sort(key=lambda r: r["create_time"] or "", reverse=True)
    return dict(
        changed=False, exists=True, service=to_dict(service), url=service.uri or None,
        latest_ready_revision=short_name(service.latest_ready_revision),
        latest_created_revision=short_name(service.latest_created_revision),
        stable_revision=service.annotations.get(STABLE_ANNOTATION),
        revisions=revisions,
        reconciling=service.reconciling,
        traffic=[dict(type="LATEST" if s.type_.name == LATEST else "REVISION", revision=routed_revision(service, s),
                      percent=s.percent, tag=s.tag or None, uri=s.uri or None) for s in service.traffic_statuses],
    )
