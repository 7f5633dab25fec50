"""Entry point: `./run.sh [VERB] [OPTIONS]` runs `python -m cli`; the default verb is `run`.

Each verb is one module in `cli/verbs/` with `add_arguments(parser)` and `main(args)`. Errors a
user can fix (`core.errors`) print as one line and exit with status 2 (a bad value) or 1 (an
unusable input, a failed install); Ctrl-C stops every process that was started.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from core.errors import BenchError
from services import processes

VERBS = {
    "run": "benchmark targets x suites (the default verb)",
    "report": "summarise existing outputs and build the site",
    "serve": "serve the built site locally",
    "record": "append an output folder's runs to the history",
    "compare": "compare two runs: ratio of medians with a bootstrap interval",
    "ab": "paired A/B of two servers on this machine, in alternating rounds",
    "gate": "judge a change from its paired A/Bs: fail on a regression that stands",
    "acknowledge": "mark a change point of the history as expected (list them without an id)",
    "bisect": "find the first of ordered builds where a request got slower, by paired A/Bs",
    "matrix": "print the CI matrix derived from the target registry",
    "targets": "list the targets of the registry",
    "cgroup": "print the cgroup folder that holds a process's CPU account (CI: a container's)",
    "act": "run a workflow on this machine with act: private Docker daemon, images built here",
}


def parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The command line; only `verb`'s module is imported and given its arguments (a verb's module
    may import pandas, altair and scipy: seconds that `./run.sh matrix` or a bad option should not
    wait for), the others are listed with their help line."""
    top = argparse.ArgumentParser(
        prog="./run.sh",
        description="Benchmark MLflow-compatible tracking servers (FastTrackML, MLflow) with k6. "
        "`./run.sh` alone runs every target and suite at the standard profile and builds the site; "
        "`./run.sh test` runs the tests.",
    )
    sub = top.add_subparsers(dest="verb", metavar="VERB")
    for name, help_text in VERBS.items():
        if name != verb:
            sub.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(f"cli.verbs.{name}")
        verb_parser = sub.add_parser(name, help=help_text, description=module.__doc__.strip().splitlines()[0])
        module.add_arguments(verb_parser)
    return top


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in VERBS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "run")
    processes.interrupt_on_sigterm()
    # A dependency's warning (platformdirs, pandas ...) is noise to a user of the tool, not news.
    warnings.filterwarnings("ignore")
    try:
        args = parser(argv[0] if argv[0] in VERBS else None).parse_args(argv)
        module = importlib.import_module(f"cli.verbs.{args.verb}")
        return module.main(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: stopping every process that was started", file=sys.stderr)
        return 130
    finally:
        processes.stop_all()
