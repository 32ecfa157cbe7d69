import numpy as np
import pytest

from fer.pixels import PixelError, parse_pixel_rows


def row(values) -> bytes:
    return " ".join(map(str, values)).encode()


def test_parses_rows_exactly():
    rng = np.random.default_rng(0)
    want = rng.integers(0, 256, size=(5, 2304))
    got = parse_pixel_rows([row(r) for r in want])
    assert got.dtype == np.uint8 and got.shape == (5, 2304)
    np.testing.assert_array_equal(got, want)


def test_tabs_and_extra_blanks_are_fine():
    vals = list(range(256)) * 9
    got = parse_pixel_rows([("  " + "\t".join(map(str, vals)) + " ").encode()])
    np.testing.assert_array_equal(got[0], vals)


@pytest.mark.parametrize("bad, index, words", [
    (row([1] * 2303), 0, "pixel count 2303, expected 2304"),
    (row([1] * 2305), 0, "pixel count 2305"),
    (row([1] * 100 + ["x7"] + [1] * 2203), 0, "non-numeric pixel 'x7' (pixel 101)"),
    (row([1] * 10 + ["3.5"] + [1] * 2293), 0, "non-numeric pixel '3.5'"),
    (row([1] * 10 + [-3] + [1] * 2293), 0, "non-numeric pixel '-3'"),
    (row([1] * 2303 + [256]), 0, "pixel value 256 out of range 0-255 (pixel 2304)"),
    (row([70000] + [1] * 2303), 0, "pixel value 70000 out of range"),
])
def test_bad_rows_are_named(bad, index, words):
    good = row([0] * 2304)
    with pytest.raises(PixelError) as err:
        parse_pixel_rows([good, good, bad, good])
    assert err.value.row == 2
    assert words in str(err.value)
