"""Discovery documents drive routing, request validation and response encoding.

The documents are the ones google-api-python-client ships in
googleapiclient/discovery_cache/documents/. Validation mimics Google's JSON front end
(proto3 JSON mapping, https://protobuf.dev/programming-guides/json/): unknown fields and
wrongly typed values are 400 INVALID_ARGUMENT, `readOnly` fields are ignored on input, enums
are accepted as names or numbers and stored as names, int64 as JSON strings. Error paths use
proto field names (snake_case), as Google's messages do, e.g.
`Unknown name "foo" at 'requests[0].update_cells': Cannot find field.`

Google parses a body into protobuf messages and prints its answers from them, so in both
directions a field without presence that holds its default (`""`, `0`, `false`, an enum's zero
value, an empty list or map) is the same as an absent one: the emulator drops such fields from
request bodies and from responses. Messages (`{}` included) are always present.
"""

import base64
import datetime
import importlib.resources
import json
import re

from orchestra_emulator.errors import invalid_argument

# Enums whose proto numbers are not their positions in the discovery document (found by their names).
# From google/api/launch_stage.proto, google/cloud/run/v2/condition.proto, google/cloud/redis/v1/cloud_redis.proto and
# google/cloud/redis/cluster/v1/cloud_redis_cluster.proto (NodeType; RescheduleClusterMaintenanceRequest.RescheduleType).
_ENUM_NUMBERS = (
    {
        "LAUNCH_STAGE_UNSPECIFIED": 0,
        "UNIMPLEMENTED": 6,
        "PRELAUNCH": 7,
        "EARLY_ACCESS": 1,
        "ALPHA": 2,
        "BETA": 3,
        "GA": 4,
        "DEPRECATED": 5,
    },
    {
        "COMMON_REASON_UNDEFINED": 0,
        "UNKNOWN": 1,
        "REVISION_FAILED": 3,
        "PROGRESS_DEADLINE_EXCEEDED": 4,
        "CONTAINER_MISSING": 6,
        "CONTAINER_PERMISSION_DENIED": 7,
        "CONTAINER_IMAGE_UNAUTHORIZED": 8,
        "CONTAINER_IMAGE_AUTHORIZATION_CHECK_FAILED": 9,
        "ENCRYPTION_KEY_PERMISSION_DENIED": 10,
        "ENCRYPTION_KEY_CHECK_FAILED": 11,
        "SECRETS_ACCESS_CHECK_FAILED": 12,
        "WAITING_FOR_OPERATION": 13,
        "IMMEDIATE_RETRY": 14,
        "POSTPONED_RETRY": 15,
        "INTERNAL": 16,
        "VPC_NETWORK_NOT_FOUND": 17,
    },
    {"TIER_UNSPECIFIED": 0, "BASIC": 1, "STANDARD_HA": 3},
    {"STATE_UNSPECIFIED": 0, "CREATING": 1, "READY": 2, "UPDATING": 3, "DELETING": 4, "REPAIRING": 5, "MAINTENANCE": 6, "IMPORTING": 8,
     "FAILING_OVER": 9},
    {"SNAPSHOT_PERIOD_UNSPECIFIED": 0, "ONE_HOUR": 3, "SIX_HOURS": 4, "TWELVE_HOURS": 5, "TWENTY_FOUR_HOURS": 6},
    {"NODE_TYPE_UNSPECIFIED": 0, "REDIS_SHARED_CORE_NANO": 1, "REDIS_HIGHMEM_MEDIUM": 2, "REDIS_HIGHMEM_XLARGE": 3, "REDIS_STANDARD_SMALL": 4,
     "REDIS_HIGHCPU_MEDIUM": 7, "REDIS_STANDARD_LARGE": 8, "REDIS_HIGHMEM_2XLARGE": 9},
    {"RESCHEDULE_TYPE_UNSPECIFIED": 0, "IMMEDIATE": 1, "SPECIFIC_TIME": 3},
)
# Enums that share their names with one of _ENUM_NUMBERS but not its numbers, by (document, schema, field): Memorystore
# for Redis Cluster's RDBConfig.rdbSnapshotPeriod numbers ONE_HOUR 1 ... TWENTY_FOUR_HOURS 4 (cloud_redis_cluster.proto),
# where an instance's PersistenceConfig has 3 ... 6, and k8s-config-connector's recording sends 1 for ONE_HOUR
# (tests/fixtures/google/redis_cluster_patch_one_field.json).
_FIELD_ENUM_NUMBERS = {
    ("redis.v1", "RDBConfig", "rdbSnapshotPeriod"): {"SNAPSHOT_PERIOD_UNSPECIFIED": 0, "ONE_HOUR": 1, "SIX_HOURS": 2, "TWELVE_HOURS": 3,
                                                     "TWENTY_FOUR_HOURS": 4},
}

