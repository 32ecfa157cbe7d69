import numpy as np
import pytest

from conftest import write_csv
from fer.dataset import Dataset
from fer.errors import UserError
from fer.prepare import main


@pytest.fixture
def prepared(workdir):
    assert main([str(write_csv(workdir / "f.csv")), "--out", "out"]) == 0
    return workdir / "out"


def test_opens_memory_mapped_with_class_names(prepared):
    ds = Dataset.open(prepared)
    x, y = ds.split("val")
    assert isinstance(x, np.memmap) and x.shape == (14, 48, 48, 1)
    assert ds.class_names[1] == "disgust" and ds.counts("test").sum() == 14 and not ds.is_demo


def test_truncated_file_is_refused_with_rebuild_command(prepared):
    f = prepared / "x_train.npy"
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(UserError) as err:
        Dataset.open(prepared)
    msg = str(err.value)
    assert "x_train.npy" in msg and "python -m fer.prepare" in msg and "f.csv" in msg


def test_altered_byte_is_refused(prepared):
    f = prepared / "y_test.npy"
    data = bytearray(f.read_bytes())
    data[-1] = (data[-1] + 1) % 7
    f.write_bytes(bytes(data))
    with pytest.raises(UserError, match="y_test.npy: missing, truncated or altered"):
        Dataset.open(prepared)


def test_missing_folder_says_how_to_prepare(workdir):
    with pytest.raises(UserError, match="prepare the data first"):
        Dataset.open(workdir / "nothing")
