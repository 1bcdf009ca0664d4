"""The emulator as a process: CLI start/stop/status and state that survives a restart."""

import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2
from run_helpers import PARENT, latest, pinned, service_spec, short


def test_start_and_stop_are_idempotent(emulator_instance):
    started = emulator_instance.cli("start")
    pid = started[1]["pid"]

    assert started == (0, {"changed": True, "pid": pid, "endpoint": emulator_instance.endpoint})
    assert emulator_instance.cli("start") == (0, {"changed": False, "pid": pid, "endpoint": emulator_instance.endpoint})
    assert emulator_instance.cli("status") == (0, {"running": True, "pid": pid, "endpoint": emulator_instance.endpoint})
    assert emulator_instance.cli("stop") == (0, {"changed": True})
    assert emulator_instance.cli("stop") == (0, {"changed": False})
    assert emulator_instance.cli("status")[0] == 1
    assert not (emulator_instance.state_dir / "emulator.pid").exists()
    assert (emulator_instance.state_dir / "emulator.log").exists()


def test_state_and_urls_survive_a_restart(emulator_instance):
    emulator_instance.cli("start")
    client = run_v2.ServicesClient(
        transport="rest",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": emulator_instance.endpoint},
    )
    service = client.create_service(parent=PARENT, service_id="app", service=service_spec()).result()
    service.traffic = [latest(100), pinned(short(service.latest_ready_revision), 0, tag="stable")]
    before = client.update_service(service=service).result()

    emulator_instance.cli("stop")
    emulator_instance.cli("start")
    after = client.get_service(name=before.name)

    assert after == before
    assert (emulator_instance.state_dir / "state.json").exists()
    assert requests.get(after.uri).json()["revision"] == short(before.latest_ready_revision)
    assert requests.get(after.traffic_statuses[1].uri).json()["tag"] == "stable"
