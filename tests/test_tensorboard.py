"""Every trial logs to tuner_runs/<project>/tensorboard/ (curves per epoch, keras-tuner's HParams)."""
import keras
import pytest

from conftest import search_args
from search import leaderboard
from search.run import main


def tags_in(folder) -> set[str]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    tags = set()
    for events in folder.rglob("events.out.tfevents.*"):
        acc = EventAccumulator(str(events.parent))
        acc.Reload()
        tags |= set(acc.Tags().get("tensors", [])) | set(acc.Tags().get("scalars", []))
    return tags


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorBoard logs are written through TensorFlow")
def test_each_trial_writes_tensorboard_curves_and_hparams(workdir, tiny_demo):
    assert main(search_args(tiny_demo, "tb", "--space", "baseline", "--tuner", "random", "--max-trials", 2,
                            "--max-epochs", 2)) == 0
    project = workdir / "tuner_runs" / "tb"
    for row in leaderboard.read_csv(project):
        trial_logs = project / "tensorboard" / row["trial_id"]
        assert "epoch_loss" in tags_in(trial_logs / "execution0" / "train")
        assert {"epoch_loss", "epoch_accuracy", "epoch_macro_f1"} <= tags_in(trial_logs / "execution0" / "validation")
    hparams = [p for p in (project / "tensorboard").rglob("events.out.tfevents.*")
               if b"hparams" in p.read_bytes() and b"learning_rate" in p.read_bytes()]
    assert len(hparams) >= 2  # keras-tuner's HParams summary, one per trial


def test_no_tensorboard_writes_no_logs(workdir, tiny_demo):
    assert main(search_args(tiny_demo, "quiet", "--space", "baseline", "--tuner", "random", "--max-trials", 1,
                            "--max-epochs", 1, "--no-tensorboard")) == 0
    assert not (workdir / "tuner_runs" / "quiet" / "tensorboard").exists()
