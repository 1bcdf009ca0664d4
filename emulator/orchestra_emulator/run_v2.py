"""Cloud Run Admin API v2 (run.v2.json): services, revisions, their operations and IAM policies, the
service URLs, the request metrics those URLs write to the metrics sink and the instance counts sampled for the
revisions that serve.

Resources are stored as Google returns them, under state["resources"]["run.v2"]:
{"services": {name: Service}, "revisions": {name: Revision}, "rollouts": {service name: Rollout},
"listeners": {service name: {tag ("" for the service URL): port}},
"environments": {revision name: the secrets its env read when it was created}}.

A change reconciles as on Google (run.v2 discovery document, Service.reconciling): the spec
(template, traffic, labels, `generation`, `etag`) changes at once, while `reconciling` is true and
`observedGeneration`, `latestReadyRevision`, `trafficStatuses`, `uri` and the conditions keep their
transient values until the operation is done. A Rollout holds what the service and its revisions
show then, and when; it is applied by `_settle` before anything reads the state. Settling bumps the
service's etag by itself, so a write with an etag read during the reconcile is 409 ABORTED (a public deploy
workflow's comment: "Cloud Run's own reconciliation bumps the version as the previous
revision finishes rolling out and traffic migrates, which can land after the previous deploy command
has already returned").
"""

import base64
import collections
import copy
import datetime
import fnmatch
import hashlib
import random
import re
import string
import time
import uuid

from orchestra_emulator import metrics, paging, secretmanager_v1, serving, traffic
from orchestra_emulator.errors import (
    RPC_CODES,
    ApiError,
    aborted,
    already_exists,
    failed_precondition,
    invalid_argument,
    not_found,
)
from orchestra_emulator.operations import done_time, typed
from orchestra_emulator.projects import project_number, regional_parent
from orchestra_emulator.registry import EmulatedApi, register
from orchestra_emulator.resources import apply_mask, check_etag, check_labels, new_etag

SERVICE_TYPE = "google.cloud.run.v2.Service"
REVISION_TYPE = "google.cloud.run.v2.Revision"
SUCCEEDED = "CONDITION_SUCCEEDED"
FAILED = "CONDITION_FAILED"
RECONCILING = "CONDITION_RECONCILING"
CALLER = "emulator@orchestra.local"

# A letter, then lowercase letters, digits or hyphens, not ending with a hyphen, under 50
# characters: https://cloud.google.com/run/docs/deploying#service (service name rules).
_SERVICE_ID = re.compile(r"^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$")

# run.v2.json, `annotations`/`labels` of Service and RevisionTemplate: "Cloud Run API v2 does
# not support annotations with `run.googleapis.com`, `cloud.googleapis.com`,
# `serving.knative.dev`, or `autoscaling.knative.dev` namespaces, and they will be rejected."
RESERVED_NAMESPACES = ("run.googleapis.com", "cloud.googleapis.com", "serving.knative.dev", "autoscaling.knative.dev")

# The message Cloud Run gives when a revision's container does not start (code 9, FAILED_PRECONDITION;
# transparency-dev/tesseract issue #413 quotes it from a real google_cloud_run_v2_service rollout).
_CONTAINER_FAILED = (
    "Revision '{}' is not ready and cannot serve traffic. The user-provided container failed to start "
    "and listen on the port defined provided by the PORT=8080 environment variable."
)
# What Google answers for traffic to a revision that does not exist: the update is accepted and its
# operation fails with code 13 (terraform-google-modules/terraform-docs-samples PR #269 quotes
# "Error code 13, message: Revision 'cloudrun-srv-green' does not exist or is deleted. Update all
# traffic to route to currently available revisions.").
_MISSING_REVISION = (
    "Revision '{}' does not exist or is deleted. Update all traffic to route to currently available revisions."
)
# A revision whose env names a secret version Cloud Run cannot read when it creates the revision: the
# revision is not Ready, the service's conditions carry one line per variable with the reason
# SECRETS_ACCESS_CHECK_FAILED and the operation fails with code 13 (tests/fixtures/google/run_v2_secret_not_found.json,
# run_v2_operation_secret_not_found.json).
_NOT_READY = "Revision '{}' is not ready and cannot serve traffic. {}"
_SECRET_FIELD = "spec.template.spec.containers[{}].env[{}].value_from.secret_key_ref.name"
_SECRET_NOT_FOUND = "Secret {} was not found"
# A revision whose service account may not read a secret its env names: Cloud Run's words, quoted by
# terraform-google-modules/terraform-docs-samples pull request 168 and sourcegraph pull request 59045
# (tests/fixtures/google/run_v2_operation_secret_permission_denied.json).
_SECRET_DENIED = ("Permission denied on secret: {} for Revision service account {}. The service account used must be granted the "
                  "'Secret Manager Secret Accessor' role (roles/secretmanager.secretAccessor) at the secret, project or higher level.")
SECRETS_FAILED = "SECRETS_ACCESS_CHECK_FAILED"

