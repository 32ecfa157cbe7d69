"""Faults of the disk a command writes to (full, over quota, read-only, not allowed), as one line.

An `OSError` with one of these errno values is the user's to fix, not a bug: a command's
`main` turns it, with `fault_error`, into a `UserError` naming the path, the error and the way
on ("free space, then --resume"). A write that fails inside a library (keras-tuner, h5py) may
be followed by others that fail as the process unwinds; the line names the first, found by
walking the exception's chain.
"""
import errno
import re
from pathlib import Path

from fer.errors import UserError

# errno -> what the user does about it before trying again
REMEDIES = {errno.ENOSPC: "free space", errno.EDQUOT: "free space (or raise the disk quota)",
            errno.EFBIG: "free space or write elsewhere", errno.EROFS: "make it writable or write elsewhere",
            errno.EACCES: "check its permissions", errno.EPERM: "check its permissions"}
NOT_ONLY_WRITES = (errno.EACCES, errno.EPERM)  # reads meet these too: the line does not say "write"
_TEMP_NAME = re.compile(r"^\.(?P<name>.+?)\.(?:tmp|old)-[^/]*$")  # our atomic writers' temporary names


class WriteFault(Exception):
    """A write that failed for a reason in REMEDIES, raised where a library would swallow an OSError
    (keras-tuner turns any exception of a trial into a failed trial and goes on)."""

    def __init__(self, error: OSError, path=None):
        self.error, self.path = error, path if path is not None else error.filename
        super().__init__(f"{self.path}: {error.strerror or error}")


def is_write_fault(err: BaseException) -> bool:
    return isinstance(err, WriteFault) or (isinstance(err, OSError) and err.errno in REMEDIES)


def first_write_fault(err: BaseException | None) -> BaseException | None:
    """The earliest disk fault in `err`'s chain (what it was raised from or while handling), if any."""
    found, seen, wrapped = None, set(), False
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if is_write_fault(err) and not (wrapped and found is not None):
            found = err  # raised while handling a later one, or the first seen: the earliest so far
        wrapped = err.__cause__ is not None  # `raise X from e`: X restates e, with the path it lacked
        err = err.__cause__ or err.__context__
    return found


def shown_path(path) -> str:
    """A path as the user knows it: a temporary file of an atomic write is named by its destination."""
    p = Path(str(path))
    parts = [(_TEMP_NAME.match(part).group("name") if _TEMP_NAME.match(part) else part) for part in p.parts]
    return str(Path(*parts)) if parts else str(p)


def fault_line(err: BaseException, where, way_on: str) -> str:
    """'<path>: cannot write (<error>); <remedy>, then <way_on>'; `where` when the error names no file."""
    os_error = err.error if isinstance(err, WriteFault) else err
    path = getattr(err, "path", None) or os_error.filename or where
    reason = os_error.strerror or str(os_error)
    what = "not allowed" if os_error.errno in NOT_ONLY_WRITES else "cannot write"
    return f"{shown_path(path)}: {what} ({reason}); {REMEDIES.get(os_error.errno, 'fix it')}, then {way_on}"


def fault_error(err: BaseException, where, way_on: str) -> UserError:
    """The UserError for the first disk fault in `err`'s chain; `err` itself is re-raised when it holds none."""
    fault = first_write_fault(err)
    if fault is None:
        raise err
    return UserError(fault_line(fault, where, way_on))


def remove_quietly(path: Path) -> None:
    """Remove a temporary file left by a failed write (it may not exist)."""
    try:
        Path(path).unlink(missing_ok=True)
    except OSError:
        pass
