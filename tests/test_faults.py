"""Faults a user meets: a second process on a project, a full disk, a damaged record, a copied run
folder, a chief's port open to the network. Each is one line and exit status 2 (1 where some
inputs were still used), with nothing lost or overwritten and the project resumable.

The full disk is a patched writer raising OSError(ENOSPC) (mounting a small file system needs
privileges a test may not have); one test also runs the real thing in a private mount namespace
when `unshare` allows it. Two tiny searches (one stopped by the disk, then resumed twice) and one
report are shared by the module's tests.
"""
import contextlib
import errno
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from concurrent import futures
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import pytest

from fer import cache
from fer.errors import UserError
from fer.write_faults import fault_error, fault_line, first_write_fault
from search import run as run_cli
from search import safe_writes
from search.config import RunConfig
from search.distributed import auth
from search.lock import LOCK_FILE, ProjectLock, ProjectLocked, empty_project_folder
from search.project_files import LOST, check_before_resume
from search.report import cli as report_cli
from tests.conftest import SMALL_CNN, search_args

ROOT = Path(__file__).resolve().parents[1]
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def temporary_files(folder: Path) -> list[Path]:
    return [p for p in Path(folder).rglob("*") if ".tmp-" in p.name or ".old-" in p.name]


class FullDisk:
    """`open` for fer.cache's atomic writers: once a path matching `trigger` is written, the disk is full
    for every file written after it (as a real full disk would be)."""

    def __init__(self, trigger):
        self.trigger, self.full = trigger, False

    def __call__(self, path, mode="r", *args, **kwargs):
        self.full = self.full or self.trigger(str(path))
        if self.full and "w" in mode:
            return FailingFile(path)
        return open(path, mode, *args, **kwargs)


class FailingFile(io.FileIO):
    def __init__(self, path):
        super().__init__(path, "w")  # the temporary file is begun, as on a real disk

    def write(self, data):
        raise OSError(ENOSPC.errno, ENOSPC.strerror)


# --- one search per project -------------------------------------------------------------------


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_held_lock_names_its_holder_and_a_stale_one_is_taken_over(tmp_path):
    folder = tmp_path / "p"
    first = ProjectLock(folder, "search.run").acquire()
    with pytest.raises(ProjectLocked, match=rf"{folder} is in use by search.run \(pid {os.getpid()} on "
                                            rf"{socket.gethostname()}, started .*\); wait for it to end"):
        ProjectLock(folder, "search.report").acquire()
    first.release()
    assert not folder.exists()  # the lock made the folder and nothing else was written: gone with it

    folder.mkdir()
    pid = dead_pid()
    (folder / LOCK_FILE).write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "started": 0,
                                                "command": "search.run"}))
    notes = []
    with ProjectLock(folder, "search.run", note=notes.append):
        assert json.loads((folder / LOCK_FILE).read_text())["pid"] == os.getpid()
    assert len(notes) == 1 and "took over the stale lock of search.run (pid" in notes[0] and str(pid) in notes[0]
    assert not (folder / LOCK_FILE).exists() and folder.is_dir()  # the folder was there before: it stays

    (folder / LOCK_FILE).write_text(json.dumps({"pid": 1, "host": "elsewhere", "started": 0, "command": "search.run"}))
    with pytest.raises(ProjectLocked, match=r"locked by search.run \(pid 1 on elsewhere.*delete .*\.lock"):
        ProjectLock(folder, "search.run").acquire()


def test_overwrite_empties_the_folder_but_keeps_its_lock(tmp_path):
    folder = tmp_path / "p"
    (folder / "trial_0").mkdir(parents=True)
    (folder / "oracle.json").write_text("{}")
    with ProjectLock(folder, "search.run"):
        empty_project_folder(folder)
        assert [p.name for p in folder.iterdir()] == [LOCK_FILE]


HOLDER = textwrap.dedent("""
    import sys, time
    from search.lock import ProjectLock
    ProjectLock(sys.argv[1], "search.run").acquire()
    print("held", flush=True)
    time.sleep(120)
""")


