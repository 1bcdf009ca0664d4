"""cloud_run_load against the emulator's Cloud Run URLs, with Debian's ApacheBench: the numbers it reports, in both
doors (in the controller process, and async as a module, as the rollout role runs it), the ID token of a private
service minted from a service-account key, and the warning and refused requests without credentials. The token
appears in no result and nowhere in the output."""

import json

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from test_cloud_run_service import deploy
from test_rollout import ANALYSIS, result, rollout_task, serving

WARNING = "without an ID token"


def load(name, **options):
    return dict(name=name, **{"orchestra.gcp.cloud_run_load": options})


def in_both_doors(name, **options):
    """``options`` run in the controller process, then async in a module process and waited for."""
    return [load(name + " in process", **options),
            dict(load(name + " async", **options), **{"async": 60, "poll": 0, "register": "job"}),
            dict(name=name + " waited", register="waited", until="waited is finished", retries=60, delay=1,
                 **{"ansible.builtin.async_status": {"jid": "{{ job.ansible_job_id }}"}})]


def results(play, name):
    return [play.task(name + " in process"), play.task(name + " waited")]


def deployed(backend, name, auth=None):
    """Deploy ``name`` v1 and return its service URL."""
    run = backend.run_playbook(yaml.safe_dump([{
        "name": "deploy", "hosts": "localhost", "gather_facts": False, "vars": {"region": backend.region},
        "module_defaults": {"group/orchestra.gcp.gcp": auth or {}}, "tasks": [dict(name="v1", **deploy(name, "1.0.0"))]}]))
    assert run.rc == 0, run.stdout
    return run.task("v1")["url"]


def play(backend, tasks, auth=None, check=False):
    return backend.run_playbook(yaml.safe_dump([{
        "name": "load", "hosts": "localhost", "gather_facts": False, "vars": {"region": backend.region},
        "module_defaults": {"group/orchestra.gcp.gcp": auth or {}}, "tasks": tasks}], sort_keys=False), check=check, verbosity=3)


