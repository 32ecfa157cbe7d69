"""`python -m fer.audit DIR`: exact duplicates, conflicting labels and blank images.

Images are compared by a hash of their decoded pixels, within and across splits, so a leak
from train into val/test (FER-2013 has hundreds) is visible before anyone trusts a test score.
"""
import argparse
import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from fer.cache import atomic_write_text
from fer.constants import AUDIT_FILE, CLASS_NAMES, SPLITS
from fer.dataset import Dataset
from fer.command import command_parser
from fer.errors import UserError, print_user_error


def image_digests(x: np.ndarray) -> list[bytes]:
    """A hash of each image's pixels: equal exactly for byte-identical images (what a duplicate is)."""
    flat = np.asarray(x).reshape(len(x), -1)
    return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in flat]


def audit_arrays(arrays: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """Find duplicate groups, label conflicts and flat images; returns a JSON-able summary."""
    groups = defaultdict(list)
    blanks = []
    for split in SPLITS:
        x, y = arrays[split]
        flat = np.asarray(x).reshape(len(x), -1)
        lo, hi = flat.min(axis=1), flat.max(axis=1)
        for i, digest in enumerate(image_digests(flat)):
            groups[digest].append((split, i, int(y[i])))
            if lo[i] == hi[i]:
                blanks.append({"split": split, "index": i, "label": CLASS_NAMES[int(y[i])], "value": int(lo[i])})
    dup = [g for g in groups.values() if len(g) > 1]
    cross = [g for g in dup if len({s for s, _, _ in g}) > 1]
    conflict = [g for g in dup if len({lab for _, _, lab in g}) > 1]
    pairs = defaultdict(int)
    for g in dup:
        for s in {s for s, _, _ in g}:
            pairs[s] += 1

    def describe(g):
        return [{"split": s, "index": i, "label": CLASS_NAMES[lab]} for s, i, lab in g]

    return {
        "images": int(sum(len(arrays[s][1]) for s in SPLITS)),
        "duplicate_groups": len(dup),
        "duplicate_images": int(sum(len(g) for g in dup)),
        "within_split_groups": len(dup) - len(cross),
        "cross_split_groups": len(cross),
        "conflicting_label_groups": len(conflict),
        "blank_images": len(blanks),
        "groups_touching_split": {s: pairs.get(s, 0) for s in SPLITS},
        "details": {"cross_split": [describe(g) for g in cross],
                    "conflicting_labels": [describe(g) for g in conflict],
                    "blank": blanks},
    }


def print_table(summary: dict, title: str) -> None:
    from rich.console import Console
    from rich.table import Table
    table = Table(title=title)
    table.add_column("check")
    table.add_column("count", justify="right")
    for key in ("images", "duplicate_groups", "duplicate_images", "within_split_groups",
                "cross_split_groups", "conflicting_label_groups", "blank_images"):
        table.add_row(key.replace("_", " "), f"{summary[key]:,}")
    for split, n in summary["groups_touching_split"].items():
        table.add_row(f"duplicate groups touching {split}", f"{n:,}")
    Console().print(table)


def run_audit(folder: Path, verify: bool = True) -> dict:
    ds = Dataset.open(folder, verify=verify)
    summary = audit_arrays(ds.arrays)
    atomic_write_text(Path(folder) / AUDIT_FILE, json.dumps(summary, indent=2) + "\n")
    return summary


EXAMPLES = ("python -m fer.audit data/fer2013",
            "python -m fer.audit data/demo",
            "python -m fer.prepare fer2013.csv --audit")


def build_parser() -> argparse.ArgumentParser:
    parser = command_parser("python -m fer.audit", __doc__, EXAMPLES)
    parser.add_argument_group("data").add_argument("dir", type=Path, metavar="DIR", help="a folder written by fer.prepare")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        summary = run_audit(args.dir)
    except UserError as e:
        return print_user_error(e, parser.prog)
    print_table(summary, f"audit of {args.dir}")
    print(f"details: {args.dir / AUDIT_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
