"""Request validation against run.v2.json and Google's JSON conventions, over raw HTTP
(the official client cannot send unknown fields or wrongly typed values)."""

import copy
import json
import pathlib

import proto
import pytest
import requests
from google.cloud import run_v2
from orchestra_emulator.discovery import EXPLICIT_PRESENCE, Api, proto_schema_name
from run_helpers import PARENT

INT_ENUMS = {"$alt": "json;enum-encoding=int"}
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def _service(**fields):
    return {"template": {"containers": [{"image": "gcr.io/demo/app:1"}]}, **fields}


def _create(emulator, body, params=None):
    url = f"{emulator.endpoint}/v2/{PARENT}/services"
    return requests.post(url, params={"serviceId": "app", **(params or {})}, json=body)


def _error(response):
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()["error"]


@pytest.mark.parametrize(
    ("body", "message", "field"),
    [
        (
            _service(foo=1),
            "Invalid JSON payload received. Unknown name \"foo\" at 'service': Cannot find field.",
            "service",
        ),
        (
            {"template": {"containers": [{"image": "x", "envv": []}]}},
            "Invalid JSON payload received. Unknown name \"envv\" at 'service.template.containers[0]': Cannot find field.",
            "service.template.containers[0]",
        ),
        (
            _service(template={"containers": [{"image": "x"}], "maxInstanceRequestConcurrency": "abc"}),
            "Invalid value at 'service.template.max_instance_request_concurrency' (TYPE_INT32), \"abc\"",
            "service.template.max_instance_request_concurrency",
        ),
        (
            _service(ingress="FOO"),
            "Invalid value at 'service.ingress' (type.googleapis.com/google.cloud.run.v2.IngressTraffic), \"FOO\"",
            "service.ingress",
        ),
        (
            _service(ingress=42),
            "Invalid value at 'service.ingress' (type.googleapis.com/google.cloud.run.v2.IngressTraffic), 42",
            "service.ingress",
        ),
        (
            _service(template={"containers": [{"image": "x"}], "timeout": "300"}),
            "Invalid value at 'service.template.timeout' (type.googleapis.com/google.protobuf.Duration), \"300\"",
            "service.template.timeout",
        ),
        (
            _service(labels={"team": 5}),
            "Invalid value at 'service.labels[team]' (TYPE_STRING), 5",
            "service.labels[team]",
        ),
        (
            _service(traffic={"percent": 100}),
            "Invalid value at 'service.traffic' (TYPE_ARRAY), {\"percent\": 100}",
            "service.traffic",
        ),
    ],
)
def test_invalid_bodies_are_rejected_like_google_does(emulator, body, message, field):
    response = _create(emulator, body)

    assert response.status_code == 400
    error = _error(response)
    assert (error["code"], error["status"], error["message"]) == (400, "INVALID_ARGUMENT", message)
    assert error["details"] == [{"@type": BAD_REQUEST, "fieldViolations": [{"field": field, "description": message}]}]


def test_enums_may_be_numbers_or_names_and_read_only_fields_are_ignored(emulator):
    body = _service(ingress=2, launchStage="BETA", uid="mine", generation="41", reconciling=True)

    operation = _create(emulator, body).json()

    service = operation["response"]
    assert service["@type"] == "type.googleapis.com/google.cloud.run.v2.Service"
    assert operation["metadata"] == service
    assert (service["ingress"], service["launchStage"]) == ("INGRESS_TRAFFIC_INTERNAL_ONLY", "BETA")
    assert (service["uid"], service["generation"], service.get("reconciling")) != ("mine", "41", True)


def test_int64_fields_are_json_strings_and_accepted_as_numbers(emulator):
    source = {"cloudStorageSource": {"bucket": "b", "object": "o", "generation": 7}}
    template = {"containers": [{"image": "x", "sourceCode": source}], "maxInstanceRequestConcurrency": "3"}

    service = _create(emulator, _service(template=template)).json()["response"]

    assert service["generation"] == "1"
    assert service["template"]["containers"][0]["sourceCode"]["cloudStorageSource"]["generation"] == "7"
    assert service["template"]["maxInstanceRequestConcurrency"] == 3


def test_enums_are_answered_as_numbers_when_the_client_asks(emulator):
    by_name = _create(emulator, _service()).json()["response"]
    url = f"{emulator.endpoint}/v2/{PARENT}/services/app"

    by_number = requests.get(url, params=INT_ENUMS).json()

    assert (by_name["ingress"], by_name["terminalCondition"]["state"]) == ("INGRESS_TRAFFIC_ALL", "CONDITION_SUCCEEDED")
    assert (by_number["ingress"], by_number["terminalCondition"]["state"], by_number["launchStage"]) == (1, 4, 4)
    assert by_number["traffic"][0]["type"] == 1


def test_query_parameters_are_typed(emulator):
    response = _create(emulator, _service(), params={"validateOnly": "maybe"})

    assert response.status_code == 400
    assert _error(response)["message"] == "Invalid value at 'validate_only' (TYPE_BOOL), \"maybe\""


