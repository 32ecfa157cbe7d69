"""bench/search_value.py on the tiny demo data: one row per arm in the promised format, each arm
recorded as it ends, a second run resuming instead of training again, another budget refused."""
import importlib.util
import json
import re
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "search_value.py"
spec = importlib.util.spec_from_file_location("search_value", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

ROW = re.compile(r"arm=(\w+) val_accuracy=[01]\.\d{4} val_macro_f1=[01]\.\d{4} test_accuracy=[01]\.\d{4} test_macro_f1=[01]\.\d{4} "
                 r"minutes=[\d.]+")


def test_the_search_arm_is_the_one_command_and_a_rerun_resumes(tiny_demo, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["--data", str(tiny_demo), "--budget", "40s", "--space", "baseline", "--arms", "search", "--out", "sv"]
    assert bench.main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert ROW.fullmatch(lines[-1]).group(1) == "search"
    rows = json.loads((tmp_path / "sv/arms.json").read_text())
    assert [r["arm"] for r in rows] == ["search"] and "--time-budget 40s --report" in rows[0]["command"]
    assert (tmp_path / "sv/reports/search_value_baseline_40s/metrics.json").is_file()
    monkeypatch.setattr(bench, "run_arm", lambda *a: pytest.fail("a recorded arm ran again"))
    assert bench.main(argv) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == lines[-1]
    assert bench.main([*argv[:2], "--budget", "2h", *argv[4:]]) == 2  # another budget: another --out
    assert "holds arms of --budget 40s, not 2h" in capsys.readouterr().err


def test_a_fixed_point_arm_trains_for_the_budget(tiny_demo, tmp_path, capsys):
    argv = ["--data", str(tiny_demo), "--budget", "5s", "--space", "baseline", "--arms", "default",
            "--out", str(tmp_path)]
    assert bench.main(argv) == 0
    assert ROW.fullmatch(capsys.readouterr().out.strip().splitlines()[-1]).group(1) == "default"
    row = json.loads((tmp_path / "arms.json").read_text())[0]
    assert row["pins"] == {} and row["epochs"] >= 1 and row["budget"] == "5s"


def test_the_portfolio_arm_takes_the_spaces_first_point():
    recipe = bench.fixed_point("portfolio", "cnn")
    assert recipe.name == "cnn-portfolio-cpu-2h" and recipe.pins["lean_first_block"] is True
