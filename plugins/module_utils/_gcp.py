# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one GCP layer of orchestra.gcp: credentials, clients, retries, operations and errors.

PRIVATE to this collection: modules and action plugins of orchestra.gcp use it; nothing else should.

A module's work is a function ``logic(session) -> result`` that lives in module_utils. A
``Session`` carries the validated parameters, check mode, the resolved credentials and the
clients. ``GcpModule`` runs such a function as a module; any other door builds a ``Session``
from the same parameters and calls the same function.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    import google.auth
    import google.auth.exceptions
    from google.api_core import exceptions as gexc
    from google.api_core import retry as gretry
    from google.api_core.gapic_v1.client_info import ClientInfo
    from google.auth import credentials as gcreds
    from google.auth import impersonated_credentials
    from google.oauth2 import service_account
    from google.protobuf import json_format, struct_pb2, timestamp_pb2
    GOOGLE_IMPORT_ERROR = None
except ImportError:
    GOOGLE_IMPORT_ERROR = traceback.format_exc()

try:  # Google's REST client for APIs whose google-cloud-* library speaks gRPC only (Cloud Monitoring)
    import google_auth_httplib2
    import httplib2
    from googleapiclient import discovery as gdiscovery
    from googleapiclient import errors as gerrors
    DISCOVERY_IMPORT_ERROR = None
except ImportError:
    DISCOVERY_IMPORT_ERROR = traceback.format_exc()

USER_AGENT = "orchestra.gcp/0.1.0"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

AUTH_ARGSPEC = dict(
    project=dict(type="str", fallback=(env_fallback, ["GCP_PROJECT", "GCE_PROJECT"])),
    auth_kind=dict(type="str", choices=["application", "serviceaccount"]),
    service_account_file=dict(type="path"),
    service_account_contents=dict(type="jsonarg", no_log=True),
    impersonate_service_account=dict(type="str"),
    scopes=dict(type="list", elements="str", default=[CLOUD_PLATFORM_SCOPE]),
    api_endpoint=dict(type="str", fallback=(env_fallback, ["ORCHESTRA_GCP_ENDPOINT"])),
    request_timeout=dict(type="float", default=60.0),
)
AUTH_MUTUALLY_EXCLUSIVE = [["service_account_file", "service_account_contents"]]

# Statuses worth retrying: the call did not happen or the service asked us to come back.
TRANSIENT_HTTP_CODES = (429, 500, 502, 503, 504)
RETRY_INITIAL, RETRY_MAXIMUM, RETRY_MULTIPLIER, RETRY_DEADLINE = 0.25, 8.0, 2.0, 60.0

HINTS = {
    400: "fix the input the message names",
    401: "the credentials were rejected: refresh them (gcloud auth application-default login) or check the key file",
    403: "grant the caller the role this action needs on the project, or check that the API is enabled",
    404: "check the name, the project and the region",
    409: "the resource changed or exists already: re-read it and re-run",
    412: "the resource changed since it was read: re-run",
    429: "quota exhausted even after retries: try again later or raise the quota",
    503: "the service stayed unavailable after retries: try again later",
}
STATUS_NAMES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    409: "ALREADY_EXISTS", 412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
    501: "NOT_IMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}


class GcpError(Exception):
    """A failure to report: ``msg`` for the user, ``result`` for what is known (partial state)."""

    def __init__(self, msg, status=None, **result):
        super().__init__(msg)
        self.msg = msg
        self.status = status
        self.result = result


def is_transient(exc):
    return isinstance(exc, gexc.GoogleAPICallError) and exc.code in TRANSIENT_HTTP_CODES


def retry_policy(deadline=RETRY_DEADLINE):
    """Capped exponential backoff with full jitter (api_core's sleep generator), bounded in time."""
    return gretry.Retry(predicate=is_transient, initial=RETRY_INITIAL, maximum=RETRY_MAXIMUM,
                        multiplier=RETRY_MULTIPLIER, timeout=deadline)


