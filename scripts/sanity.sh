#!/usr/bin/env bash
# Run `ansible-test sanity` on orchestra.gcp, offline, without Docker.
#
# ansible-test must run from .../ansible_collections/orchestra/gcp and resolves the real cwd, so
# the repo's files (git-tracked plus untracked-but-not-ignored, without .collections) are copied
# to a temporary ansible_collections/orchestra/gcp, which is git-initialised and committed.
#
# Usage: scripts/sanity.sh [extra ansible-test sanity arguments, e.g. --test pep8]
# Environment: KEEP_SANITY_DIR=1 keeps the temporary copy (its path is printed).
# Needs scripts/setup.sh to have run (.venv and the pip bootstrap stand-in).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
[[ -x "$VENV/bin/ansible-test" ]] || { echo "sanity.sh: run scripts/setup.sh first" >&2; exit 1; }
export PATH="$VENV/bin:$PATH"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/orchestra-sanity.XXXXXX")"
if [[ "${KEEP_SANITY_DIR:-}" == 1 ]]; then
    echo "sanity.sh: keeping $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi
COLL="$WORK/ansible_collections/orchestra/gcp"
mkdir -p "$COLL"

# List the files to copy, NUL-separated.
list_files() {
    if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$ROOT" ls-files -z --cached --others --exclude-standard
    else
        (cd "$ROOT" && find . \( -name .git -o -name .venv -o -name .emulator -o -name __pycache__ \
            -o -path ./tests/output -o -path ./.collections -o -name '*.egg-info' \) -prune \
            -o \( -type f -o -type l \) -printf '%P\0')
    fi
}

cd "$ROOT"
list_files | while IFS= read -r -d '' f; do
    # Skip the self-symlink tree and files deleted from the working tree.
    [[ "$f" == .collections || "$f" == .collections/* ]] && continue
    [[ -e "$f" || -L "$f" ]] || continue
    printf '%s\0' "$f"
done | sort -zu | tar --null --no-recursion -T - -cf - | tar -xf - -C "$COLL"

cd "$COLL"
git -c init.defaultBranch=main init -q
git add -A
git -c user.name=sanity -c user.email=sanity@localhost commit -q --no-verify -m sanity

# pip prints a harmless "WARNING: Location 'file://...' is ignored" for each package on this machine.
set +e
ansible-test sanity --python 3.11 --local --color no "$@" 2>&1 | grep -v "^WARNING: Location 'file://.*' is ignored"
rc=${PIPESTATUS[0]}
exit "$rc"
