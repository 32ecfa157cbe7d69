"""Shared fixtures: tiny FER-format sources written on the fly, and the real data if present."""
import contextlib
import gzip
import io
import os
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer.constants import CLASS_NAMES

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if os.environ.get("PYTEST_XDIST_WORKER"):  # one thread per test process (subprocesses inherit it)
    for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")

from search import tf_memory  # noqa: E402

tf_memory.prefer_system_allocator()  # what search.run and search.report do when they start, before TensorFlow allocates
if os.environ.get("PYTEST_XDIST_WORKER") and tf_memory.on_tensorflow():
    import tensorflow as tf  # before TensorFlow starts its thread pools

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


@contextlib.contextmanager
def functions_run(eagerly: bool):
    """Keras's train, test and predict functions traced into graphs (as users run them) or run
    eagerly, for what runs inside the block (TensorFlow only; the other backends are left alone)."""
    if not tf_memory.on_tensorflow():
        yield
        return
    import tensorflow as tf
    before = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(eagerly)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(before)


@pytest.fixture(autouse=True)
def tensorflow_function_mode(request):
    """Tests of the harness (searches, reports, budgets on a hundred tiny faces) run Keras's
    functions eagerly: tracing a trial's train, test and predict functions is most of its time
    (README: Tests), and what these tests check is not the tracing. Tests marked `graph_mode`,
    module-wide or one by one, trace them as a user's run does, and so do fixtures shared by a
    module (set up before this one: test_export's search and report) and the subprocess tests (the
    CLI's, the distributed workers'), so a fault that shows only in graph mode still fails the suite.
    The report tests' shared `reported` search and report run eagerly (in that fixture)."""
    with functions_run(eagerly=request.node.get_closest_marker("graph_mode") is None):
        yield


def uses_module_fixture(item) -> bool:
    """Whether the test takes a fixture built once per module, class or package (the definition
    that serves it: the last of its name's chain)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    chains = [info.name2fixturedefs[n] for n in item.fixturenames if n in info.name2fixturedefs]
    return any(chain and chain[-1].scope in ("module", "class", "package") for chain in chains)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """The tests that share the session's `reported` fixture (two searches and a report, the suite's
    dearest setup) run in one worker process, and so do a module's tests that share a module-scoped
    fixture, so it is built once (pyproject: --dist loadgroup); a module may set its own group
    (test_distributed.py). Every other test is scheduled on its own: long modules of independent
    tests (the per-space reports, the searches) kept whole on one worker left the other idle at the
    end of the run."""
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        module = getattr(getattr(item, "module", None), "__name__", item.nodeid.split("::")[0])
        if "reported" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("reported"))
        elif uses_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(module))


# A cnn small enough for tests of the harness (not of the space): 2 blocks of one 16-wide conv.
SMALL_CNN = ("--fix", "conv_blocks=2", "--fix", "filters=16", "--fix", "convs_per_block=1")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_CSV = SHARED_DATA / "fer2013_from_images.csv.gz"
REAL_ZIP = SHARED_DATA / "fer2013_images.zip"
SHARED_WEIGHTS = Path(__file__).resolve().parents[1].parent / "shared" / "weights"


def needs_real_data():
    return pytest.mark.skipif(not (REAL_CSV.is_file() and REAL_ZIP.is_file()),
                              reason=f"real FER-2013 not found at {SHARED_DATA} (see README: Real data)")


def face(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(48, 48), dtype=np.uint8)


def csv_text(rows, header="emotion,pixels,Usage") -> str:
    """rows: (label, pixels array or str, usage) tuples."""
    lines = [header]
    for label, pix, usage in rows:
        pix = pix if isinstance(pix, str) else " ".join(map(str, np.asarray(pix).ravel()))
        lines.append(f"{label},{pix},{usage}")
    return "\n".join(lines) + "\n"


def good_rows(per_class_split: int = 2):
    """A small valid dataset: every class in every official split."""
    rows, k = [], 0
    for usage in ("Training", "PublicTest", "PrivateTest"):
        for label in range(len(CLASS_NAMES)):
            for _ in range(per_class_split):
                rows.append((label, face(k), usage))
                k += 1
    return rows


def write_csv(path: Path, rows=None, header="emotion,pixels,Usage", compress: str = "") -> Path:
    text = csv_text(rows if rows is not None else good_rows(), header)
    if compress == "gz":
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(text.encode()))
    elif compress == "zip":
        path = path.with_suffix(".zip")
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("fer2013/fer2013.csv", text)
    else:
        path.write_text(text)
    return path


def image_bytes(arr: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def image_files(per_class: int = 2, prefixes: bool = True, size: int = 48):
    """{relative path: PNG bytes} in the Kaggle image-folder layout."""
    files, k = {}, 0
    plan = [("train", "Training"), ("test", "PublicTest"), ("test", "PrivateTest")]
    for top, usage in plan:
        for name in CLASS_NAMES:
            for _ in range(per_class):
                stem = f"{usage}_{k}" if prefixes else f"img_{k}"
                arr = np.random.default_rng(k).integers(0, 256, size=(size, size), dtype=np.uint8)
                files[f"{top}/{name}/{stem}.png"] = image_bytes(arr)
                k += 1
    return files


def write_folder(root: Path, files: dict) -> Path:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def write_zip(path: Path, files: dict, prefix: str = "") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for rel, data in files.items():
            zf.writestr(prefix + rel, data)
    return path


def write_tar(path: Path, files: dict) -> Path:
    """A tar of {member name: bytes}, in the given order; gzip'd when the name ends .gz or .tgz."""
    with tarfile.open(path, "w:gz" if path.name.endswith((".gz", ".tgz")) else "w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Run in an empty folder, so default outputs (data/, tuner_runs/ ...) land in tmp."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


TINY_DEMO = {"train": 112, "val": 56, "test": 56}


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory):
    """A prepared demo folder small enough for a search test to run in seconds."""
    from fer.prepare import prepare
    return prepare("demo", tmp_path_factory.mktemp("tiny") / "demo", seed=0, demo_sizes=TINY_DEMO)


def search_args(data, project, *extra):
    """search.run arguments for a tiny, fast search in the current folder."""
    return ["--data", str(data), "--project", project, "--precision", "float32", "--batch-size", "32",
            "--plain", *map(str, extra)]


@pytest.fixture(scope="session")
def reported(tmp_path_factory, tiny_demo):
    """Two tiny searches (cnn, baseline) and the cnn run's report with TTA; paths relative to root.
    Shared by the report tests (test_report.py, test_report_truth.py)."""
    from search import run as run_cli
    from search.report import cli as report_cli
    root = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp, functions_run(eagerly=True):  # traced in test_export's search and report
        mp.chdir(root)
        assert run_cli.main(search_args(tiny_demo, "cnn", "--space", "cnn", "--tuner", "random",
                                        "--max-trials", 4, "--max-epochs", 1, *SMALL_CNN)) == 0
        assert run_cli.main(search_args(tiny_demo, "base", "--space", "baseline", "--tuner", "random",
                                        "--max-trials", 2, "--max-epochs", 1)) == 0
        assert report_cli.main(["--run", "tuner_runs/cnn", "--top", "2", "--epochs", "2", "--tta", "--plain"]) == 0
    return root
