"""bench/time_to_accuracy.py on the tiny demo data: rows in the promised format, one per recipe,
the fit through the training core, and a bad recipe as one line."""
import importlib.util
import json
import re
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "time_to_accuracy.py"
spec = importlib.util.spec_from_file_location("time_to_accuracy", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

ROW = re.compile(r"val_accuracy=(0|1)\.\d{4} test_accuracy=(0|1)\.\d{4} minutes=0\.5 epochs=1 recipe=(\S+)")


def test_compare_trains_both_recipes_and_ends_with_their_rows(tiny_demo, tmp_path, capsys, monkeypatch):
    from search import training
    fits = []
    real_fit = training.fit
    monkeypatch.setattr(training, "fit", lambda *a, **k: fits.append(k["budget"].seconds) or real_fit(*a, **k))
    out = tmp_path / "rows.json"
    assert bench.main(["--data", str(tiny_demo), "--minutes", "0.5", "--max-epochs", "1",
                       "--compare", "cpu-2h+ema", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("cpu flags: ")
    assert [ROW.fullmatch(line).group(3) for line in lines[-2:]] == ["cpu-2h", "cpu-2h+ema"]
    assert "add a row to bench/results/TEST_LOOKS.md" in lines[-3]
    assert fits == [30.0, 30.0]  # the core's fit, under a budget of the minutes given
    rows = json.loads(out.read_text())
    assert [r["pins"].get("weight_ema") for r in rows] == [None, 0.99]
    assert rows[0]["pins"]["lean_first_block"] is True and rows[0]["space"] == "cnn"
    assert all(len(r["history"]["val_accuracy"]) == 1 for r in rows)


def test_every_bench_recipe_resolves_and_fits_its_space():
    for name in bench.BENCH_RECIPES:
        recipe = bench.resolve(name)
        assert recipe.space == "cnn" and recipe.pins["crop_size"] == 44
    assert bench.resolve("cpu-fast").pins["patch_whitening"] == 2


@pytest.mark.parametrize("argv, words", [
    (["--recipe", "cpu-3h"], "--recipe cpu-3h: no such recipe"),
    (["--recipe", "quick"], "--recipe quick: takes its space from --space"),
    (["--minutes", "0"], "--minutes 0 --max-epochs 100 --epochs None: each must be positive"),
])
def test_a_bad_request_is_one_line(argv, words, capsys):
    assert bench.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{bench.PROG}: error: ") and words in err


def test_epochs_trains_exactly_that_many_without_a_budget(tiny_demo, capsys, monkeypatch):
    from search import training
    budgets = []
    real_fit = training.fit
    monkeypatch.setattr(training, "fit", lambda *a, **k: budgets.append(k["budget"]) or real_fit(*a, **k))
    assert bench.main(["--data", str(tiny_demo), "--epochs", "2", "--recipe", "cpu-2h+smoothing"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert budgets == [None] and " epochs=2 recipe=cpu-2h+smoothing" in last
