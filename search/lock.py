"""One process at a time per project: a lock file in the project folder, `<project>/.lock`.

`search.run` (the chief, with --workers or --role chief) and `search.report --run` hold it for
their whole run; a second one on the same project gets one line naming the holder and exit
status 2, before it deletes or writes anything. Distributed workers take trials from the chief
that holds it and take no lock themselves.

The file holds who has it (pid, host, start time, command). It is held by an exclusive `flock`
on the open file, which the kernel releases when the process ends however it ends (kill -9
included): a lock file whose flock is free was left by a process that is gone, and is taken
over with a line saying so. A lock left by a process on another host is not: a file system may
not share flocks between hosts, so the line says how to remove it once nothing runs there.
"""
import contextlib
import errno
import fcntl
import json
import os
import shutil
import socket
import sys
import time
from pathlib import Path

from fer.errors import UserError

LOCK_FILE = ".lock"


class ProjectLocked(UserError):
    """Another process holds the project."""


def holder_text(holder: dict) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("started", 0)))
    return f"{holder.get('command', 'a process')} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, " \
           f"started {started})"


def read_holder(fd: int) -> dict:
    """What the lock file says about its holder ({} when empty or unreadable)."""
    os.lseek(fd, 0, os.SEEK_SET)
    data = b""
    while chunk := os.read(fd, 4096):
        data += chunk
    try:
        holder = json.loads(data.decode() or "{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return holder if isinstance(holder, dict) else {}


def pid_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError) as e:
        return isinstance(e, PermissionError)  # alive, someone else's
    return True


class ProjectLock:
    """The lock of one project folder; `acquire` raises ProjectLocked, `release` is idempotent."""

    def __init__(self, folder: Path, command: str, note=None):
        self.folder, self.command = Path(folder), command
        self.path = self.folder / LOCK_FILE
        self.note = note or (lambda line: print(line, file=sys.stderr))
        self.fd, self.made_folder = None, False

    def acquire(self) -> "ProjectLock":
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True)
            self.made_folder = True
        for _ in range(10):  # the file can be replaced between open and flock: try on the new one
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if not self._lock(fd):
                    continue
                self._took_over(read_holder(fd))
                self._write_holder(fd)
            except BaseException:
                os.close(fd)
                raise
            self.fd = fd
            return self
        raise ProjectLocked(f"{self.path}: could not be locked (it keeps changing); try again")

    def _lock(self, fd: int) -> bool:
        """flock the open file; False when it is no longer the file at self.path (replaced meanwhile)."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise self._locked_error(read_holder(fd)) from None
        except OSError as e:  # a file system without flock: the pid says whether the holder lives
            if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            holder = read_holder(fd)
            if holder.get("host") == socket.gethostname() and pid_alive(holder.get("pid")) \
                    and holder.get("pid") != os.getpid():
                raise self._locked_error(holder) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
        return same

    def _locked_error(self, holder: dict) -> ProjectLocked:
        pid = holder.get("pid", "?")
        how = (f"wait for it to end, or stop it (kill {pid})" if holder.get("host") == socket.gethostname() else
               f"wait for it to end, or stop it on {holder.get('host', 'its host')}")
        return ProjectLocked(f"{self.folder} is in use by {holder_text(holder)}; {how}, then run this again")

    def _took_over(self, holder: dict) -> None:
        """The flock was free: a holder recorded in the file is gone, if it ran on this host."""
        if not holder:
            return
        if holder.get("host") not in (None, socket.gethostname()):  # its flock may not reach this host
            raise ProjectLocked(f"{self.folder} is locked by {holder_text(holder)}; if it no longer runs there, "
                                f"delete {self.path} and run this again")
        gone = "which no longer runs" if not pid_alive(holder.get("pid")) else "which does not hold it (a copied folder?)"
        self.note(f"note: {self.path}: took over the stale lock of {holder_text(holder)}, {gone}")

    def _write_holder(self, fd: int) -> None:
        record = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(), "command": self.command}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(record) + "\n").encode())

    def release(self) -> None:
        """Remove the lock file (and the folder, when the lock made it and nothing else was written)."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            with contextlib.suppress(FileNotFoundError):
                if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                    self.path.unlink()
        finally:
            os.close(fd)  # unlinked first: a process waiting on this file sees it replaced and retries
        if self.made_folder:
            with contextlib.suppress(OSError):
                self.folder.rmdir()  # only when empty

    def __enter__(self) -> "ProjectLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def empty_project_folder(folder: Path) -> None:
    """Delete everything in a project folder but its lock (--overwrite, while this process holds it)."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        if child.name == LOCK_FILE:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def project_lock(folder: Path, command: str, note=None) -> ProjectLock:
    """The lock of `folder` for `command` ("search.run", "search.report"), as a context manager."""
    return ProjectLock(folder, command, note)


def holding_project_lock(command: str):
    """Decorate a function whose first argument is a RunConfig: it runs holding that project's lock."""
    def wrap(fn):
        def locked(config, *args, **kwargs):
            with project_lock(config.project_dir, command):
                return fn(config, *args, **kwargs)
        locked.__name__, locked.__doc__, locked.__wrapped__ = fn.__name__, fn.__doc__, fn
        return locked
    return wrap