# Why a revision cannot serve: `message` for the service's Ready condition and the operation, `detail` for
# ConfigurationsReady and the revision's own Ready condition, the operation's RPC status and the condition's reason.
Failure = collections.namedtuple("Failure", "message detail code reason")

# What Cloud Run answers a request to a private service without an acceptable ID token: a 403 page
# "Your client does not have permission to get URL / from this server." (HTML there; JSON here).
_FORBIDDEN = "Your client does not have permission to get URL {path} from this server."
INVOKER = "roles/run.invoker"

# Cloud Run's request metrics (https://cloud.google.com/monitoring/api/metrics_gcp#gcp-run), written to the
# metrics sink for every request a service URL answers, on the cloud_run_revision resource; and its instance count
# (GAUGE, INT64, "Number of container instances that exist, broken down by state", metric label state: active or idle),
# sampled every monitoring_sample_seconds for every revision that serves.
REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"
INSTANCE_COUNT = "run.googleapis.com/container/instance_count"
RESOURCE_TYPE = "cloud_run_revision"


@register
class CloudRunV2(EmulatedApi):
    """Handlers for run.v2 methods, keyed by discovery method id."""

    document = "run.v2"
    proto_package = "google.cloud.run.v2"
    settings = {"failing_images": [], "revision_behaviours": [], "private_services": []}

    def __init__(self, shared):
        super().__init__(shared)
        self._store = shared.store
        self._tokens = shared.tokens
        self._metrics = shared.metrics
        self._metrics.describe(REQUEST_COUNT, "DELTA", "INT64", "1")
        self._metrics.describe(REQUEST_LATENCIES, "DELTA", "DISTRIBUTION", "ms")
        self._metrics.describe(INSTANCE_COUNT, "GAUGE", "INT64", "1")
        self._answered = {}  # revision id -> requests answered, for the share of failures
        self._sampled = {}  # revision id -> requests answered when instances were last sampled
        self._sampler = metrics.Every("cloud-run-instances", lambda: metrics.sample_seconds(self._store), self._sample_instances)
        self._listeners = serving.Listeners(self.respond)
        # Template fields that a Revision also has (containers, scaling, timeout, labels, ...).
        self._revision_fields = set(self.api.schemas["GoogleCloudRunV2Revision"]["properties"])
        self._spec_fields = _writable(self.api.schemas["GoogleCloudRunV2Service"]) - {"name", "etag"}
        prefix = "run.projects.locations."
        # method id -> (handler, proto field holding the request body)
        self.handlers = {
            prefix + "services.create": (self.create_service, "service"),
            prefix + "services.get": (self.get_service, None),
            prefix + "services.list": (self.list_services, None),
            prefix + "services.patch": (self.update_service, "service"),
            prefix + "services.delete": (self.delete_service, None),
            prefix + "services.revisions.get": (self.get_revision, None),
            prefix + "services.revisions.list": (self.list_revisions, None),
            prefix + "services.revisions.delete": (self.delete_revision, None),
            **self.operations.handlers(prefix, regional_parent),
            **self.policies.handlers(prefix + "services.", lambda data, variables: self._service(data, variables)["name"], "run."),
        }
        self.admin = {
            ("POST", "failing-images"): self._add_failing_image,
            ("POST", "revision-behaviour"): self._add_revision_behaviour,
            ("POST", "private-services"): self._add_private_service,
        }

    # -- services --------------------------------------------------------------------------

    def create_service(self, request):
        parent = regional_parent(request.variables)
        service_id = request.query.get("serviceId", "")
        _check_service_id(service_id)
        name = f"{parent}/services/{service_id}"
        with self._store.mutate() as data:
            if name in _services(data):
                raise already_exists(f"Resource '{service_id}' already exists.")
            return self._deploy(data, name, None, self._spec(request.body), request.query)

    def get_service(self, request):
        with self._store.lock:
            return copy.deepcopy(self._service(self._settled(), request.variables))

    def list_services(self, request):
        parent = regional_parent(request.variables)
        with self._store.lock:
            services = [
                copy.deepcopy(s) for n, s in sorted(_services(self._settled()).items()) if n.startswith(parent + "/")
            ]
        return _page("services", services, request.query)

    def update_service(self, request):
        name = _service_name(request.variables)
        with self._store.mutate() as data:
            self._settle(data)
            current = _services(data).get(name)
            if current is None and not request.query.get("allowMissing"):
                raise _not_found("SERVICE", request.variables, request.variables["servicesId"])
            if current is None:
                _check_service_id(request.variables["servicesId"])
                return self._deploy(data, name, None, self._spec(request.body), request.query)
            check_etag(request.body.get("etag"), current["etag"], aborted)
            spec = apply_mask(self._spec(current), self._spec(request.body), request.query.get("updateMask"))
            return self._deploy(data, name, current, spec, request.query)

    def delete_service(self, request):
        with self._store.mutate() as data:
            self._settle(data)
            service = self._service(data, request.variables)
            check_etag(request.query.get("etag"), service["etag"], aborted)
            if not request.query.get("validateOnly"):
                self._remove_service(data, service["name"])
            return self._finished(data, regional_parent(request.variables), typed(SERVICE_TYPE, service))

    def _remove_service(self, data, name):
        del _services(data)[name]
        _rollouts(data).pop(name, None)
        revisions = _revisions(data)
        for revision_name in [n for n in revisions if n.startswith(name + "/revisions/")]:
            del revisions[revision_name]
            _environments(data).pop(revision_name, None)
        self._listeners.close_service(name)
        _listeners(data).pop(name, None)
        self.policies.forget(data, name)

    # -- deploying ------------------------------------------------------------------------

    def _deploy(self, data, name, current, spec, query):
        """Apply `spec` to the service `name` (`current` is None when creating it) and
        return its operation. Everything is checked before anything changes; the rollout is
        settled when the operation is done (at once with `operation_seconds` 0)."""
        _check_spec(spec)
        spec["template"] = _with_template_defaults(spec["template"], name)
        template_changed = (
            current is None or query.get("forceNewRevision") or _template_changed(current["template"], spec["template"])
        )
        service = self._next_service(name, current, spec, template_changed)
        revision = self._new_revision(data, service, spec["template"]) if template_changed else None
        parent = name.rsplit("/services/", 1)[0]
        if query.get("validateOnly"):
            return self._finished(data, parent, typed(SERVICE_TYPE, service))
        if revision:
            _revisions(data)[revision["name"]] = revision
            audited = []
            _environments(data)[revision["name"]] = _resolve_secrets(data, revision, audited)
            self.shared.logs.write(audited)
            service["latestCreatedRevision"] = revision["name"]
        failure = _first_unready(data, service)
        final = copy.deepcopy(service)
        if failure is None:
            _mark_serving(final)
        else:
            _mark_failed(final, failure)
        final["reconciling"] = False
        final["etag"] = new_etag()  # settling changes the version by itself; the operation reports the settled service
        self._listen(data, final)
        _mark_reconciling(service)
        _services(data)[name] = service
        done_at = done_time(data)
        _rollouts(data)[name] = {
            "at": done_at,
            "status": {key: final[key] for key in _SETTLED if key in final},
            "revision": revision["name"] if revision else None,
        }
        self._settle(data)
        return self.operations.start(
            data,
            parent,
            metadata=typed(SERVICE_TYPE, final),
            response=typed(SERVICE_TYPE, final),
            error={"code": RPC_CODES[failure.code], "message": failure.message} if failure else None,
            done_at=done_at,
        )

    def _settle(self, data):
        """Finish the rollouts that are due: the service and its new revision show the outcome, and the
        service's etag changes by itself (to the one its operation's response carries)."""
        now = time.time()
        for name, rollout in list(_rollouts(data).items()):
            if rollout["at"] > now:
                continue
            del _rollouts(data)[name]
            service = _services(data).get(name)
            if service is None:
                continue
            service.update(rollout["status"])
            revision = _revisions(data).get(rollout["revision"] or "")
            if revision is not None:
                revision["reconciling"] = False
                revision["conditions"] = _revision_conditions(_revision_failure(data, revision), _now())

    def _settled(self):
        """The state with every due rollout settled; use it under the store's lock."""
        with self._store.lock:
            if any(r["at"] <= time.time() for r in _rollouts(self._store.data).values()):
                with self._store.mutate() as data:
                    self._settle(data)
            return self._store.data

    def _spec(self, service):
        """The fields of a service that its caller sets."""
        return {key: value for key, value in service.items() if key in self._spec_fields}

    def _next_service(self, name, current, spec, template_changed):
        """The service after this change, before its revisions and traffic are resolved.
        Google defaults `ingress` to ALL, `launchStage` to GA and `traffic` to 100% LATEST."""
        now = _now()
        if current:
            service = {key: value for key, value in copy.deepcopy(current).items() if key not in self._spec_fields}
        else:
            service = {
                "name": name,
                "uid": str(uuid.uuid4()),
                "generation": "0",
                "createTime": now,
                "creator": CALLER,
                "observedGeneration": "0",
                "trafficStatuses": [],
                "conditions": [],
            }
        spec = {"ingress": "INGRESS_TRAFFIC_ALL", "launchStage": "GA", **spec}
        spec["traffic"] = spec.get("traffic") or [{"type": traffic.LATEST, "percent": 100}]
        service.update(spec)
        if template_changed or spec != (self._spec(current) if current else None):
            service["generation"] = str(int(service["generation"]) + 1)
        service.update({"updateTime": now, "lastModifier": CALLER, "etag": new_etag(), "reconciling": False})
        return service

    def _new_revision(self, data, service, template):
        service_id = _short(service["name"])
        revision_id = template.get("revision") or _revision_id(service_id, service["generation"])
        if not revision_id.startswith(service_id + "-"):
            raise invalid_argument(f"Revision name must start with '{service_id}-'.", field="service.template.revision")
        name = f"{service['name']}/revisions/{revision_id}"
        if name in _revisions(data):
            raise already_exists(f"Revision named '{revision_id}' with different configuration already exists.")
        now = _now()
        return {
            **{key: value for key, value in template.items() if key in self._revision_fields},
            "name": name,
            "uid": str(uuid.uuid4()),
            "generation": "1",
            "createTime": now,
            "updateTime": now,
            "service": service["name"],
            "launchStage": service["launchStage"],
            "conditions": [_condition(kind, RECONCILING, now) for kind in ("Ready", "ContainerHealthy", "ResourcesAvailable")],
            "observedGeneration": "1",
            "reconciling": True,
            "logUri": _log_uri(name),
            "containerStatuses": [{"name": c.get("name", ""), "imageDigest": _digest(c["image"])} for c in template.get("containers", [])],
            "etag": new_etag(),
        }

    def _listen(self, data, service):
        """Open the service URL and one URL per tag of `service` (the state a rollout ends in), and
        record them on it."""
        ports = _listeners(data).setdefault(service["name"], {})
        tags = [status["tag"] for status in service["trafficStatuses"] if status.get("tag")]
        self._listeners.ensure(ports, service["name"], [""] + tags)
        _set_urls(service, ports)
        self._sampler.start()

    def close(self):
        """Stop serving every service URL (the state keeps their ports) and forget how much they answered."""
        self._listeners.close_all()
        self._sampler.stop()
        self._answered.clear()
        self._sampled.clear()

    def restore(self):
        """Bind the listeners of a loaded state again (ports may change if taken)."""
        with self._store.mutate() as data:
            self._listeners.restore(_listeners(data))
            for name, ports in _listeners(data).items():
                _set_urls(_services(data)[name], ports)
        self._sampler.start()

    def _sample_instances(self):
        """Write the instance count of every revision that serves (one with traffic or a tag): the emulator answers a
        revision's requests itself, as one instance, `active` when it answered a request since the last sample, else
        `idle`."""
        with self._store.lock:
            data = self._settled()
            serving = sorted({(name, _status_revision(service, status)) for name, service in _services(data).items()
                              for status in service["trafficStatuses"] if status.get("percent") or status.get("tag")})
            answered = dict(self._answered)
        for service_name, revision_id in serving:
            if revision_id:
                active = int(answered.get(revision_id, 0) > self._sampled.get(revision_id, 0))
                resource = _resource(service_name, revision_id)
                self._metrics.write(INSTANCE_COUNT, {"state": "active"}, RESOURCE_TYPE, resource, active)
                self._metrics.write(INSTANCE_COUNT, {"state": "idle"}, RESOURCE_TYPE, resource, 1 - active)
        self._sampled = answered

    # -- revisions ------------------------------------------------------------------------

    def get_revision(self, request):
        with self._store.lock:
            return copy.deepcopy(self._revision(self._settled(), request.variables))

    def list_revisions(self, request):
        parent = _service_name(request.variables)
        with self._store.lock:
            data = self._settled()
            self._service(data, request.variables)
            revisions = [copy.deepcopy(r) for n, r in _revisions(data).items() if n.startswith(parent + "/")]
        revisions.sort(key=lambda r: (r["createTime"], r["name"]), reverse=True)
        return _page("revisions", revisions, request.query)

    def delete_revision(self, request):
        with self._store.mutate() as data:
            self._settle(data)
            revision = self._revision(data, request.variables)
            check_etag(request.query.get("etag"), revision["etag"], aborted)
            service = _services(data)[revision["service"]]
            revision_id = _short(revision["name"])
            if any(
                _status_revision(service, s) == revision_id and (s.get("percent") or s.get("tag"))
                for s in service["trafficStatuses"]
            ):
                raise failed_precondition(
                    f"Revision '{revision_id}' is serving traffic or tagged and cannot be deleted."
                )
            if not request.query.get("validateOnly"):
                del _revisions(data)[revision["name"]]
                _environments(data).pop(revision["name"], None)
            return self._finished(data, regional_parent(request.variables), typed(REVISION_TYPE, revision))

    # -- serving --------------------------------------------------------------------------

    def respond(self, service_name, tag, headers):
        """What a service URL (tag "") or tag URL answers: (status, payload, revision).

        A request the invoker check refuses is answered without reaching a revision or being counted.

        A revision whose image matches a revision behaviour (admin) answers that share of its
        requests with a 503 and takes that much longer. Every answered request is written to the
        metrics sink (request_count and request_latencies)."""
        started = time.monotonic()
        with self._store.lock:
            data = self._settled()
            if not self._may_invoke(data, service_name, tag, headers):
                return 403, {"error": _FORBIDDEN.format(path="/")}, None
            service = _services(data).get(service_name)
            revision_id = _pick_revision(service, tag) if service else None
            if revision_id is None:
                return 503, {"error": f"No revision of '{service_name}' serves this URL."}, None
            revision = _revisions(self._store.data)[f"{service_name}/revisions/{revision_id}"]
            container = revision["containers"][0]
            env_sha256 = _env_digests(container, _environments(self._store.data).get(revision["name"], {}).get("values", {}))
            behaviour = _behaviour(self._store.data, container.get("image", ""), revision["name"])
            answered = self._answered[revision_id] = self._answered.get(revision_id, 0) + 1
        time.sleep(behaviour["latency_ms"] / 1000.0)
        ratio = behaviour["error_ratio"]
        failed = int(answered * ratio) > int((answered - 1) * ratio)  # exactly that share, spread evenly
        status, payload = (503, {"error": f"Revision '{revision_id}' failed this request (emulated)."}) if failed else (200, {
            "revision": revision_id,
            "service": _short(service_name),
            "image": container.get("image"),
            "env": [variable["name"] for variable in container.get("env", [])],
            "env_sha256": env_sha256,
            "tag": tag or None,
            "traceparent": _trace_context(headers),
        })
        code = str(status)
        labels = {"response_code": code, "response_code_class": code[0] + "xx"}
        resource = _resource(service_name, revision_id)
        self._metrics.write(REQUEST_COUNT, labels, RESOURCE_TYPE, resource, 1)
        self._metrics.write(REQUEST_LATENCIES, labels, RESOURCE_TYPE, resource, (time.monotonic() - started) * 1000.0)
        return status, payload, revision_id

    def _may_invoke(self, data, service_name, tag, headers):
        """Cloud Run's invoker check. A service whose IAM policy grants roles/run.invoker to allUsers is
        public; so is one not marked private (admin `private-services`: the emulator leaves services open
        unless told, where Google's are private unless public). A private service needs an ID token the
        emulator issued for its URL or the URL called, of an identity the policy names as invoker
        (`allAuthenticatedUsers`, `user:` or `serviceAccount:`), or of any identity when no one is named:
        the emulator knows no project roles, through which owners invoke on Google."""
        invokers = self.policies.members(data, service_name, INVOKER)
        if "allUsers" in invokers or not any(fnmatch.fnmatchcase(service_name, p) for p in data["admin"]["private_services"]):
            return True
        ports = _listeners(data).get(service_name, {})
        audiences = {serving.url(ports[name]) for name in ("", tag) if name in ports}
        token = self._tokens.valid(headers, "id")
        named = {"allAuthenticatedUsers", f"user:{token['email']}", f"serviceAccount:{token['email']}"} if token else set()
        return bool(token) and token["audience"].rstrip("/") in audiences and (not invokers or bool(invokers & named))

    # -- admin ----------------------------------------------------------------------------

    def _add_failing_image(self, body):
        if not isinstance(body.get("pattern"), str):
            raise invalid_argument('Expected {"pattern": "fnmatch glob"}.')
        return self._append_setting("failing_images", body["pattern"])

    def _add_revision_behaviour(self, body):
        rule = {"image": "*", "revision": "*", "error_ratio": 0.0, "latency_ms": 0}
        unknown = set(body) - set(rule)
        rule.update(body)
        if unknown or not isinstance(rule["image"], str) or not isinstance(rule["revision"], str):
            raise invalid_argument('Expected {"image": "fnmatch glob", "revision": "fnmatch glob", "error_ratio": 0..1, '
                                   '"latency_ms": >= 0}.')
        if not 0 <= rule["error_ratio"] <= 1 or rule["latency_ms"] < 0:
            raise invalid_argument("error_ratio must be between 0 and 1 and latency_ms at least 0.")
        return self._append_setting("revision_behaviours", rule)

    def _add_private_service(self, body):
        if not isinstance(body.get("service"), str) or set(body) != {"service"}:
            raise invalid_argument('Expected {"service": "fnmatch glob on the service resource name"}.')
        return self._append_setting("private_services", body["service"])

    def _append_setting(self, key, value):
        with self._store.mutate() as data:
            data["admin"][key].append(value)
            return {key: data["admin"][key]}

    # -- lookups --------------------------------------------------------------------------

    def _service(self, data, variables):
        service = _services(data).get(_service_name(variables))
        if service is None:
            raise _not_found("SERVICE", variables, variables["servicesId"])
        return service

    def _revision(self, data, variables):
        name = f"{_service_name(variables)}/revisions/{variables['revisionsId']}"
        revision = _revisions(data).get(name)
        if revision is None:
            raise _not_found("REVISION", variables, variables["revisionsId"])
        return revision

    def _finished(self, data, parent, result):
        """The operation of a change that needs no rollout."""
        return self.operations.start(data, parent, metadata=result, response=result)


