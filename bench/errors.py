"""Errors a user can act on: each prints as one line naming the file or option at fault."""


class UsageError(Exception):
    """A bad option or value on the command line (exit status 2)."""

    exit_code = 2


class InputError(Exception):
    """An input file that cannot be used, or nothing left to work on (exit status 1)."""

    exit_code = 1
