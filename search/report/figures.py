"""Which figures a report has and what each shows: comparison bars, per-model figures, and the
hyperparameter figures. Each returns (file name, caption) pairs for the page, for the figures
it could draw; one that cannot be drawn is left out, its reason noted in a `LeftOut`.

Everything here works from numbers already computed (test probabilities, training histories,
the leaderboard), so the same code serves one run's report and the comparison of several.
"""
from functools import partial
from pathlib import Path

import numpy as np

from fer.constants import CLASS_NAMES
from search.report import drawing
from search.report.leftout import LeftOut


def shared_figures(folder: Path, models: list[dict], left_out: LeftOut | None = None) -> list[tuple[str, str]]:
    """Per-class F1 of all models side by side, and test accuracy / macro-F1 per model."""
    left_out = LeftOut() if left_out is None else left_out

    def comparison():
        series = {"test accuracy": [m["test"]["accuracy"] for m in models],
                  "test macro-F1": [m["test"]["macro_f1"] for m in models]}
        if any("test_tta" in m for m in models):
            series["test accuracy (TTA)"] = [m.get("test_tta", m["test"])["accuracy"] for m in models]
        drawing.grouped_bars(folder / "comparison.png", [m["name"] for m in models], series, "score",
                           "test accuracy and macro-F1 per model")

    f1 = {m["name"]: [r["f1"] for r in m["test"]["per_class"]] for m in models}
    return (left_out.draw(folder, "comparison.png", "Test accuracy and macro-F1 per model", comparison) +
            left_out.draw(folder, "per_class_f1.png", "Per-class F1 of each model on the test split",
                          partial(drawing.grouped_bars, folder / "per_class_f1.png", list(CLASS_NAMES), f1,
                                  "F1 on the test split", "per-class F1 of each model")))


def sample_per_class(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices of up to `per_class` random images of each class present, in class order."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(y == c), size=min(per_class, int((y == c).sum())), replace=False)
                           for c in np.unique(y)])


def model_figures(folder: Path, m: dict, x: np.ndarray, y: np.ndarray, probs: np.ndarray, cams: dict | None,
                  seed: int = 0, left_out: LeftOut | None = None) -> list[tuple[str, str]]:
    """Confusion matrices, learning curves, sample predictions, confident mistakes, Grad-CAM.

    `cams`: Grad-CAM's maps ({"index", "maps", "layer"}), or {"reason"} why there are none.
    """
    left_out = LeftOut() if left_out is None else left_out
    name, pred = m["name"], probs.argmax(axis=1)
    caption = lambda i: f"{CLASS_NAMES[y[i]]}→{CLASS_NAMES[pred[i]]} {probs[i, pred[i]]:.2f}"  # noqa: E731
    figs = []
    for norm, label in ((True, "normalised"), (False, "raw")):
        file = f"confusion_{'norm_' if norm else ''}{name}.png"
        figs += left_out.draw(folder, file, f"{name}: confusion matrix ({label})", partial(
            drawing.confusion, folder / file, m["test"]["confusion_matrix"], f"{name}, test split", norm))
    if m["history"]:  # the ensemble trained nothing of its own
        figs += left_out.draw(folder, f"curves_{name}.png", f"{name}: loss and accuracy per epoch", partial(
            drawing.learning_curves, folder / f"curves_{name}.png", m["history"], f"{name}: learning curves"))

    def samples():
        pick = sample_per_class(y, 3, seed)
        drawing.image_grid(folder / f"samples_{name}.png", x[pick], [caption(i) for i in pick],
                         f"{name}: sample test predictions (true→predicted, confidence)", columns=7,
                         colours=["green" if y[i] == pred[i] else "red" for i in pick])

    figs += left_out.draw(folder, f"samples_{name}.png",
                          f"{name}: sample predictions, 3 per true class (red = wrong)", samples)
    wrong = confident_mistakes(y, pred, probs)
    if wrong:
        figs += left_out.draw(folder, f"misclassified_{name}.png",
                              f"{name}: the most confidently misclassified faces of each class", partial(
                                  drawing.image_grid, folder / f"misclassified_{name}.png", x[wrong],
                                  [caption(i) for i in wrong], f"{name}: most confident mistakes per true class",
                                  columns=7))
    return figs + gradcam_figure(folder, name, x, cams, caption, left_out)


def confident_mistakes(y: np.ndarray, pred: np.ndarray, probs: np.ndarray, per_class: int = 3) -> list[int]:
    """Indices of the most confidently misclassified images of each true class."""
    wrong = []
    for c in range(len(CLASS_NAMES)):
        idx = np.flatnonzero((y == c) & (pred != c))
        wrong += list(idx[np.argsort(-probs[idx, pred[idx]])][:per_class])
    return wrong


def gradcam_figure(folder: Path, name: str, x: np.ndarray, cams: dict | None, caption, left_out: LeftOut) -> list:
    """The Grad-CAM grid, or its reason for being left out."""
    file = f"gradcam_{name}.png"
    if cams is not None and cams.get("not_applicable"):
        return []
    if cams is None or "reason" in cams:
        left_out.note(file, (cams or {}).get("reason", "no Grad-CAM maps were computed"))
        return []
    idx = cams["index"]
    return left_out.draw(folder, file, f"{name}: Grad-CAM heat maps of {cams['layer']} (where the model looked)",
                         partial(drawing.image_grid, folder / file, x[idx], [caption(i) for i in idx],
                                 f"{name}: Grad-CAM of {cams['layer']} for the predicted class", columns=7,
                                 overlays=cams["maps"]))


def hp_figures(folder: Path, trials: list[dict], hps: list[str], weights: dict | None, objective: str,
               left_out: LeftOut | None = None) -> list:
    """The objective against each varied hyperparameter, and the random-forest importance bars."""
    left_out = LeftOut() if left_out is None else left_out
    if not hps:
        return []
    figs = left_out.draw(folder, "objective_vs_hp.png", f"{objective} of each completed trial against each "
                         "hyperparameter", partial(drawing.hp_scatter, folder / "objective_vs_hp.png", trials, hps,
                                                   objective))
    if weights:
        figs += left_out.draw(folder, "importance.png", "Which hyperparameters mattered (random-forest estimate)",
                              partial(drawing.grouped_bars, folder / "importance.png", list(weights),
                                      {"importance": list(weights.values())}, "share",
                                      f"hyperparameter importance (random forest over {len(trials)} trials)"))
    return figs
