"""`python -m fer.prepare SOURCE`: turn FER-2013 (or the demo) into cached arrays under data/.

SOURCE is a Kaggle `fer2013.csv` (plain, .gz, or in a .zip or tar such as the competition's
`fer2013.tar.gz`), a folder, .zip or tar in the Kaggle image-folder layout (`train/<emotion>/*.jpg`,
`test/<emotion>/*.jpg`), or the word `demo`. Archives are recognised by content and read in place.
Writes x_/y_{train,val,test}.npy, meta.json (counts, split, source and array hashes),
samples.png and class_counts.png. Rerunnable: an existing output is replaced only once the new
one is complete.
"""
import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from fer import archives
from fer.command import command_parser
from fer.cache import atomic_dir, read_meta, sha256_tree, write_arrays, write_meta
from fer.constants import (CLASS_NAMES, COUNTS_PLOT, DEFAULT_DATA_DIR, DEMO_DATA_DIR, DEMO_NOTICE,
                           DEMO_SOURCE, IMAGE_SHAPE, META_FILE, SAMPLES_PLOT, SPLITS)
from fer.errors import UserError, print_user_error
from fer.raw import RawData
from fer.splits import OFFICIAL, STRATIFIED, assign_splits
from fer.write_faults import fault_error

FORMAT_VERSION = 1


def detect_kind(source: str) -> str:
    """'demo', 'csv' or 'folder', from the SOURCE argument."""
    if source == DEMO_SOURCE:
        return "demo"
    path = Path(source)
    if not path.exists():
        raise UserError(f"{source}: not found")
    if path.is_dir():
        return "folder"
    if archives.archive_format(path):  # a CSV inside wins, as the image release has none
        return "csv" if any(archives.is_csv(name) for name in archives.member_names(path)) else "folder"
    if path.name.lower().endswith((".csv", ".gz")):
        return "csv"
    raise UserError(f"{source}: unknown format (expected fer2013.csv[.gz], an image folder "
                    "train/<emotion>/, test/<emotion>/, a .zip or tar (.tar, .tar.gz, .tgz) of either, or 'demo')")


def read_source(source: str, kind: str, seed: int, resize: bool, demo_sizes: dict | None = None) -> RawData:
    if kind == "demo":
        from fer.demo import make_demo
        return make_demo(seed, demo_sizes)
    if kind == "csv":
        from fer.csv_source import read_csv
        return read_csv(Path(source))
    from fer.folder_source import read_folder
    return read_folder(Path(source), resize=resize)


def prepare(source: str, out: Path | None = None, split: str | None = None, val_frac: float = 0.1,
            test_frac: float = 0.1, seed: int = 0, resize: bool = False, argv=None,
            demo_sizes: dict | None = None) -> Path:
    """Read SOURCE, split it and write the cache folder atomically; returns the folder."""
    kind = detect_kind(source)
    out = Path(out) if out else (DEMO_DATA_DIR if kind == "demo" else DEFAULT_DATA_DIR)
    raw = read_source(source, kind, seed, resize, demo_sizes)
    idx, split_info = assign_splits(raw, split, val_frac, test_frac, seed, source)
    arrays = {s: (raw.x[idx[s]], raw.y[idx[s]]) for s in SPLITS}
    del raw
    origin = {"kind": kind, "path": source if kind == "demo" else str(Path(source).resolve()),
              "sha256": None if kind == "demo" else sha256_tree(Path(source))}
    if kind == "demo":
        origin.update(seed=seed, notice=DEMO_NOTICE, sizes=demo_sizes)
    title = f"{Path(source).name if kind != 'demo' else DEMO_NOTICE}"
    from fer import data_plots  # matplotlib only when there is something to draw
    with atomic_dir(out) as tmp:
        hashes = write_arrays(tmp, arrays)
        data_plots.save_samples(tmp / SAMPLES_PLOT, *arrays["train"], seed=seed,
                           title=f"random training samples per class: {title}")
        data_plots.save_class_counts(tmp / COUNTS_PLOT, {s: np.bincount(arrays[s][1], minlength=len(CLASS_NAMES))
                                                    for s in SPLITS}, title=f"images per class and split: {title}")
        write_meta(tmp, {
            "format_version": FORMAT_VERSION,
            "class_names": list(CLASS_NAMES),
            "image_shape": list(IMAGE_SHAPE),
            "source": origin,
            "split": split_info,
            "counts": {s: int(len(arrays[s][1])) for s in SPLITS},
            "sha256": hashes,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": ["python", "-m", "fer.prepare", *(argv if argv is not None else [source])],
        })
    return out


