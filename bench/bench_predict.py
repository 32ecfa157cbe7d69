"""Images per second through `fer.predict` on this machine, cnn and mobilenet side by side.

Both models are their space's defaults (random weights: speed does not depend on them), saved
as search.report saves a winner. Two inputs, made from FER-2013 test faces (../shared/data):
  --faces none  FER-2013's own 48x48 PNGs, one cropped face each;
  Haar          640x480 photos with one face each (a FER face upscaled to 120-200 pixels on a
                grey gradient), found by the cascade and cropped.
Timed: the whole command after the model is loaded (read, detect, crop, classify in batches of
256, write the CSV), after one warm-up run on a few images. Photos in which the cascade finds no
face count as processed (they were read and searched); the last column says how many had one.

    python bench/bench_predict.py [--faces-n 1000] [--photos-n 200]
"""
import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras_tuner as kt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from fer import predict as predict_cli  # noqa: E402
from fer.model_files import load_model  # noqa: E402
from search.report.retrain import save_inference_model  # noqa: E402
from spaces import SpaceOptions, get_space  # noqa: E402

REAL_ZIP = ROOT.parent / "shared" / "data" / "fer2013_images.zip"
SPACES = ("cnn", "mobilenet")
PHOTO_SIZE = (480, 640)  # height, width


def fer_faces(n: int) -> list[np.ndarray]:
    with zipfile.ZipFile(REAL_ZIP) as zf:
        names = sorted(n for n in zf.namelist() if n.startswith("test/") and n.endswith((".jpg", ".png")))[:n]
        return [np.asarray(Image.open(io.BytesIO(zf.read(name))).convert("L")) for name in names]


def photo(face: np.ndarray, rng) -> np.ndarray:
    import cv2
    height, width = PHOTO_SIZE
    side = int(rng.integers(120, 201))
    canvas = np.tile(np.linspace(60, 200, width, dtype=np.float32), (height, 1)).astype(np.uint8)
    y0, x0 = int(rng.integers(0, height - side)), int(rng.integers(0, width - side))
    canvas[y0:y0 + side, x0:x0 + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    return canvas


def write_inputs(folder: Path, faces_n: int, photos_n: int) -> dict[str, Path]:
    faces = fer_faces(max(faces_n, photos_n))
    rng = np.random.default_rng(0)
    for sub in ("faces", "photos", "warm"):
        (folder / sub).mkdir()
    for i, face in enumerate(faces[:faces_n]):
        Image.fromarray(face).save(folder / "faces" / f"{i:05d}.png")
    for i, face in enumerate(faces[:photos_n]):
        Image.fromarray(photo(face, rng)).save(folder / "photos" / f"{i:05d}.jpg", quality=90)
    for i, face in enumerate(faces[:8]):
        Image.fromarray(photo(face, rng)).save(folder / "warm" / f"{i}.jpg")
    return {"none": folder / "faces", "haar": folder / "photos", "warm": folder / "warm"}


def images_per_second(model, model_path: Path, folder: Path, faces_mode: str, out: Path) -> tuple[float, int]:
    args = predict_cli.build_parser().parse_args(["--model", str(model_path), str(folder), "--faces", faces_mode,
                                                  "--out", str(out)])
    count = len(list(folder.iterdir()))
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):  # "no face found"
        predict_cli.predict(model, model_path, predict_cli.PredictJob.of(args))
    seconds = time.perf_counter() - start
    return count / seconds, sum(1 for _ in open(out)) - 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--faces-n", type=int, default=1000, help="48x48 face PNGs for --faces none")
    p.add_argument("--photos-n", type=int, default=200, help="640x480 photos for the Haar path")
    args = p.parse_args(argv)
    if not REAL_ZIP.is_file():
        print(f"needs FER-2013's faces at {REAL_ZIP}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = write_inputs(tmp, args.faces_n, args.photos_n)
        rows = []
        for space in SPACES:
            path = tmp / f"{space}.keras"
            save_inference_model(get_space(space).build(kt.HyperParameters(), SpaceOptions(weights=None)),
                                 {"h5": str(tmp / f"{space}.h5"), "keras": str(path)})
            model = load_model(path)
            images_per_second(model, path, inputs["warm"], "haar", tmp / "warm.csv")
            none_rate, _ = images_per_second(model, path, inputs["none"], "none", tmp / "none.csv")
            haar_rate, found = images_per_second(model, path, inputs["haar"], "haar", tmp / "haar.csv")
            rows.append((space, f"{model.count_params():,}", none_rate, haar_rate, found))
    print(f"fer.predict, images per second ({os.cpu_count()} CPU cores; model loaded, one warm-up run):")
    print(f"{'model':<10} {'params':>10}  {'--faces none':>14}  {'Haar':>8}  faces found by Haar")
    for space, params, none_rate, haar_rate, found in rows:
        print(f"{space:<10} {params:>10}  {none_rate:>14.1f}  {haar_rate:>8.1f}  {found}/{args.photos_n}")
    print(f"(--faces none: {args.faces_n} FER-2013 48x48 PNGs; Haar: {args.photos_n} 640x480 JPEG photos, one face each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
