"""Dataset plots written next to the cached arrays: a sample grid and class counts."""
from matplotlib.figure import Figure  # no pyplot: no global backend switch, a notebook keeps its inline plots
import numpy as np

from fer.constants import CLASS_NAMES, SPLITS


def save_samples(path, x: np.ndarray, y: np.ndarray, seed: int = 0, per_class: int = 8,
                 title: str = "") -> None:
    """A grid of random training images, one row per class, each labelled."""
    rng = np.random.default_rng(seed)
    fig = Figure(figsize=(per_class * 1.1, len(CLASS_NAMES) * 1.25))
    axes = fig.subplots(len(CLASS_NAMES), per_class)
    for c, name in enumerate(CLASS_NAMES):
        idx = np.flatnonzero(y == c)
        pick = rng.choice(idx, size=min(per_class, idx.size), replace=False) if idx.size else []
        for k, ax in enumerate(axes[c]):
            ax.axis("off")
            if k < len(pick):
                ax.imshow(x[pick[k], :, :, 0], cmap="gray", vmin=0, vmax=255)
                ax.set_title(f"{c} {name}", fontsize=7)
    fig.suptitle(title or "random training samples per class", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def save_class_counts(path, counts: dict[str, np.ndarray], title: str = "") -> None:
    """Grouped bars: images per class for each split."""
    fig = Figure(figsize=(8, 3.6))
    ax = fig.subplots()
    width = 0.8 / len(SPLITS)
    pos = np.arange(len(CLASS_NAMES))
    for i, split in enumerate(SPLITS):
        bars = ax.bar(pos + (i - 1) * width, counts[split], width, label=split)
        ax.bar_label(bars, fontsize=6)
    ax.set_xticks(pos, CLASS_NAMES)
    ax.set_ylabel("images")
    ax.set_title(title or "images per class and split", fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
