#!/usr/bin/env bash
# ./run.sh [VERB] [OPTIONS]   benchmark (default verb: run), see ./run.sh --help
# ./run.sh test [PYTEST ARGS] run the tests
# Sets up what is missing first: the project's virtual environment .venv from requirements.txt, and
# for the tests requirements-test.txt too (CI's jobs, which run no test, install only the first);
# for `./run.sh act`, requirements-act.txt (act itself).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
# --no-compile: Python compiles a module when it is first imported; compiling every file of every
# package at install time (pandas, scipy, altair ...) took more than half of a fresh install (47 s
# against 20 s on a 2-core machine), and CI's jobs each install afresh. The servers' own environments
# are compiled at install (services/environments.py), so that no server's start pays for it.
install() { # install() REQUIREMENTS: into .venv, once per content of the file
  if ! cmp -s "$1" ".venv/$1.installed"; then
    echo "Setting up .venv from $1 (once) ..." >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-compile -r "$1"
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
