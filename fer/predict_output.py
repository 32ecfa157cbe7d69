"""What `fer.predict` writes: a table on the console, a CSV or JSON file, annotated photos.

Each face's result names its file, its number within the file and its box (x, y, width,
height in the photo's pixels; none for a prepared data folder), the emotion, its confidence
and the runner-up, plus all seven probabilities in fer.constants' class order. Files are
written under a temporary name and renamed when complete.
"""
import csv
import io
import json
import os
from pathlib import Path

import numpy as np

from fer.cache import atomic_write_text
from fer.write_faults import is_write_fault
from fer.constants import CLASS_NAMES
from fer.errors import UserError

OUT_SUFFIXES = (".csv", ".json")
BOX_COLOUR = (0, 255, 0)
LABEL_COLOUR = (0, 0, 0)


def check_out_path(path) -> None:
    if path is not None and Path(path).suffix.lower() not in OUT_SUFFIXES:
        raise UserError(f"{path}: --out writes {' or '.join(OUT_SUFFIXES)}; name the file so")


def results(rows: list[dict], probs: np.ndarray) -> list[dict]:
    """One dict per face: its row, the emotion, confidence, runner-up and every probability."""
    out = []
    for row, p in zip(rows, probs):
        first, second = np.argsort(p)[::-1][:2]
        out.append({**row, "box": list(row["box"]) if row["box"] is not None else None,
                    "emotion": CLASS_NAMES[first], "confidence": float(p[first]),
                    "runner_up": CLASS_NAMES[second], "runner_up_confidence": float(p[second]),
                    "probabilities": {name: round(float(v), 6) for name, v in zip(CLASS_NAMES, p)}})
    return out


def box_text(box) -> str:
    return "-" if box is None else f"{box[0]},{box[1]} {box[2]}x{box[3]}"


def table_text(found: list[dict]) -> str:
    """The console table: file, face, box, emotion, confidence, runner-up."""
    header = ("file", "face", "box", "emotion", "confidence", "runner-up")
    lines = [(r["file"], str(r["face"]), box_text(r["box"]), r["emotion"], f"{r['confidence']:.3f}",
              f"{r['runner_up']} {r['runner_up_confidence']:.3f}") for r in found]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(cells, widths)).rstrip()
                     for cells in [header, *lines])


def csv_text(found: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["file", "face", "x", "y", "w", "h", "emotion", "confidence", *CLASS_NAMES])
    for r in found:
        box = r["box"] if r["box"] is not None else ["", "", "", ""]
        writer.writerow([r["file"], r["face"], *box, r["emotion"], f"{r['confidence']:.6f}",
                         *(r["probabilities"][name] for name in CLASS_NAMES)])
    return buf.getvalue()


def write_results(path, found: list[dict], about: dict, failed: list[dict]) -> None:
    """--out: the CSV (one row per face), or the JSON (`about` the run, every face, the failures)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        atomic_write_text(path, csv_text(found))
    else:
        atomic_write_text(path, json.dumps({**about, "classes": list(CLASS_NAMES), "faces": found,
                                            "failed": failed}, indent=2) + "\n")


def draw_faces(image, boxes, labels):
    """Draw each box and its label (above the box, or inside it at the photo's top edge)."""
    from PIL import ImageDraw, ImageFont
    draw = ImageDraw.Draw(image)
    for (x, y, w, h), label in zip(boxes, labels):
        draw.rectangle([x, y, x + w - 1, y + h - 1], outline=BOX_COLOUR, width=max(2, round(w / 40)))
        font = ImageFont.load_default(size=max(12, round(w / 8)))
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        tw, th = right - left + 6, bottom - top + 4
        ty = y - th if y >= th else y
        draw.rectangle([x, ty, x + tw, ty + th], fill=BOX_COLOUR)
        draw.text((x + 3 - left, ty + 2 - top), label, fill=LABEL_COLOUR, font=font)
    return image


def unique_path(folder: Path, name: str, used: set) -> Path:
    """folder/name, numbered (a-2.jpg, ...) when two inputs would be written to the same name."""
    path, n = folder / name, 1
    while path in used:
        n += 1
        path = folder / f"{Path(name).with_suffix('')}-{n}{Path(name).suffix}"
    used.add(path)
    return path


def annotate(photos, found: list[dict], folder, fail) -> int:
    """--annotate: each photo with its faces' boxes and labels drawn; returns the number written."""
    from PIL import Image, ImageOps
    folder, used, written = Path(folder), set(), 0
    for photo in photos:
        faces = found[photo.first:photo.first + len(photo.boxes)]
        labels = [f"{r['emotion']} {r['confidence']:.0%}" for r in faces]
        out = unique_path(folder, photo.name, used)
        tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}{out.suffix}")
        try:
            with Image.open(photo.path) as im:
                image = ImageOps.exif_transpose(im).convert("RGB")
            out.parent.mkdir(parents=True, exist_ok=True)
            draw_faces(image, photo.boxes, labels).save(tmp)
            os.replace(tmp, out)
            written += 1
        except (OSError, ValueError, KeyError) as e:  # KeyError: a format PIL reads but cannot write
            tmp.unlink(missing_ok=True)
            if is_write_fault(e) and not isinstance(e, FileNotFoundError):  # a full disk stops it: one line
                raise
            fail(out, f"annotated photo not written ({' '.join(str(e).split())})")
    return written
