#!/usr/bin/env bash
# ./run.sh [VERB] [OPTIONS]   benchmark (default verb: run), see ./run.sh --help
# ./run.sh test [--all] [PYTEST ARGS]  run the tests: the fast tier, or with --all every test (CI's)
# Sets up what is missing first: the project's virtual environment .venv from requirements.txt, and
# for the tests requirements-test.txt too (CI's jobs, which run no test, install only the first);
# for `./run.sh act`, requirements-act.txt (act itself).
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
install() { # install() REQUIREMENTS: into .venv, once per content of the file
  if ! cmp -s "$1" ".venv/$1.installed"; then
    echo "Setting up .venv from $1 (once) ..." >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "$COMPILE" -r "$1"
    cp "$1" ".venv/$1.installed"
  fi
}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
install requirements.txt

if [ "${1:-}" = "test" ]; then
  shift
  install requirements-test.txt
  exec .venv/bin/python -m cli.testing "$@"
fi
if [ "${1:-}" = "act" ]; then
  install requirements-act.txt
fi
exec .venv/bin/python -m cli "$@"
