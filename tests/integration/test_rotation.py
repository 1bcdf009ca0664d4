"""The secret_rotation role and playbooks/rotate_secrets.yml against the emulator, with a real redis-server whose
ACL user is the system that checks the rotated password, and a Cloud Run consumer pinned to its versions."""

import hashlib
import json
import re
import socket
import subprocess
import threading
import time

import pytest
import requests
import yaml
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import secretmanager_v1 as sm
from orchestra_emulator.projects import project_number

from conftest import REPO, routed
from test_cloud_run_service import IMAGE, deploy
from test_rollout import kill_tree

ADMIN = "redis-Admin-pw-from-the-vault"  # the Redis admin's password, as a vault variable would hold it
USER = "orchestra"  # the Redis ACL user whose password the rotated secret holds
ENV = "REDIS_PASSWORD"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Redis:
    """A real redis-server on a free port, its default user guarded by ADMIN."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", str(tmp_path), "--requirepass", ADMIN],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.accepts("default", ADMIN):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def cli(self, *lines):
        """Run commands through redis-cli's standard input; the replies, blank lines dropped."""
        done = subprocess.run(["redis-cli", "-p", str(self.port)], input="\n".join(lines) + "\n", capture_output=True,
                              text=True, timeout=10, check=True)
        return [line for line in done.stdout.splitlines() if line]

    def accepts(self, user, password):
        try:
            return self.cli('AUTH %s "%s"' % (user, password), "PING") == ["OK", "PONG"]
        except (subprocess.CalledProcessError, FileNotFoundError):
            return False


@pytest.fixture
def redis(tmp_path):
    server = Redis(tmp_path)
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


def client(backend):
    return sm.SecretManagerServiceClient(transport="rest", credentials=AnonymousCredentials(),
                                         client_options=ClientOptions(api_endpoint=backend.endpoint))


def value(backend, secret, version):
    """What a version holds, read with the official client."""
    path = "projects/%s/secrets/%s/versions/%s" % (backend.project, secret, version)
    return client(backend).access_secret_version(name=path).payload.data.decode()


def aliases(backend, secret):
    return dict(client(backend).get_secret(name="projects/%s/secrets/%s" % (backend.project, secret)).version_aliases)


def states(backend, secret):
    return {int(v.name.rsplit("/", 1)[-1]): v.state.name
            for v in client(backend).list_secret_versions(parent="projects/%s/secrets/%s" % (backend.project, secret))}


@pytest.fixture
def rotated(emulated, redis):
    """A secret with its first generated value under current, the Redis ACL user holding it, the Redis admin's password
    in a secret of its own, and a Cloud Run consumer pinned to version 1: (secret, consumer service)."""
    secret, service = emulated.name("pw"), emulated.name("consumer")
    play = emulated.run([
        {"orchestra.gcp.secret": {"name": secret, "topics": ["projects/orchestra-test/topics/rotation"], "rotation_period": "30d",
                                  "next_rotation_time": "2030-01-01T00:00:00Z"}},
        {"orchestra.gcp.secret_version": {"secret": secret, "generate": {"length": 40, "charset": "printable"}, "aliases": ["current"]}},
        {"orchestra.gcp.secret": {"name": secret + "-admin"}},
        {"orchestra.gcp.secret_version": {"secret": secret + "-admin", "value": "{{ admin }}", "aliases": ["current"]}},
        # The consumer runs as the project's default compute service account, which must be let read the secret.
        {"orchestra.gcp.iam_binding": {"resource": {"type": "secret", "name": secret}, "role": "roles/secretmanager.secretAccessor",
                                       "members": ["serviceAccount:%s-compute@developer.gserviceaccount.com" % project_number(emulated.project)]}},
        deploy(service, "1.0.0", secret_env={ENV: {"secret": secret, "version": "1"}}),
    ], extravars={"admin": ADMIN})
    assert play.rc == 0, play.stdout
    first = value(emulated, secret, 1)
    quoted = first.replace("\\", "\\\\").replace('"', '\\"')
    assert redis.cli("AUTH default %s" % ADMIN, 'ACL SETUSER %s on ">%s" ~* +@all' % (USER, quoted)) == ["OK", "OK"]
    assert redis.accepts(USER, quoted)
    return secret, service


