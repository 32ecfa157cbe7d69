"""Errors a user can cause, and the one way commands report them.

A `UserError` carries a single line (naming the file and row or image) and makes a command
exit with status 2; anything else is a bug and may raise with a traceback.
"""
import sys

EXIT_USER_ERROR = 2


class UserError(Exception):
    """Bad input or a bad request: shown as one line, exit status 2."""


def print_user_error(err: UserError, prog: str) -> int:
    """Print the one line, return the exit status (2) for `main` to return."""
    msg = " ".join(str(err).split("\n"))
    print(f"{prog}: error: {msg}", file=sys.stderr)
    return EXIT_USER_ERROR
