"""deploy.yml on the local inventory, run the way users run it: ansible-playbook from the checkout."""

import os
import re
import subprocess
import sys
from urllib.parse import urlparse

import requests

from conftest import REPO


def ansible_playbook(emulated, *args, playbook="deploy.yml"):
    port = urlparse(emulated.endpoint).port
    env = dict(os.environ, NO_GCE_CHECK="true", ANSIBLE_NOCOLOR="1")
    env.pop("ORCHESTRA_GCP_ENDPOINT", None)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook, "-i", "inventories/local",
           "-e", "gcp_project=%s" % emulated.project, "-e", "gcp_api_endpoint=%s" % emulated.endpoint,
           "-e", "local_emulator_port=%d" % port, *args]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    recap = re.search(r"orchestra-local\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=0\s+failed=0", done.stdout)
    assert recap, done.stdout
    return int(recap.group(2)), done.stdout


def test_deploy_then_redeploy_changes_nothing(emulated):
    changed, out = ansible_playbook(emulated, "--check")
    assert changed >= 1, out
    assert emulated.emulator.log() == []  # check mode: not one mutating call

    changed, out = ansible_playbook(emulated)
    assert changed == 1, out  # the emulator already ran: only the service was created
    service = emulated.service("ai-orchestra")
    assert dict(service.labels) == {"app": "ai-orchestra", "env": "local"}
    assert service.template.scaling.max_instance_count == 2
    assert requests.get(service.uri, timeout=5).json()["service"] == "ai-orchestra"

    mutations = len(emulated.emulator.log())
    changed, out = ansible_playbook(emulated)
    assert changed == 0, out
    changed, out = ansible_playbook(emulated, "--check")
    assert changed == 0, out
    assert len(emulated.emulator.log()) == mutations


def test_rollback_playbook_returns_to_the_last_stable_revision_in_one_update(emulated):
    assert ansible_playbook(emulated)[0] == 1
    first = emulated.revision_names("ai-orchestra")[0]
    release = '{"orchestra_service": {"name": "ai-orchestra", "image": "us-docker.pkg.dev/orchestra-local/app/ai-orchestra:2.0.0"}}'
    assert ansible_playbook(emulated, "-e", release)[0] == 1
    mutations = len(emulated.emulator.log())

    changed, out = ansible_playbook(emulated, playbook="playbooks/rollback.yml")

    assert changed == 1, out
    assert [(s.revision, s.percent) for s in emulated.service("ai-orchestra").traffic_statuses if s.percent] == [(first, 100)]
    assert [c["method"] for c in emulated.emulator.log()[mutations:]] == ["PATCH"]
    assert ansible_playbook(emulated, playbook="playbooks/rollback.yml")[0] == 0