def role_vars(emulated, redis, secret, service, **overrides):
    return dict({
        "secret_rotation_secret": secret,
        "secret_rotation_generate": {"length": 40, "charset": "printable"},
        "secret_rotation_set_tasks": "redis_acl_set.yml",
        "secret_rotation_test_tasks": "redis_acl_test.yml",
        "secret_rotation_finish_tasks": "redis_acl_finish.yml",
        "secret_rotation_rollback_tasks": "redis_acl_rollback.yml",
        "secret_rotation_redis": {"port": redis.port, "user": USER, "admin_secret": secret + "-admin"},
        "secret_rotation_consumers": [{"name": service, "regions": ["{{ region }}"], "env": ENV, "spec": {"image": IMAGE % "1.0.0"}}],
        "secret_rotation_grace": 1,
        "secret_rotation_retention": 1,
    }, **overrides)


def rotation(emulated, redis, secret, service, verbosity=None, check=False, **overrides):
    task = {"name": "rotate", "ansible.builtin.include_role": {"name": "orchestra.gcp.secret_rotation"},
            "vars": role_vars(emulated, redis, secret, service, **overrides)}
    return emulated.run([task], verbosity=verbosity, check=check)


def result(play):
    return [r for r in play.results if "secret_rotation_result" in r.get("ansible_facts", {})][-1]["ansible_facts"]["secret_rotation_result"]