def test_unknown_paths_are_json_not_found(emulator):
    for method, path in (("GET", "/v2/nothing/here"), ("PUT", f"/v2/{PARENT}/services/app"), ("GET", "/")):
        response = requests.request(method, emulator.endpoint + path)

        assert response.status_code == 404
        assert _error(response)["status"] == "NOT_FOUND"


def test_methods_the_emulator_lacks_are_unimplemented(emulator):
    response = requests.get(f"{emulator.endpoint}/v2/{PARENT}/jobs")

    assert response.status_code == 501
    assert _error(response)["status"] == "UNIMPLEMENTED"


def test_bodies_that_are_not_json_are_rejected(emulator):
    response = requests.post(f"{emulator.endpoint}/v2/{PARENT}/services?serviceId=app", data="{not json")

    assert response.status_code == 400
    assert _error(response)["message"].startswith("Invalid JSON payload received.")


def _proto_enum_fields():
    """(discovery schema, JSON field, proto enum) for every enum field of the run_v2 messages."""
    for message in vars(run_v2).values():
        if isinstance(message, type) and issubclass(message, proto.Message):
            descriptor = message.pb().DESCRIPTOR
            for field in descriptor.fields:
                if field.enum_type and not field.is_repeated:
                    yield proto_schema_name(descriptor.full_name), field.json_name, field.enum_type


def test_enum_numbers_match_the_protos_the_clients_use():
    api = Api("run.v2", "google.cloud.run.v2")
    checked = 0
    for schema, field, enum in _proto_enum_fields():
        for value in api.schemas[schema]["properties"][field]["enum"]:
            if value in enum.values_by_name:  # the discovery document may be newer than the protos
                number = enum.values_by_name[value].number
                # The zero value is the default, not printed, unless the field has explicit presence.
                expected = {field: number} if number or field in EXPLICIT_PRESENCE.get(schema, ()) else {}
                assert api.encode_response(schema, {field: value}, enum_numbers=True) == expected
                checked += 1
    assert checked > 50


# -- proto3 defaults: dropped from request bodies and responses -------------------------------

RUN = Api("run.v2", "google.cloud.run.v2")
MONITORING = Api("monitoring.v3", "google.monitoring.v3")


def _decode_service(body):
    method, _variables = RUN.match("POST", f"/v2/{PARENT}/services")
    return RUN.decode_body(method, body, "service")


def _container(**fields):
    return {"image": "x", **fields}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ({"revision": ""}, {}),  # string
        ({"maxInstanceRequestConcurrency": 0}, {}),  # int32
        ({"containers": [_container(sourceCode={"cloudStorageSource": {"generation": "0"}})]},
         {"containers": [_container(sourceCode={"cloudStorageSource": {}})]}),  # int64 as a JSON string
        ({"containers": [_container(sourceCode={"cloudStorageSource": {"generation": 0}})]},
         {"containers": [_container(sourceCode={"cloudStorageSource": {}})]}),  # int64 as a number
        ({"sessionAffinity": False, "healthCheckDisabled": False}, {}),  # bool
        ({"executionEnvironment": "EXECUTION_ENVIRONMENT_UNSPECIFIED"}, {}),  # enum by name
        ({"executionEnvironment": 0}, {}),  # enum by number
        ({"volumes": [], "containers": [_container(args=[], env=[])]}, {"containers": [_container()]}),  # repeated
        ({"labels": {}, "annotations": {}}, {}),  # map
        ({"scaling": {"minInstanceCount": 0, "maxInstanceCount": 0}}, {"scaling": {}}),  # a nested message stays
        ({"vpcAccess": {}}, {"vpcAccess": {}}),  # an empty message is present
        ({"timeout": "0s"}, {"timeout": "0s"}),  # google.protobuf.Duration is a message
        ({"containers": [_container(env=[{"name": "EMPTY", "value": ""}])]},
         {"containers": [_container(env=[{"name": "EMPTY", "value": ""}])]}),  # oneof member: explicit presence
        ({"gpuZonalRedundancyDisabled": False}, {"gpuZonalRedundancyDisabled": False}),  # proto3 optional
        ({"containers": [_container(args=["", "0"])], "labels": {"empty": ""}},
         {"containers": [_container(args=["", "0"])], "labels": {"empty": ""}}),  # elements and map values stay
        ({"serviceAccount": "0", "maxInstanceRequestConcurrency": 1},
         {"serviceAccount": "0", "maxInstanceRequestConcurrency": 1}),  # "0" is no default for a string
    ],
)
def test_request_fields_holding_their_proto3_default_are_dropped(template, expected):
    assert _decode_service({"template": template})["template"] == expected


def test_enum_zero_values_are_dropped_whatever_their_position():
    # LaunchStage's numbers are not the positions in the discovery document: UNIMPLEMENTED is 6.
    assert _decode_service({"launchStage": "LAUNCH_STAGE_UNSPECIFIED", "ingress": 0}) == {}
    assert _decode_service({"launchStage": 0}) == {}
    assert _decode_service({"launchStage": 6}) == {"launchStage": "UNIMPLEMENTED"}


