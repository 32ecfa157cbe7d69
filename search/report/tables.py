"""The report's numbers as text: the summary sentence, the results table and per_class.csv."""
import csv
import io

from fer.constants import CLASS_NAMES
from fer.metrics import strongest_and_weakest

PER_CLASS_FIELDS = ("precision", "recall", "f1")
TABLE_HEADER = ["model", "val loss", "val accuracy", "test accuracy", "test macro-F1", "test weighted-F1",
                "parameters", "training time (s)"]


def summary_line(model: dict) -> str:
    """The strongest and weakest emotions of the best model, in words."""
    strong, weak = strongest_and_weakest(model["test"])
    f1 = {r["class"]: r["f1"] for r in model["test"]["per_class"]}
    words = lambda names: " and ".join(f"{n} (F1 {f1[n]:.2f})" for n in names)  # noqa: E731
    return (f"Best model {model['name']}: test accuracy {model['test']['accuracy']:.1%}, macro-F1 "
            f"{model['test']['macro_f1']:.3f}. It is strongest on {words(strong)} and weakest on {words(weak)}.")


def table_rows(models: list[dict]) -> list[list]:
    return [[m["name"], f"{m['val']['loss']:.4f}", f"{m['val']['accuracy']:.4f}", f"{m['test']['accuracy']:.4f}",
             f"{m['test']['macro_f1']:.4f}", f"{m['test']['weighted_f1']:.4f}", m["params"], f"{m['seconds']:.1f}"]
            for m in models]


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
