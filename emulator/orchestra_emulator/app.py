"""The emulator without its HTTP server: builds the registered APIs (registry.py), routes a request to
an admin endpoint or to the handler of the discovery method that serves it, and answers in Google's
JSON shapes."""

import dataclasses
import json
import sys
import time
import traceback
import urllib.parse

from orchestra_emulator import admin, auth, logs, metrics, registry
from orchestra_emulator.discovery import camel_case, wants_enum_numbers
from orchestra_emulator.errors import ApiError, invalid_argument, not_found
from orchestra_emulator.state import Store

# Importing an API module registers its API (auth registers STS and IAM Credentials).
from orchestra_emulator import iam_v1, logging_v2, monitoring_v1, monitoring_v3, redis_v1, resourcemanager_v3, run_v2, secretmanager_v1, storage_v1, vpcaccess_v1  # noqa: F401  pylint: disable=unused-import

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Methods that read though they are POSTed (Resource Manager's and IAM's getIamPolicy take their options in a body).
READS_BY_POST = (":getIamPolicy", ":testIamPermissions")


@dataclasses.dataclass
class Request:
    variables: dict  # path variables, e.g. {"projectsId": ..., "locationsId": ...}
    query: dict  # typed query parameters the method declares
    body: dict  # validated, normalised request body
    headers: dict = None  # the HTTP request headers (case-insensitive when they come from the server)
    data: bytes = None  # the raw body of a request on one of the method's media upload paths (then `body` is {})


class Emulator:
    def __init__(self, state_dir):
        settings, config, positive_config = registry.admin_defaults()
        self.store = Store(state_dir, settings, config)
        self.metrics = metrics.Sink()
        self.tokens = auth.Tokens(self.store)
        self.logs = logs.Logs(self.store, self.metrics)
        self._oauth2 = auth.OAuth2(self.tokens)
        shared = registry.Shared(self.store, self.metrics, self.tokens, self.logs)
        self._apis = [api_class(shared) for api_class in registry.REGISTERED]
        endpoints = dict(self.tokens.admin)
        for api in self._apis:
            endpoints.update(api.admin)
        self.admin = admin.Admin(self.store, self.reset, endpoints, positive_config)
        for api in self._apis:
            api.restore()

    def handle(self, method, target, body, headers=None):
        """(HTTP status, JSON payload or a registry.Media) for one request; `target` is the path with its query."""
        url = urllib.parse.urlsplit(target)
        path, raw_query = url.path, url.query
        if path.startswith(admin.PREFIX):
            return self._admin(method, path[len(admin.PREFIX) :], body)
        values = urllib.parse.parse_qs(raw_query, keep_blank_values=True)
        query = {name: found[-1] for name, found in values.items()}
        headers = headers or {}
        start, started = time.time(), time.perf_counter()
        try:
            if method == "POST" and path == auth.OAUTH_TOKEN_PATH:
                status, payload = 200, self._oauth2.token(auth.form(body))
            else:
                payload = self._call(method, path, query, values, body, headers)
                status = payload.status if isinstance(payload, registry.Media) else 200
        except auth.OAuthError as error:
            status, payload = error.http_status, error.payload
        except ApiError as error:
            status, payload = error.http_status, error.body()
        except Exception as error:  # noqa: BLE001 - a bug must still answer in Google's shape
            traceback.print_exc(file=sys.stderr)
            failure = ApiError("INTERNAL", f"Emulator error: {error!r}")
            status, payload = failure.http_status, failure.body()
        self.admin.calls.append({"method": method, "path": path, "status": status, "start": start,
                                 "seconds": time.perf_counter() - started})
        if method in MUTATING and not path.endswith(READS_BY_POST):
            self.admin.record(method, path, query, status)
        return status, payload

    def reset(self):
        for api in self._apis:
            api.close()
        self.tokens.forget()
        self.metrics.clear()
        self.logs.clear()
        self.store.reset()

    def close(self):
        for api in self._apis:
            api.close()

    def _admin(self, method, path, body):
        try:
            return self.admin.handle(method, path, _json(body))
        except ApiError as error:
            return error.http_status, error.body()

    def _call(self, http_method, path, query, values, body, headers):
        self.admin.apply_fault(http_method, path)
        api, method, variables = self._route(http_method, path)
        if api.checks_tokens:
            self.tokens.check_call(headers)
        handler, body_field = api.handlers.get(method.id, (None, None))
        if handler is None:
            raise ApiError("UNIMPLEMENTED", f"Method {method.id} is not implemented by the emulator.")
        form = (headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded")
        upload = method.is_upload(path)  # the handler reads the raw body (media, multipart or a resumable upload's chunk)
        request = Request(
            variables,
            api.api.decode_query(method, values),
            api.api.decode_body(method, {camel_case(k): v for k, v in auth.form(body).items()} if form else _json(body), body_field)
            if body_field is not None and not upload else {},
            headers,
            body if upload else None,
        )
        failure = self.admin.take_failing_operation(http_method, path) if api.api.is_operation(method.response_ref) else None
        result = self._failed_operation(api, variables, failure) if failure else handler(request)
        if method.response_ref and not isinstance(result, registry.Media):  # a download, an upload session's answer
            result = api.api.encode_response(method.response_ref, result, wants_enum_numbers(query))
        return result

    def _route(self, http_method, path):
        routes = [(api, *found) for api in self._apis if (found := api.api.match(http_method, path))]
        if not routes:
            # Google answers an HTML 404 here; the emulator keeps to its JSON error shape.
            raise not_found(f"The requested URL {path} was not found on this server.")
        # Google's APIs have hosts of their own, and some share a path on one port (Serverless VPC Access and
        # Memorystore: v1/projects/*/locations/*/operations[/*]): operations go to the API that started them.
        if len(routes) > 1:
            return next((route for route in routes if route[0].operations.holds(_operations_path(route[2]))), routes[0])
        return routes[0]

    def _failed_operation(self, api, variables, error):
        parent = f"projects/{variables['projectsId']}/locations/{variables['locationsId']}"
        with self.store.mutate() as data:
            return api.operations.start(data, parent, error=error)


def _operations_path(variables):
    """The operation a path names, or the prefix of the operations a list names."""
    return f"projects/{variables.get('projectsId')}/locations/{variables.get('locationsId')}/operations/{variables.get('operationsId', '')}"


def _json(body):
    if not body:
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        raise invalid_argument("Invalid JSON payload received. Unexpected token.") from None
    if not isinstance(value, dict):
        raise invalid_argument("Invalid JSON payload received. Expected an object.")
    return value