@pytest.fixture
def key_file(emulated, tmp_path):
    """A service-account key whose token_uri is the emulator."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = tmp_path / "loader.json"
    path.write_text(json.dumps({"type": "service_account", "project_id": "orchestra-test", "private_key_id": "loader",
                                "private_key": pem.decode(), "client_email": "loader@orchestra-test.iam.gserviceaccount.com",
                                "client_id": "1", "token_uri": emulated.endpoint + "/token"}))
    return str(path)


def test_a_public_service_gets_the_requests_asked_in_both_doors(emulated):
    url = deployed(emulated, emulated.name("load"))
    run = play(emulated, in_both_doors("load", url=url + "/", requests=30, concurrency=3))

    assert run.rc == 0, run.stdout
    for result in results(run, "load"):
        assert (result["requests"], result["failed_requests"], result["non_2xx"]) == (30, 0, 0), result
        assert result["per_second"] > 0 and result["time_per_request_ms"] > 0 and result["url"] == url + "/"
        assert result["token_sent"] is False and result["changed"] is False
        assert any(WARNING in w and "no credentials are configured" in w for w in result["warnings"])
        assert "-H" not in json.dumps(result) and "ab -q" not in run.stdout  # not ab's command line


def test_a_duration_ends_the_load(emulated):
    url = deployed(emulated, emulated.name("timed"))
    run = play(emulated, [load("timed", url=url, duration=2, concurrency=2)])
    assert run.rc == 0, run.stdout
    result = run.task("timed")
    assert 1.9 < result["seconds"] < 4 and result["requests"] > 2 and result["failed_requests"] == 0


def test_a_private_service_gets_the_id_token_of_a_key_and_the_token_shows_nowhere(emulated, key_file):
    emulated.emulator.admin("auth", {"check_tokens": True})
    auth = {"service_account_file": key_file}
    name = emulated.name("private")
    url = deployed(emulated, name, auth)
    emulated.emulator.admin("private-services", {"service": "*/services/%s" % name})
    refused = dict(name="refused", **{"ansible.builtin.uri": {"url": url, "status_code": [403]}})

    run = play(emulated, [refused] + in_both_doors("private", url=url + "/", requests=20, concurrency=2), auth)

    assert run.rc == 0, run.stdout
    assert run.task("refused")["status"] == 403
    for result in results(run, "private"):
        assert (result["requests"], result["failed_requests"], result["non_2xx"]) == (20, 0, 0), result
        assert result["token_sent"] is True and not result.get("warnings")
    text = run.stdout + json.dumps(run.results, default=str)
    assert "eyJ" not in text and "ya29." not in text and "Bearer" not in text and "Authorization" not in text


def test_the_rollout_judges_a_quiet_private_service_by_the_load_it_sends_with_the_id_token(emulated, key_file):
    auth = {"service_account_file": key_file}
    name = emulated.name("privroll")
    deployed(emulated, name, auth)
    emulated.emulator.admin("private-services", {"service": "*/services/%s" % name})

    run = play(emulated, [rollout_task(name, "2.0.0", cloud_run_rollout_steps=[{"percent": 20, "bake": 3}],
                                       cloud_run_rollout_analysis=dict(ANALYSIS, no_data="pause", consecutive_successes=2),
                                       cloud_run_rollout_load={"concurrency": 2})], auth)

    assert run.rc == 0, run.stdout
    assert serving(emulated, name) == {(emulated.revision_names(name)[-1], 100)}
    step = next(entry for entry in result(run)["timeline"] if entry["step"] == "20%")
    assert step["load"]["token_sent"] is True and step["load"]["requests"] >= 10
    assert (step["load"]["failed"], step["load"]["non_2xx"]) == (0, 0) and step["canary"]["requests"] >= 10
    text = run.stdout + json.dumps(run.results, default=str)
    assert "eyJ" not in text and "Bearer" not in text


def test_without_credentials_a_private_service_refuses_the_load_with_a_warning(emulated):
    name = emulated.name("private")
    url = deployed(emulated, name)
    emulated.emulator.admin("private-services", {"service": "*/services/%s" % name})

    run = play(emulated, [load("anonymous", url=url, requests=10, concurrency=2)])

    assert run.rc == 0, run.stdout
    result = run.task("anonymous")
    assert (result["requests"], result["failed_requests"], result["non_2xx"], result["token_sent"]) == (10, 0, 10, False)
    assert any(WARNING in w and "refuses these requests (403" in w for w in result["warnings"]), result
    assert "refuses these requests" in run.stdout  # shown to the user, not only recorded


def test_check_mode_sends_nothing_and_says_what_it_would(emulated, key_file):
    name = emulated.name("check")
    url = deployed(emulated, name)
    emulated.emulator.admin("private-services", {"service": "*/services/%s" % name})
    run = play(emulated, [load("check", url=url, duration=30, requests=100, concurrency=5)], {"service_account_file": key_file},
               check=True)
    assert run.rc == 0, run.stdout
    result = run.task("check")
    assert "requests" not in result and result["token_sent"] is True
    assert result["msg"] == "Would send GETs to %s at concurrency 5, 100 requests or 30 seconds (whichever ends first), with an ID token." % url


@pytest.mark.parametrize("options, message", [
    (dict(concurrency=0, requests=10), "concurrency must be 1 or more; got 0"),
    (dict(concurrency=8, requests=4), "requests must be at least concurrency (8); got 4"),
    (dict(duration=0), "duration must be more than 0 seconds; got 0"),
    (dict(url="ftp://example.com/", duration=5), "url must be an http:// or https:// URL with a host"),
    (dict(concurrency=2), "one of the following is required: duration, requests"),
])
def test_bad_options_fail_before_any_request(emulated, options, message):
    run = play(emulated, [load("bad", **dict(dict(url="http://127.0.0.1:9/"), **options))])
    result = run.task("bad")
    assert result["_failed"] and message in result["msg"], result
    assert "requests" not in result


def test_without_ab_the_task_names_the_url_and_what_to_install(emulated):
    emulated.without_command("ab")
    run = play(emulated, [load("no ab", url="http://127.0.0.1:9/", requests=5, concurrency=1)])
    result = run.task("no ab")
    assert result["_failed"] and "Cannot send load to http://127.0.0.1:9/: ApacheBench (ab) is not on the PATH" in result["msg"]
    assert "apache2-utils" in result["msg"]