# -- the service object ----------------------------------------------------------------------


def _first_unready(data, service):
    """The Failure of the first revision the service needs that cannot serve, else None.

    The latest created revision must become Ready (Knative's ConfigurationsReady), and every revision
    named in `traffic` must exist and be Ready."""
    needed = [_short(service["latestCreatedRevision"])] + [
        t["revision"] for t in service["traffic"] if t["type"] == traffic.REVISION
    ]
    for revision_id in needed:
        revision = _revisions(data).get(f"{service['name']}/revisions/{revision_id}")
        if revision is None:
            message = _MISSING_REVISION.format(revision_id)
            return Failure(message, message, "INTERNAL", "REVISION_FAILED")
        failure = _revision_failure(data, revision)
        if failure:
            return failure
    return None


def _revision_failure(data, revision):
    """Why `revision` cannot become Ready, else None: a secret its env names could not be read when it was
    created, or its image matches a failing-image pattern."""
    secrets = _environments(data).get(revision["name"], {}).get("failures")
    if secrets:
        detail = "\n".join(secrets)
        return Failure(_NOT_READY.format(_short(revision["name"]), detail), detail, "INTERNAL", SECRETS_FAILED)
    if any(_image_fails(data, c.get("image", "")) for c in revision.get("containers", [])):
        message = _CONTAINER_FAILED.format(_short(revision["name"]))
        return Failure(message, message, "FAILED_PRECONDITION", "REVISION_FAILED")
    return None


