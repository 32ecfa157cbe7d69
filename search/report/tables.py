"""The report's numbers as text: the summary sentence, the results table and per_class.csv.

Validation columns of a model retrained on train+val read "trained on val" (they would measure
data it trained on); the "without twins" columns score the test images that have no
byte-identical twin in train or val (see twins.py).
"""
import csv
import io

from fer.constants import CLASS_NAMES
from fer.metrics import strongest_and_weakest
from search.report.selection import TRAINED_ON_VAL

PER_CLASS_FIELDS = ("precision", "recall", "f1")
TABLE_HEADER = ["model", "val loss", "val accuracy", "val macro-F1", "test accuracy", "test macro-F1",
                "TTA test accuracy", "TTA test macro-F1", "test weighted-F1", "test accuracy without twins",
                "test macro-F1 without twins", "parameters", "inference ms/image", "training time (s)"]


def summary_line(model: dict, chosen_by: str = "") -> str:
    """The best model, how it was chosen, and its strongest and weakest emotions, in words."""
    strong, weak = strongest_and_weakest(model["test"])
    f1 = {r["class"]: r["f1"] for r in model["test"]["per_class"]}
    words = lambda names: " and ".join(f"{n} (F1 {f1[n]:.2f})" for n in names)  # noqa: E731
    return (f"Best model {model['name']}{f' ({chosen_by})' if chosen_by else ''}: test accuracy "
            f"{model['test']['accuracy']:.1%}, macro-F1 {model['test']['macro_f1']:.3f}. It is strongest on "
            f"{words(strong)} and weakest on {words(weak)}.")


def _val(m: dict, key: str) -> str:
    value = m["val"].get(key)
    return TRAINED_ON_VAL if value is None else f"{value:.4f}"


def _without_twins(m: dict, key: str) -> str:
    value = (m.get("test_without_twins") or {}).get(key)
    return "" if value is None else f"{value:.4f}"


def _num(value, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def table_rows(models: list[dict]) -> list[list]:
    """One row per model (and the ensemble): validation, test plain, with TTA and without twins, and the costs."""
    rows = []
    for m in models:
        tta = m.get("test_tta", {})
        rows.append([m["name"], _val(m, "loss"), _val(m, "accuracy"), _val(m, "macro_f1"),
                     _num(m["test"]["accuracy"]), _num(m["test"]["macro_f1"]), _num(tta.get("accuracy")),
                     _num(tta.get("macro_f1")), _num(m["test"]["weighted_f1"]), _without_twins(m, "accuracy"),
                     _without_twins(m, "macro_f1"), m["params"], _num(m.get("inference_ms"), 3),
                     _num(m["seconds"], 1)])
    return rows


def per_class_csv(models: list[dict]) -> str:
    """One row per class; for each model its precision, recall and F1 (and TTA's, when run)."""
    columns = ["class", "support"]
    for m in models:
        for key in ("test", "test_tta"):
            if key in m:
                suffix = "" if key == "test" else "_tta"
                columns += [f"{m['name']}{suffix}_{f}" for f in PER_CLASS_FIELDS]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for c, name in enumerate(CLASS_NAMES):
        row = [name, models[0]["test"]["per_class"][c]["support"]]
        for m in models:
            for key in ("test", "test_tta"):
                if key in m:
                    row += [f"{m[key]['per_class'][c][f]:.4f}" for f in PER_CLASS_FIELDS]
        writer.writerow(row)
    return buf.getvalue()
