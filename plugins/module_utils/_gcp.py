# -*- coding: utf-8 -*-
# Copyright: orchestra.gcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one GCP layer of orchestra.gcp: credentials, clients, retries, operations, errors, and what every
resource family shares (read-modify-write with etags, listing, labels, options tables, messages).

PRIVATE to this collection: modules and action plugins of orchestra.gcp use it; nothing else should.
README.md beside this file says, for the author of a new family, what to reuse from here and where the
family's own code goes, with Cloud Run as the worked example.

A module's work is a function ``logic(session) -> result`` that lives in module_utils. A
``Session`` carries the validated parameters, check mode, the resolved credentials and the
clients. ``GcpModule`` runs such a function as a module; any other door builds a ``Session``
from the same parameters and calls the same function.

Tokens: a run fetches one OAuth access token per distinct credential, and one ID token per
credential and audience, reused by every later task until shortly before it expires and fetched
again once then, or once when an API answers 401 (``_tokens``). A credential is the hash of
everything that decides the token: the auth options (scopes, impersonation, api_endpoint, project
included), the environment variables credentials are read from, and the contents of the key or
ADC file in use. The run is the ansible-playbook process: its controller makes a private directory
that its workers and the modules they start inherit through ``ORCHESTRA_GCP_TOKEN_RUN``, and
removes it at its end; see ``_tokens`` for how runs stay apart and what ``ORCHESTRA_GCP_TOKEN_CACHE``
changes.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import random
import re
import time
import traceback
from collections.abc import Mapping, Sequence

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from . import _tokens

try:
    import google.auth
    import google.auth.exceptions
    import google.auth.transport.requests
    from google.api_core import exceptions as gexc
    from google.api_core import retry as gretry
    from google.api_core.gapic_v1.client_info import ClientInfo
    from google.auth import credentials as gcreds
    from google.auth import impersonated_credentials
    from google.oauth2 import service_account
    from google.protobuf import json_format, struct_pb2, timestamp_pb2
    from requests import exceptions as http_errors  # what the REST transport raises when no answer comes
    GOOGLE_IMPORT_ERROR = None
except ImportError:
    GOOGLE_IMPORT_ERROR = traceback.format_exc()

# What every module imports, as (PyPI package, Python module) pairs; a module's spec adds those of its
# family as ``libraries`` (e.g. google-cloud-run), and both doors check them before anything runs.
BASE_LIBRARIES = (("google-auth", "google.auth"), ("google-api-core", "google.api_core"))

USER_AGENT = "orchestra.gcp/0.1.0"
# Where impersonation asks for tokens on an emulator (Google: iamcredentials.googleapis.com).
EMULATOR_IAM_PATH = "/v1/projects/-/serviceAccounts/%s:generateAccessToken"
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
# The options that name a regional resource, and those of a change that is a long-running operation.
LOCATION_ARGSPEC = dict(
    name=dict(type="str", required=True),
    region=dict(type="str", required=True, aliases=["location"]),
)
WAIT_ARGSPEC = dict(
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=600),
)

# Statuses worth retrying: the call did not happen or the service asked us to come back.
TRANSIENT_HTTP_CODES = (429, 500, 502, 503, 504)
RETRY_INITIAL, RETRY_MAXIMUM, RETRY_MULTIPLIER, RETRY_DEADLINE = 0.25, 8.0, 2.0, 60.0