# Scalar fields with explicit presence (proto3 `optional`, members of a `oneof`, wrapper types such
# as google.protobuf.BoolValue), by discovery schema: their defaults are values, kept as sent.
# Discovery documents do not say which fields these are; the lists come from the protos of
# google.cloud.run.v2, google.monitoring.v3 and google.cloud.secretmanager.v1 (the descriptors of the
# google-cloud-run, google-cloud-monitoring and google-cloud-secret-manager Python packages; a test
# checks the run.v2 part against them).
EXPLICIT_PRESENCE = {
    # run.v2
    "GoogleCloudRunV2BinaryAuthorization": {"useDefault", "policy"},
    "GoogleCloudRunV2Condition": {"reason", "revisionReason", "executionReason"},
    "GoogleCloudRunV2EnvVar": {"value"},
    "GoogleCloudRunV2Instance": {"gpuZonalRedundancyDisabled"},
    "GoogleCloudRunV2Job": {"startExecutionToken", "runExecutionToken"},
    "GoogleCloudRunV2Revision": {"gpuZonalRedundancyDisabled"},
    "GoogleCloudRunV2RevisionTemplate": {"gpuZonalRedundancyDisabled"},
    "GoogleCloudRunV2ServiceScaling": {"manualInstanceCount"},
    "GoogleCloudRunV2Task": {"gpuZonalRedundancyDisabled"},
    "GoogleCloudRunV2TaskTemplate": {"maxRetries", "gpuZonalRedundancyDisabled"},
    "GoogleCloudRunV2WorkerPoolRevisionTemplate": {"gpuZonalRedundancyDisabled"},
    "GoogleCloudRunV2WorkerPoolScaling": {"manualInstanceCount"},
    # monitoring.v3
    "AlertPolicy": {"enabled"},
    "Hourly": {"minuteOffset"},
    "LabelValue": {"boolValue", "int64Value", "stringValue"},
    "NotificationChannel": {"enabled"},
    "ResponseStatusCode": {"statusValue", "statusClass"},
    "ServiceLevelObjective": {"calendarPeriod"},
    "Trigger": {"count", "percent"},
    "TypedValue": {"boolValue", "int64Value", "doubleValue", "stringValue"},
    "WindowsBasedSli": {"goodBadMetricFilter"},
    # secretmanager.v1
    "SecretPayload": {"dataCrc32c"},
    # redis.v1 (Memorystore for Redis Cluster, google.cloud.redis.cluster.v1: replicaCount 0 and deletionProtectionEnabled
    # false are printed, as recorded)
    "Cluster": {"replicaCount", "sizeGb", "shardCount", "preciseSizeGb", "deletionProtectionEnabled", "backupCollection", "kmsKey",
                "asyncClusterEndpointsDeletionEnabled", "serverCaMode", "serverCaPool", "rotateServerCertificate"},
    "BackupClusterRequest": {"backupId"},
}
# String formats that stand for well-known messages (Duration, Timestamp, FieldMask): always present.
_MESSAGE_FORMATS = frozenset({"google-duration", "google-datetime", "google-fieldmask"})

_SCALAR_TYPES = {
    ("string", "int64"): "TYPE_INT64",
    ("string", "uint64"): "TYPE_UINT64",
    ("string", "byte"): "TYPE_BYTES",
    ("string", "google-duration"): "type.googleapis.com/google.protobuf.Duration",
    ("string", "google-datetime"): "type.googleapis.com/google.protobuf.Timestamp",
    ("string", "google-fieldmask"): "type.googleapis.com/google.protobuf.FieldMask",
    ("integer", "int32"): "TYPE_INT32",
    ("integer", "uint32"): "TYPE_UINT32",
    ("number", "double"): "TYPE_DOUBLE",
    ("number", "float"): "TYPE_FLOAT",
    ("boolean", None): "TYPE_BOOL",
}
_INT_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}
_DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")
_GLOBAL_PARAMETER = "$alt"
_OPERATION_FIELDS = frozenset({"name", "done", "metadata", "response", "error"})


def load_document(name):
    """The discovery document `name` (e.g. "run.v2") shipped with google-api-python-client."""
    documents = importlib.resources.files("googleapiclient") / "discovery_cache" / "documents"
    return json.loads((documents / f"{name}.json").read_text(encoding="utf-8"))


