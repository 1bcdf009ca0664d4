"""Google's Node.js Cloud Run client (@google-cloud/run over REST) against the emulator: the suite in
tests/node, run with node's test runner. scripts/setup.sh installs its packages (npm ci)."""

import os
import pathlib
import shutil
import subprocess

import pytest

SUITE = pathlib.Path(__file__).resolve().parents[1] / "node"
TIMEOUT = 300


def test_the_node_client_suite_passes(emulator):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/setup.sh installs Debian's nodejs when run as root)")
    assert (SUITE / "node_modules" / "@google-cloud" / "run").is_dir(), (
        f"{SUITE}/node_modules lacks @google-cloud/run: run scripts/setup.sh (npm ci in tests/node)"
    )

    completed = subprocess.run(
        [node, "--test"],
        cwd=SUITE,
        env={**os.environ, "ORCHESTRA_EMULATOR_ENDPOINT": emulator.endpoint},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )

    assert completed.returncode == 0, f"node --test failed:\n{completed.stdout}\n{completed.stderr}"
    assert "# fail 0" in completed.stdout and "# pass 0" not in completed.stdout, completed.stdout
