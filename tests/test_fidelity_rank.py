"""bench/fidelity_rank.py on the tiny demo data: every fidelity scored per configuration, recorded as
each ends, resumed on a second run, and the cheapest fidelity that ranks chosen."""
import importlib.util
import json
import math
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "fidelity_rank.py"
spec = importlib.util.spec_from_file_location("fidelity_rank", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_each_configuration_is_recorded_and_a_rerun_resumes(tiny_demo, tmp_path, capsys, monkeypatch):
    argv = ["--data", str(tiny_demo), "--space", "baseline", "--configs", "3", "--long-minutes", "0.05",
            "--max-epochs", "2", "--out", str(tmp_path)]
    assert bench.main(argv) == 0
    rows = json.loads((tmp_path / "configs.json").read_text())
    assert [r["name"] for r in rows] == ["default", "random-1", "random-2"]  # baseline ships no portfolio
    assert all(set(r["scores"]) == set(bench.COST) and 1 <= r["long_epochs"] <= 2 for r in rows)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("fidelity=") and last.endswith("configs=3")
    monkeypatch.setattr(bench, "train", lambda *a, **k: pytest.fail("a recorded configuration trained again"))
    assert bench.main(argv) == 0


def test_the_cheapest_fidelity_that_ranks_is_chosen():
    rows = [{"long_val_accuracy": v, "scores": {f: v * (1 if f != "epochs1" else -1) for f in bench.COST}}
            for v in (0.3, 0.5, 0.4, 0.6)]
    rhos = bench.spearman(rows)
    assert rhos["epochs1"] == pytest.approx(-1.0) and rhos["subset4"] == pytest.approx(1.0)
    assert bench.choice(rhos, 0.7) == ("subset4", pytest.approx(1.0))  # as cheap as epochs1, which ranks backwards
    assert bench.choice({f: (0.5 if f == "epochs3" else 0.1) for f in bench.COST}, 0.7)[0] == "epochs3"
    assert bench.extrapolate([0.2, 0.3, 0.35], 1) == pytest.approx(0.2, abs=0.02)
    assert math.isnan(bench.spearman(rows[:2])["epochs1"])