def _trace_context(headers):
    """The W3C trace context Cloud Run hands the container: the caller's, else one it starts, not sampled
    (https://cloud.google.com/run/docs/trace: Cloud Run propagates the trace context headers, and adds them to requests
    that have none)."""
    given = (headers or {}).get("traceparent")
    if given and re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}", given):
        return given
    return "00-%032x-%016x-00" % (random.getrandbits(128) or 1, random.getrandbits(64) or 1)


def _resolve_secrets(data, revision, audited):
    """Cloud Run reads the secret versions a revision's env names when it creates the revision (`latest` and
    aliases resolve then): {"values": {variable: payload data in base64}, "failures": [one line per variable
    it could not read]}. A revision's service account without a role that reads the secret (on the secret or
    its project) is denied first, whether the secret exists or not, as IAM answers before it looks; a missing
    secret or version is Cloud Run's "was not found". Both name a bare secret id with the project number and a
    full name as given; a version that is not ENABLED gives Secret Manager's own message (what Cloud Run says
    then is not known). It reads them as the revision's service account: each read the secret's project logs (Data
    Access audit logs) is appended to `audited`."""
    project = revision["name"].split("/")[1]
    values, failures = {}, []
    for i, container in enumerate(revision.get("containers", [])):
        for j, variable in enumerate(container.get("env", [])):
            ref = variable.get("valueSource", {}).get("secretKeyRef")
            if ref is None:
                continue
            secret = ref.get("secret", "")
            name = secretmanager_v1.secret_name(project, secret)
            version = ref.get("version") or "latest"
            shown = "%s/versions/%s" % (secret if secret.startswith("projects/") else name, version)  # a full name as given
            if not secretmanager_v1.may_access(data, name, "serviceAccount:" + revision["serviceAccount"]):
                failures.append(f"{_SECRET_FIELD.format(i, j)}: {_SECRET_DENIED.format(shown, revision['serviceAccount'])}")
                continue
            try:
                values[variable["name"]] = secretmanager_v1.access(data, name, version)["payload"]["data"]
            except ApiError as error:
                reason = _SECRET_NOT_FOUND.format(shown) if error.status == "NOT_FOUND" else error.message
                failures.append(f"{_SECRET_FIELD.format(i, j)}: {reason}")
                continue
            owner, secret_id = (secret.split("/")[1], secret.split("/")[3]) if secret.startswith("projects/") else (project, secret)
            entry = secretmanager_v1.audit_access(data, owner, secret_id, version, revision["serviceAccount"])
            audited += [entry] if entry else []
    return {"values": values, "failures": failures}


