#!/usr/bin/env bash
# ./run.sh [VERB] [OPTIONS]   benchmark (default verb: run), see ./run.sh --help
# ./run.sh test [PYTEST ARGS] run the tests
# Sets up what is missing first: the project's virtual environment .venv from requirements.txt.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ] || ! cmp -s requirements.txt .venv/requirements.installed; then
  echo "Setting up .venv from requirements.txt (once) ..." >&2
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  cp requirements.txt .venv/requirements.installed
fi

if [ "${1:-}" = "test" ]; then
  shift
  exec .venv/bin/python -m cli.testing "$@"
fi
exec .venv/bin/python -m cli "$@"
