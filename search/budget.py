"""`--time-budget`: a wall-clock budget for a search (or a report's retraining).

keras-tuner budgets only in trials; a user's budget is time ("the best model you can find in
two hours"). No trial starts once what is left would not cover one epoch at the fastest pace
seen so far, and the running trial stops at the end of an epoch once another one (at its own
pace) would not fit, keeping what it validated so far. Each session of a search (the first
run and every `--resume`) gets its own budget, recorded in the project's budget.json, so
`--resume --time-budget 30m` means 30 more minutes.
"""
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from fer.cache import atomic_write_text
from fer.errors import UserError

BUDGET_FILE = "budget.json"
_PART = re.compile(r"(\d+(?:\.\d+)?)([hms])")
_UNIT = {"h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> float:
    """Seconds in `90m`, `2h`, `1h30m`, `45s` or `1.5h`; a UserError for anything else."""
    spec = (text or "").strip().lower().replace(" ", "")
    parts = _PART.findall(spec)
    if not parts or "".join(n + u for n, u in parts) != spec or len({u for _, u in parts}) != len(parts):
        raise UserError(f"--time-budget {text!r}: expected a duration such as 90m, 2h, 1h30m or 45s")
    seconds = sum(float(n) * _UNIT[u] for n, u in parts)
    if seconds <= 0:
        raise UserError(f"--time-budget {text!r}: must be more than zero")
    return seconds


def fmt_duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def now() -> float:
    """The wall clock budgets run on (one function, so tests can move it)."""
    return time.time()


class BudgetSpent(Exception):
    """Raised before a trial would start once the time budget is spent: the search ends there."""


@dataclass
class TimeBudget:
    """A deadline on the wall clock (time.time(), so workers on the same clock share it)."""
    seconds: float
    deadline: float
    fastest_epoch: float | None = None  # the fastest epoch seen in this process (`observe_epoch`)

    @classmethod
    def starting_now(cls, seconds: float) -> "TimeBudget":
        return cls(seconds=seconds, deadline=now() + seconds)

    @classmethod
    def from_record(cls, record: dict | None) -> "TimeBudget | None":
        return cls(record["seconds"], record["deadline"]) if record else None

    def record(self) -> dict:
        return {"seconds": self.seconds, "deadline": self.deadline}

    def left(self) -> float:
        return self.deadline - now()

    def spent(self) -> bool:
        return self.left() <= 0

    def fits(self, seconds: float | None) -> bool:
        """Whether `seconds` more work fit in what is left (None, unknown: whether anything is left).

        Work that cannot finish in time is not started: stopping before an epoch that would run
        past the deadline keeps a search far closer to its budget than stopping after it."""
        return not self.spent() and self.left() >= (seconds or 0.0)

    def observe_epoch(self, seconds: float) -> None:
        """Note one epoch's wall clock: no trial starts unless an epoch at the fastest pace seen fits."""
        self.fastest_epoch = min(seconds, self.fastest_epoch or seconds)

    def share(self, ways: int) -> "TimeBudget":
        """A budget starting now with an equal share of what is left, for one of `ways` jobs still to run."""
        return TimeBudget.starting_now(max(0.0, self.left()) / max(1, ways))


def log_session(project_dir: Path, budget: TimeBudget | None, started: float, ended: float,
                stopped_by_budget: bool) -> None:
    """Append this session (its budget, wall clock and why it ended) to the project's budget.json."""
    path = Path(project_dir) / BUDGET_FILE
    sessions = json.loads(path.read_text()) if path.is_file() else []
    sessions.append({"budget_seconds": budget.seconds if budget else None, "started": started, "ended": ended,
                     "wall_seconds": round(ended - started, 1), "stopped_by_budget": stopped_by_budget})
    atomic_write_text(path, json.dumps(sessions, indent=2) + "\n")


def budget_lines(budget) -> list[str]:
    if budget is None:
        return []
    return [f"time budget {fmt_duration(budget.seconds)}: no trial or epoch starts that would not fit at the pace "
            "seen so far; a trial stopped early keeps what it has validated"]