def proto_schema_name(full_name):
    """Discovery's schema name for a proto message: google.cloud.run.v2.Service -> GoogleCloudRunV2Service."""
    return "".join(part[:1].upper() + part[1:] for part in full_name.split("."))


def snake_case(name):
    return re.sub(r"([A-Z])", r"_\1", name).lower()


def camel_case(name):
    """A proto field name as its JSON name: update_mask -> updateMask."""
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def wants_enum_numbers(query):
    """True when the client asked for `$alt=json;enum-encoding=int`, as the official ones do."""
    return "enum-encoding=int" in query.get(_GLOBAL_PARAMETER, "")


class Method:
    """One REST method of a discovery document, matched by HTTP method and path."""

    def __init__(self, method_id, spec, service_path):
        self.id = method_id
        self.http_method = spec["httpMethod"]
        self.request_ref = spec.get("request", {}).get("$ref")
        self.response_ref = spec.get("response", {}).get("$ref")
        self.query_parameters = {
            name: param for name, param in spec.get("parameters", {}).items() if param.get("location") == "query"
        }
        self._pattern = _path_pattern(service_path + spec.get("flatPath", spec["path"]))
        # A method taking media (Cloud Storage's objects.insert) is served on its upload paths too (mediaUpload.protocols:
        # `/upload/storage/v1/b/{bucket}/o`), where a resumable upload's chunks are PUT.
        protocols = spec.get("mediaUpload", {}).get("protocols", {})
        self._upload_patterns = [_path_pattern(protocol["path"].lstrip("/")) for protocol in protocols.values()]
        self._upload_methods = {self.http_method, "PUT"} if "resumable" in protocols else {self.http_method}

    def serve_on(self, template):
        """Serve the method on `template` rather than its flatPath: for a variable whose value holds slashes in Google's
        own path (a metric type in `v3/{name=projects/*/metricDescriptors/**}`), where flatPath gives it one segment."""
        self._pattern = _path_pattern(template)

    def match(self, http_method, path):
        """The path variables when this method serves the request, on its path or one of its upload paths, else None."""
        path = path.lstrip("/")
        found = self._pattern.fullmatch(path) if http_method == self.http_method else None
        if found is None and http_method in self._upload_methods:
            found = next(filter(None, (pattern.fullmatch(path) for pattern in self._upload_patterns)), None)
        return found.groupdict() if found else None

    def is_upload(self, path):
        """Whether `path` is one of the method's media upload paths."""
        return any(pattern.fullmatch(path.lstrip("/")) for pattern in self._upload_patterns)


def _path_pattern(template):
    """A regex for a discovery path: `{var}` is one segment, `{+var}` may span several."""
    parts = re.split(r"(\{\+?\w+\})", template)
    regex = ""
    for part in parts:
        variable = re.fullmatch(r"\{(\+?)(\w+)\}", part)
        if not variable:
            regex += re.escape(part)
        elif variable.group(1):
            regex += f"(?P<{variable.group(2)}>.+)"
        else:
            regex += f"(?P<{variable.group(2)}>[^/:]+)"
    return re.compile(regex)