def quoted(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def pinned(emulated, service):
    """(revision serving 100%, the version its env variable is pinned to)."""
    (revision, percent), = {(r, p) for _t, r, p, _tag in routed(emulated.service(service)) if p}
    assert percent == 100
    found = emulated.revisions.get_revision(name="%s/revisions/%s" % (emulated.path(service), revision))
    return revision, next(e.value_source.secret_key_ref.version for e in found.containers[0].env if e.name == ENV)


class Probe(threading.Thread):
    """Requests to a service's URL, as its users send them, until stopped: how many, and which failed."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.stopped, self.sent, self.failed = url, threading.Event(), 0, []

    def run(self):
        with requests.Session() as http:
            while not self.stopped.is_set():
                self.sent += 1
                try:
                    status = http.get(self.url, timeout=5).status_code
                except requests.RequestException as error:
                    status = repr(error)
                if status != 200:
                    self.failed.append(status)
                time.sleep(0.02)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.join()


def test_a_rotation_end_to_end_leaks_no_value(emulated, redis, rotated):
    secret, service = rotated
    old = value(emulated, secret, 1)
    before, _version = pinned(emulated, service)
    earlier_runs = set(emulated.tmp_path.glob("run-*"))
    with Probe(emulated.service(service).uri) as probe:
        play = rotation(emulated, redis, secret, service, verbosity=4)
    assert play.rc == 0, play.stdout
    assert probe.sent > 20 and probe.failed == [], "the consumer failed %d of %d requests" % (len(probe.failed), probe.sent)
    new = value(emulated, secret, 2)

    assert aliases(emulated, secret) == {"current": 2, "previous": 1}  # pending is gone
    assert states(emulated, secret) == {1: "DISABLED", 2: "ENABLED"}
    assert redis.accepts(USER, quoted(new)) and not redis.accepts(USER, quoted(old))
    revision, version = pinned(emulated, service)
    assert revision != before and version == "2"
    answer = requests.get(emulated.service(service).uri, timeout=10).json()
    assert answer["env_sha256"][ENV] == hashlib.sha256(new.encode()).hexdigest()

    done = result(play)
    assert (done["outcome"], done["pending"], done["replaced"], done["resumed"]) == ("finished", 2, 1, False)
    assert [s["step"] for s in done["steps"]] == ["create", "set", "test", "finish_aliases", "finish"]
    assert done["aliases"] == {"current": 2, "previous": 1}
    assert [(c["service"], c["revision"], c["replaced"], c["version"], c["outcome"]) for c in done["consumers"]] == [
        (service, revision, before, 2, "promoted")]
    assert play.task("Hand the result to AWX")["ansible_stats"]["data"]["secret_rotation"][secret]["outcome"] == "finished"

    # -vvvv and --diff, through ansible-runner: neither value, nor the admin's password, is anywhere in the output, the
    # results or the files ansible-runner keeps (its artifacts: stdout, job events, the command line, the environment).
    assert "ESTABLISH LOCAL CONNECTION" in play.stdout, "the run was at -vvvv"
    (run,) = set(emulated.tmp_path.glob("run-*")) - earlier_runs
    artifacts = [path for path in run.glob("artifacts/**/*") if path.is_file()]
    assert any(path.parent.name == "job_events" for path in artifacts)
    everything = play.stdout + json.dumps(play.results) + "".join(path.read_text(errors="replace") for path in artifacts)
    for text in (new, old, ADMIN, quoted(new), quoted(old)):
        assert text not in everything


@pytest.mark.one_core  # the end-to-end rotation walks the same role paths on every core
def test_an_interrupted_rotation_resumes_its_pending_version(emulated, redis, rotated):
    secret, service = rotated
    before = len(emulated.emulator.log())
    play = rotation(emulated, redis, secret, service, check=True)
    assert play.rc == 0, play.stdout
    assert result(play)["outcome"] == "planned" and emulated.emulator.log()[before:] == []  # check mode writes nothing

    play = rotation(emulated, redis, secret, service, secret_rotation_until="set")
    assert play.rc == 0, play.stdout
    assert aliases(emulated, secret) == {"current": 1, "pending": 2}
    new, old = value(emulated, secret, 2), value(emulated, secret, 1)
    assert redis.accepts(USER, quoted(new)) and redis.accepts(USER, quoted(old))  # both valid in the window
    assert result(play)["outcome"] == "set"

    play = rotation(emulated, redis, secret, service)
    assert play.rc == 0, play.stdout
    assert result(play)["resumed"] and result(play)["pending"] == 2
    assert states(emulated, secret) == {1: "DISABLED", 2: "ENABLED"}  # never a second pending version
    assert aliases(emulated, secret) == {"current": 2, "previous": 1}
    assert redis.accepts(USER, quoted(new)) and not redis.accepts(USER, quoted(old))


@pytest.mark.one_core  # the end-to-end rotation walks the role on every core; a rollback is module logic and task files of the same kinds
@pytest.mark.parametrize("failure", ["test task file", "consumer canary"])
def test_a_failed_test_step_rolls_back(emulated, redis, rotated, tmp_path, failure):
    secret, service = rotated
    before, _version = pinned(emulated, service)
    overrides = {}
    if failure == "test task file":
        refuse = tmp_path / "refuse.yml"
        refuse.write_text(yaml.safe_dump([{"name": "The system refuses the new value", "ansible.builtin.fail": {"msg": "refused"}}]))
        overrides["secret_rotation_test_tasks"] = str(refuse)
    else:
        # The first consumer moves to the pending version, the second never becomes Ready: the first goes back.
        broken = emulated.name("broken")
        assert emulated.run([deploy(broken, "1.0.0")]).rc == 0
        emulated.emulator.admin("failing-images", {"pattern": "*:broken"})
        overrides["secret_rotation_consumers"] = role_vars(emulated, redis, secret, service)["secret_rotation_consumers"] + [
            {"name": broken, "regions": ["{{ region }}"], "env": ENV, "spec": {"image": IMAGE % "broken"}}]
    play = rotation(emulated, redis, secret, service, **overrides)
    assert play.rc != 0
    assert "Rolled back the rotation of %s" % secret in play.stdout, play.stdout
    assert aliases(emulated, secret) == {"current": 1}
    assert states(emulated, secret) == {1: "ENABLED", 2: "DISABLED"}
    old = value(emulated, secret, 1)
    assert redis.accepts(USER, quoted(old))
    assert pinned(emulated, service) == (before, "1")
    assert not any(text in play.stdout + json.dumps(play.results) for text in (old, quoted(old), ADMIN))
    done = result(play)
    assert done["outcome"] == "rolled_back" and done["steps"][-1]["disabled"] == 2
    if failure == "consumer canary":
        assert done["steps"][-1]["sent_back"] == [service]


@pytest.mark.one_core  # deploy.yml's test runs the playbook on every core
def test_the_playbook_rotates_what_is_due_or_named(emulated, redis, rotated):
    secret, service = rotated
    idle = emulated.name("idle")
    assert emulated.run([{"orchestra.gcp.secret": {"name": idle, "topics": ["projects/orchestra-test/topics/rotation"], "rotation_period": "30d",
                                                   "next_rotation_time": "2030-01-01T00:00:00Z"}},
                         {"orchestra.gcp.secret_version": {"secret": idle, "generate": {}, "aliases": ["current"]}}]).rc == 0
    rotate = role_vars(emulated, redis, secret, service)
    declared = [dict(name=secret, rotation_period="30d", generate=rotate["secret_rotation_generate"],
                     consumers=rotate["secret_rotation_consumers"], set_tasks="redis_acl_set.yml", test_tasks="redis_acl_test.yml",
                     finish_tasks="redis_acl_finish.yml", rollback_tasks="redis_acl_rollback.yml", redis=rotate["secret_rotation_redis"],
                     retention=1),
                dict(name=idle, rotation_period="30d")]
    inventory = yaml.safe_dump({"gcp": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}", "region": emulated.region,
        "gcp_project": emulated.project, "gcp_api_endpoint": emulated.endpoint, "orchestra_secrets": declared}}}})
    playbook = (REPO / "playbooks" / "rotate_secrets.yml").read_text()

    # Nothing is due (versions made now, next rotations in 2030): no change, one read per secret, nothing written.
    before = len(emulated.emulator.calls())
    play = emulated.run_playbook(playbook, inventory=inventory)
    assert play.rc == 0, play.stdout
    assert play.changed() == []
    reads = [c for c in emulated.emulator.calls()[before:] if "/secrets/" in c["path"]]
    assert all(c["method"] == "GET" for c in reads)
    assert sorted({c["path"].split("/secrets/")[1].split("/")[0] for c in reads}) == sorted([secret, idle])
    assert len(play.task("Read when each declared secret is due")["results"]) == 2

    # Named, it is rotated now; its next rotation moves to one period from now; the other secret is not touched.
    play = emulated.run_playbook(playbook, inventory=inventory, extravars={"secret": secret})
    assert play.rc == 0, play.stdout
    assert aliases(emulated, secret) == {"current": 2, "previous": 1}
    assert aliases(emulated, idle) == {"current": 1} and states(emulated, idle) == {1: "ENABLED"}
    live = client(emulated).get_secret(name="projects/%s/secrets/%s" % (emulated.project, secret))
    ahead = live.rotation.next_rotation_time.timestamp() - time.time()
    assert 30 * 86400 - 120 < ahead <= 30 * 86400

    # Just rotated: nothing is due again.
    play = emulated.run_playbook(playbook, inventory=inventory)
    assert play.rc == 0, play.stdout
    assert play.changed() == [] and aliases(emulated, secret) == {"current": 2, "previous": 1}

    # A rotation in progress is completed, due or not: a version aliased pending (a run stopped before it finished).
    idle_name = "projects/%s/secrets/%s" % (emulated.project, idle)
    secrets = client(emulated)
    secrets.add_secret_version(parent=idle_name, payload={"data": b"pending-value-of-a-stopped-run"})
    stopped = secrets.get_secret(name=idle_name)
    stopped.version_aliases["pending"] = 2
    secrets.update_secret(secret=stopped, update_mask={"paths": ["version_aliases"]})
    play = emulated.run_playbook(playbook, inventory=inventory)
    assert play.rc == 0, play.stdout
    assert aliases(emulated, idle) == {"current": 2, "previous": 1} and value(emulated, idle, 2) == "pending-value-of-a-stopped-run"
    assert aliases(emulated, secret) == {"current": 2, "previous": 1}, "not due and not in progress: untouched"

    # Named again: a second rotation; with a retention of one, version 1 is destroyed, 2 is kept disabled as previous.
    play = emulated.run_playbook(playbook, inventory=inventory, extravars={"secret": secret})
    assert play.rc == 0, play.stdout
    assert aliases(emulated, secret) == {"current": 3, "previous": 2}
    assert states(emulated, secret) == {1: "DESTROYED", 2: "DISABLED", 3: "ENABLED"}
    assert redis.accepts(USER, quoted(value(emulated, secret, 3)))


@pytest.mark.parametrize("overrides, message", [
    ({"secret_rotation_consumers": [{"name": "svc", "regions": ["us-central1"], "env": ENV, "spec": {"image": IMAGE % "1.0.0", "cpus": "2"}}]},
     "cpus"),
    ({"secret_rotation_consumers": [{"name": "svc", "regions": ["us-central1"], "env": ENV, "spec": {"image": IMAGE % "1.0.0"},
                                     "steps": [{"percent": 10, "bak": 60}]}]}, "bak"),
    ({"secret_rotation_redis": {"port": 6379, "usr": USER}}, "usr"),
    ({"secret_rotation_period": "30 days"}, "secret_rotation_period 30 days must be like"),
    ({"secret_rotation_period": "10m"}, "at least an hour"),
    ({"secret_rotation_api_endpoint": "https://secretmanager.googleapis.com"}, "orchestra.gcp.access_token could not load credentials"),
], ids=["spec key", "step key", "redis key", "period", "short period", "token"])
def test_bad_input_is_refused_before_any_call(emulated, overrides, message):
    before = len(emulated.emulator.calls())
    task = {"name": "rotate", "ansible.builtin.include_role": {"name": "orchestra.gcp.secret_rotation"},
            "vars": dict({"secret_rotation_secret": "any"}, **overrides)}
    play = emulated.run([task])
    assert play.rc != 0
    failure = next(r for r in play.results if r["_failed"])
    assert message in failure["msg"], failure["msg"]
    assert len(emulated.emulator.calls()) == before, "the role called the API before refusing its input"


def test_a_missing_consumer_is_refused_before_any_change(emulated):
    secret = emulated.name("pw")
    assert emulated.run([{"orchestra.gcp.secret": {"name": secret}},
                         {"orchestra.gcp.secret_version": {"secret": secret, "generate": {}, "aliases": ["current"]}}]).rc == 0
    before = len(emulated.emulator.log())
    task = {"name": "rotate", "ansible.builtin.include_role": {"name": "orchestra.gcp.secret_rotation"}, "vars": {
        "secret_rotation_secret": secret,
        "secret_rotation_consumers": [{"name": "no-such-service", "regions": ["{{ region }}"], "env": ENV, "spec": {"image": IMAGE % "1.0.0"}}]}}
    play = emulated.run([task])
    assert play.rc != 0
    failure = next(r for r in play.results if r["_failed"])
    messages = [item.get("msg", "") for item in failure.get("results", [failure])]
    assert any("consumer no-such-service in %s does not exist" % emulated.region in m for m in messages), messages
    assert emulated.emulator.log()[before:] == []
    assert aliases(emulated, secret) == {"current": 1}


def start_and_kill_when_called(emulated, tasks, method, path):
    """Start ``tasks``, hold the first ``method`` call whose path matches ``path`` in the emulator, and kill the run
    (SIGKILL, every process) while the call is held; the held call then lands, as a call sent just before a crash does."""
    def made():
        return len([c for c in emulated.emulator.calls() if c["method"] == method and re.search(path, c["path"])])
    earlier = made()
    emulated.emulator.admin("faults", {"method": method, "path": path, "latency": 3, "status": 0, "count": 1})
    process = emulated.start(tasks)
    deadline = time.monotonic() + 120
    while emulated.emulator.state()["admin"]["faults"]:
        assert process.poll() is None and time.monotonic() < deadline, "the run never made the call %s %s" % (method, path)
        time.sleep(0.05)
    kill_tree(process.pid)
    process.wait()
    while made() == earlier:
        assert time.monotonic() < deadline, "the held call never landed"
        time.sleep(0.05)


def consumers_safe(emulated, secret, service, redis):
    """Nothing a consumer uses is disabled: every revision with traffic is pinned to an enabled version whose value
    Redis accepts. Returns the versions in use."""
    live = emulated.service(service)
    in_use = set()
    for _type, revision, percent, _tag in routed(live):
        if percent:
            found = emulated.revisions.get_revision(name="%s/revisions/%s" % (emulated.path(service), revision))
            in_use |= {int(e.value_source.secret_key_ref.version) for e in found.containers[0].env if e.name == ENV}
    for version in in_use:
        assert states(emulated, secret)[version] == "ENABLED", "a consumer uses disabled version %d" % version
        assert redis.accepts(USER, quoted(value(emulated, secret, version)))
    return in_use


@pytest.mark.one_core
def test_a_rotation_killed_at_each_step_completes_when_run_again(emulated, redis, rotated):
    secret, service = rotated
    tasks = [{"name": "rotate", "ansible.builtin.include_role": {"name": "orchestra.gcp.secret_rotation"},
              "vars": role_vars(emulated, redis, secret, service)}]
    secret_path = "/secrets/%s" % secret
    old = value(emulated, secret, 1)

    # Set: killed while the set task file reads the pending value.
    start_and_kill_when_called(emulated, tasks, "GET", secret_path + "/versions/2:access$")
    assert aliases(emulated, secret) == {"current": 1, "pending": 2} and consumers_safe(emulated, secret, service, redis) == {1}

    # Test: killed while the consumer's canary revision, pinned to the pending version, is being made.
    start_and_kill_when_called(emulated, tasks, "PATCH", "/services/%s$" % service)
    assert aliases(emulated, secret) == {"current": 1, "pending": 2} and consumers_safe(emulated, secret, service, redis) == {1}
    assert redis.accepts(USER, quoted(value(emulated, secret, 2)))  # the resumed set gave Redis the pending value

    # Finish: killed while the aliases move; the move lands.
    start_and_kill_when_called(emulated, tasks, "PATCH", secret_path + "$")
    assert aliases(emulated, secret) == {"current": 2, "previous": 1}
    assert states(emulated, secret) == {1: "ENABLED", 2: "ENABLED"}
    assert consumers_safe(emulated, secret, service, redis) == {2}

    # The next run completes that finish - the replaced version retired - and starts no rotation.
    play = emulated.run(tasks)
    assert play.rc == 0, play.stdout
    done = result(play)
    assert (done["outcome"], done["pending"], done["replaced"], done["resumed"]) == ("finished", 2, 1, True)
    assert [s["step"] for s in done["steps"]] == ["finish_aliases", "finish"]
    assert aliases(emulated, secret) == {"current": 2, "previous": 1}
    assert states(emulated, secret) == {1: "DISABLED", 2: "ENABLED"}
    assert consumers_safe(emulated, secret, service, redis) == {2}
    assert not redis.accepts(USER, quoted(old))
    assert len(emulated.revision_names(service)) == 2  # the killed canary was resumed, not made twice