# What to do, by the status Google names (one HTTP code carries several: 409 is ALREADY_EXISTS or ABORTED,
# 400 is INVALID_ARGUMENT or FAILED_PRECONDITION, which is also how Secret Manager reports a stale etag).
HINTS = {
    "INVALID_ARGUMENT": "fix the input the message names",
    "FAILED_PRECONDITION": "the resource is not in a state that allows this, or changed since it was read: re-read it and re-run",
    "UNAUTHENTICATED": "the credentials were rejected: refresh them (gcloud auth application-default login) or check the key file",
    "PERMISSION_DENIED": "grant the caller the role this action needs on the project, or check that the API is enabled",
    "NOT_FOUND": "check the name, the project and the region",
    "ALREADY_EXISTS": "the resource exists already: manage it under its name, or choose another name",
    "ABORTED": "the resource changed since it was read (a concurrent change): re-run to apply on top of it",
    "RESOURCE_EXHAUSTED": "quota exhausted (reads and safe writes are retried for a minute first): try again later or raise the quota",
    "UNAVAILABLE": "the service was unavailable (reads and safe writes are retried for a minute first): try again later",
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
    """A transient status, or no answer at all (a connection reset or refused, a request that timed out)."""
    return ((isinstance(exc, gexc.GoogleAPICallError) and exc.code in TRANSIENT_HTTP_CODES)
            or isinstance(exc, (http_errors.ConnectionError, http_errors.Timeout)))


def conflict_pause(attempt):
    """Seconds to wait before read-modify-write attempt ``attempt`` (1, 2, ...) after a conflict: full jitter
    under an exponential cap, as api_core's retries do."""
    return random.uniform(0, min(RETRY_MAXIMUM, RETRY_INITIAL * RETRY_MULTIPLIER ** (attempt - 1)))


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
        raise GcpError("Failed to %s %s: gave up after retrying for %ss: %s" % (action, resource, RETRY_DEADLINE, e.cause),
                       status="UNAVAILABLE")
    except http_errors.RequestException as e:
        status = "DEADLINE_EXCEEDED" if isinstance(e, http_errors.Timeout) else "UNAVAILABLE"
        raise GcpError("Failed to %s %s: no answer from Google (%s: %s); a change may or may not have been made. Hint: read "
                       "the resource to see where it stands, then re-run." % (action, resource, status, e), status=status)


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
    hint = HINTS.get(status, "see the message above")
    return GcpError("Failed to %s %s: %s (%s): %s. Hint: %s." % (action, resource, status, exc.code, message.rstrip("."), hint),
                    status=status, **result)


# ---------------------------------------------------------------- names, data and messages

def short_name(resource_name):
    """The last segment of a full resource name: ``projects/p/locations/l/services/s`` -> ``s``."""
    return resource_name.rsplit("/", 1)[-1] if resource_name else ""


def to_dict(message):
    """A proto-plus message as plain data: snake_case keys, enum names."""
    return type(message).to_dict(message, use_integers_for_enums=False, preserving_proto_field_name=True)


def copy_message(message):
    """A deep copy of a proto-plus message, to build a change on without touching what was read."""
    return type(message).deserialize(type(message).serialize(message))


DURATION_RE = re.compile(r"^([0-9]+)([smhd]?)$")
UNITS = dict(s=1, m=60, h=3600, d=86400)


def seconds(value):
    """A duration as seconds: a number of seconds, or a number with a unit s, m, h or d (``7d``); None if not one."""
    match = DURATION_RE.match(str(value).strip())
    return int(match.group(1)) * UNITS[match.group(2) or "s"] if match else None


def epoch(text):
    """A timestamp as Google writes it (RFC 3339, up to nanoseconds, Z or an offset) as epoch seconds; None if it is not one."""
    stamp = timestamp_pb2.Timestamp()
    try:
        stamp.FromJsonString(str(text))
    except ValueError:
        return None
    return stamp.seconds + stamp.nanos / 1e9


def rfc3339(moment):
    """Epoch seconds as Google's RFC 3339 timestamp, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def invalid(resource, problems, what="parameters"):
    """The error for input refused before any call: it names the resource and every problem, and says that nothing changed."""
    return GcpError("Invalid %s for %s: %s. Nothing was changed." % (what, resource, "; ".join(problems)))


# ---------------------------------------------------------------- labels

# Google's rules for labels, the same in every API (https://cloud.google.com/resource-manager/docs/labels-overview).
LABEL_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}$")
MAX_LABELS = 64


def label_problems(labels):
    """What breaks Google's label rules in ``labels``, one sentence each."""
    problems = ["label key %r must start with a lowercase letter and hold at most 63 lowercase letters, digits, '_' or '-'" % key
                for key in labels or {} if not LABEL_KEY_RE.match(str(key))]
    problems += ["label value %r (key %r) must hold at most 63 lowercase letters, digits, '_' or '-'" % (value, key)
                 for key, value in (labels or {}).items() if not LABEL_VALUE_RE.match(str(value))]
    if len(labels or {}) > MAX_LABELS:
        problems.append("%d labels is more than the %d a resource can hold" % (len(labels), MAX_LABELS))
    return problems


def merge_labels(want, have, purge):
    """The labels (or annotations) to write: ``want``, and unless ``purge`` the live ones it does not name, as
    amazon.aws's ``purge_tags`` does."""
    return dict(want) if purge else dict(have or {}, **want)


# ---------------------------------------------------------------- options of a resource

class Option:
    """One option of a resource and the API field behind it.

    A family lists its resource's options once, name -> Option, and that table gives the module's argument spec
    (``argument_spec``), the options as a live resource holds them (``read_options``), the writing of options into
    a new resource (``write_options``) and the options that differ (``changed_options``).

    ``field`` is a dotted path from the resource to the API field (``template.containers.0.image``: a number is an
    index, a segment after a map is its key); ``choices`` maps the option's values to the API enum's names; ``read``
    (of the resource) and ``write`` (of the resource and the value) replace the path for a field that needs more;
    ``same(want, have)`` replaces equality. Proto3 cannot tell a zero value from an unset one, so neither can the
    comparison: 0, "", [] and {} equal an unset option. Other keywords are the family's own, as ``tags``.
    """

    def __init__(self, spec, field=None, choices=None, read=None, write=None, same=None, **tags):
        self.spec = spec
        self.field = field
        self.choices = choices
        self._read = read
        self._write = write
        self._same = same
        self.tags = tags

    def read(self, resource):
        if self._read:
            return self._read(resource)
        value = _at_path(resource, self.field)
        if self.choices:
            return next((k for k, v in self.choices.items() if v == getattr(value, "name", value)), None)
        if isinstance(value, Mapping):
            return dict(value)
        if isinstance(value, Sequence) and not isinstance(value, str):
            return list(value)
        return None if value == "" else value

    def write(self, resource, value):
        if self._write:
            return self._write(resource, value)
        _set_path(resource, self.field, self.choices[value] if self.choices else value)

    def same(self, want, have):
        if self._same:
            return self._same(want, have)
        return _proto3(want) == _proto3(have)


def _proto3(value):
    return None if value in (0, "", [], {}, None) and value is not False else value


def _at_path(message, path):
    for part in path.split("."):
        if message is None:
            return None
        if part.isdigit():
            message = message[int(part)] if len(message) > int(part) else None
        elif isinstance(message, Mapping):
            message = message.get(part)
        else:
            message = getattr(message, part)
    return message


def _set_path(message, path, value):
    *parents, last = path.split(".")
    for part in parents:
        if part.isdigit():
            while len(message) <= int(part):
                message.append({})
            message = message[int(part)]
        else:
            message = getattr(message, part)
    if isinstance(message, Mapping):
        message[last] = value
    else:
        setattr(message, last, value)


def given_keys_same(want, have):
    """``same`` for a dict option compared on the keys the task gives: the others are Google's to choose or keep (a
    snapshot start time it picked, a zone it placed a node in)."""
    return have is not None and all(value is None or have.get(key) == value for key, value in want.items())


def given_fields_same(want, have):
    """``given_keys_same`` at any depth, for resources read as JSON (google-api-python-client): whether ``have`` holds
    every field of ``want``. The fields ``want`` does not name are Google's (an etag, the defaults it fills in); a zero
    value (false, 0, "", [], {}) matches an unset field, as proto3 reads them (Google drops them); lists match item by
    item."""
    if want is None:
        return True
    if isinstance(want, (dict, list)) and want and not isinstance(have, type(want)):
        return False
    if isinstance(want, dict) and want:
        return all(given_fields_same(value, have.get(key)) for key, value in want.items())
    if isinstance(want, list) and want:
        return len(want) == len(have) and all(given_fields_same(w, h) for w, h in zip(want, have))
    if not want:
        return not have
    return want == have


def argument_spec(options):
    return {name: option.spec for name, option in options.items()}


def read_options(options, resource):
    """Each option as ``resource`` (a live one) holds it."""
    return {name: option.read(resource) for name, option in options.items()}


def write_options(options, resource, want):
    """Write the options ``want`` names into ``resource`` (a copy of the live one), leaving every other field alone."""
    for name, value in want.items():
        options[name].write(resource, value)


def changed_options(options, want, have):
    """The names of the options in ``want`` that ``have`` (read_options of the live resource) holds otherwise."""
    return sorted(name for name, value in want.items() if not options[name].same(value, have.get(name)))


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


def is_emulator(params):
    """A plain-HTTP ``api_endpoint`` is the local emulator."""
    return (params.get("api_endpoint") or "").startswith("http://")


def resolve_credentials(params, environ=None, cache=lambda creds, role: creds):
    """Return ``(credentials, project, source)`` following the collection's resolution order.

    1. explicit options (service_account_contents / service_account_file, auth_kind, project);
    2. environment: GCP_SERVICE_ACCOUNT_CONTENTS, GCP_SERVICE_ACCOUNT_FILE, GCP_AUTH_KIND, then
       AWX's Google credential (GCE_CREDENTIALS_FILE_PATH; GCE_PROJECT comes in through ``project``);
    3. Application Default Credentials (google.auth.default), which covers gcloud ADC, the metadata
       server and Workload Identity Federation ``external_account`` files.
    ``impersonate_service_account`` (or GCP_IMPERSONATE_SERVICE_ACCOUNT) wraps whatever was found.
    A plain-HTTP ``api_endpoint`` is the local emulator: it gets anonymous credentials unless an
    option (auth_kind, service_account_file or _contents) asks for real ones, which then fetch their
    tokens where their key says and impersonate through the emulator's IAM Credentials API.
    ``cache(credentials, role)`` wraps the credentials found (role "source") and the impersonated ones.
    """
    environ = os.environ if environ is None else environ
    scopes = params.get("scopes") or [CLOUD_PLATFORM_SCOPE]
    endpoint = params.get("api_endpoint") or ""
    explicit = any(params.get(name) is not None for name in ("auth_kind", "service_account_file", "service_account_contents"))
    if is_emulator(params) and not explicit:
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
            # Scoped after loading: given scopes, google.auth.default fetches a token of an external
            # account at once to look its project up, in every task and past the run's token cache.
            creds, project = google.auth.default()
            creds = gcreds.with_scopes_if_required(creds, scopes)
            source = "application default credentials"
    except (google.auth.exceptions.GoogleAuthError, ValueError) as e:
        raise GcpError("Failed to load Google credentials: %s. Hint: pass service_account_file, set "
                       "GOOGLE_APPLICATION_CREDENTIALS, or run 'gcloud auth application-default login'." % e)

    target = params.get("impersonate_service_account") or environ.get("GCP_IMPERSONATE_SERVICE_ACCOUNT")
    if target:
        override = endpoint.rstrip("/") + EMULATOR_IAM_PATH % target if is_emulator(params) else None
        creds = cache(impersonated_credentials.Credentials(
            source_credentials=cache(creds, "source"), target_principal=target, target_scopes=scopes, lifetime=3600,
            iam_endpoint_override=override), "access")
        return creds, params.get("project") or project, "%s impersonating %s" % (source, target)
    return cache(creds, "access"), params.get("project") or project, source


def id_token_credentials(creds, audience):
    """Credentials of ID tokens for ``audience`` minted from ``creds`` (as resolved: not cached), or
    None with the reason when they cannot mint one.

    A service account key signs its own request to its token_uri; impersonation asks IAM Credentials'
    generateIdToken. User credentials (gcloud ADC) and external accounts without impersonation cannot
    mint an ID token for an audience; anonymous credentials (the emulator) have no identity."""
    if isinstance(creds, service_account.Credentials):
        # _token_uri: the key's token_uri (google-auth keeps it private; no public accessor).
        return service_account.IDTokenCredentials(creds.signer, creds.service_account_email, creds._token_uri,
                                                  target_audience=audience), None
    if isinstance(creds, impersonated_credentials.Credentials):
        return impersonated_credentials.IDTokenCredentials(creds, target_audience=audience, include_email=True), None
    if isinstance(creds, gcreds.AnonymousCredentials):
        return None, "no credentials are configured (anonymous against the emulator)"
    return None, ("%s credentials cannot mint an ID token for an audience. Hint: use a service account key "
                  "(service_account_file) or impersonate_service_account" % type(creds).__module__.split(".")[-1])


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


# Environment variables credentials are read from (ours, AWX's, google-auth's and gcloud's).
CREDENTIAL_VARIABLES = ("GCP_", "GCE_", "GOOGLE_", "CLOUDSDK_", "ORCHESTRA_GCP_ENDPOINT", "HOME")


def credential_key(params, environ=None):
    """What decides a token, hashed: the auth options but the timeout, the credential variables of
    the environment, and the contents of every file a credential may come from (a rotated key or
    another gcloud login is another credential)."""
    environ = os.environ if environ is None else environ
    adc = os.path.join(environ.get("CLOUDSDK_CONFIG") or os.path.join(environ.get("HOME", "~"), ".config", "gcloud"),
                       "application_default_credentials.json")
    files = [params.get("service_account_file"), environ.get("GCP_SERVICE_ACCOUNT_FILE"),
             environ.get("GCE_CREDENTIALS_FILE_PATH"), environ.get("GOOGLE_APPLICATION_CREDENTIALS"), adc]
    inputs = dict(
        options=dict((name, params.get(name)) for name in AUTH_ARGSPEC if name != "request_timeout"),
        environment=sorted((name, value) for name, value in environ.items() if name.startswith(CREDENTIAL_VARIABLES)),
        files=[(path, _digest(path)) for path in files if path])
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def _digest(path):
    try:
        with open(os.path.expanduser(path), "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


class Session:
    """What a module's logic needs: parameters, check mode, project, clients, calls and waits."""

    def __init__(self, params, check_mode=False, warn=None, secret=None):
        self.params = params
        self.check_mode = check_mode
        self.warnings = []
        self._warn = warn or self.warnings.append
        self._secret = secret or (lambda value: None)  # told every token handed out: the module masks it (no_log)
        self._key = _auth_key(params)
        self.retry = retry_policy()

    def warn(self, message):
        self._warn(message)

    def _shared(self, what, make):
        key = (self._key, what)
        if key not in _SHARED:
            _SHARED[key] = make()
        return _SHARED[key]

    def resolve(self):
        """``(credentials, project, source)`` for these parameters, their tokens cached for the run."""
        return self._shared("credentials", lambda: resolve_credentials(self.params, cache=self._cached))

    def _cached(self, creds, role):
        directory = _tokens.run_directory()
        key = hashlib.sha256(("%s %s" % (self._credential_key(), role)).encode()).hexdigest()
        return _tokens.CachedCredentials(creds, key, directory)

    def _credential_key(self):
        return self._shared("credential key", lambda: credential_key(self.params))

    def invoker_headers(self, audience):
        """``(headers, why)``: the Authorization header with an ID token for ``audience`` (a Cloud Run
        service URL) minted from this session's credentials, or no header and why there is none."""
        def make():
            resolved = self.resolve()[0]
            inner = getattr(resolved, "inner", resolved)
            if is_emulator(self.params) and isinstance(inner, impersonated_credentials.Credentials):
                # google-auth sends generateIdToken to iamcredentials.googleapis.com whatever the endpoint.
                return None, "impersonated ID tokens cannot be minted by the emulator"
            minter, why = id_token_credentials(inner, audience)
            return (self._cached(minter, "id " + audience) if minter else None), why
        creds, why = self._shared(("id token", audience), make)
        if creds is None:
            return {}, why
        if not creds.valid:
            try:
                creds.refresh(google.auth.transport.requests.Request())
            except google.auth.exceptions.GoogleAuthError as e:
                raise GcpError("Failed to mint an ID token for %s: %s. Hint: the caller needs roles/iam.serviceAccountTokenCreator "
                               "on the impersonated service account, or a valid key." % (audience, e))
        self._secret(creds.token)
        return {"Authorization": "Bearer %s" % creds.token}, None

    @property
    def project(self):
        project = self.resolve()[1]
        if not project:
            raise GcpError("No project: set the project option, GCP_PROJECT, or a default project in your credentials.")
        return project

    def client(self, client_class):
        """One client per API class, over REST, pointed at ``api_endpoint`` when one is set."""
        endpoint = self.params.get("api_endpoint")
        return self._shared(client_class, lambda: client_class(
            credentials=self.resolve()[0], transport="rest",
            client_options={"api_endpoint": endpoint} if endpoint else None,
            client_info=ClientInfo(user_agent=USER_AGENT)))

    def discovery(self, api, version):
        """A google-api-python-client service for ``api`` ``version``, from the discovery document it ships.

        For APIs whose google-cloud-* library has no REST transport: Cloud Monitoring's speaks gRPC
        only (https://github.com/googleapis/google-cloud-python/issues/16852). Imported here, on first
        use: the modules that need no such API (all but the canary analysis) start without it. ``api_endpoint``
        stands for the document's ``rootUrl``: the client's base is it joined with the ``servicePath`` (Cloud
        Storage's ``storage/v1/``), and its media uploads go to it (``upload/storage/v1/...``), as on Google."""
        import google_auth_httplib2
        import httplib2
        from googleapiclient import discovery as gdiscovery
        from googleapiclient.discovery_cache import get_static_doc
        endpoint = self.params.get("api_endpoint")

        def build():
            document = json.loads(get_static_doc(api, version))
            if endpoint:
                document["rootUrl"] = endpoint.rstrip("/") + "/"
            return gdiscovery.build_from_document(
                document, http=google_auth_httplib2.AuthorizedHttp(self.resolve()[0], http=httplib2.Http(timeout=self.params["request_timeout"])))
        return self._shared(("discovery", api, version), build)

    def _retry(self, idempotent):
        """The retry policy for a call that is safe to repeat; none for one that is not (a retried Secret Manager
        addVersion would add two versions), so that it runs once and a failure is reported as it is."""
        return self.retry if idempotent else None

    def execute(self, action, resource, request, idempotent):
        """Run a google-api-python-client ``request`` (retried when ``idempotent``); errors become a ``GcpError``."""
        from googleapiclient import errors as gerrors  # imported by discovery(), which made the request

        def attempt():
            try:
                return request.execute()
            except gerrors.HttpError as e:
                try:
                    message = json.loads(e.content)["error"]["message"]
                except (KeyError, TypeError, ValueError):
                    message = e.reason
                raise gexc.from_http_status(e.resp.status, message)
        retry = self._retry(idempotent)
        return _translated(action, resource, retry(attempt) if retry else attempt)

    def execute_all(self, action, resource, request_for, key):
        """Every item under ``key`` of a paged google-api-python-client list: ``request_for(page_token)`` makes the
        request of each page, each executed with the retry policy and its errors translated."""
        found, token = [], None
        while True:
            page = self.execute(action, resource, request_for(token), idempotent=True)
            found += page.get(key, [])
            token = page.get("nextPageToken")
            if not token:
                return found

    def call(self, action, resource, method, *args, idempotent, **kwargs):
        """Call a client method, retried when ``idempotent`` says it is safe to repeat; API errors become a ``GcpError``.

        Safe to repeat: reads, and writes that a repeat cannot apply twice: a create of a named resource (a repeat
        finds it ALREADY_EXISTS) or an update or delete guarded by an etag (a repeat finds the etag changed)."""
        return _translated(action, resource, method, *args, retry=self._retry(idempotent),
                           timeout=self.params["request_timeout"], **kwargs)

    def get(self, action, resource, method, *args, **kwargs):
        """Read a resource; a missing one is ``None``."""
        try:
            return self.call(action, resource, method, *args, idempotent=True, **kwargs)
        except GcpError as e:
            if e.status == "NOT_FOUND":
                return None
            raise

    def list(self, action, resource, method, *args, **kwargs):
        """Every item of a paged list call, as a list: the pages after the first are fetched, with the retry policy,
        inside the error translation too."""
        return _translated(action, resource, lambda: list(self.call(action, resource, method, *args, idempotent=True, **kwargs)))

    def read_modify_write(self, resource, read, build, write, conflicts, attempts=3):
        """Read the live resource, ``build(current)`` the change from it, and ``write(current, change)`` it guarded by
        the live etag. When the write finds that someone else changed the resource in between (a status in
        ``conflicts``: Cloud Run and IAM say ABORTED, Secret Manager FAILED_PRECONDITION), read again and rebuild
        rather than overwrite, at most ``attempts`` times.

        Between attempts it waits as Google asks ("retry the whole read-modify-write with exponential backoff"):
        a random pause of up to ``RETRY_INITIAL`` seconds, doubled each time (``conflict_pause``). After the last
        attempt it fails saying how many were made.

        ``build`` returns ``(change, info)``; a change of None means nothing to do. In check mode nothing is written.
        Returns ``(current, change, info, written)``: ``written`` is what ``write`` returned (an operation), or None."""
        for attempt in range(attempts):
            if attempt:
                time.sleep(conflict_pause(attempt))
            current = read()
            change, info = build(current)
            if change is None or self.check_mode:
                return current, change, info, None
            try:
                return current, change, info, write(current, change)
            except GcpError as e:
                if e.status not in conflicts:
                    raise
                if attempt == attempts - 1:
                    raise GcpError("%s Gave up after %d attempts, each on %s read again: another writer changed it between "
                                   "every read and write. Nothing of this change was applied; re-run once the other writer is done."
                                   % (e.msg, attempts, resource), status=e.status, **e.result)

    def finish(self, operation, action, resource, read, key, explain=None):
        """What ``operation`` leaves once it is done (its response: for a create or an update, the resource as the
        change left it); when the wait option is off, the resource as ``read()`` returns it at once.

        On an operation error or a timeout, the ``GcpError`` carries the resource as it now stands under ``key`` (the
        partial state), with what ``explain(resource, message)`` adds to the message."""
        if not self.params["wait"]:
            return read()
        try:
            return self.wait(operation, action, resource, self.params["wait_timeout"])
        except GcpError as e:
            found = read()
            raise GcpError(e.msg + (explain(found, e.msg) if explain else ""), status=e.status,
                           **{key: to_dict(found) if found is not None else None})

    def settle(self, read, resource, current, passing, key):
        """``current`` once it has left the states in ``passing`` (those a resource leaves by itself as its operation
        ends: CREATING, UPDATING, ...), read again each second until wait_timeout: a change waits for it, as Google
        refuses one meanwhile. Check mode and wait=false take it as it stands. A timeout is a ``GcpError`` carrying it
        under ``key``."""
        if self.check_mode or not self.params["wait"]:
            return current
        deadline = time.monotonic() + self.params["wait_timeout"]
        while current is not None and current.state.name in passing:
            if time.monotonic() >= deadline:
                raise GcpError("Timed out after %ss waiting for %s to leave %s. Nothing was changed. Hint: re-run once its operation is "
                               "done, or raise wait_timeout." % (self.params["wait_timeout"], resource, current.state.name), **{key: to_dict(current)})
            time.sleep(1)
            current = read()
        return current

    def wait(self, operation, action, resource, timeout):
        """Wait for a long-running operation on a monotonic deadline and return its response; on an operation error or
        on timeout, raise ``GcpError``."""
        deadline = time.monotonic() + timeout
        pause = 0.1
        name = operation.operation.name
        while not _translated("poll operation %s to %s" % (name, action), resource, operation.done, retry=self.retry):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GcpError("Timed out after %ss waiting to %s %s (operation %s is still running; the "
                               "partial state is returned). Hint: re-run to converge, or raise wait_timeout."
                               % (timeout, action, resource, name))
            time.sleep(min(pause, remaining))
            pause = min(pause * 1.5, 5.0)
        error = operation.exception()
        if error is not None:
            status, message = describe_api_error(error)
            raise GcpError("Failed to %s %s: operation %s failed: %s: %s" % (action, resource, name, status, message), status=status)
        return operation.result()


def missing_libraries(libraries=()):
    """The PyPI packages of ``BASE_LIBRARIES`` and ``libraries`` whose Python module cannot be imported here.
    Each is imported to tell (the module that declares it imports it anyway; an import is done once a process)."""
    missing = []
    for package, module in BASE_LIBRARIES + tuple(libraries):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    return missing


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

    def __init__(self, argument_spec, mutually_exclusive=(), module_class=AnsibleModule, libraries=(), **constraints):
        self.module = module_class(
            argument_spec=dict(AUTH_ARGSPEC, **argument_spec), supports_check_mode=True,
            mutually_exclusive=AUTH_MUTUALLY_EXCLUSIVE + list(mutually_exclusive), **constraints)
        contents = self.module.params.get("service_account_contents")
        if contents:
            # A mapping given for this jsonarg option becomes a JSON string whose escaping differs from
            # the values Ansible masked: mask the string itself too.
            self.module.no_log_values.add(contents)
        missing = missing_libraries(libraries)
        if missing or GOOGLE_IMPORT_ERROR:
            self.module.fail_json(msg=missing_required_lib(", ".join(missing or [name for name, _unused in BASE_LIBRARIES])),
                                  exception=GOOGLE_IMPORT_ERROR)

    def run(self, logic):
        session = Session(self.module.params, check_mode=self.module.check_mode, warn=self.module.warn,
                          secret=self.module.no_log_values.add)
        try:
            result = logic(session)
        except GcpError as e:
            self.module.fail_json(msg=e.msg, exception=traceback.format_exc(), **e.result)
        if not (result.get("changed") or self.module._diff):
            result.pop("diff", None)  # a diff says what changed: there is none to show, and none was asked for
        self.module.exit_json(**result)