class Api:
    """One discovery document: its methods and a JSON codec for its schemas.

    `proto_package` (e.g. google.cloud.run.v2) names message and enum types in error
    messages the way Google does: `(type.googleapis.com/google.cloud.run.v2.IngressTraffic)`.
    """

    def __init__(self, name, proto_package):
        document = load_document(name)
        self.schemas = document["schemas"]
        self._package = proto_package
        self._schema_prefix = proto_schema_name(proto_package)
        self.methods = list(_methods(document["resources"], document.get("servicePath", "")))
        self._enums = {}
        for (document_name, schema, field), numbers in _FIELD_ENUM_NUMBERS.items():
            prop = self.schemas.get(schema, {}).get("properties", {}).get(field) if document_name == name else None
            if prop is not None:
                prop["enumNumbers"] = numbers

    def match(self, http_method, path):
        """(method, path variables) serving the request, or None."""
        for method in self.methods:
            variables = method.match(http_method, path)
            if variables is not None:
                return method, variables
        return None

    def is_operation(self, ref):
        """Whether the schema `ref` is google.longrunning.Operation (documents name it `Operation` or
        `GoogleLongrunningOperation`)."""
        return ref is not None and _OPERATION_FIELDS <= set(self.schemas[ref].get("properties", {}))

    # -- input ---------------------------------------------------------------------------

    def decode_query(self, method, query):
        """The method's query parameters, typed; unknown parameters are ignored. `query` maps each
        name to its values: a repeated parameter (e.g. aggregation.groupByFields) comes as a list."""
        decoded = {}
        for name, values in query.items():
            param = method.query_parameters.get(name)
            if param is not None:
                typed = [self._decode_scalar(param, _query_value(param, value), snake_case(name)) for value in values]
                decoded[name] = typed if param.get("repeated") else typed[-1]
        return decoded

    def decode_body(self, method, body, root):
        """The request body validated against the method's request schema and normalised.

        `root` is the proto field that holds the body (e.g. "service"), used in error paths.
        """
        if method.request_ref is None:
            return {}
        return self._decode_message(self.schemas[method.request_ref], body, root, method.request_ref)

    def _decode_message(self, schema, value, path, ref=None):
        if not isinstance(value, dict):
            raise _invalid_value(path, self._message_type(ref), value)
        properties = schema.get("properties", {})
        present = EXPLICIT_PRESENCE.get(ref, ())
        decoded = {}
        for key, item in value.items():
            prop = properties.get(key)
            if prop is None:
                where = f" at '{path}'" if path else ""
                raise invalid_argument(
                    f'Invalid JSON payload received. Unknown name "{key}"{where}: Cannot find field.',
                    field=path,
                )
            if item is None or prop.get("readOnly"):
                continue
            item = self._decode_value(prop, item, _join(path, snake_case(key)))
            if key in present or not self._is_default(prop, item):
                decoded[key] = item
        return decoded

    def _decode_value(self, prop, value, path):
        if "$ref" in prop:
            return self._decode_message(self.schemas[prop["$ref"]], value, path, prop["$ref"])
        kind = prop.get("type")
        if kind == "array":
            if not isinstance(value, list):
                raise _invalid_value(path, "TYPE_ARRAY", value)
            return [self._decode_value(prop["items"], item, f"{path}[{i}]") for i, item in enumerate(value)]
        if kind == "object" and "additionalProperties" in prop:
            if not isinstance(value, dict):
                raise _invalid_value(path, "TYPE_MAP", value)
            values = prop["additionalProperties"]
            return {key: self._decode_value(values, item, f"{path}[{key}]") for key, item in value.items()}
        if kind == "object":
            return self._decode_message(prop, value, path)
        return self._decode_scalar(prop, value, path)

    def _is_default(self, prop, value):
        """Whether proto3 cannot tell `value` of a field without presence from an absent field:
        a scalar equal to its default, an enum's zero value, an empty list or map. A message is
        present even when empty; discovery shows google.protobuf.Struct and Any as maps of `any`."""
        if "$ref" in prop or prop.get("format") in _MESSAGE_FORMATS:
            return False
        kind = prop.get("type")
        if kind == "object":
            return "additionalProperties" in prop and prop["additionalProperties"].get("type") != "any" and value == {}
        if kind == "array":
            return value == []
        if "enum" in prop:
            return self._enum(prop).numbers.get(value) == 0
        if kind == "boolean":
            return value is False
        if kind in ("integer", "number") or prop.get("format") in ("int64", "uint64"):
            return not isinstance(value, bool) and str(value) in ("0", "0.0", "-0.0")
        return value == ""

    def _decode_scalar(self, prop, value, path):
        if "enum" in prop:
            return self._decode_enum(prop, value, path)
        kind, fmt = prop.get("type"), prop.get("format")
        type_name = _SCALAR_TYPES.get((kind, fmt), "TYPE_STRING")
        try:
            return _SCALAR_DECODERS[kind](value, fmt)
        except (TypeError, ValueError):
            raise _invalid_value(path, type_name, value) from None

    def _decode_enum(self, prop, value, path):
        enum = self._enum(prop)
        if isinstance(value, str) and value in enum.numbers:
            return value
        if isinstance(value, int) and not isinstance(value, bool) and value in enum.names_by_number:
            return enum.names_by_number[value]
        raise _invalid_value(path, self._enum_type(prop["enum"]), value)

    # -- output --------------------------------------------------------------------------

    def encode_response(self, ref, value, enum_numbers=False):
        """`value` (a `ref` object) as Google prints it: without fields that hold their default,
        and with enums as numbers when `enum_numbers` (`enum-encoding=int`)."""
        return self._encode({"$ref": ref}, value, enum_numbers)

    def _encode(self, prop, value, enum_numbers):
        ref = prop.get("$ref")
        if ref:
            prop = self.schemas[ref]
        if "enum" in prop and isinstance(value, str) and enum_numbers:
            return self._enum(prop).numbers.get(value, value)
        if isinstance(value, list) and "items" in prop:
            return [self._encode(prop["items"], item, enum_numbers) for item in value]
        if not isinstance(value, dict):
            return value
        if "@type" in value:
            return self._encode_any(value, enum_numbers)
        if "additionalProperties" in prop:
            values = prop["additionalProperties"]
            return {key: self._encode(values, item, enum_numbers) for key, item in value.items()}
        properties = prop.get("properties", {})
        present = EXPLICIT_PRESENCE.get(ref, ())
        return {
            key: self._encode(properties.get(key, {}), item, enum_numbers)
            for key, item in value.items()
            if key in present or not self._is_default(properties.get(key, {}), item)
        }

    def _encode_any(self, value, enum_numbers):
        """A google.protobuf.Any: encoded by the schema its `@type` names, when known."""
        ref = proto_schema_name(value["@type"].rsplit("/", 1)[-1])
        if ref not in self.schemas:
            return value
        return {"@type": value["@type"], **self._encode({"$ref": ref}, _without(value, "@type"), enum_numbers)}

    # -- type names ----------------------------------------------------------------------

    def _enum(self, prop):
        """The enum of a field (its discovery property): its numbers as the proto has them."""
        numbers = prop.get("enumNumbers")
        key = (tuple(prop["enum"]), tuple(sorted(numbers.items())) if numbers else None)
        if key not in self._enums:
            self._enums[key] = _Enum(prop["enum"], numbers)
        return self._enums[key]

    def _message_type(self, ref):
        if ref and ref.startswith(self._schema_prefix):
            return f"type.googleapis.com/{self._package}.{ref[len(self._schema_prefix):]}"
        return "TYPE_MESSAGE"

    def _enum_type(self, names):
        """Google names the enum type; discovery does not. Following the proto style guide,
        values carry their enum's name as prefix (INGRESS_TRAFFIC_ALL -> IngressTraffic)."""
        prefix = _common_word_prefix(names)
        if not prefix:
            return "TYPE_ENUM"
        camel = "".join(word.capitalize() for word in prefix)
        return f"type.googleapis.com/{self._package}.{camel}"


