#!/usr/bin/env bash
# Prepare a checkout of orchestra.gcp for development and CI. Idempotent and quiet on success.
#
#   1. .venv (Python 3.11) with requirements-dev.txt and the emulator (pip install -e emulator), and
#      .venv-core-lowest, the same with the lowest ansible-core meta/runtime.yml declares (latest of its
#      2.N.x), on which scripts/test.sh runs the integration suite too; pip is skipped while a venv's
#      .setup-stamp matches the hash of what it is built from.
#   2. redis-server, shellcheck, apache2-utils (ab) and nodejs/npm from Debian (apt-get) when missing and we are root.
#   3. The offline stand-in for ansible-test's pip bootstrap (~/.ansible/test/cache/get_pip_X_Y.py).
#   4. The Node.js client suite's packages (npm ci in tests/node); skipped while
#      tests/node/node_modules/.setup-stamp matches the hash of package-lock.json.
#
# Environment: PYTHON (interpreter for the venvs; default python3.11, else python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
LOG="$(mktemp "${TMPDIR:-/tmp}/orchestra-setup.XXXXXX")"
trap 'rm -f "$LOG"' EXIT

note() { echo "setup.sh: $*"; }
die() { echo "setup.sh: ERROR: $*" >&2; exit 1; }

# Run a command with its output in $LOG; show the output only when it fails.
quiet() {
    if ! "$@" >"$LOG" 2>&1 </dev/null; then
        cat "$LOG" >&2
        die "failed: $*"
    fi
}