def _mark_serving(service):
    """A successful rollout: traffic as requested, everything observed, Ready."""
    service["latestReadyRevision"] = service["latestCreatedRevision"]
    service["observedGeneration"] = service["generation"]
    service["trafficStatuses"] = traffic.statuses(service["traffic"])
    now = _now()
    service["terminalCondition"] = _condition("Ready", SUCCEEDED, now)
    service["conditions"] = [
        _condition("RoutesReady", SUCCEEDED, now),
        _condition("ConfigurationsReady", SUCCEEDED, now),
    ]


def _mark_failed(service, failure):
    """A failed rollout: the last serving state stays, the terminal condition tells why. Routes are ready
    when an earlier revision serves; without one they fail as Ready does (tests/fixtures/google/run_v2_secret_not_found.json)."""
    now = _now()
    ready = {**_condition("Ready", FAILED, now), "message": failure.message, "reason": failure.reason}
    routes = _condition("RoutesReady", SUCCEEDED, now)
    if not service.get("latestReadyRevision"):
        routes = {**ready, "type": "RoutesReady"}
    service["terminalCondition"] = ready
    service["conditions"] = [
        routes,
        {**_condition("ConfigurationsReady", FAILED, now), "message": failure.detail, "reason": failure.reason},
    ]


def _mark_reconciling(service):
    """A rollout in progress: the status fields keep their transient values (the last serving state)."""
    now = _now()
    service["reconciling"] = True
    service["terminalCondition"] = _condition("Ready", RECONCILING, now)
    service["conditions"] = [_condition("RoutesReady", RECONCILING, now), _condition("ConfigurationsReady", RECONCILING, now)]