def test_a_second_search_or_report_on_a_locked_project_is_refused_before_anything_is_touched(workdir, tiny_demo,
                                                                                           capsys):
    project = workdir / "tuner_runs" / "busy"
    project.mkdir(parents=True)
    (project / "config.json").write_text(RunConfig(space="baseline", tuner="random", project="busy").to_json())
    (project / "oracle.json").write_text("{}")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(project)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "held"
        before = {p.name: p.read_bytes() for p in project.iterdir()}
        capsys.readouterr()
        argv = search_args(tiny_demo, "busy", "--space", "baseline", "--tuner", "random", "--max-trials", 1)
        for command in (argv + ["--overwrite"], argv + ["--resume"]):
            assert run_cli.main(command) == 2
            line = one_line(capsys.readouterr().err)
            assert f"{project.relative_to(workdir)} is in use by search.run (pid {holder.pid} " in line
            assert f"kill {holder.pid}" in line
        assert report_cli.main(["--run", "tuner_runs/busy", "--plain"]) == 2
        assert f"(pid {holder.pid} " in one_line(capsys.readouterr().err)
        assert {p.name: p.read_bytes() for p in project.iterdir()} == before  # nothing deleted or written
        assert not (workdir / "reports").exists() and not (workdir / "models").exists()
        # a distributed worker takes no lock: it is refused only for want of a chief
        assert run_cli.main(["--role", "worker", "--chief", f"127.0.0.1:{free_tcp_port()}", "--connect-timeout", "1",
                             "--project", "busy"]) == 2
        assert "cannot reach the chief" in one_line(capsys.readouterr().err)
    finally:
        holder.kill()
        holder.wait()
    notes = []
    with ProjectLock(project, "search.run", note=notes.append):  # killed: the lock is stale now
        pass
    assert "took over the stale lock" in notes[0] and "no longer runs" in notes[0]


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the disk is full -----------------------------------------------------------------------


def test_an_atomic_write_on_a_full_disk_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    path = tmp_path / "budget.json"
    path.write_text("old")
    monkeypatch.setattr(cache, "open", FullDisk(lambda p: True), raising=False)
    with pytest.raises(OSError) as caught:
        cache.atomic_write_text(path, "new")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(path)
    assert path.read_text() == "old" and sorted(tmp_path.iterdir()) == [path]
    assert fault_line(caught.value, tmp_path, "run it again") == \
        f"{path}: cannot write (No space left on device); free space, then run it again"


def test_the_line_names_the_first_failed_write_and_the_file_a_temporary_one_stood_for():
    try:
        try:
            raise safe_writes.SearchWriteFault(OSError(errno.ENOSPC, "No space left on device"), "p/trial_1/c.weights.h5")
        except safe_writes.SearchWriteFault:
            raise OSError(errno.ENOSPC, "No space left on device", "p/.budget.json.tmp-12")  # while unwinding
    except OSError as e:
        assert first_write_fault(e).path == "p/trial_1/c.weights.h5"
        assert str(fault_error(e, "p", "resume")).startswith("p/trial_1/c.weights.h5: cannot write")
    assert fault_line(OSError(errno.EROFS, "Read-only file system", "p/.budget.json.tmp-12"), "p", "again") == \
        "p/budget.json: cannot write (Read-only file system); make it writable or write elsewhere, then again"
    with pytest.raises(ValueError):  # anything else is not a disk fault and goes on as it was
        fault_error(ValueError("a bug"), "p", "again")


def small_model(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 8)), np.ones((4, 4)), verbose=0)  # the optimizer's slots exist, as in a checkpoint
    return model


