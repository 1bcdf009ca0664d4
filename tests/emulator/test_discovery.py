"""Request validation against run.v2.json and Google's JSON conventions, over raw HTTP
(the official client cannot send unknown fields or wrongly typed values)."""

import proto
import pytest
import requests
from google.cloud import run_v2
from orchestra_emulator.discovery import Api, proto_schema_name
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
    assert (service["uid"], service["generation"], service["reconciling"]) != ("mine", "41", True)


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
                assert api.encode_enum_numbers(schema, {field: value}) == {field: enum.values_by_name[value].number}
                checked += 1
    assert checked > 50