# The fields a rollout settles (run.v2 discovery document, Service.reconciling).
_SETTLED = ("reconciling", "observedGeneration", "latestReadyRevision", "trafficStatuses", "terminalCondition", "conditions",
            "uri", "urls", "etag")


def _set_urls(service, ports):
    """`urls` holds two URLs, as Google's (a deterministic one and the legacy hashed one, which is
    also `uri`): here two names of the same loopback listener."""
    port = ports[""]
    service["uri"] = serving.url(port)
    service["urls"] = [serving.url(port, "localhost"), service["uri"]]
    for status in service["trafficStatuses"]:
        if status.get("tag"):
            status["uri"] = serving.url(ports[status["tag"]])


def _resource(service_name, revision_id):
    """The labels of a revision's cloud_run_revision monitored resource."""
    project, location, service_id = service_name.split("/")[1::2]
    return {"project_id": project, "service_name": service_id, "revision_name": revision_id, "location": location,
            "configuration_name": service_id}


def _status_revision(service, status):
    """The revision a traffic status routes to: its own, or the latest ready one for LATEST."""
    return status.get("revision") or _short(service.get("latestReadyRevision", ""))


def _pick_revision(service, tag):
    """The revision a request reaches: the tag's, or one drawn by traffic percent."""
    statuses = service["trafficStatuses"]
    if tag:
        return next((_status_revision(service, s) for s in statuses if s.get("tag") == tag), None)
    weighted = [s for s in statuses if s.get("percent")]
    if not weighted:
        return None
    return _status_revision(service, random.choices(weighted, weights=[s["percent"] for s in weighted])[0])