class _Enum:
    def __init__(self, names, numbers=None):
        self.numbers = numbers or next((known for known in _ENUM_NUMBERS if set(known) == set(names)), None) or {name: i for i, name in enumerate(names)}
        self.names_by_number = {number: name for name, number in self.numbers.items()}


def _methods(resources, service_path, prefix=""):
    for resource_name, resource in resources.items():
        path = f"{prefix}{resource_name}."
        for method_name, spec in resource.get("methods", {}).items():
            yield Method(spec.get("id", path + method_name), spec, service_path)
        yield from _methods(resource.get("resources", {}), service_path, path)


def _common_word_prefix(names):
    split = [name.split("_") for name in names]
    prefix = []
    for words in zip(*split):
        if len(set(words)) != 1:
            break
        prefix.append(words[0])
    if any(len(words) == len(prefix) for words in split):
        return prefix[:-1]
    return prefix


def _query_value(param, value):
    """Query strings carry text; typed parameters are parsed like their JSON form."""
    if param.get("type") == "boolean" and value in ("true", "false"):
        return value == "true"
    if param.get("type") == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def _decode_boolean(value, _fmt):
    if not isinstance(value, bool):
        raise TypeError
    return value


def _decode_integer(value, fmt):
    if isinstance(value, bool) or not isinstance(value, (int, str, float)):
        raise TypeError
    if isinstance(value, float) and not value.is_integer():
        raise ValueError
    number = int(value)
    low, high = _INT_RANGES.get(fmt, _INT_RANGES["int32"])
    if not low <= number <= high:
        raise ValueError
    return number


def _decode_number(value, _fmt):
    if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError
    return value


def _decode_string(value, fmt):
    if fmt in ("int64", "uint64"):
        return str(_decode_integer(value, fmt))
    if not isinstance(value, str):
        raise TypeError
    if fmt == "google-duration" and not _DURATION.match(value):
        raise ValueError
    if fmt == "google-datetime":
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if fmt == "byte":  # standard or URL-safe base64, padding optional (binascii.Error is a ValueError)
        urlsafe = value.replace("+", "-").replace("/", "_")
        base64.urlsafe_b64decode(urlsafe + "=" * (-len(urlsafe) % 4))
    return value


def _decode_any(value, _fmt):
    return value


_SCALAR_DECODERS = {
    "boolean": _decode_boolean,
    "integer": _decode_integer,
    "number": _decode_number,
    "string": _decode_string,
    "any": _decode_any,
}


def _invalid_value(path, type_name, value):
    return invalid_argument(f"Invalid value at '{path}' ({type_name}), {json.dumps(value)}", field=path)


def _join(path, name):
    return f"{path}.{name}" if path else name


def _without(mapping, key):
    return {k: v for k, v in mapping.items() if k != key}
