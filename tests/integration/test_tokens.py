"""Tokens across the tasks of one ansible-playbook run, with google-auth's real flows against the
emulator's token endpoints and its bearer checks on: one fetch per credential, one refetch after a
401, ID tokens for private services, and no token in any result or in the output."""

import json

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TARGET = "deployer@orchestra-test.iam.gserviceaccount.com"
INFO = {"orchestra.gcp.cloud_run_service_info": {"name": "absent", "region": "{{ region }}"}}


@pytest.fixture
def checked(emulated):
    emulated.emulator.admin("auth", {"check_tokens": True})
    return emulated


@pytest.fixture
def key_file(emulated, tmp_path):
    """Write a service-account key whose token_uri is the emulator; return its path."""
    def write(email="ci@orchestra-test.iam.gserviceaccount.com"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        path = tmp_path / ("%s.json" % email.split("@")[0])
        path.write_text(json.dumps({"type": "service_account", "project_id": "orchestra-test", "private_key_id": email,
                                    "private_key": pem.decode(), "client_email": email, "client_id": "1",
                                    "token_uri": emulated.endpoint + "/token"}))
        return str(path)
    return write


def play(backend, tasks, auth):
    return backend.run_playbook(yaml.safe_dump([{
        "name": "tokens", "hosts": "localhost", "gather_facts": False, "vars": {"region": backend.region},
        "module_defaults": {"group/orchestra.gcp.gcp": auth}, "tasks": tasks}], sort_keys=False))


def token_calls(backend):
    calls = [c["path"] for c in backend.emulator.calls()]
    return {path: calls.count(path) for path in calls if path.endswith(("/token", "Token"))}


def no_token_anywhere(run):
    text = run.stdout + json.dumps(run.results, default=str)
    assert "ya29." not in text and "Bearer" not in text and "eyJ" not in text


def reads(n, **options):
    return [dict(name="read %d" % i, **{"orchestra.gcp.cloud_run_service_info": dict(INFO["orchestra.gcp.cloud_run_service_info"], **options)})
            for i in range(n)]


def test_one_token_per_credential_across_the_tasks_and_doors_of_a_run(checked, key_file):
    other = key_file("other")
    tasks = reads(4) + [dict(name="module door", vars={"orchestra_gcp_in_process": False}, **INFO),
                        dict(name="other credential 1", **{"orchestra.gcp.cloud_run_service_info": dict(
                            INFO["orchestra.gcp.cloud_run_service_info"], service_account_file=other)}),
                        dict(name="other credential 2", **{"orchestra.gcp.cloud_run_service_info": dict(
                            INFO["orchestra.gcp.cloud_run_service_info"], service_account_file=other)})]
    run = play(checked, tasks, {"service_account_file": key_file()})

    assert run.rc == 0, run.stdout
    assert all(r["exists"] is False for r in run.results)
    assert token_calls(checked) == {"/token": 2}  # one per key, for seven tasks in both doors
    no_token_anywhere(run)


def test_cache_off_fetches_in_every_task(checked, key_file):
    checked.extra_env["ORCHESTRA_GCP_TOKEN_CACHE"] = "off"
    run = play(checked, reads(3), {"service_account_file": key_file()})
    assert run.rc == 0, run.stdout
    assert token_calls(checked) == {"/token": 3}


def test_impersonation_fetches_its_two_tokens_once(checked, key_file):
    run = play(checked, reads(4), {"service_account_file": key_file(), "impersonate_service_account": TARGET})
    assert run.rc == 0, run.stdout
    assert token_calls(checked) == {"/token": 1, "/v1/projects/-/serviceAccounts/%s:generateAccessToken" % TARGET: 1}
    no_token_anywhere(run)


def test_external_account_exchanges_once_at_sts(checked, tmp_path):
    subject = tmp_path / "oidc-token"
    subject.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2ln")
    config = tmp_path / "wif.json"
    config.write_text(json.dumps({
        "type": "external_account", "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/ci/providers/ci",
        "token_url": checked.endpoint + "/v1/token", "credential_source": {"file": str(subject)}}))
    checked.extra_env["GOOGLE_APPLICATION_CREDENTIALS"] = str(config)

    run = play(checked, reads(4), {"auth_kind": "application"})

    assert run.rc == 0, run.stdout
    assert token_calls(checked) == {"/v1/token": 1}


def test_a_refused_token_is_fetched_again_once(checked, key_file):
    expire = dict(name="expire", **{"ansible.builtin.uri": {
        "url": checked.endpoint + "/_emulator/auth/expire", "method": "POST", "body_format": "json", "body": {}}})
    run = play(checked, reads(2) + [expire] + reads(3), {"service_account_file": key_file()})

    assert run.rc == 0, run.stdout
    assert token_calls(checked) == {"/token": 2}
    statuses = [c["status"] for c in checked.emulator.calls() if c["path"].endswith("/services/absent")]
    assert statuses == [404, 404, 401, 404, 404, 404]


def test_a_private_service_answers_the_canary_analysis_with_its_id_token(checked, key_file):
    name = checked.name("private")
    key = key_file()
    image = "us-docker.pkg.dev/orchestra-test/app/ai-orchestra:%s"
    deploy = [dict(name="v1", **{"orchestra.gcp.cloud_run_service": dict(name=name, region="{{ region }}", image=image % "1.0.0", tag="stable")}),
              dict(name="canary", **{"orchestra.gcp.cloud_run_service": dict(name=name, region="{{ region }}", image=image % "2.0.0",
                                                                             traffic="none", tag="canary")})]
    run = play(checked, deploy, {"service_account_file": key})
    assert run.rc == 0, run.stdout
    url = run.task("canary")["tag_url"]
    checked.emulator.admin("private-services", {"service": "*/services/%s" % name})

    analysis = {"orchestra.gcp.cloud_run_canary_analysis": dict(
        name=name, region="{{ region }}", canary="canary", metrics=False, http_checks=[{"url": url, "requests": 3}])}
    unauthenticated = dict(name="unauthenticated", **{"ansible.builtin.uri": {"url": url, "status_code": [403]}})
    run = play(checked, [unauthenticated, dict(name="analysis", **analysis)], {"service_account_file": key})

    assert run.rc == 0, run.stdout
    assert run.task("unauthenticated")["status"] == 403
    result = run.task("analysis")
    assert result["verdict"] == "pass", result["reason"]
    assert result["measurements"][0]["http_checks"][0]["statuses"] == {"200": 3}
    assert token_calls(checked) == {"/token": 3}  # per run an access token, and in the second the ID token
    no_token_anywhere(run)


def test_without_credentials_a_private_service_fails_the_check_and_says_why(emulated):
    name = emulated.name("private")
    image = "us-docker.pkg.dev/orchestra-test/app/ai-orchestra:1.0.0"
    run = emulated.run([dict(name="v1", **{"orchestra.gcp.cloud_run_service": dict(name=name, region="{{ region }}", image=image, tag="stable")})])
    assert run.rc == 0, run.stdout
    emulated.emulator.admin("private-services", {"service": "*/services/%s" % name})

    run = emulated.run([dict(name="analysis", **{"orchestra.gcp.cloud_run_canary_analysis": dict(
        name=name, region="{{ region }}", canary="stable", metrics=False, http_checks=[{"url": "/"}])})])

    result = run.task("analysis")
    assert result["verdict"] == "fail"
    assert "status 403: the service refused a request without an ID token: no credentials are configured" in result["reason"]
