"""Figures a report could not draw. Each is left out with its reason, printed as one line on
stderr and listed on the page, so that one failing figure (or Grad-CAM on an unusual model)
never costs the rest of the report."""
import sys
from pathlib import Path

from fer.write_faults import is_write_fault

REASON_CHARS = 300  # a reason is one line; a long traceback message is cut


class LeftOut:
    """The figures left out of one report, each with its reason."""

    def __init__(self):
        self.items: list[dict] = []

    def note(self, figure: str, reason: str) -> None:
        reason = " ".join(str(reason).split())[:REASON_CHARS]
        print(f"note: {figure} left out: {reason}", file=sys.stderr)
        self.items.append({"figure": figure, "reason": reason})

    def draw(self, folder: Path, file: str, caption: str, draw) -> list[tuple[str, str]]:
        """[(file, caption)] when `draw()` wrote the figure; [] with the reason noted when it raised
        (and no half-written file left behind)."""
        try:
            draw()
        except Exception as e:  # noqa: BLE001 - whatever breaks one figure costs that figure only
            (Path(folder) / file).unlink(missing_ok=True)
            if is_write_fault(e):  # a full disk is no fault of the figure: the report stops in one line
                raise
            self.note(file, f"{type(e).__name__}: {e}")
            return []
        return [(file, caption)]
