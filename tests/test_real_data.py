"""Prepare the real FER-2013 in ../shared/data and check the official counts and the audit."""
import numpy as np
import pytest

from conftest import REAL_CSV, REAL_ZIP, needs_real_data
from fer.audit import run_audit
from fer.dataset import Dataset
from fer.prepare import prepare

pytestmark = [needs_real_data(), pytest.mark.real_data]

OFFICIAL = {  # angry, disgust, fear, happy, sad, surprise, neutral
    "train": [3995, 436, 4097, 7215, 4830, 3171, 4965],
    "val": [467, 56, 496, 895, 653, 415, 607],
    "test": [491, 55, 528, 879, 594, 416, 626],
}


@pytest.fixture(scope="module")
def from_zip(tmp_path_factory):
    return Dataset.open(prepare(str(REAL_ZIP), tmp_path_factory.mktemp("zip") / "fer"))


def test_csv_official_counts_per_class_and_split(tmp_path):
    ds = Dataset.open(prepare(str(REAL_CSV), tmp_path / "fer"))
    for split, counts in OFFICIAL.items():
        assert ds.counts(split).tolist() == counts


def test_zip_official_counts_and_audit(from_zip):
    for split, counts in OFFICIAL.items():
        assert ds_counts(from_zip, split) == counts
    s = run_audit(from_zip.path)
    assert (s["duplicate_groups"], s["cross_split_groups"], s["conflicting_label_groups"], s["blank_images"]) \
        == (1516, 557, 57, 12)


def ds_counts(ds, split):
    return ds.counts(split).tolist()


def test_zip_images_are_48x48_uint8_with_plausible_pixels(from_zip):
    x, _ = from_zip.split("test")
    assert x.shape == (3589, 48, 48, 1) and x.dtype == np.uint8
    assert 100 < float(np.asarray(x).mean()) < 160
