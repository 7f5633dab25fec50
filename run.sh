#!/usr/bin/env bash
# ./run.sh [VERB] [OPTIONS]   benchmark (default verb: run), see ./run.sh --help
# ./run.sh test [--all] [PYTEST ARGS]  run the tests: the fast tier, or with --all every test (CI's)
# Sets up what is missing first: the project's virtual environment .venv from requirements.txt (in
# CI, only the sections a job's command needs: BENCH_INSTALL below), and for the tests
# requirements-test.txt too; for `./run.sh act`, requirements-act.txt (act itself).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
# a test tier's time budget counts its installs too (cli/testing.py)
if [ "${1:-}" = "test" ]; then export BENCH_TESTS_STARTED=${BENCH_TESTS_STARTED:-$(date +%s)}; fi
# Python caches what it compiles on import, so compiling every module of pandas, scipy and altair at
# install is wasted (a fresh install took 47 s with it, 20 s without, on a 2-core machine; CI's jobs
# each install afresh) -- unless PYTHONDONTWRITEBYTECODE is set: then nothing is cached, and every
# ./run.sh call would compile them again (9 s a call against 3 s), so pip compiles them once.
COMPILE=--no-compile
if [ -n "${PYTHONDONTWRITEBYTECODE:-}" ]; then COMPILE=--compile; fi
install() { # install() REQUIREMENTS [SECTION]: into .venv, what of it is not installed yet
  local wanted=$1 # as it is: its `-r` lines name files beside it
  if [ -n "${2:-}" ]; then # the file's lines above the section after SECTION
    wanted=".venv/${1%.txt}-$2.txt"
    sed "/^# ${NEXT_SECTION[$2]}:/,\$d" "$1" > "$wanted"
  fi
  # every pin wanted is among those installed from this file (a larger section's included): done
  if [ -f ".venv/$1.installed" ] && ! grep -v '^#' "$wanted" | grep -qvxFf ".venv/$1.installed"; then
    return 0
  fi
  echo "Setting up .venv from $1${2:+ (its sections up to $2)} (once) ..." >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "$COMPILE" -r "$wanted"
  cp "$wanted" ".venv/$1.installed"
}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# CI's jobs install what their command needs: BENCH_INSTALL=plan (./run.sh matrix) or measure (run
# --no-report, ab, gate, record); unset, every section (the tests and act always take every one)
declare -A NEXT_SECTION=([plan]=measure [measure]=report)
section=${BENCH_INSTALL:-}
case "$section" in
  "" | all) section= ;;
  plan | measure) if [ "${1:-}" = test ] || [ "${1:-}" = act ]; then section=; fi ;;
  *)
    echo "error: BENCH_INSTALL: expected plan, measure or all, got '$section'" >&2
    exit 2
    ;;
esac
install requirements.txt "$section"

if [ "${1:-}" = "test" ]; then
  shift
  install requirements-test.txt
  exec .venv/bin/python -m cli.testing "$@"
fi
if [ "${1:-}" = "act" ]; then
  install requirements-act.txt
fi
exec .venv/bin/python -m cli "$@"