def ensure_demo(folder: Path = DEMO_DATA_DIR) -> Path:
    """Prepare the demo data on first use (search's `--data demo`)."""
    if not (Path(folder) / META_FILE).is_file():
        prepare(DEMO_SOURCE, folder)
    return Path(folder)


def print_summary(folder: Path, seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table
    meta = read_meta(folder)
    console = Console()
    table = Table(title=f"{folder}  ({meta['split']['method']} split, {seconds:.1f}s)")
    table.add_column("split")
    for name in CLASS_NAMES:
        table.add_column(name, justify="right")
    table.add_column("total", justify="right")
    for s in SPLITS:
        per = meta["split"]["counts"][s]
        table.add_row(s, *[f"{per[c]:,}" for c in CLASS_NAMES], f"{meta['counts'][s]:,}")
    console.print(table)
    if meta["source"]["kind"] == "demo":
        console.print(f"[bold yellow]note:[/] this is {DEMO_NOTICE}")
    if "note" in meta["split"]:
        console.print(f"[yellow]note:[/] {meta['split']['note']}")
    console.print(f"wrote {folder}/{{x,y}}_{{train,val,test}}.npy, {META_FILE}, {SAMPLES_PLOT}, {COUNTS_PLOT}")


EXAMPLES = ("python -m fer.prepare fer2013.csv",
            "python -m fer.prepare fer2013-images.zip --out data/fer-images --audit",
            "python -m fer.prepare fer2013.csv --split stratified --val-frac 0.1 --test-frac 0.1 --out data/fer-resplit")


def build_parser() -> argparse.ArgumentParser:
    p = command_parser("python -m fer.prepare", __doc__, EXAMPLES)
    data = p.add_argument_group("data")
    data.add_argument("source", help="fer2013.csv (also .gz, .zip, .tar, .tar.gz/.tgz), an image folder "
                                     "train/<emotion>/, test/<emotion>/ or its .zip/.tar archive, or 'demo'")
    data.add_argument("--resize", action="store_true", help="scale images that are not 48x48 instead of refusing them")
    split = p.add_argument_group("split")
    split.add_argument("--split", choices=[OFFICIAL, STRATIFIED],
                       help="official (used when not given and the source carries it) or a stratified re-split")
    split.add_argument("--val-frac", type=float, default=0.1, help="stratified: validation fraction")
    split.add_argument("--test-frac", type=float, default=0.1, help="stratified: test fraction")
    split.add_argument("--seed", type=int, default=0, help="seed of the stratified split and the demo data")
    out = p.add_argument_group("output")
    out.add_argument("--out", type=Path, help=f"output folder ({DEFAULT_DATA_DIR} when not given, {DEMO_DATA_DIR} "
                                              "for demo)")
    out.add_argument("--audit", action="store_true", help="also run fer.audit on the result")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        out = prepare(args.source, args.out, args.split, args.val_frac, args.test_frac, args.seed,
                      args.resize, argv=argv)
    except UserError as e:
        return print_user_error(e, parser.prog)
    except OSError as e:  # a full or read-only disk: one line (nothing is left half-written: atomic_dir)
        return print_user_error(fault_error(e, args.out or "data/", "prepare it again"), parser.prog)
    print_summary(out, time.perf_counter() - start)
    if args.audit:
        from fer.audit import print_table, run_audit
        print_table(run_audit(out, verify=False), f"audit of {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