def _translated(action, resource, method, *args, **kwargs):
    """Call ``method``; API errors, and retries that ran out, become a ``GcpError``."""
    try:
        return method(*args, **kwargs)
    except gexc.GoogleAPICallError as e:
        raise api_error(action, resource, e)
    except gexc.RetryError as e:
        if isinstance(e.cause, gexc.GoogleAPICallError):
            raise api_error(action, resource, e.cause)
        raise GcpError("Failed to %s %s: gave up after retrying for %ss: %s" % (action, resource, RETRY_DEADLINE, e.cause))


def _status_in_body(exc):
    """The ``error.status`` of a REST error body: over REST a 409 may be ABORTED or ALREADY_EXISTS."""
    try:
        return exc.response.json()["error"]["status"]
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def describe_api_error(exc):
    """``(status, message)`` of a google.api_core error, without the request line it starts with."""
    status = (getattr(getattr(exc, "grpc_status_code", None), "name", None) or _status_in_body(exc)
              or STATUS_NAMES.get(exc.code, str(exc.code)))
    message = re.sub(r"^[A-Z]+ https?://\S+: ", "", exc.message or "")
    return status, message


def api_error(action, resource, exc, **result):
    status, message = describe_api_error(exc)
    hint = HINTS.get(exc.code, "see the message above")
    return GcpError("Failed to %s %s: %s (%s): %s. Hint: %s." % (action, resource, status, exc.code, message, hint),
                    status=status, **result)


def _service_account_key(text, what, scopes):
    """A service account key (JSON text or mapping) as credentials and its project.

    Other credential types (external_account for Workload Identity Federation, authorized_user,
    impersonated_service_account) are Application Default Credentials' job: google-auth deprecates
    loading them through its generic loaders, and ADC reads GOOGLE_APPLICATION_CREDENTIALS.
    """
    try:
        info = text if isinstance(text, dict) else json.loads(text)
    except ValueError as e:
        raise GcpError("%s is not valid JSON: %s" % (what, e))
    if not isinstance(info, dict) or info.get("type") != "service_account":
        kind = info.get("type") if isinstance(info, dict) else type(info).__name__
        raise GcpError("%s holds a %r credential, not a service account key. Hint: point GOOGLE_APPLICATION_CREDENTIALS "
                       "at it and use auth_kind=application; Application Default Credentials load it." % (what, kind))
    return service_account.Credentials.from_service_account_info(info, scopes=scopes), info.get("project_id")


def resolve_credentials(params, environ=None):
    """Return ``(credentials, project, source)`` following the collection's resolution order.

    1. explicit options (service_account_contents / service_account_file, auth_kind, project);
    2. environment: GCP_SERVICE_ACCOUNT_CONTENTS, GCP_SERVICE_ACCOUNT_FILE, GCP_AUTH_KIND, then
       AWX's Google credential (GCE_CREDENTIALS_FILE_PATH; GCE_PROJECT comes in through ``project``);
    3. Application Default Credentials (google.auth.default), which covers gcloud ADC, the metadata
       server and Workload Identity Federation ``external_account`` files.
    ``impersonate_service_account`` (or GCP_IMPERSONATE_SERVICE_ACCOUNT) wraps whatever was found.
    A plain-HTTP ``api_endpoint`` is the local emulator: it gets anonymous credentials.
    """
    environ = os.environ if environ is None else environ
    scopes = params.get("scopes") or [CLOUD_PLATFORM_SCOPE]
    endpoint = params.get("api_endpoint") or ""
    if endpoint.startswith("http://"):
        return gcreds.AnonymousCredentials(), params.get("project"), "anonymous (emulator at %s)" % endpoint

    auth_kind = params.get("auth_kind") or environ.get("GCP_AUTH_KIND")
    contents = params.get("service_account_contents")
    path = params.get("service_account_file")
    if auth_kind != "application" and contents is None and path is None:
        contents = environ.get("GCP_SERVICE_ACCOUNT_CONTENTS")
        path = environ.get("GCP_SERVICE_ACCOUNT_FILE") or environ.get("GCE_CREDENTIALS_FILE_PATH")
    if auth_kind == "serviceaccount" and contents is None and path is None:
        raise GcpError("auth_kind=serviceaccount needs service_account_file or service_account_contents "
                       "(or GCP_SERVICE_ACCOUNT_FILE / GCE_CREDENTIALS_FILE_PATH in the environment)")

    try:
        if contents is not None:
            creds, project = _service_account_key(contents, "service_account_contents", scopes)
            source = "service_account_contents"
        elif path is not None:
            try:
                with open(path) as f:
                    text = f.read()
            except OSError as e:
                raise GcpError("Cannot read the service account file %s: %s" % (path, e.strerror))
            creds, project = _service_account_key(text, "service account file %s" % path, scopes)
            source = "file %s" % path
        else:
            creds, project = google.auth.default(scopes=scopes)
            source = "application default credentials"
    except (google.auth.exceptions.GoogleAuthError, ValueError) as e:
        raise GcpError("Failed to load Google credentials: %s. Hint: pass service_account_file, set "
                       "GOOGLE_APPLICATION_CREDENTIALS, or run 'gcloud auth application-default login'." % e)

    target = params.get("impersonate_service_account") or environ.get("GCP_IMPERSONATE_SERVICE_ACCOUNT")
    if target:
        creds = impersonated_credentials.Credentials(source_credentials=creds, target_principal=target,
                                                     target_scopes=scopes, lifetime=3600)
        source = "%s impersonating %s" % (source, target)
    return creds, params.get("project") or project, source


