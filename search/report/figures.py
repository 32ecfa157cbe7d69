"""Which figures a report has and what each shows: comparison bars, per-model figures, and the
hyperparameter figures. Each returns (file name, caption) pairs for the page.

Everything here works from numbers already computed (test probabilities, training histories,
the leaderboard), so the same code serves one run's report and the comparison of several.
"""
from pathlib import Path

import numpy as np

from fer.constants import CLASS_NAMES
from search.report import plots


def shared_figures(folder: Path, models: list[dict]) -> list[tuple[str, str]]:
    """Per-class F1 of all models side by side, and test accuracy / macro-F1 per model."""
    plots.grouped_bars(folder / "per_class_f1.png", list(CLASS_NAMES),
                       {m["name"]: [r["f1"] for r in m["test"]["per_class"]] for m in models},
                       "F1 on the test split", "per-class F1 of each model")
    series = {"test accuracy": [m["test"]["accuracy"] for m in models],
              "test macro-F1": [m["test"]["macro_f1"] for m in models]}
    if any("test_tta" in m for m in models):
        series["test accuracy (TTA)"] = [m.get("test_tta", m["test"])["accuracy"] for m in models]
    plots.grouped_bars(folder / "comparison.png", [m["name"] for m in models], series, "score",
                       "test accuracy and macro-F1 per model")
    return [("comparison.png", "Test accuracy and macro-F1 per model"),
            ("per_class_f1.png", "Per-class F1 of each model on the test split")]


def sample_per_class(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices of up to `per_class` random images of each class present, in class order."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(y == c), size=min(per_class, int((y == c).sum())), replace=False)
                           for c in np.unique(y)])


def model_figures(folder: Path, m: dict, x: np.ndarray, y: np.ndarray, probs: np.ndarray, cams: dict | None,
                  seed: int = 0) -> list[tuple[str, str]]:
    """Confusion matrices, learning curves, sample predictions, confident mistakes, Grad-CAM."""
    name, pred = m["name"], probs.argmax(axis=1)
    figs = []
    for norm, label in ((True, "normalised"), (False, "raw")):
        file = f"confusion_{'norm_' if norm else ''}{name}.png"
        plots.confusion(folder / file, m["test"]["confusion_matrix"], f"{name}, test split", norm)
        figs.append((file, f"{name}: confusion matrix ({label})"))
    if m["history"]:  # the ensemble trained nothing of its own
        plots.learning_curves(folder / f"curves_{name}.png", m["history"], f"{name}: learning curves")
        figs.append((f"curves_{name}.png", f"{name}: loss and accuracy per epoch"))
    pick = sample_per_class(y, 3, seed)
    caption = lambda i: f"{CLASS_NAMES[y[i]]}→{CLASS_NAMES[pred[i]]} {probs[i, pred[i]]:.2f}"  # noqa: E731
    plots.image_grid(folder / f"samples_{name}.png", x[pick], [caption(i) for i in pick],
                     f"{name}: sample test predictions (true→predicted, confidence)", columns=7,
                     colours=["green" if y[i] == pred[i] else "red" for i in pick])
    figs.append((f"samples_{name}.png", f"{name}: sample predictions, 3 per true class (red = wrong)"))
    wrong = []
    for c in range(len(CLASS_NAMES)):
        idx = np.flatnonzero((y == c) & (pred != c))
        wrong += list(idx[np.argsort(-probs[idx, pred[idx]])][:3])
    if wrong:
        plots.image_grid(folder / f"misclassified_{name}.png", x[wrong], [caption(i) for i in wrong],
                         f"{name}: most confident mistakes per true class", columns=7)
        figs.append((f"misclassified_{name}.png", f"{name}: the most confidently misclassified faces of each class"))
    if cams is not None:
        idx = cams["index"]
        plots.image_grid(folder / f"gradcam_{name}.png", x[idx], [caption(i) for i in idx],
                         f"{name}: Grad-CAM for the predicted class", columns=7, overlays=cams["maps"])
        figs.append((f"gradcam_{name}.png", f"{name}: Grad-CAM heat maps (where the model looked)"))
    return figs


def hp_figures(folder: Path, trials: list[dict], hps: list[str], weights: dict | None, objective: str) -> list:
    """The objective against each varied hyperparameter, and the random-forest importance bars."""
    if not hps:
        return []
    plots.hp_scatter(folder / "objective_vs_hp.png", trials, hps, objective)
    figs = [("objective_vs_hp.png", f"{objective} of each completed trial against each hyperparameter")]
    if weights:
        plots.grouped_bars(folder / "importance.png", list(weights), {"importance": list(weights.values())},
                           "share", f"hyperparameter importance (random forest over {len(trials)} trials)")
        figs.append(("importance.png", "Which hyperparameters mattered (random-forest estimate)"))
    return figs
