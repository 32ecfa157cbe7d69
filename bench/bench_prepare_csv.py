"""Benchmark: `fer.prepare` on the full FER-2013 CSV vs the straightforward per-row parse.

Goal (issue 2): prepare takes at most 1/3 of the time of the notebook parse
(`pandas.read_csv` then `np.array(row.split())` per row), with peak memory under 2 GB.
Both run side by side in one invocation, each in a fresh child process.

    python bench/bench_prepare_csv.py [CSV] [--zip ZIP]
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

BASELINE = """
import numpy as np, pandas as pd, sys
sys.path.insert(0, {bench!r}); from _child import measure
def run():
    df = pd.read_csv({src!r})
    x = np.stack([np.array(row.split()).astype(np.uint8) for row in df["pixels"]]).reshape(-1, 48, 48, 1)
    return {{"images": len(x)}}
measure(run)
"""

PREPARE = """
import sys
sys.path.insert(0, {bench!r}); sys.path.insert(0, {root!r}); from _child import measure
from fer.prepare import prepare
from fer.dataset import Dataset
def run():
    out = prepare({src!r}, {out!r})
    return {{"images": sum(Dataset.open(out, verify=False).meta["counts"].values())}}
measure(run)
"""


def child(code: str, **kw) -> dict:
    kw.update(bench=str(ROOT / "bench"), root=str(ROOT))
    res = subprocess.run([sys.executable, "-c", code.format(**kw)], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv", nargs="?", default=str(SHARED / "fer2013_from_images.csv.gz"))
    p.add_argument("--zip", default=str(SHARED / "fer2013_images.zip"), help="also time the image zip ('' to skip)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = child(BASELINE, src=args.csv)
        ours = child(PREPARE, src=args.csv, out=f"{tmp}/csv")
        rows = [("per-row np.array(row.split()) parse", base), ("fer.prepare (parse + write + hash + plots)", ours)]
        if args.zip:
            rows.append(("fer.prepare from the image zip", child(PREPARE, src=args.zip, out=f"{tmp}/zip")))
    print(f"source: {args.csv}")
    for name, r in rows:
        print(f"  {name:45s} {r['seconds']:7.2f} s  peak {r['peak_mb']:7.0f} MB  images {r['images']}")
    ratio = ours["seconds"] / base["seconds"]
    ok = ratio <= 1 / 3 and ours["peak_mb"] < 2048
    print(f"time ratio prepare/baseline = {ratio:.3f} (goal <= 0.333); prepare peak {ours['peak_mb']:.0f} MB "
          f"(goal < 2048): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