# -- checks ----------------------------------------------------------------------------------


def _check_service_id(service_id):
    if not _SERVICE_ID.match(service_id):
        raise invalid_argument(
            f"Invalid service id '{service_id}': it must start with a letter, contain only lowercase "
            "letters, digits and hyphens, not end with a hyphen, and be under 50 characters.",
            field="service_id",
        )


def _check_spec(spec):
    template = spec.get("template", {})
    containers = template.get("containers", [])
    if not containers or not all(c.get("image") for c in containers):
        raise invalid_argument("A container image must be specified.", field="service.template.containers[0].image")
    for field, mapping in (
        ("service.labels", spec.get("labels", {})),
        ("service.template.labels", template.get("labels", {})),
        ("service.annotations", spec.get("annotations", {})),
        ("service.template.annotations", template.get("annotations", {})),
    ):
        _check_namespaces(field, mapping)
    check_labels("service.labels", spec.get("labels", {}))
    check_labels("service.template.labels", template.get("labels", {}))
    traffic.check(spec.get("traffic", []))
    _check_vpc_access(template.get("vpcAccess", {}))


def _check_vpc_access(vpc_access):
    """A connector or Direct VPC egress's network interfaces, not both (Google's words:
    tests/fixtures/google/run_v2_vpc_access_one_of.json); one interface, naming a network or a
    subnetwork (the NetworkInterface descriptions; these two messages are the emulator's)."""
    interfaces = vpc_access.get("networkInterfaces", [])
    if vpc_access.get("connector") and interfaces:
        raise invalid_argument("Violation in CreateServiceRequest.service.template.vpc_access.connector: one and only one of connector "
                               "and network_interfaces must be set.", field="service.template.vpc_access.connector")
    if len(interfaces) > 1:
        raise invalid_argument("Only a single network interface is supported.", field="service.template.vpc_access.network_interfaces")
    if any(not (interface.get("network") or interface.get("subnetwork")) for interface in interfaces):
        raise invalid_argument("At least one of network or subnetwork must be specified.",
                               field="service.template.vpc_access.network_interfaces[0]")


def _check_namespaces(field, mapping):
    for key in mapping:
        namespace = key.split("/", 1)[0] if "/" in key else ""
        if any(namespace == reserved or namespace.endswith("." + reserved) for reserved in RESERVED_NAMESPACES):
            raise invalid_argument(
                f"'{key}' is in a reserved namespace: Cloud Run API v2 does not support "
                f"{', '.join(RESERVED_NAMESPACES)} namespaces.",
                field=f"{field}[{key}]",
            )


def _with_template_defaults(template, service_name):
    """`template` with the values Google fills in when a request leaves them out, so that a template
    that does not name them equals the stored one. Sources: firebase-tools src/gcp/runv2.ts (a real
    Service: `maxInstanceRequestConcurrency` 80, the default compute service account, `scaling.maxInstanceCount`
    100, port `http1` 8080, a TCP startup probe), k8s-config-connector mockgcp/mockrun/services.go (cpu
    `1000m`, memory `512Mi`, timeout `300s`), run.v2 discovery document (maxInstanceCount "When unspecified,
    the field is set to the server default value of 100")."""
    template = copy.deepcopy(template)
    project = service_name.split("/")[1]
    template.setdefault("maxInstanceRequestConcurrency", 80)
    template.setdefault("timeout", "300s")
    template.setdefault("serviceAccount", f"{project_number(project)}-compute@developer.gserviceaccount.com")
    template.setdefault("scaling", {}).setdefault("maxInstanceCount", 100)
    containers = template.get("containers", [])
    for container in containers:
        container.setdefault("resources", {}).setdefault("limits", {}).setdefault("cpu", "1000m")
        container["resources"]["limits"].setdefault("memory", "512Mi")
    if containers and not any(c.get("ports") for c in containers):
        containers[0]["ports"] = [{"name": "http1", "containerPort": 8080}]
    for container in containers:
        if container.get("ports"):
            container.setdefault("startupProbe", {
                "failureThreshold": 1, "tcpSocket": {"port": container["ports"][0].get("containerPort", 8080)},
                "timeoutSeconds": 240, "periodSeconds": 240,
            })
    return template


