# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built collection artifact: what ships, what must not, and the ``gcp`` action group.

The artifact is built with ``ansible-galaxy collection build`` into a temporary directory, or taken
from ORCHESTRA_GCP_ARTIFACT (scripts/test.sh's package stage sets it to the tarball it built).
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ARTIFACT_VARIABLE = "ORCHESTRA_GCP_ARTIFACT"

# Development-only trees that must never reach Galaxy / Automation Hub (top-level names).
FORBIDDEN_TOP_LEVEL = {
    "emulator", "tests", "benchmarks", "extensions", "scripts", ".venv", ".venv-core-lowest",
    ".ci", ".collections", ".emulator", ".git", ".pytest_cache", ".ansible",
}
FORBIDDEN_ANYWHERE = {"__pycache__"}


def galaxy_metadata():
    return yaml.safe_load((REPO / "galaxy.yml").read_text(encoding="utf-8"))


def repo_modules():
    return sorted(path.stem for path in (REPO / "plugins" / "modules").glob("*.py") if path.name != "__init__.py")


def ansible_galaxy():
    beside_python = Path(sys.executable).parent / "ansible-galaxy"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("ansible-galaxy")
    if not found:
        pytest.fail("ansible-galaxy not found next to %s nor on PATH" % sys.executable)
    return found


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    given = os.environ.get(ARTIFACT_VARIABLE)
    if given:
        return Path(given)
    output = tmp_path_factory.mktemp("artifact")
    proc = subprocess.run(
        [ansible_galaxy(), "collection", "build", str(REPO), "--output-path", str(output), "--force"],
        cwd=str(REPO), capture_output=True, text=True, check=False, timeout=300,
    )
    assert proc.returncode == 0, "ansible-galaxy collection build failed:\n%s\n%s" % (proc.stdout, proc.stderr)
    built = sorted(output.glob("*.tar.gz"))
    assert len(built) == 1, "expected one artifact in %s, found %s" % (output, built)
    return built[0]


@pytest.fixture(scope="module")
def members(artifact):
    with tarfile.open(artifact, "r:gz") as tar:
        return sorted(member.name[2:] if member.name.startswith("./") else member.name for member in tar.getmembers())


@pytest.fixture(scope="module")
def manifest(artifact):
    with tarfile.open(artifact, "r:gz") as tar:
        return json.load(tar.extractfile("MANIFEST.json"))


def test_artifact_is_named_after_galaxy_yml(artifact):
    meta = galaxy_metadata()
    assert artifact.name == "%s-%s-%s.tar.gz" % (meta["namespace"], meta["name"], meta["version"])


def test_manifest_matches_galaxy_yml(manifest):
    meta = galaxy_metadata()
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == (meta["namespace"], meta["name"], meta["version"])


def test_artifact_has_no_development_files(members):
    shipped = [name for name in members if name.split("/")[0] in FORBIDDEN_TOP_LEVEL]
    assert shipped == [], "development-only files in the artifact (add them to build_ignore in galaxy.yml)"
    caches = [name for name in members if FORBIDDEN_ANYWHERE & set(name.split("/")) or name.endswith((".pyc", ".pyo"))]
    assert caches == []
    nested = [name for name in members if name.endswith(".tar.gz")]
    assert nested == [], "an artifact inside the artifact"


def test_artifact_ships_the_collection(members):
    required = {"MANIFEST.json", "FILES.json", "README.md", "meta/runtime.yml", "plugins/modules"}
    required.update("plugins/modules/%s.py" % module for module in repo_modules())
    required.update(
        str(path.relative_to(REPO)) for directory in ("module_utils", "plugin_utils", "action")
        for path in (REPO / "plugins" / directory).glob("*.py")
    )
    missing = sorted(required - set(members))
    assert missing == []


def test_artifact_runtime_metadata_is_the_repository_one(artifact):
    with tarfile.open(artifact, "r:gz") as tar:
        shipped = tar.extractfile("meta/runtime.yml").read()
    assert shipped == (REPO / "meta" / "runtime.yml").read_bytes()


def test_gcp_action_group_lists_every_module_sorted():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    group = runtime.get("action_groups", {}).get("gcp")
    assert group is not None, "meta/runtime.yml has no action_groups.gcp"
    names = [entry for entry in group if not isinstance(entry, dict)]  # a leading {metadata: ...} is allowed
    assert names == sorted(names), "action_groups.gcp is not sorted"
    assert names == repo_modules(), "action_groups.gcp must list exactly the modules in plugins/modules"


@pytest.mark.parametrize("module", repo_modules())
def test_every_module_has_an_action_plugin_running_its_own_spec_and_logic(module):
    """The two doors of a module: its action plugin names the very spec and logic its main() runs."""
    source = (REPO / "plugins" / "modules" / ("%s.py" % module)).read_text(encoding="utf-8")
    runs = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr == "run"
            and isinstance(node.func.value, ast.Call) and getattr(node.func.value.func, "id", None) == "GcpModule"]
    assert len(runs) == 1, "%s: main() should be GcpModule(**SPEC).run(logic)" % module
    spec_name, logic_name = runs[0].func.value.keywords[0].value.id, runs[0].args[0].id

    module_code = importlib.import_module("ansible_collections.orchestra.gcp.plugins.modules.%s" % module)
    action = importlib.import_module("ansible_collections.orchestra.gcp.plugins.action.%s" % module).ActionModule
    assert action.spec is getattr(module_code, spec_name)
    assert action.logic is getattr(module_code, logic_name)