def test_responses_leave_out_proto3_defaults():
    service = {
        "name": "projects/p/locations/l/services/s",
        "generation": "0",
        "reconciling": False,
        "trafficStatuses": [],
        "labels": {},
        "description": "",
        "template": {"containers": [{"image": "x", "env": [{"name": "A", "value": ""}]}], "scaling": {}},
        "terminalCondition": {"type": "Ready", "state": "CONDITION_SUCCEEDED", "reason": "COMMON_REASON_UNDEFINED"},
    }
    operation = {"name": "projects/p/locations/l/operations/o", "done": False,
                 "metadata": {"@type": "type.googleapis.com/google.cloud.run.v2.Service", **service}}

    encoded = RUN.encode_response("GoogleLongrunningOperation", copy.deepcopy(operation))

    assert encoded == {
        "name": "projects/p/locations/l/operations/o",
        "metadata": {
            "@type": "type.googleapis.com/google.cloud.run.v2.Service",
            "name": "projects/p/locations/l/services/s",
            "template": {"containers": [{"image": "x", "env": [{"name": "A", "value": ""}]}], "scaling": {}},
            # `reason` is a oneof member: set, it is printed even at its zero value.
            "terminalCondition": {"type": "Ready", "state": "CONDITION_SUCCEEDED", "reason": "COMMON_REASON_UNDEFINED"},
        },
    }
    assert RUN.encode_response("GoogleCloudRunV2Service", {"ingress": "INGRESS_TRAFFIC_UNSPECIFIED"}, True) == {}


def test_a_zero_point_value_is_printed():
    series = {"points": [{"value": {"int64Value": "0"}}, {"value": {"doubleValue": 0}}], "unit": ""}

    encoded = MONITORING.encode_response("ListTimeSeriesResponse", {"timeSeries": [series], "nextPageToken": ""})

    assert encoded == {"timeSeries": [{"points": [{"value": {"int64Value": "0"}}, {"value": {"doubleValue": 0}}]}]}


def test_a_real_service_holds_no_default_and_passes_both_ways_unchanged():
    fixture = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "google" / "run_v2_service_latest.json"
    real = json.loads(fixture.read_text(encoding="utf-8"))["response"]

    assert RUN.encode_response("GoogleCloudRunV2Service", copy.deepcopy(real)) == real
    decoded = _decode_service(copy.deepcopy(real))
    assert [decoded[key] for key in ("template", "traffic", "labels")] == [real[key] for key in ("template", "traffic", "labels")]
    assert decoded["labels"]["goog-managed-by"] == ""  # a map value is kept, empty or not


def _fields_with_presence(message, found):
    """{discovery schema: JSON names} of the scalar fields with explicit presence in `message` and its nested messages."""
    scalars = {field.json_name for field in message.fields if field.has_presence and field.message_type is None}
    if scalars:
        found[proto_schema_name(message.full_name)] = scalars
    for nested in message.nested_types:
        _fields_with_presence(nested, found)
    return found


def test_explicit_presence_of_run_v2_matches_the_protos():
    found = {}
    for message in vars(run_v2).values():
        if isinstance(message, type) and issubclass(message, proto.Message):
            for top in message.pb().DESCRIPTOR.file.message_types_by_name.values():
                _fields_with_presence(top, found)
    assert found
    listed = {schema: fields for schema, fields in EXPLICIT_PRESENCE.items() if schema.startswith("GoogleCloudRunV2")}
    assert listed == found


def test_a_read_back_service_with_every_default_changes_nothing(emulator):
    """What Google's Node.js client sends back after reading a service: every field, defaults filled in."""
    created = _create(emulator, _service(template={"containers": [{"image": "gcr.io/demo/app:1"}]})).json()["response"]
    url = f"{emulator.endpoint}/v2/{PARENT}/services/app"
    read = requests.get(url).json()
    body = {**read, "description": "", "client": "", "labels": {}, "annotations": {}, "invokerIamDisabled": False,
            "traffic": [{**t, "revision": "", "tag": ""} for t in read["traffic"]],
            "template": {**read["template"], "revision": "", "serviceAccount": "", "executionEnvironment": 0,
                         "maxInstanceRequestConcurrency": read["template"].get("maxInstanceRequestConcurrency", 0),
                         "sessionAffinity": False, "healthCheckDisabled": False, "volumes": [],
                         "containers": [{**c, "name": c.get("name", ""), "args": [], "workingDir": ""}
                                        for c in read["template"]["containers"]]}}

    updated = requests.patch(url, json=body).json()["response"]

    assert updated["latestCreatedRevision"] == created["latestCreatedRevision"]
    assert updated["generation"] == created["generation"]
    assert "revision" not in updated["traffic"][0] and "tag" not in updated["traffic"][0]