def _digest(image):
    """What `containerStatuses[].imageDigest` reports: the emulator resolves no registry, so a stable
    sha256 of the reference stands in (a reference pinned by digest keeps its own)."""
    return image.rsplit("@", 1)[1] if "@sha256:" in image else "sha256:" + hashlib.sha256(image.encode()).hexdigest()


def _log_uri(revision_name):
    """A Cloud Console logs link for the revision (Google's format is not documented; this is the emulator's)."""
    project, location, service, revision = revision_name.split("/")[1::2]
    return (f"https://console.cloud.google.com/logs/viewer?project={project}&resource=cloud_run_revision/"
            f"service_name/{service}/revision_name/{revision}&location={location}")


def _template_changed(old, new):
    """Whether `new` needs a revision; `revision` is ignored when the new template leaves it unset."""
    if "revision" not in new:
        old = {key: value for key, value in old.items() if key != "revision"}
    return old != new


def _env_digests(container, secret_values):
    """What the revision's process sees in its environment, as SHA-256 digests (never the values): plain
    values, and secrets as resolved when the revision was created."""
    digests = {}
    for variable in container.get("env", []):
        if variable["name"] in secret_values:
            value = base64.b64decode(secret_values[variable["name"]])
        else:
            value = variable.get("value", "").encode()
        digests[variable["name"]] = hashlib.sha256(value).hexdigest()
    return digests


def _image_fails(data, image):
    return any(fnmatch.fnmatchcase(image, pattern) for pattern in data["admin"]["failing_images"])


def _behaviour(data, image, revision_name):
    """How a revision answers: the first revision behaviour matching its image and its resource name, else all well."""
    rules = data["admin"]["revision_behaviours"]
    return next((r for r in rules if fnmatch.fnmatchcase(image, r["image"])
                 and fnmatch.fnmatchcase(revision_name, r.get("revision", "*"))), {"error_ratio": 0.0, "latency_ms": 0})


# -- small helpers ---------------------------------------------------------------------------


def _writable(schema):
    return {key for key, prop in schema["properties"].items() if not prop.get("readOnly")}


def _services(data):
    return data["resources"].setdefault("run.v2", {}).setdefault("services", {})


def _revisions(data):
    return data["resources"].setdefault("run.v2", {}).setdefault("revisions", {})


def _rollouts(data):
    return data["resources"].setdefault("run.v2", {}).setdefault("rollouts", {})


def _listeners(data):
    return data["resources"].setdefault("run.v2", {}).setdefault("listeners", {})


def _environments(data):
    """Revision name -> what its secrets resolved to when it was created (`_resolve_secrets`)."""
    return data["resources"].setdefault("run.v2", {}).setdefault("environments", {})


def _service_name(variables):
    return f"{regional_parent(variables)}/services/{variables['servicesId']}"


def _not_found(kind, variables, resource_id):
    return not_found(
        f"Resource '{resource_id}' of kind '{kind}' in region '{variables['locationsId']}' "
        f"in project '{variables['projectsId']}' does not exist."
    )


def _page(field, items, query):
    items, next_token = paging.page(items, query.get("pageSize"), query.get("pageToken"))
    return {field: items, "nextPageToken": next_token}


def _short(name):
    return name.rsplit("/", 1)[-1]


def _revision_id(service_id, generation):
    # Real suffixes hold digits too: `ci-static-ct-00001-6hx`, `trusted-router-01199-649` (real names quoted in public issues).
    suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=3))
    return f"{service_id}-{int(generation):05d}-{suffix}"


def _revision_conditions(failure, now):
    """A revision's conditions once settled. One whose secrets could not be read never ran its container."""
    if failure is None:
        return [_condition(kind, SUCCEEDED, now) for kind in ("Ready", "ContainerHealthy", "ResourcesAvailable")]
    if failure.reason == SECRETS_FAILED:
        return [
            {**_condition("Ready", FAILED, now), "message": failure.detail, "reason": failure.reason},
            _condition("ContainerHealthy", "CONDITION_PENDING", now),
            _condition("ResourcesAvailable", SUCCEEDED, now),
        ]
    return [
        {**_condition("Ready", FAILED, now), "message": failure.message},
        {**_condition("ContainerHealthy", FAILED, now), "message": failure.message},
        _condition("ResourcesAvailable", SUCCEEDED, now),
    ]


def _condition(kind, state, now):
    return {"type": kind, "state": state, "lastTransitionTime": now}


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
