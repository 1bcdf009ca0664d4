"""Integration scenarios: playbooks run through ansible-runner (as AWX runs them) against a backend.

The backend is the local emulator, or a real Google Cloud project when ORCHESTRA_LIVE_PROJECT is
set (credentials then come from the environment: ADC, GOOGLE_APPLICATION_CREDENTIALS, GCP_*).
Assertions read what the backend holds with the official client, not what the modules said.
"""

import os
import pathlib
import subprocess
import sys
import uuid

import ansible_runner
import pytest
import yaml
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2

REPO = pathlib.Path(__file__).resolve().parents[2]
LIVE_PROJECT = os.environ.get("ORCHESTRA_LIVE_PROJECT")
LOCALHOST = "localhost ansible_connection=local ansible_python_interpreter=%s" % sys.executable
# ansible-runner finds ansible-playbook on PATH: use the one beside this interpreter.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]


def routed(service):
    """(type, revision, percent, tag) of each traffic status of a Service; a LATEST status names no revision on
    Google, so it is resolved through latestReadyRevision, as gcloud does."""
    latest = service.latest_ready_revision.rsplit("/", 1)[-1]
    return [(s.type_.name.rsplit("_", 1)[-1], s.revision or latest, s.percent, s.tag) for s in service.traffic_statuses]


class Play:
    """What one playbook run did: its return code and each task's result, in order (and each loop item's, as the
    callbacks saw it, in ``items``)."""

    def __init__(self, runner):
        self.rc = runner.rc
        self.stdout = runner.stdout.read()
        self.results = []
        self.items = []
        for event in runner.events:
            kind = event["event"]
            if kind in ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_item_on_ok", "runner_item_on_failed"):
                data = event["event_data"]
                res = dict(data.get("res") or {})
                res["_task"] = data.get("task")
                res["_failed"] = kind.endswith("_failed")
                (self.items if kind.startswith("runner_item") else self.results).append(res)

    def task(self, name):
        found = [r for r in self.results if r["_task"] == name]
        assert found, "no task named %r in %s" % (name, [r["_task"] for r in self.results])
        return found[-1]

    def changed(self):
        return [r["_task"] for r in self.results if r.get("changed")]


class Backend:
    def __init__(self, tmp_path, project, region, endpoint=None, emulator=None):
        self.tmp_path = tmp_path
        self.project = project
        self.region = region
        self.endpoint = endpoint
        self.emulator = emulator
        self.created = []
        self.extra_env = {}
        options = {"api_endpoint": endpoint} if endpoint else None
        credentials = AnonymousCredentials() if endpoint else None
        self.services = run_v2.ServicesClient(transport="rest", credentials=credentials, client_options=options)
        self.revisions = run_v2.RevisionsClient(transport="rest", credentials=credentials, client_options=options)

    def name(self, stem="svc"):
        """A fresh service name, removed at the end of the test on a live project."""
        name = "it-%s-%s" % (stem, uuid.uuid4().hex[:6])
        self.created.append(name)
        return name

    def path(self, name):
        return "projects/%s/locations/%s/services/%s" % (self.project, self.region, name)

    def service(self, name):
        try:
            return self.services.get_service(name=self.path(name))
        except gexc.NotFound:
            return None

    def revision_names(self, name):
        return sorted(r.name.rsplit("/", 1)[-1] for r in self.revisions.list_revisions(parent=self.path(name)))

    def without_command(self, command):
        """Run the next playbooks with every command of this PATH but ``command``: a directory of links to them,
        since the module door needs the system's tools (its shell runs mkdir, rm...)."""
        links = self.tmp_path / ("without-" + command)
        links.mkdir()
        for directory in os.environ["PATH"].split(os.pathsep):
            for tool in sorted(pathlib.Path(directory).glob("*")) if os.path.isdir(directory) else []:
                link = links / tool.name
                if tool.name != command and os.access(tool, os.X_OK) and not os.path.lexists(link):  # the first on PATH wins
                    link.symlink_to(tool)
        self.extra_env["PATH"] = str(links)

    def env(self):
        env = {"GCP_PROJECT": self.project, "NO_GCE_CHECK": "true",
               "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".collections"), "ANSIBLE_NOCOLOR": "1"}
        if self.endpoint:
            env["ORCHESTRA_GCP_ENDPOINT"] = self.endpoint
        env.update(self.extra_env)
        return env

    def play(self, tasks):
        """``tasks`` as one play on localhost, auth set once through the action group."""
        return yaml.safe_dump([{
            "name": "scenario", "hosts": "localhost", "gather_facts": False,
            "module_defaults": {"group/orchestra.gcp.gcp": {}},
            "vars": {"region": self.region},
            "tasks": tasks,
        }], sort_keys=False)

    def run(self, tasks, check=False, extravars=None, verbosity=None):
        return self.run_playbook(self.play(tasks), check=check, extravars=extravars, verbosity=verbosity)

    def start(self, tasks):
        """Start ``tasks`` with ansible-playbook, to be killed mid-run."""
        pdd = self.tmp_path / ("start-%s" % uuid.uuid4().hex[:8])
        pdd.mkdir()
        (pdd / "play.yml").write_text(self.play(tasks))
        (pdd / "hosts").write_text(LOCALHOST + "\n")
        playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        with open(pdd / "output", "w") as output:
            return subprocess.Popen([playbook, "play.yml", "-i", "hosts"], cwd=pdd, env=dict(os.environ, **self.env()),
                                    stdout=output, stderr=subprocess.STDOUT)

    def run_playbook(self, text, check=False, extravars=None, inventory=None, cwd=None, verbosity=None):
        pdd = self.tmp_path / ("run-%s" % uuid.uuid4().hex[:8])
        (pdd / "project").mkdir(parents=True)
        (pdd / "project" / "play.yml").write_text(text)
        runner = ansible_runner.run(
            private_data_dir=str(pdd), playbook="play.yml", quiet=True, envvars=self.env(),
            extravars=extravars or {}, verbosity=verbosity, cmdline="--diff" + (" --check" if check else ""),
            inventory=inventory or LOCALHOST)
        return Play(runner)


@pytest.fixture
def backend(request, tmp_path):
    if LIVE_PROJECT:
        b = Backend(tmp_path, LIVE_PROJECT, os.environ.get("ORCHESTRA_LIVE_REGION", "us-central1"))
        yield b
        for name in b.created:
            try:
                b.services.delete_service(name=b.path(name)).result(timeout=600)
            except gexc.NotFound:
                pass
        return
    emulator = request.getfixturevalue("emulator")
    yield Backend(tmp_path, "orchestra-test", "us-central1", endpoint=emulator.endpoint, emulator=emulator)


@pytest.fixture
def emulated(backend):
    """The backend, for scenarios that need the emulator's admin API (faults, the call log)."""
    if backend.emulator is None:
        pytest.skip("needs the emulator's admin API")
    return backend
