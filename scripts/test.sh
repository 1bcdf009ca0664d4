#!/usr/bin/env bash
# The whole orchestra.gcp test suite; what CI runs (.ci/run).
#
# Usage: scripts/test.sh [stage...]     stages: sanity lint pytest core-lowest molecule package bench (default: all, in order)
# scripts/setup.sh always runs first. Stops at the first failing stage with a non-zero exit.
# Environment: PYTEST_ARGS (default "-n 2 --dist worksteal": an idle worker takes tests queued for the other) replaces the
# pytest parallelism options.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
ALL_STAGES=(sanity lint pytest core-lowest molecule package bench)
STAGES=("$@")
((${#STAGES[@]})) || STAGES=("${ALL_STAGES[@]}")
for stage in "${STAGES[@]}"; do
    [[ " ${ALL_STAGES[*]} " == *" $stage "* ]] || { echo "test.sh: unknown stage '$stage' (stages: ${ALL_STAGES[*]})" >&2; exit 2; }
done

export NO_GCE_CHECK=true
[[ -t 1 ]] || export NO_COLOR=1 PY_COLORS=0 ANSIBLE_NOCOLOR=1
TMP_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/orchestra-test.XXXXXX")"
trap 'rm -rf "$TMP_ROOT"' EXIT
START=$SECONDS
TIMINGS=()

header() { printf '\n=== %s ===\n' "$*"; }

run_stage() {  # run_stage NAME COMMAND...
    local name=$1 began=$SECONDS rc
    shift
    header "$name"
    "$@"
    rc=$?
    TIMINGS+=("$name $((SECONDS - began))s")
    if ((rc != 0)); then
        echo
        echo "test.sh: FAILED at stage '$name' (exit $rc) after $((SECONDS - START))s [${TIMINGS[*]}]"
        exit "$rc"
    fi
}

stage_setup() { bash scripts/setup.sh; }

stage_sanity() { bash scripts/sanity.sh; }

stage_lint() { PATH="$ROOT/.venv/bin:$PATH" ansible-lint; }

stage_pytest() {
    local rc
    # shellcheck disable=SC2086  # PYTEST_ARGS is a list of options
    PATH="$ROOT/.venv/bin:$PATH" .venv/bin/python -m pytest tests -q --durations=15 ${PYTEST_ARGS--n 2 --dist worksteal}
    rc=$?
    if ((rc == 5)); then
        echo "test.sh: pytest collected no tests" >&2
    fi
    return "$rc"
}

stage_core_lowest() {  # the unit and integration suites again (but the one_core scenarios), on the lowest ansible-core meta/runtime.yml declares
    .venv-core-lowest/bin/ansible --version | head -n 1
    # shellcheck disable=SC2086  # PYTEST_ARGS is a list of options
    PATH="$ROOT/.venv-core-lowest/bin:$PATH" .venv-core-lowest/bin/python -m pytest tests/unit -q ${PYTEST_ARGS--n 2 --dist worksteal} || return 1
    # shellcheck disable=SC2086
    PATH="$ROOT/.venv-core-lowest/bin:$PATH" .venv-core-lowest/bin/python -m pytest tests/integration -q -m "not one_core" --durations=15 ${PYTEST_ARGS--n 2 --dist worksteal}
}

stage_molecule() {  # every role scenario under extensions/molecule, against the emulator
    local scenario
    for scenario in extensions/molecule/*/molecule.yml; do
        scenario="$(basename "$(dirname "$scenario")")"
        PATH="$ROOT/.venv/bin:$PATH" molecule test -s "$scenario" || return 1
    done
}

stage_package() {
    local out="$TMP_ROOT/artifact" artifact
    mkdir -p "$out"
    .venv/bin/ansible-galaxy collection build . --output-path "$out" --force || return 1
    artifact="$(ls "$out"/*.tar.gz)" || return 1
    echo "built $(basename "$artifact") ($(du -k "$artifact" | cut -f1) KiB, $(tar -tzf "$artifact" | wc -l) entries)"
    ORCHESTRA_GCP_ARTIFACT="$artifact" .venv/bin/python -m pytest tests/unit/test_packaging.py -q -p no:cacheprovider
}

stage_bench() {  # the benchmark suite end to end, small: its numbers are not checked
    .venv/bin/python benchmarks/run.py --tasks 3 --module-tasks 2 --repeat 1
    .venv/bin/python benchmarks/rollout.py --steps 1 --regions 1 2 --repeat 1
    .venv/bin/python benchmarks/rotation.py --bake 3 --repeat 1  # a step long enough for the 2 passing measurements on a busy machine
    .venv/bin/python benchmarks/iam.py --repeat 1
    .venv/bin/python benchmarks/redis_backup.py --megabytes 10 --repeat 1
}

run_stage setup stage_setup
for stage in "${STAGES[@]}"; do
    run_stage "$stage" "stage_${stage//-/_}"
done

echo
echo "test.sh: OK, all stages passed (${STAGES[*]}) in $((SECONDS - START))s [${TIMINGS[*]}]"
