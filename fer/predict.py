"""`python -m fer.predict`: the emotion of every face in photos, with a saved model.

    python -m fer.predict --model models/<project>/rank1-trial<id>.keras photos/ --out faces.csv
    python -m fer.predict --run tuner_runs/<project> group.jpg --annotate annotated/
    python -m fer.predict --run tuner_runs/<project> data/fer2013 --split test --tta ten-crop

Photos go through OpenCV's Haar cascade and each face is cropped like FER-2013 (fer.faces);
`--faces none` takes each image as one cropped face; a prepared data folder has its split
classified as it is. Faces are classified in batches. Exit status: 0 when every input was
used, 1 when some failed (one line each on stderr, naming the file), 2 when nothing could
be classified or the request itself is wrong (bad arguments, a model that cannot be loaded).
"""
import argparse
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer.command import add_verbose, command_parser, start_backend
from fer.constants import NUM_CLASSES, SPLITS
from fer.errors import EXIT_USER_ERROR, UserError, print_user_error
from fer.faces import FACE_MODES
from fer.tta import TTA_MODES
from fer.write_faults import fault_error, is_write_fault

PROG = "python -m fer.predict"
BATCH_SIZE = 256


EXAMPLES = ("python -m fer.predict --run tuner_runs/cnn-hyperband photos/ --out faces.csv --annotate annotated/",
            "python -m fer.predict --model models/cnn-hyperband/rank1-trial0003.keras group.jpg selfie.png",
            "python -m fer.predict --run tuner_runs/cnn-hyperband data/fer2013 --split test --tta ten-crop")


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(PROG, __doc__, EXAMPLES)
    which = p.add_argument_group("model (one of --model, --run, --ensemble)").add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help="a saved model, .keras or .h5")
    which.add_argument("--run", help="a reported search, tuner_runs/<project>: use its best winner")
    which.add_argument("--ensemble", help="a report folder, reports/<project>: use its ensemble of the winners")
    data = p.add_argument_group("data")
    data.add_argument("paths", nargs="+", metavar="PATH",
                      help="image files, folders of images (searched recursively) or prepared data folders")
    data.add_argument("--faces", choices=FACE_MODES, default="haar",
                      help="haar: find and crop the faces in each photo; none: each image is one cropped face")
    data.add_argument("--split", choices=SPLITS, default="test", help="the split of a prepared data folder")
    run = p.add_argument_group("inference")
    run.add_argument("--tta", choices=TTA_MODES, default="none", help="test-time augmentation (as in fer.tta)")
    run.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="faces per model call")
    out = p.add_argument_group("output")
    out.add_argument("--out", metavar="FILE", help="also write every face's 7 probabilities to FILE.csv or FILE.json")
    out.add_argument("--annotate", metavar="DIR", help="write each photo with its faces' boxes and emotions to DIR")
    add_verbose(out)
    return p


class Failures:
    """Bad inputs: each printed at once as one line naming the file, and kept for the JSON output."""

    def __init__(self, bar=None):
        self.bar, self.items = bar, []

    def __call__(self, path, reason: str) -> None:
        message = reason if path is None else f"{path}: {reason}"
        self.items.append({"file": "" if path is None else str(path), "error": message})
        if self.bar is not None:
            self.bar.console.print(f"{PROG}: {message}", markup=False, highlight=False, soft_wrap=True)
        else:
            print(f"{PROG}: {message}", file=sys.stderr)


@contextmanager
def progress_bar(shown: bool):
    """A rich progress bar on stderr when it is a terminal, else None."""
    if not shown:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        yield bar


def step(bar, description: str, total: int):
    """A function that advances a new task of `bar` (a no-op without a bar)."""
    if bar is None:
        return lambda n=1: None
    task = bar.add_task(description, total=total)
    return lambda n=1: bar.advance(task, n)


def classify(model, faces: np.ndarray, tta: str, batch_size: int, advance=lambda n=1: None) -> np.ndarray:
    """(N, 7) probabilities of (N, 48, 48, 1) uint8 faces, `batch_size` faces per model call."""
    from fer.tta import predict_tta, tta_parts
    probs = np.zeros((len(faces), NUM_CLASSES), dtype="float32")
    parts = tta_parts(model, tta)  # the model, or for ten-crop an ensemble's members when their crops differ
    for start in range(0, len(faces), batch_size):
        chunk = np.ascontiguousarray(faces[start:start + batch_size])
        probs[start:start + len(chunk)] = np.mean([predict_tta(predict, chunk, tta, model_crop=crop)
                                                   for predict, crop in parts], axis=0)
        advance(len(chunk))
    return probs


@dataclass(frozen=True)
class PredictJob:
    """What `fer.predict` was asked to do, settled once from its command line."""
    paths: tuple
    faces: str
    split: str | None
    tta: str | None
    batch_size: int
    out: str | None
    annotate: str | None

    @classmethod
    def of(cls, args) -> "PredictJob":
        return cls(tuple(args.paths), args.faces, args.split, args.tta, args.batch_size, args.out, args.annotate)


def predict(model, model_path: Path, args: PredictJob) -> int:
    """Read, detect, classify, then print and write; returns the exit status."""
    from fer.predict_inputs import collect, sources
    from fer.predict_output import annotate, results, table_text, write_results
    with progress_bar(sys.stderr.isatty()) as bar:
        fail = Failures(bar)
        items = sources(args.paths, fail)
        found = collect(items, args.faces, args.split, fail, step(bar, "reading", len(items)))
        faces = found.faces()
        probs = classify(model, faces, args.tta, args.batch_size, step(bar, "classifying", len(faces)))
        fail.bar = None
    if not found.rows:
        print(f"{PROG}: error: no face to classify in {' '.join(map(str, args.paths))}", file=sys.stderr)
        return EXIT_USER_ERROR
    faces_found = results(found.rows, probs)
    print(table_text(faces_found))
    try:
        if args.out:
            about = {"model": str(model_path), "faces_mode": args.faces, "tta": args.tta}
            write_results(args.out, faces_found, about, fail.items)
        if args.annotate:
            annotate(found.photos, faces_found, args.annotate, fail)
    except OSError as e:
        if not is_write_fault(e):
            return print_user_error(UserError(f"{e.filename or args.out}: cannot be written ({e.strerror})"), PROG)
        return print_user_error(fault_error(e, args.out or args.annotate, "run it again"), PROG)
    return 1 if fail.items else 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    start_backend(args.verbose)
    from fer.predict_output import check_out_path
    from fer.model_files import best_model_path, ensemble_model_path, load_model
    try:
        if args.batch_size < 1:
            raise UserError(f"--batch-size must be at least 1, got {args.batch_size}")
        check_out_path(args.out)
        if args.faces == "haar":
            from fer.faces import cascade
            cascade()  # a missing or broken cascade is one line here, before any photo is read
        model_path = (Path(args.model) if args.model else ensemble_model_path(args.ensemble) if args.ensemble
                      else best_model_path(args.run))
        model = load_model(model_path)
    except UserError as e:
        return print_user_error(e, PROG)
    return predict(model, model_path, PredictJob.of(args))


if __name__ == "__main__":
    sys.exit(main())