# Credentials and clients, reused by every Session of this process that has the same auth inputs:
# the items of a loop, or the tasks that share a controller process. Keyed by those inputs and the
# whole environment (which ADC and the GCP_* fallbacks read), so different credentials, projects or
# endpoints never share an entry. A forked child starts empty: no connection crosses a fork.
_SHARED = {}
os.register_at_fork(after_in_child=_SHARED.clear)


def _auth_key(params):
    inputs = dict((name, params.get(name)) for name in AUTH_ARGSPEC)
    inputs["environment"] = sorted(os.environ.items())
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


class Session:
    """What a module's logic needs: parameters, check mode, project, clients, calls and waits."""

    def __init__(self, params, check_mode=False, warn=None):
        self.params = params
        self.check_mode = check_mode
        self.warnings = []
        self._warn = warn or self.warnings.append
        self._key = _auth_key(params)
        self.retry = retry_policy()

    def warn(self, message):
        self._warn(message)

    def _shared(self, what, make):
        key = (self._key, what)
        if key not in _SHARED:
            _SHARED[key] = make()
        return _SHARED[key]

    def _resolve(self):
        """``(credentials, project, source)`` for these parameters."""
        return self._shared("credentials", lambda: resolve_credentials(self.params))

    @property
    def project(self):
        project = self._resolve()[1]
        if not project:
            raise GcpError("No project: set the project option, GCP_PROJECT, or a default project in your credentials.")
        return project

    def client(self, client_class):
        """One client per API class, over REST, pointed at ``api_endpoint`` when one is set."""
        endpoint = self.params.get("api_endpoint")
        return self._shared(client_class, lambda: client_class(
            credentials=self._resolve()[0], transport="rest",
            client_options={"api_endpoint": endpoint} if endpoint else None,
            client_info=ClientInfo(user_agent=USER_AGENT)))

    def discovery(self, api, version):
        """A google-api-python-client service for ``api`` ``version``, from the discovery document it ships.

        For APIs whose google-cloud-* library has no REST transport: Cloud Monitoring's speaks gRPC
        only (https://github.com/googleapis/google-cloud-python/issues/16852)."""
        if DISCOVERY_IMPORT_ERROR:
            raise GcpError(missing_required_lib("google-api-python-client"))
        endpoint = self.params.get("api_endpoint")
        return self._shared(("discovery", api, version), lambda: gdiscovery.build(
            api, version, static_discovery=True, cache_discovery=False,
            http=google_auth_httplib2.AuthorizedHttp(self._resolve()[0], http=httplib2.Http(timeout=self.params["request_timeout"])),
            client_options={"api_endpoint": endpoint} if endpoint else None))

    def execute(self, action, resource, request):
        """Run a google-api-python-client ``request`` with the retry policy; errors become a ``GcpError``."""
        def attempt():
            try:
                return request.execute()
            except gerrors.HttpError as e:
                try:
                    message = json.loads(e.content)["error"]["message"]
                except (KeyError, TypeError, ValueError):
                    message = e.reason
                raise gexc.from_http_status(e.resp.status, message)
        return _translated(action, resource, self.retry(attempt))

    def call(self, action, resource, method, *args, **kwargs):
        """Call a client method with the retry policy; API errors become a ``GcpError``."""
        return _translated(action, resource, method, *args, retry=self.retry,
                           timeout=self.params["request_timeout"], **kwargs)

    def get(self, action, resource, method, *args, **kwargs):
        """Like ``call`` for reads, but a missing resource is ``None``."""
        try:
            return self.call(action, resource, method, *args, **kwargs)
        except GcpError as e:
            if e.status == "NOT_FOUND":
                return None
            raise

    def wait(self, operation, action, resource, timeout, read_partial=None):
        """Wait for a long-running operation on a monotonic deadline and return its result.

        On an operation error or on timeout, raise ``GcpError`` with what ``read_partial()``
        returns (the resource as it now stands) so the user sees the partial state.
        """
        deadline = time.monotonic() + timeout
        pause = 0.1
        name = operation.operation.name
        while not _translated("poll operation %s to %s" % (name, action), resource, operation.done, retry=self.retry):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                partial = read_partial() if read_partial else {}
                raise GcpError("Timed out after %ss waiting to %s %s (operation %s is still running; the "
                               "partial state is returned). Hint: re-run to converge, or raise wait_timeout."
                               % (timeout, action, resource, name), **partial)
            time.sleep(min(pause, remaining))
            pause = min(pause * 1.5, 5.0)
        error = operation.exception()
        if error is not None:
            partial = read_partial() if read_partial else {}
            status, message = describe_api_error(error)
            raise GcpError("Failed to %s %s: operation %s failed: %s: %s" % (
                action, resource, name, status, message), **partial)
        return operation.result()