# --- 1. virtualenvs ---------------------------------------------------------------------------
pick_python() {
    local candidate
    for candidate in ${PYTHON:-} python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# make_venv DIR [REQUIREMENT...]: DIR with requirements-dev.txt, the emulator and the given requirements
# (resolved together with the files' own, so one can narrow a range they allow).
make_venv() {
    local venv="$ROOT/$1" stamp="$ROOT/$1/.setup-stamp" want py
    shift
    if [[ -d "$venv" ]] && ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
        note "removing a broken $(basename "$venv")"
        rm -rf "$venv"
    fi
    if [[ ! -x "$venv/bin/python" ]]; then
        py="$(pick_python)" || die "no Python >= 3.11 found (tried ${PYTHON:-} python3.11 python3)"
        note "creating $(basename "$venv") with $("$py" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
        quiet "$py" -m venv "$venv"
    fi
    want="$({ "$venv/bin/python" -c 'import sys; print(sys.version)'; (($#)) && echo "$*"; cat "${stamp_files[@]}"; } | sha256sum | cut -d' ' -f1)"
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
        note "installing Python packages into $(basename "$venv") (${stamp_files[*]}${*:+ $*})"
        rm -f "$stamp"
        quiet "$venv/bin/python" -m pip install -q --upgrade pip
        quiet "$venv/bin/python" -m pip install -q -r requirements-dev.txt "$@"
        if [[ -f emulator/pyproject.toml ]]; then
            quiet "$venv/bin/python" -m pip install -q -e emulator
        fi
        echo "$want" >"$stamp"
    fi
}

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
stamp_files=(requirements-dev.txt requirements.txt)
[[ -f emulator/pyproject.toml ]] && stamp_files+=(emulator/pyproject.toml)
make_venv .venv

# The lowest ansible-core the collection declares (requires_ansible: ">=2.N..." in meta/runtime.yml).
LOWEST_CORE="$(sed -n 's/^requires_ansible: *["'"'"']\{0,1\}>=\([0-9]*\.[0-9]*\).*/\1/p' meta/runtime.yml)"
[[ -n "$LOWEST_CORE" ]] || die "meta/runtime.yml: requires_ansible does not start with >=X.Y"
make_venv .venv-core-lowest "ansible-core==$LOWEST_CORE.*"

# --- 2. Debian packages: redis-server (later features need it), shellcheck (sanity test),
#        apache2-utils (ab, the rollout's load step), nodejs and npm (the Node.js client suite) ---
apt_missing=()
command -v redis-server >/dev/null 2>&1 || [[ -x /usr/bin/redis-server ]] || apt_missing+=(redis-server)
command -v shellcheck >/dev/null 2>&1 || apt_missing+=(shellcheck)
command -v ab >/dev/null 2>&1 || apt_missing+=(apache2-utils)
command -v node >/dev/null 2>&1 || apt_missing+=(nodejs)
command -v npm >/dev/null 2>&1 || apt_missing+=(npm)
if ((${#apt_missing[@]})); then
    if [[ "$(id -u)" -ne 0 ]]; then
        note "${apt_missing[*]} missing and we are not root: skipped (install with: sudo apt-get install ${apt_missing[*]})"
    elif ! command -v apt-get >/dev/null 2>&1; then
        note "${apt_missing[*]} missing and there is no apt-get: skipped"
    else
        note "installing ${apt_missing[*]} with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        quiet apt-get update -q
        quiet apt-get install -y -q --no-install-recommends "${apt_missing[@]}"
    fi
fi

# --- 3. ansible-test pip bootstrap, offline ----------------------------------------------------
# Sanity tests run in their own venvs, which ansible-test seeds with a get-pip script downloaded
# from ci-files.testing.ansible.com (unreachable here). Put a stand-in in its cache instead.
PIP_BOOTSTRAP_VERSION="$("$VENV/bin/python" - <<'EOF'
import pathlib, re
import ansible_test
source = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
match = re.search(r"default_packages\s*=\s*dict\(\s*pip='([0-9.]+)'", source.read_text())
print(match.group(1) if match else "")
EOF
)"
[[ -n "$PIP_BOOTSTRAP_VERSION" ]] || die "cannot find the pip version ansible-test bootstraps (ansible_test/_internal/python_requirements.py)"
CACHE="$HOME/.ansible/test/cache"
GET_PIP="$CACHE/get_pip_${PIP_BOOTSTRAP_VERSION//./_}.py"
WHEEL_DIR="$CACHE/orchestra-pip-wheels"
WHEEL="$WHEEL_DIR/pip-${PIP_BOOTSTRAP_VERSION}-py3-none-any.whl"
MARKER="orchestra.gcp offline stand-in"
# A real get-pip script (without our marker) is left alone; our stand-in is rewritten if its wheel is gone.
if [[ ! -f "$GET_PIP" ]] || { grep -q "$MARKER" "$GET_PIP" && [[ ! -f "$WHEEL" ]]; }; then
    note "writing the ansible-test pip $PIP_BOOTSTRAP_VERSION bootstrap stand-in ($GET_PIP)"
    mkdir -p "$WHEEL_DIR"
    [[ -f "$WHEEL" ]] || quiet "$VENV/bin/python" -m pip download -q --no-deps --only-binary=:all: \
        --disable-pip-version-check "pip==$PIP_BOOTSTRAP_VERSION" -d "$WHEEL_DIR"
    [[ -f "$WHEEL" ]] || die "pip download did not produce $WHEEL"
    cat >"$GET_PIP.tmp" <<EOF
# $MARKER for ansible-test's get-pip-$PIP_BOOTSTRAP_VERSION.py, written by scripts/setup.sh.
# ansible-test runs this file as __main__ with pip options and packages as arguments.
import sys

WHEEL = "$WHEEL"
sys.path.insert(0, WHEEL)
from pip._internal.cli.main import main  # noqa: E402

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", "--find-links", "$WHEEL_DIR"] + args))
EOF
    mv "$GET_PIP.tmp" "$GET_PIP"
fi

# --- 4. Node.js client suite (tests/node): npm ci when node_modules is missing or the lock changed ---
NODE_SUITE="$ROOT/tests/node"
NODE_STAMP="$NODE_SUITE/node_modules/.setup-stamp"
if command -v npm >/dev/null 2>&1; then
    want_node_stamp="$({ node --version; cat "$NODE_SUITE/package-lock.json"; } | sha256sum | cut -d' ' -f1)"
    if [[ ! -f "$NODE_STAMP" || "$(cat "$NODE_STAMP")" != "$want_node_stamp" ]]; then
        note "installing the Node.js client suite's packages (npm ci in tests/node)"
        (cd "$NODE_SUITE" && quiet npm ci --no-audit --no-fund)
        echo "$want_node_stamp" >"$NODE_STAMP"
    fi
else
    note "npm missing: the Node.js client suite (tests/node) cannot be installed"
fi