def test_weights_are_written_whole_through_python_or_not_at_all(tmp_path, monkeypatch):
    safe_writes.install()
    model, other = small_model(0), small_model(1)
    model.save_weights(tmp_path / "w.weights.h5")  # HDF5 in memory, then one atomic write
    other.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(model.weights, other.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    monkeypatch.setattr(cache, "open", FullDisk(lambda p: True), raising=False)
    with pytest.raises(safe_writes.SearchWriteFault) as caught:
        model.save_weights(tmp_path / "x.weights.h5")
    assert isinstance(caught.value, kt.errors.FatalError)  # keras-tuner re-raises it: the search stops there
    assert caught.value.path == str(tmp_path / "x.weights.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.weights.h5"]


REAL_FULL_DISK = textwrap.dedent("""
    import sys
    from search.startup import start_search_process
    start_search_process()
    import keras
    from fer.write_faults import fault_line
    model = keras.Sequential([keras.Input((1000,)), keras.layers.Dense(1000)])  # 4 MB of weights
    try:
        model.save_weights(sys.argv[1] + "/w.weights.h5")
    except Exception as e:
        print(fault_line(e, sys.argv[1], "again"))
""")


def unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.mark.skipif(not unshare_works(), reason="no user namespaces here to mount a small file system in")
def test_a_real_full_disk_is_one_line_not_a_segmentation_fault(tmp_path):
    """Keras's own save_weights leaves h5py's file half open on ENOSPC, and the process dies at exit
    in HDF5 (exit status 139); search/safe_writes.py writes through Python instead."""
    small = tmp_path / "small"
    small.mkdir()
    script = f"mount -t tmpfs -o size=1m tmpfs {small} && {sys.executable} -c '{REAL_FULL_DISK}' {small}"
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"{small}/w.weights.h5: cannot write (No space left on device); free space, then again"


def test_prepare_on_a_full_disk_leaves_no_folder(workdir, monkeypatch, capsys):
    from fer import prepare
    from tests.conftest import write_csv
    source = write_csv(workdir / "faces.csv")

    def no_room(path, arr):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    monkeypatch.setattr(cache.np, "save", no_room)
    assert prepare.main([str(source), "--out", str(workdir / "out")]) == 2
    line = one_line(capsys.readouterr().err)
    assert line == (f"python -m fer.prepare: error: {workdir / 'out' / 'x_train.npy'}: cannot write (No space left "
                    "on device); free space, then prepare it again")
    assert sorted(p.name for p in workdir.iterdir()) == ["faces.csv"]  # no output, no temporary folder


class SixTrials:
    def planned_trials(self):
        return 6


def test_free_space_short_of_the_checkpoints_is_said_before_the_search(tmp_path, monkeypatch):
    from search import free_space
    config = RunConfig(space="baseline", runs_dir=str(tmp_path))
    config.resolved["checkpoint_bytes"] = free_space.checkpoint_bytes(config)
    model_bytes = 4 * 839047  # the baseline's default model, float32
    assert config.resolved["checkpoint_bytes"] > 2 * model_bytes  # with Adam's two slots per weight
    monkeypatch.setattr(free_space, "free_bytes", lambda folder: 12 * free_space.MB)
    (line,) = free_space.disk_space_lines(config, SixTrials())
    each = config.resolved["checkpoint_bytes"] / free_space.MB
    assert line.startswith(f"warning: {config.project_dir}: 12 MB free, and 6 more trial checkpoints need about "
                           f"{7 * each:.0f} MB ({each:.1f} MB each")
    monkeypatch.setattr(free_space, "free_bytes", lambda folder: 10 << 30)
    assert free_space.disk_space_lines(config, SixTrials()) == []


# --- a search stopped by the disk, resumed, a record damaged, a report of a copy ----------------


@contextlib.contextmanager
def captured_stderr():
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        yield buffer


@pytest.fixture(scope="module")
def stopped_and_resumed(tmp_path_factory, tiny_demo):
    """A 3-trial search whose disk fills at trial 1's checkpoint, then resumed; what each run said."""
    root = tmp_path_factory.mktemp("faults")
    args = search_args(tiny_demo, "full", "--space", "cnn", "--tuner", "random", "--max-trials", 3,
                       "--max-epochs", 1, *SMALL_CNN)
    said = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setattr(sys, "argv", ["search.run", *args])
        disk = FullDisk(lambda p: "trial_1" in p and ".weights.h5" in p)  # its temporary name
        mp.setattr(cache, "open", disk, raising=False)
        with captured_stderr() as err:
            said["status"] = run_cli.main(args)
        said["err"] = err.getvalue()
        said["oracle"] = json.loads((root / "tuner_runs" / "full" / "oracle.json").read_text())
        said["temporary"] = temporary_files(root / "tuner_runs" / "full")
        mp.undo()
        mp.chdir(root)
        with captured_stderr() as err:
            said["resumed"] = run_cli.main(args + ["--resume"])
        said["resumed_err"] = err.getvalue()
    return root, args, said


def rows_of(project: Path) -> dict:
    from search import leaderboard
    return {r["trial_id"]: r for r in leaderboard.read_csv(project)}


def test_a_full_disk_stops_the_search_in_one_line_and_resume_finishes_it(stopped_and_resumed):
    root, _, said = stopped_and_resumed
    assert said["status"] == 2
    line = one_line(said["err"])
    assert line.startswith("python -m search.run: error: tuner_runs/full/trial_1/checkpoint.weights.h5: cannot write "
                           "(No space left on device); free space, then continue with: python -m search.run --data ")
    assert line.endswith(" --resume")
    assert said["temporary"] == []  # no half-written file left, although the later writes failed too
    assert list(said["oracle"]["ongoing_trials"].values()) == ["1"]  # trial 1 was running: --resume runs it again
    assert said["resumed"] == 0
    rows = rows_of(root / "tuner_runs" / "full")
    assert sorted(rows) == ["0", "1", "2"] and all(r["status"] == "COMPLETED" for r in rows.values())
    assert temporary_files(root / "tuner_runs" / "full") == []


def test_a_damaged_trial_record_runs_again_from_its_hyperparameters_on_resume(stopped_and_resumed):
    root, args, _ = stopped_and_resumed
    project = root / "tuner_runs" / "again"
    shutil.copytree(root / "tuner_runs" / "full", project)
    record = project / "trial_2" / "trial.json"
    values = json.loads(record.read_text())["hyperparameters"]["values"]
    record.write_text(record.read_text()[:200])  # truncated
    ended = {t: json.loads((project / f"trial_{t}" / "fer_trial.json").read_text())["ended"] for t in "02"}
    again = [a if a != "full" else "again" for a in args]
    with pytest.MonkeyPatch.context() as mp, captured_stderr() as err:
        mp.chdir(root)
        assert run_cli.main(again + ["--resume"]) == 0
    notes = [line for line in err.getvalue().splitlines() if "trial_2/trial.json" in line]
    assert len(notes) == 1 and notes[0].startswith("note: tuner_runs/again/trial_2/trial.json could not be read (")
    assert "runs again with its hyperparameters from fer_trial.json" in notes[0]
    assert rows_of(project)["2"]["status"] == "COMPLETED"
    now = {t: json.loads((project / f"trial_{t}" / "fer_trial.json").read_text())["ended"] for t in "02"}
    assert now["2"] > ended["2"] and now["0"] == ended["0"]  # trial 2 ran again, the others were kept
    assert json.loads(record.read_text())["hyperparameters"]["values"] == values
    assert (project / "trial_2" / "trial.json.unreadable").is_file()  # the damaged file kept


def test_a_record_with_no_copy_is_said_lost_and_an_unreadable_oracle_refuses_resume(stopped_and_resumed, capsys):
    root, args, _ = stopped_and_resumed
    project = root / "tuner_runs" / "lost"
    shutil.copytree(root / "tuner_runs" / "full", project)
    (project / "trial_1" / "fer_trial.json").unlink()
    board = (project / "leaderboard.csv").read_text().splitlines()
    (project / "leaderboard.csv").write_text("\n".join(r for r in board if not r.startswith("1,")) + "\n")
    (project / "trial_1" / "trial.json").write_text('{"trial_id": "1", "hyperpa')
    config = RunConfig.load(project)
    config.runs_dir, config.project = str(project.parent), "lost"
    check_before_resume(config)
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"warning: {project}/trial_1/trial.json could not be read (") and "it is lost" in line
    trial = json.loads((project / "trial_1" / "trial.json").read_text())
    assert trial["status"] == "FAILED" and trial["message"] == LOST

    oracle = project / "oracle.json"
    oracle.write_text(oracle.read_text()[:100])
    kept = sorted(str(p.relative_to(project)) for p in project.rglob("*"))
    lost_args = [a if a != "full" else "lost" for a in args]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        assert run_cli.main(lost_args + ["--resume"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "tuner_runs/lost/oracle.json: cannot be read (" in line and "cannot be resumed" in line
    assert "python -m search.report --run tuner_runs/lost" in line and "--overwrite" in line
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*")) == kept  # nothing touched


def test_a_report_of_a_copied_folder_is_its_own_and_keeps_the_one_before(stopped_and_resumed, capsys):
    from fer.model_files import best_model_path
    root, _, _ = stopped_and_resumed
    copy = root / "tuner_runs" / "B"
    shutil.copytree(root / "tuner_runs" / "full", copy)  # cp -r: its config.json still says project "full"
    (copy / "trial_0" / "trial.json").write_text("{")  # and one record damaged
    for folder, name in ((root / "reports" / "full", "marker"), (root / "reports" / "B", "metrics.json"),
                         (root / "models" / "B", "old.keras")):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps({"models": [{"paths": {"keras": "models/B/old.keras"}}]}))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        status = report_cli.main(["--run", "tuner_runs/B", "--top", "1", "--epochs", "1", "--plain"])
        best = best_model_path("tuner_runs/B")
    out = capsys.readouterr().err
    assert status == 1  # done, but a trial it could not read was left out
    assert "note: tuner_runs/B was searched as project 'full'; its report went to reports/B/ and models/B/" in out
    assert "warning: tuner_runs/B: could not read trial_0/trial.json (" in out and "left out of the report" in out
    meta = json.loads((root / "reports" / "B" / "metrics.json").read_text())
    assert meta["project"] == "B" and meta["run"] == "tuner_runs/B"
    assert meta["models"][0]["trial_id"] != "0" and best.parent == Path("models/B")
    assert sorted(p.name for p in (root / "reports").iterdir() if p.name.startswith("B.")) == \
        [p.name for p in (root / "models").iterdir() if p.name.startswith("B.")]  # the previous one, moved aside
    (aside,) = [p for p in (root / "reports").iterdir() if p.name.startswith("B.")]
    assert json.loads((aside / "metrics.json").read_text())["models"][0]["paths"]["keras"] == \
        f"models/{aside.name}/old.keras"  # and still pointing at its winners
    assert (root / "models" / aside.name / "old.keras").is_file() and "the previous report is kept in" in out
    assert sorted(p.name for p in (root / "reports" / "full").iterdir()) == ["marker"]  # the original's untouched
    assert not (root / "models" / "full").exists()


def test_a_failed_report_puts_the_previous_one_back(tmp_path):
    from search.report.outputs import PreviousOutputs
    report, models = tmp_path / "reports" / "B", tmp_path / "models" / "B"
    for folder in (report, models):
        folder.mkdir(parents=True)
        (folder / "old").write_text("previous")
    previous = PreviousOutputs(report, models, keep=True)
    previous.set_aside()
    assert not report.exists() and not models.exists()
    models.mkdir()
    (models / "rank1-trial0.keras").write_text("partial")  # the new report died while retraining
    previous.put_back()
    assert [p.name for p in report.iterdir()] == ["old"] and [p.name for p in models.iterdir()] == ["old"]
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["B"]


# --- the chief's port -------------------------------------------------------------------------


class SpaceOnlyOracle:
    def get_space(self):
        hp = kt.HyperParameters()
        hp.Int("units", 1, 4)
        return hp


@pytest.fixture
def token_server():
    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1), interceptors=[auth.TokenInterceptor("s3cret")])
    protos.get_service_grpc().add_OracleServicer_to_server(OracleServicer(SpaceOnlyOracle()), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port
    server.stop(grace=0)


def test_the_chief_refuses_calls_without_its_token(token_server, monkeypatch, capsys):
    from keras_tuner.src.distribute import oracle_client

    from search.distributed.chief import ENV_ID, ENV_IP, ENV_PORT
    auth.check_worker_token("127.0.0.1", token_server, {auth.TOKEN_ENV: "s3cret"}, timeout=10)
    with pytest.raises(UserError, match=f"refused this worker \\({auth.TOKEN_ENV} is not set\\)"):
        auth.check_worker_token("127.0.0.1", token_server, {}, timeout=10)
    with pytest.raises(UserError, match="its token differs from the chief's"):
        auth.check_worker_token("127.0.0.1", token_server, {auth.TOKEN_ENV: "guess"}, timeout=10)
    # keras-tuner's own client, as a worker's tuner makes it, carries the token on every call
    monkeypatch.setattr(oracle_client.OracleClient, "__init__", oracle_client.OracleClient.__init__)
    for name, value in ((auth.TOKEN_ENV, "s3cret"), (ENV_IP, "127.0.0.1"), (ENV_PORT, str(token_server)),
                        (ENV_ID, "w")):
        monkeypatch.setenv(name, value)
    auth.install_worker_token("127.0.0.1", token_server, os.environ)
    assert oracle_client.OracleClient(SpaceOnlyOracle()).get_space().values == {"units": 1}
    # a worker without it: one line, exit status 2
    monkeypatch.delenv(auth.TOKEN_ENV)
    capsys.readouterr()
    assert run_cli.main(["--role", "worker", "--chief", f"127.0.0.1:{token_server}", "--project", "p",
                         "--connect-timeout", "10"]) == 2
    assert "refused this worker (FER_SEARCH_TOKEN is not set)" in one_line(capsys.readouterr().err)


def test_a_chief_open_to_the_network_needs_a_token_or_trusted_network(workdir, monkeypatch, capsys):
    monkeypatch.setattr(auth, "_chief_token", None)
    monkeypatch.delenv(auth.TOKEN_ENV, raising=False)
    assert run_cli.main(["--role", "chief", "--listen", f"0.0.0.0:{free_tcp_port()}", "--project", "open"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "--listen 0.0.0.0: the chief would accept any caller on the network" in line
    assert auth.TOKEN_ENV in line and "--trusted-network" in line and "docs/distributed-security.md" in line
    assert not (workdir / "tuner_runs").exists()  # refused before anything was written
    assert auth.settle_chief_token("0.0.0.0", local_only=False, trusted=True, environ={}) is None
    assert "accepts any caller" in capsys.readouterr().err
    assert auth.settle_chief_token("localhost", local_only=False, trusted=False, environ={}) is None
    assert auth.server_interceptors() == []  # loopback: open, as before
    assert auth.settle_chief_token("0.0.0.0", False, False, {auth.TOKEN_ENV: "s3cret"}) == "s3cret"
    token = auth.settle_chief_token("127.0.0.1", local_only=True, trusted=False, environ={})
    assert len(token) >= 24 and auth.worker_env() == {auth.TOKEN_ENV: token}  # local workers get a fresh one
    assert isinstance(auth.server_interceptors()[0], auth.TokenInterceptor)


def test_a_local_worker_stopped_by_a_full_disk_stops_the_chief_in_its_words(tmp_path):
    from search.distributed.chief import Chief
    (tmp_path / "p" / "workers").mkdir(parents=True)
    (tmp_path / "p" / "workers" / "tuner0.log").write_text(
        "trial 3 epoch 1/2 ...\npython -m search.run: error: tuner_runs/p/trial_3/checkpoint.weights.h5: cannot write "
        "(No space left on device); free space, then continue the search with --resume\n")
    chief = Chief.__new__(Chief)
    chief.config = RunConfig(project="p", runs_dir=str(tmp_path))

    class Exited:
        def poll(self):
            return 2
    with pytest.raises(UserError, match=r"^worker tuner0 stopped: tuner_runs/p/trial_3/checkpoint.weights.h5: "
                                        r"cannot write \(No space left on device\); free space, then continue"):
        chief.tend({"proc": Exited(), "tuner_id": "tuner0"}, [])


def test_a_failed_first_report_leaves_no_partial_outputs(tmp_path):
    """With no earlier report to put back, what a failed report wrote goes; with one, it returns."""
    from search.report.outputs import PreviousOutputs
    fresh = PreviousOutputs(tmp_path / "reports" / "B", tmp_path / "models" / "B", keep=True)
    fresh.set_aside()
    (tmp_path / "models" / "B").mkdir(parents=True)
    (tmp_path / "models" / "B" / "rank1-trial0.h5").write_bytes(b"half")
    fresh.put_back()
    assert not (tmp_path / "models" / "B").exists() and not (tmp_path / "reports" / "B").exists()
    (tmp_path / "reports" / "C").mkdir(parents=True)
    (tmp_path / "reports" / "C" / "metrics.json").write_text("{}")
    earlier = PreviousOutputs(tmp_path / "reports" / "C", tmp_path / "models" / "C", keep=True)
    earlier.set_aside()
    (tmp_path / "models" / "C").mkdir(parents=True)
    earlier.put_back()
    assert (tmp_path / "reports" / "C" / "metrics.json").read_text() == "{}"
    assert not (tmp_path / "models" / "C").exists()
