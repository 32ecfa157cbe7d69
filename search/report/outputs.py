"""Where one run's report goes, and what happens to the report it replaces.

A report of tuner_runs/<name> writes reports/<name>/ and models/<name>/, named after the folder
the user gives (a copied or renamed folder gets its own outputs, never the original's, whatever
project name its config.json records). While it runs it holds the run's lock (search/lock.py).
A report made before is moved aside first, to reports/<name>.<time>/ and models/<name>.<time>/,
and kept there, unless --overwrite is given; if the new report fails, the previous one is put
back as it was.
"""
import contextlib
import json
import shutil
import sys
import time
from pathlib import Path

from fer.cache import atomic_write_text
from search.config import CONFIG_FILE
from search.report.files import METRICS_FILE

STAMP = "%Y-%m-%dT%H%M"  # reports/<name>.2026-12-01T2130/


def say(line: str) -> None:
    print(line, file=sys.stderr)


def recorded_project(run: Path) -> str | None:
    """The project name the run's config.json records (None when it cannot be read: the report says why)."""
    try:
        return json.loads((run / CONFIG_FILE).read_text()).get("project")
    except (OSError, ValueError, AttributeError):
        return None


def aside_name(folders: list[Path]) -> str:
    """A suffix `.<time>` (`.<time>-2` ...) free for every folder in `folders`."""
    stamp, n = time.strftime(STAMP), 1
    while True:
        suffix = f".{stamp}" if n == 1 else f".{stamp}-{n}"
        if not any(f.with_name(f.name + suffix).exists() for f in folders):
            return suffix
        n += 1


def repoint_paths(metrics_file: Path, old: str, new: str) -> None:
    """A moved report's JSON file names its winners' files where they are now (paths under `old` -> `new`)."""
    try:
        meta = json.loads(metrics_file.read_text())
    except (OSError, ValueError):
        return

    def moved(value):
        if isinstance(value, dict):
            return {k: moved(v) for k, v in value.items()}
        if isinstance(value, list):
            return [moved(v) for v in value]
        if isinstance(value, str) and value.startswith(old + "/"):
            return new + value[len(old):]
        return value
    atomic_write_text(metrics_file, json.dumps(moved(meta), indent=2) + "\n")


class PreviousOutputs:
    """The report and winners of an earlier report of the same name, moved aside while a new one is made."""

    def __init__(self, report: Path, models: Path, keep: bool):
        self.report, self.models, self.keep = Path(report), Path(models), keep
        self.moved: list[tuple[Path, Path]] = []
        self.new: list[Path] = []  # folders this report creates: a failed one leaves none of them

    def set_aside(self) -> None:
        present = [f for f in (self.report, self.models) if f.exists()]
        self.new = [f for f in (self.report, self.models) if f not in present]
        if not present:
            return
        suffix = aside_name([self.report, self.models])
        for folder in present:
            aside = folder.with_name(folder.name + suffix)
            folder.rename(aside)
            self.moved.append((folder, aside))

    def put_back(self) -> None:
        """The new report failed: its partial files go, the previous ones return."""
        for folder in self.new:
            shutil.rmtree(folder, ignore_errors=True)
        for folder, aside in self.moved:
            if folder.exists():
                shutil.rmtree(folder)
            aside.rename(folder)

    def settle(self) -> None:
        """The new report is complete: the previous one stays aside (or goes, with --overwrite)."""
        if not self.moved:
            return
        if not self.keep:
            for _, aside in self.moved:
                shutil.rmtree(aside, ignore_errors=True)
            return
        asides = dict(self.moved)
        if self.models in asides:  # the report's metrics.json and each winner's JSON name where its files are now
            records = sorted(asides[self.models].glob("*.json"))
            if self.report in asides:
                records.append(asides[self.report] / METRICS_FILE)
            for record in records:
                repoint_paths(record, str(self.models), str(asides[self.models]))
        say("note: the previous report is kept in " + " and ".join(f"{a}/" for _, a in self.moved)
                     + " (pass --overwrite to replace it instead)")


class Outcome:
    """What the caller learns of a report besides its files: the trials it could not read."""

    def __init__(self):
        self.left_out: dict[str, str] = {}


@contextlib.contextmanager
def reporting_run(run: str, config):
    """Hold the run's lock and keep the previous report (see the module); yields an Outcome. Once the
    report is written, one note each on stderr (as the report's other notes; none before an error,
    which stays the only line): where the outputs went when config.json names another project, which
    trials could not be read, where the previous report is kept."""
    from fer.model_files import run_name
    from search.lock import project_lock
    from search.project_files import left_out_line, unreadable_trials
    folder, outcome = Path(run), Outcome()
    if not folder.is_dir():  # the report says so in its own words
        yield outcome
        return
    name = run_name(folder)
    with lock_unless_read_only(project_lock(folder, "search.report")):
        outcome.left_out = unreadable_trials(folder)
        previous = PreviousOutputs(Path(config.reports_dir) / name, Path(config.models_dir) / name,
                                   keep=not config.overwrite)
        previous.set_aside()
        try:
            yield outcome
        except BaseException:
            previous.put_back()
            raise
        recorded = recorded_project(folder)
        if recorded and recorded != name:
            say(f"note: {folder} was searched as project {recorded!r}; its report went to "
                f"{Path(config.reports_dir) / name}/ and {Path(config.models_dir) / name}/ (the folder's name)")
        if outcome.left_out:
            say(left_out_line(folder, outcome.left_out))
        previous.settle()


@contextlib.contextmanager
def lock_unless_read_only(lock):
    """The lock, or none on a run folder this process cannot write to (a report only reads it)."""
    import errno
    try:
        lock.acquire()
    except OSError as e:
        if e.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise
        say(f"note: {lock.folder} cannot be written here ({e.strerror}): reporting on it without its lock")
    try:
        yield
    finally:
        lock.release()

