"""The live (rich) console draws progress and the top trials; plain mode prints lines."""
import io

from rich.console import Console

from search.console import LiveConsole, PlainConsole


def rows():
    base = {"status": "COMPLETED", "val_loss": 1.0, "epochs": 3, "seconds": 12.0, "reason": "", "learning_rate": 1e-3}
    return [
        {**base, "trial_id": "0", "objective": 0.41, "val_accuracy": 0.41, "val_macro_f1": 0.30},
        {**base, "trial_id": "1", "objective": 0.57, "val_accuracy": 0.57, "val_macro_f1": 0.44},
        {**base, "trial_id": "2", "status": "FAILED", "objective": None, "val_accuracy": None, "val_macro_f1": None,
         "reason": "FailedTrialError: loss became nan"},
    ]


def test_live_console_renders_progress_current_trial_and_ranked_table():
    buf = io.StringIO()
    live = LiveConsole(Console(file=buf, force_terminal=True, width=140, color_system=None))
    live.search_begin("cnn / hyperband", planned=9)
    live.trial_begin(4, 9, "3", ", bracket 1 round 0", {"learning_rate": 0.002}, epochs=5, steps=38)
    live.batch(10)
    live.epoch_end(2, 5, {"loss": 1.2, "val_accuracy": 0.5, "val_macro_f1": 0.4})
    live.trial_end(rows()[2], rows(), done=3, planned=9, direction="max", key_hps=["learning_rate"])
    live.console.print(live.render())
    live.stop()
    out = buf.getvalue()
    assert "trials done 3/9" in out and "trial 4/9 (id 3, bracket 1 round 0)" in out
    assert "2/5" in out and "val_macro_f1 0.4000" in out
    assert "trial 2 FAILED:" in out and "loss became nan" in out
    table = out[out.rindex("top 2 of 3 trials"):]  # the last frame drawn
    assert table.index("0.5700") < table.index("0.4100")  # best first
    starred = [line for line in table.splitlines() if "*" in line]
    assert len(starred) == 1 and "0.5700" in starred[0]


def test_plain_console_lines():
    buf = io.StringIO()
    plain = PlainConsole(buf)
    plain.search_begin("cnn / random", planned=3)
    plain.trial_begin(1, 3, "0", "", {"learning_rate": 0.001}, epochs=2, steps=5)
    plain.epoch_end(1, 2, {"loss": 1.5, "val_accuracy": 0.25})
    plain.trial_end(rows()[1], rows(), done=1, planned=3, direction="max", key_hps=["learning_rate"])
    plain.search_end(rows(), "max", ["learning_rate"], "tuner_runs/x/")
    lines = buf.getvalue().splitlines()
    assert lines[0] == "search: cnn / random; planned trials: 3"
    assert lines[1] == "trial 1/3 (id 0) epochs 2: learning_rate=0.00100"
    assert lines[2] == "  epoch 1/2 loss=1.5000 val_accuracy=0.2500"
    assert lines[3].startswith("trial 1 COMPLETED: objective=0.5700 (0m12s)")
    assert "final leaderboard" in buf.getvalue() and lines[-1] == "results: tuner_runs/x/"


def test_library_warnings_wait_below_the_live_view(capsys):
    import warnings
    buf = io.StringIO()
    live = LiveConsole(Console(file=buf, force_terminal=True, width=140, color_system=None))
    live.search_begin("cnn / hyperband", planned=2)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        for _ in range(3):
            warnings.warn("Skipping something noisy", UserWarning)
        assert capsys.readouterr().err == ""  # nothing over the view while it runs
    live.stop()
    err = capsys.readouterr().err
    assert err.count("UserWarning: Skipping something noisy") == 1  # once, after the view stopped
    assert "Skipping something noisy" not in buf.getvalue()
