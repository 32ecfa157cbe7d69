"""What the user sees while `search.report` retrains: a rich progress bar per model on a
terminal, plain lines otherwise, and the results table at the end."""
import sys

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from search.console import SHOWN_METRICS


class ReportConsole:
    def __init__(self, plain: bool | None = None):
        self.plain = not sys.stdout.isatty() if plain is None else plain
        self.console = Console(width=160, no_color=True, highlight=False) if self.plain else Console()
        self.progress, self.task = None, None

    def model_begin(self, label: str, epochs: int) -> None:
        if self.plain:
            self.console.print(f"retraining {label} for up to {epochs} epochs")
            return
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[metrics]}"), console=self.console)
        self.progress.start()
        self.task = self.progress.add_task(f"retraining {label}", total=epochs, metrics="")

    def epoch(self, epoch: int, logs: dict) -> None:
        shown = SHOWN_METRICS if self.plain else ("loss", "val_accuracy", "val_macro_f1")  # fits a progress line
        metrics = "  ".join(f"{k} {logs[k]:.4f}" for k in shown if k in logs)
        if self.plain:
            self.console.print(f"  epoch {epoch}: {metrics}")
        else:
            self.progress.update(self.task, completed=epoch, metrics=metrics)

    def model_end(self, text: str) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        self.console.print(text)

    def line(self, text: str) -> None:
        self.console.print(text)

    def results(self, header: list[str], rows: list[list], title: str) -> None:
        table = Table(title=title, box=box.ASCII if self.plain else box.SIMPLE_HEAD)
        for i, col in enumerate(header):
            table.add_column(col, justify="left" if i == 0 else "right")
        for row in rows:
            table.add_row(*[str(c) for c in row])
        if self.plain:  # log lines: one line per model, however many columns, rather than wrapped cells
            wide = self.console.options.update(width=10_000)
            self.console.width = max(self.console.width, Measurement.get(self.console, wide, table).maximum)
        self.console.print(table)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