def warm_up():
    """Do now what Google's libraries otherwise do lazily on the first call of every process: import
    netrc (requests) and compile the patterns of timestamps and JSON numbers (protobuf). The
    controller door calls it once, before Ansible forks a worker for each task, so that every
    worker inherits the result (a few milliseconds per task; benchmarks/RESULTS.md)."""
    importlib.import_module("netrc")
    timestamp_pb2.Timestamp().FromJsonString("1970-01-01T00:00:00.5Z")
    json_format.Parse('{"n": 0.5}', struct_pb2.Struct())


class GcpModule:
    """An AnsibleModule with the common auth options that runs one logic function.

    ``module_class`` is AnsibleModule on a target; the controller door passes a subclass that takes
    its parameters from the task and hands the result back in-process.
    """

    def __init__(self, argument_spec, mutually_exclusive=(), module_class=AnsibleModule, **constraints):
        self.module = module_class(
            argument_spec=dict(AUTH_ARGSPEC, **argument_spec), supports_check_mode=True,
            mutually_exclusive=AUTH_MUTUALLY_EXCLUSIVE + list(mutually_exclusive), **constraints)
        contents = self.module.params.get("service_account_contents")
        if contents:
            # A mapping given for this jsonarg option becomes a JSON string whose escaping differs from
            # the values Ansible masked: mask the string itself too.
            self.module.no_log_values.add(contents)
        if GOOGLE_IMPORT_ERROR:
            self.module.fail_json(msg=missing_required_lib("google-auth, google-api-core and google-cloud-run"),
                                  exception=GOOGLE_IMPORT_ERROR)

    def run(self, logic):
        session = Session(self.module.params, check_mode=self.module.check_mode, warn=self.module.warn)
        try:
            result = logic(session)
        except GcpError as e:
            self.module.fail_json(msg=e.msg, **e.result)
        self.module.exit_json(**result)
