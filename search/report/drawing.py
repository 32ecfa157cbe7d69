"""The figures of a model report: confusion matrices, learning curves, per-class and comparison
bars, sample predictions, confident mistakes and Grad-CAM overlays. Each writes one PNG."""
from matplotlib.figure import Figure  # no pyplot: no global backend switch, a notebook keeps its inline plots
import numpy as np

from fer.constants import CLASS_NAMES

DPI = 80


def _save(fig, path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)


def confusion(path, cm, title: str, normalise: bool) -> None:
    cm = np.asarray(cm, dtype=float)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalise else cm
    fig = Figure(figsize=(5.2, 4.6))
    ax = fig.subplots()
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalise else None)
    for i in range(len(cm)):
        for j in range(len(cm)):
            text = f"{shown[i, j]:.2f}" if normalise else f"{int(cm[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > shown.max() * 0.6 else "black")
    ax.set_xticks(range(len(CLASS_NAMES)), CLASS_NAMES, rotation=45, ha="right")
    ax.set_yticks(range(len(CLASS_NAMES)), CLASS_NAMES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title + (" (rows sum to 1: recall on the diagonal)" if normalise else " (image counts)"), fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.046)
    _save(fig, path)


def learning_curves(path, history: dict, title: str) -> None:
    fig = Figure(figsize=(8, 3))
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for key, style in ((metric, "-"), (f"val_{metric}", "--")):
            if key in history:
                ax.plot(range(1, len(history[key]) + 1), history[key], style, label=key)
        ax.set_xlabel("epoch")
        ax.set_title(metric, fontsize=8)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    _save(fig, path)


def grouped_bars(path, groups: list[str], series: dict[str, list[float]], ylabel: str, title: str) -> None:
    """Bars per group, one colour per series (per-class F1 of each model, or metrics per model)."""
    fig = Figure(figsize=(max(6, len(groups) * 0.9 + 2), 3.6))
    ax = fig.subplots()
    width = 0.8 / max(len(series), 1)
    pos = np.arange(len(groups))
    for i, (name, values) in enumerate(series.items()):
        bars = ax.bar(pos + (i - (len(series) - 1) / 2) * width, values, width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=6)
    ax.set_xticks(pos, groups, rotation=20 if len(groups) > 7 else 0, ha="right" if len(groups) > 7 else "center",
                  fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    _save(fig, path)


def image_grid(path, images: np.ndarray, captions: list[str], title: str, columns: int = 8,
               overlays: np.ndarray | None = None, colours: list[str] | None = None) -> None:
    """Faces in a grid, each captioned; an optional heat map drawn over each (Grad-CAM)."""
    n = max(len(images), 1)
    rows = (n + columns - 1) // columns
    fig = Figure(figsize=(columns * 1.25, rows * 1.45))
    axes = fig.subplots(rows, columns, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(images):
            ax.imshow(images[k, :, :, 0], cmap="gray", vmin=0, vmax=255)
            if overlays is not None:
                ax.imshow(overlays[k], cmap="jet", alpha=0.45, vmin=0, vmax=1)
            ax.set_title(captions[k], fontsize=6, color=(colours[k] if colours else "black"))
    fig.suptitle(title, fontsize=9)
    _save(fig, path)


def hp_scatter(path, rows: list[dict], hps: list[str], objective: str) -> None:
    """The search objective against each hyperparameter, one panel each."""
    cols = min(4, max(len(hps), 1))
    nrows = (len(hps) + cols - 1) // cols or 1
    fig = Figure(figsize=(cols * 2.6, nrows * 2.3))
    axes = fig.subplots(nrows, cols, squeeze=False)
    y = [float(r["objective"]) for r in rows]
    for ax, hp in zip(axes.flat, hps):
        values = [r.get(hp) for r in rows]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            ax.scatter(values, y, s=12)
            if min(values) > 0 and max(values) / min(values) > 20:
                ax.set_xscale("log")
        else:
            labels = sorted({str(v) for v in values})
            ax.scatter([labels.index(str(v)) for v in values], y, s=12)
            ax.set_xticks(range(len(labels)), labels, fontsize=6, rotation=30)
        ax.set_title(hp, fontsize=8)
    for ax in list(axes.flat)[len(hps):]:
        ax.axis("off")
    fig.supylabel(objective, fontsize=8)
    _save(fig, path)
