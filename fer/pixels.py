"""Fast parsing of FER-2013 pixel strings ("70 80 82 ...", 2304 ints per row).

The notebook way, `np.array(row.split())` per row, spends its time creating 2304 Python
strings per image. Here each row goes through NumPy's C text parser (`np.fromstring` with a
separator), after a C-speed check that the row holds only digits and blanks. Only when a row
fails does the slow, exact check run, to say what is wrong with it.
"""
import warnings

import numpy as np

from fer.constants import PIXELS_PER_IMAGE

_ALLOWED = b"0123456789 \t"


class PixelError(ValueError):
    """A bad pixel string; `row` is its index within the rows given."""

    def __init__(self, row: int, message: str):
        super().__init__(message)
        self.row = row


def explain_bad_row(row: bytes) -> str:
    """Say exactly what is wrong with one pixel string (the slow path, errors only)."""
    tokens = row.split()
    for i, tok in enumerate(tokens, 1):
        if not tok.isdigit():
            return f"non-numeric pixel {tok.decode(errors='replace')!r} (pixel {i})"
        if int(tok) > 255:
            return f"pixel value {int(tok)} out of range 0-255 (pixel {i})"
    if len(tokens) != PIXELS_PER_IMAGE:
        return f"pixel count {len(tokens)}, expected {PIXELS_PER_IMAGE}"
    return "unparseable pixel string"


def parse_pixel_rows(rows: list[bytes]) -> np.ndarray:
    """Parse byte strings of space-separated ints into a (len(rows), 2304) uint8 array."""
    out = np.empty((len(rows), PIXELS_PER_IMAGE), dtype=np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # numpy warns on trailing junk
        for i, row in enumerate(rows):
            if row.translate(None, _ALLOWED):
                raise PixelError(i, explain_bad_row(row))
            try:
                values = np.fromstring(row, dtype=np.int32, sep=" ")
            except (ValueError, DeprecationWarning):
                raise PixelError(i, explain_bad_row(row)) from None
            if values.size != PIXELS_PER_IMAGE:
                raise PixelError(i, explain_bad_row(row))
            out[i] = values
    over = ((out < 0) | (out > 255)).any(axis=1)
    if over.any():
        i = int(np.argmax(over))
        raise PixelError(i, explain_bad_row(rows[i]))
    return out.astype(np.uint8)
