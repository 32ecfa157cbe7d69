"""Reader for the Kaggle `fer2013.csv` (`emotion,pixels,Usage`): plain, .gz, or inside a zip or tar.

Rows are streamed and parsed in chunks, so peak memory is the output arrays plus one chunk,
whatever the file's size and wherever it is (an archive's member is streamed, not extracted).
Nothing here depends on row order or on anything our rebuilt copy adds: the original 301 MB
Kaggle file reads unchanged.
"""
import gzip
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from fer import archives
from fer.constants import IMAGE_SHAPE, NUM_CLASSES, USAGE_TO_SPLIT
from fer.errors import UserError
from fer.pixels import PixelError, parse_pixel_rows
from fer.raw import RawData

CHUNK_ROWS = 2048
REQUIRED = ("emotion", "pixels")


@contextmanager
def open_csv_stream(path: Path):
    """A binary stream of the CSV text, whether plain, gzip'd or the one CSV in a zip or tar."""
    if archives.archive_format(path):
        with archives.open_member(path, archives.csv_member(path)) as stream:
            yield stream
        return
    try:
        stream = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")
    except OSError as e:
        raise UserError(f"{path}: cannot open: {e}") from None
    with stream:
        yield stream


def _header(path: Path, line: bytes) -> dict[str, int]:
    names = [f.strip().strip('"').strip().lower() for f in line.decode("utf-8-sig", "replace").strip().split(",")]
    cols = {n: i for i, n in enumerate(names)}
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise UserError(f"{path}: header {names} is missing column(s) {', '.join(missing)} "
                        "(expected emotion,pixels,Usage)")
    return cols


def _label_and_usage(path: Path, row: int, fields: list[bytes], e_col: int, u_col: int | None) -> tuple:
    """A row's label (0-6) and its split from the Usage column (None without one), checked."""
    label = fields[e_col].strip().strip(b'"')
    if not label.isdigit() or int(label) >= NUM_CLASSES:
        raise UserError(f"{path}: row {row}: label {label.decode(errors='replace')!r} outside 0-{NUM_CLASSES - 1}")
    if u_col is None:
        return int(label), None
    usage = fields[u_col].strip().strip(b'"').decode(errors="replace")
    if usage not in USAGE_TO_SPLIT:
        raise UserError(f"{path}: row {row}: unknown Usage {usage!r} (expected one of {', '.join(USAGE_TO_SPLIT)})")
    return int(label), USAGE_TO_SPLIT[usage]


def read_csv(path: Path) -> RawData:
    labels, usages, chunks = [], [], []
    pending: list[bytes] = []
    pending_rows: list[int] = []

    def flush():
        try:
            chunks.append(parse_pixel_rows(pending))
        except PixelError as e:
            raise UserError(f"{path}: row {pending_rows[e.row]}: {e}") from None
        pending.clear()
        pending_rows.clear()

    with open_csv_stream(path) as stream:
        try:
            header = stream.readline()
            cols = _header(path, header)
            e_col, p_col, u_col = cols["emotion"], cols["pixels"], cols.get("usage")
            ncols = len(cols)
            row = 0
            for line in stream:
                line = line.rstrip(b"\r\n")
                if not line.strip():
                    continue
                row += 1
                fields = line.split(b",")
                if len(fields) != ncols:
                    raise UserError(f"{path}: row {row}: {len(fields)} fields, expected {ncols}")
                label, usage = _label_and_usage(path, row, fields, e_col, u_col)
                labels.append(label)
                if usage is not None:
                    usages.append(usage)
                pending.append(fields[p_col].strip(b'" '))
                pending_rows.append(row)
                if len(pending) >= CHUNK_ROWS:
                    flush()
        except (*archives.READ_ERRORS, UnicodeDecodeError) as e:
            raise UserError(f"{path}: cannot read: {e}") from None
        flush()
    if not labels:
        raise UserError(f"{path}: no data rows")
    x = np.concatenate(chunks).reshape((-1, *IMAGE_SHAPE))
    split = np.array(usages) if u_col is not None else None
    return RawData(x=x, y=np.array(labels, dtype=np.uint8), split=split, kind="csv")
