"""orchestra.gcp.access_token in a run, with google-auth's real flows against the emulator's token endpoints and its
bearer checks on: a token of a key and one of an impersonated service account read a secret with ansible.builtin.uri,
the run's module tasks and lookups share one token per credential, and no token nor value shows in the output, at -vvv
too."""

import base64
import json

from test_rotation import client
from test_tokens import TARGET, key_file, no_token_anywhere, play, token_calls  # noqa: F401 pylint: disable=unused-import

VALUE = "the-value-of-version-1"


def test_a_token_of_the_modules_credentials_reads_a_secret_with_uri(emulated, key_file):  # noqa: F811 pylint: disable=redefined-outer-name
    secret = emulated.name("pw")
    parent = "projects/%s" % emulated.project
    client(emulated).create_secret(parent=parent, secret_id=secret, secret={"replication": {"automatic": {}}})
    client(emulated).add_secret_version(parent="%s/secrets/%s" % (parent, secret), payload={"data": VALUE.encode()})
    emulated.emulator.admin("auth", {"check_tokens": True})
    key = key_file()
    url = "%s/v1/%s/secrets/%s/versions/1:access" % (emulated.endpoint, parent, secret)

    def read(name, token):
        return dict(name=name, no_log=True, register=name.replace(" ", "_"), **{"ansible.builtin.uri": {
            "url": url, "headers": {"Authorization": "Bearer {{ %s }}" % token} if token else {}, "status_code": [200, 401]}})
    lookup = "lookup('orchestra.gcp.access_token', service_account_file=%r%s)"
    tasks = [
        read("without a token", None),
        dict(name="module", **{"orchestra.gcp.secret_info": {"name": secret}}),
        # As the secret_rotation role checks before any change, without no_log: the assertion shows no value.
        dict(name="check", **{"ansible.builtin.assert": {"quiet": True, "that": (lookup % (key, "")) + " | length > 0"}}),
        read("with the key", lookup % (key, "")),
        read("with the key again", lookup % (key, "")),
        read("impersonating", lookup % (key, ", impersonate_service_account=%r" % TARGET)),
        dict(name="values", **{"ansible.builtin.assert": {"quiet": True, "that": [
            "without_a_token.status == 401",
            "with_the_key.json.payload.data | b64decode == %r" % VALUE,
            "with_the_key_again.json.payload.data == with_the_key.json.payload.data",
            "impersonating.json.payload.data | b64decode == %r" % VALUE]}}),
    ]
    emulated.extra_env["ANSIBLE_VERBOSITY"] = "3"  # nothing shows at -vvv either
    run = play(emulated, tasks, {"service_account_file": key})

    assert run.rc == 0, run.stdout
    assert run.task("module")["exists"] is True
    # One token of the key, shared by the module task and the three lookups (each task runs in its own worker process);
    # impersonation is another credential, whose key token and impersonated token are fetched once, as a module's are.
    assert token_calls(emulated) == {"/token": 2, "/v1/projects/-/serviceAccounts/%s:generateAccessToken" % TARGET: 1}
    reads = [c["status"] for c in emulated.emulator.calls() if c["path"].endswith(secret + "/versions/1:access")]
    assert reads == [401, 200, 200, 200]
    assert "orchestra.gcp.access_token: an access token of file %s impersonating %s" % (key, TARGET) in run.stdout  # -vvv
    no_token_anywhere(run)
    text = run.stdout + json.dumps(run.results, default=str)
    assert VALUE not in text and base64.b64encode(VALUE.encode()).decode() not in text
    assert all(run.task(name)["censored"] for name in ("with the key", "impersonating"))
