"""What the user sees while a search runs: a live rich view on a terminal, plain lines otherwise.

Both draw the same leaderboard rows. Keras' own progress bars are off during the search
(`verbose=0`); epoch and batch progress come through the tuner's hooks instead.
"""
import sys
import time
import warnings

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from search.leaderboard import ranked

SHOWN_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "val_macro_f1")


def fmt_seconds(s) -> str:
    if s is None:
        return "?"
    s = int(s)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def fmt(v, digits: int = 4) -> str:
    return "" if v in (None, "") else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def hp_text(hps: dict) -> str:
    return ", ".join(f"{k}={fmt(v, 5)}" for k, v in hps.items())


def eta_seconds(elapsed: float, done: int, planned) -> float | None:
    """Time left, from the mean time of the trials done so far."""
    return elapsed / done * (planned - done) if planned and done else None


def leaderboard_table(rows, direction: str, key_hps: list[str], top: int = 10, title: str = "",
                      ascii_only: bool = False) -> Table:
    best = ranked(rows, direction)
    table = Table(title=title or f"top {min(top, len(best))} of {len(rows)} trials", box=box.ASCII if ascii_only else box.SIMPLE_HEAD)
    for col in ("", "trial", "objective", "val acc", "val macro-F1", *key_hps, "epochs", "time"):
        table.add_column(col, justify="right" if col not in ("", "trial") else "left")
    for i, r in enumerate(best[:top]):
        table.add_row("*" if i == 0 else "", r["trial_id"], fmt(r["objective"]), fmt(r["val_accuracy"]),
                      fmt(r["val_macro_f1"]), *[fmt(r.get(k), 5) for k in key_hps], fmt(r["epochs"]),
                      fmt_seconds(r["seconds"]))
    return table


class PlainConsole:
    """One line per event; for CI and log files."""

    def __init__(self, stream=None):
        self.out = stream or sys.stdout
        self.console = Console(file=self.out, width=160, no_color=True, highlight=False)
        self.start = time.perf_counter()

    def line(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def search_begin(self, header: str, planned: int | None) -> None:
        self.start = time.perf_counter()
        self.line(f"search: {header}; planned trials: {planned or '?'}")

    def trial_begin(self, n: int, planned, trial_id: str, where: str, hps: dict, epochs: int, steps: int) -> None:
        self.line(f"trial {n}/{planned or '?'} (id {trial_id}{where}) epochs {epochs}: {hp_text(hps)}")

    def batch(self, batch: int) -> None:
        pass

    def epoch_end(self, epoch: int, epochs: int, logs: dict, trial_id=None) -> None:
        metrics = " ".join(f"{k}={logs[k]:.4f}" for k in SHOWN_METRICS if k in logs)
        self.line(f"  {f'trial {trial_id} ' if trial_id else ''}epoch {epoch}/{epochs} {metrics}")

    def trial_end(self, row: dict, rows: list, done: int, planned, direction: str, key_hps: list) -> None:
        elapsed = time.perf_counter() - self.start
        eta = eta_seconds(elapsed, done, planned)
        result = f"objective={fmt(row['objective'])}" if row["status"] == "COMPLETED" else row["reason"]
        self.line(f"trial {row['trial_id']} {row['status']}: {result} ({fmt_seconds(row['seconds'])}); "
                  f"elapsed {fmt_seconds(elapsed)}, left ~{fmt_seconds(eta)}")

    def search_end(self, rows, direction: str, key_hps: list, where: str) -> None:
        self.console.print(leaderboard_table(rows, direction, key_hps, title="final leaderboard", ascii_only=True))
        self.line(f"results: {where}")

    def stop(self) -> None:
        pass


class LiveConsole(PlainConsole):
    """A rich live view: header with progress and ETA, the current trial, the top trials."""

    def __init__(self, console: Console | None = None):
        super().__init__()
        self.console = console or Console()
        self.header, self.rows = "", []
        self.direction, self.key_hps = "max", []
        self.done, self.planned = 0, None
        self.running = {}  # trial id -> what it is and how far it got (several with distributed workers)
        self.last = None  # the trial batch progress belongs to (the one this process runs)
        self.live = Live(console=self.console, refresh_per_second=4, get_renderable=self.render, transient=False)

    def render(self):
        elapsed = time.perf_counter() - self.start
        eta = eta_seconds(elapsed, self.done, self.planned)
        head = Text.assemble((self.header, "bold"), f"   trials done {self.done}/{self.planned or '?'}"
                             f"   elapsed {fmt_seconds(elapsed)}   left ~{fmt_seconds(eta)}")
        parts = [head]
        for t in list(self.running.values()):
            progress = Table.grid(padding=(0, 1))
            cells = ["epoch", ProgressBar(total=t["epochs"], completed=t["epoch"], width=30), f"{t['epoch']}/{t['epochs']}"]
            if t["steps"]:
                cells += ["step", ProgressBar(total=t["steps"], completed=t["step"], width=30), f"{t['step']}/{t['steps']}"]
            progress.add_row(*cells)
            parts += [Text(t["text"]), progress, Text(t["metrics"], style="cyan")]
        return Group(*parts, leaderboard_table(self.rows, self.direction, self.key_hps))

    def search_begin(self, header: str, planned: int | None) -> None:
        self.start = time.perf_counter()
        self.header, self.planned = header, planned
        self.held_warnings, self.showwarning = [], warnings.showwarning
        warnings.showwarning = self.hold_warning  # printed over the live view they would garble it
        self.live.start()

    def hold_warning(self, message, category, filename, lineno, file=None, line=None) -> None:
        text = warnings.formatwarning(message, category, filename, lineno, line).strip()
        if text not in self.held_warnings:
            self.held_warnings.append(text)

    def trial_begin(self, n, planned, trial_id, where, hps, epochs, steps) -> None:
        self.running[trial_id] = {"text": f"trial {n}/{planned or '?'} (id {trial_id}{where}): {hp_text(hps)}",
                                  "epoch": 0, "epochs": epochs, "step": 0, "steps": steps, "metrics": ""}
        self.last = trial_id

    def batch(self, batch: int) -> None:
        if self.last in self.running:
            self.running[self.last]["step"] = batch

    def epoch_end(self, epoch, epochs, logs, trial_id=None) -> None:
        t = self.running.get(trial_id or self.last)
        if t is not None:
            t.update(epoch=epoch, epochs=epochs, step=t["steps"],
                     metrics="  ".join(f"{k} {logs[k]:.4f}" for k in SHOWN_METRICS if k in logs))

    def trial_end(self, row, rows, done, planned, direction, key_hps) -> None:
        self.running.pop(row["trial_id"], None)
        self.rows, self.done, self.planned, self.direction, self.key_hps = rows, done, planned, direction, key_hps
        if row["status"] != "COMPLETED":
            self.console.print(f"[yellow]trial {row['trial_id']} {row['status']}:[/] {row['reason']}")

    def search_end(self, rows, direction, key_hps, where) -> None:
        self.stop()
        self.console.print(leaderboard_table(rows, direction, key_hps, title="final leaderboard"))
        self.console.print(f"results: {where}")

    def stop(self) -> None:
        if self.live.is_started:
            self.live.stop()
            warnings.showwarning = self.showwarning
            for text in self.held_warnings:  # once each, below the view
                print(text, file=sys.stderr)
            self.held_warnings = []


def make_console(plain: bool | None = None):
    if plain is None:
        plain = not sys.stdout.isatty()
    return PlainConsole() if plain else LiveConsole()
