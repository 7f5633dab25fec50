"""Errors a user can act on. Each prints as one line that names the thing at fault.

The layers below the command line (`services/`, `runner/`, `analysis/`) raise these with a message
about the value or file itself ("unknown profile 'huge'"); the command line adds the option that
carried the value ("--profile: unknown profile 'huge'") with `BadValue.for_option`.
"""

from __future__ import annotations


class BenchError(Exception):
    """Base of every error that is reported as one line, with `exit_code` as the exit status."""

    exit_code = 1


class BadValue(BenchError):
    """A value that cannot be used: an unknown name, a malformed URL, a number out of range (exit 2)."""

    exit_code = 2

    def for_option(self, option: str) -> BadValue:
        """The same error, its message prefixed by the command-line option that gave the value."""
        return BadValue(f"{option}: {self}")


class InputError(BenchError):
    """An input file that cannot be used, or nothing left to work on (exit 1)."""


class SetupFailed(BenchError):
    """Something the benchmark needs could not be installed (a server environment, k6) (exit 1)."""


class ServerFailed(BenchError):
    """A server did not start, or stopped answering. Its message carries the tail of the server's log."""
