"""Commands explain themselves: every flag's help shows its default, --help imports no backend,
importing the packages changes nothing, and TensorFlow's start-up lines stay off the terminal."""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ["fer.prepare", "fer.audit", "fer.predict", "search.run", "search.report.cli"]


def python(code: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))} | env
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("module", COMMANDS)
def test_help_imports_no_backend_and_shows_every_default(module):
    code = f"""
import json, sys, importlib
m = importlib.import_module("{module}")
parser = m.build_parser() if hasattr(m, "build_parser") else None
if parser is None:  # fer.audit builds its parser in main
    try:
        m.main(["--help"])
    except SystemExit:
        pass
text = parser.format_help() if parser else ""
actions = [(a.option_strings, a.help, repr(a.default)) for a in (parser._actions if parser else [])]
print(json.dumps({{"modules": [n for n in ("tensorflow", "keras", "matplotlib.pyplot", "torch") if n in sys.modules],
                  "help": text, "actions": actions}}))
"""
    out = python(code)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["modules"] == []
    for options, help_text, default in got["actions"]:
        if help_text == argparse.SUPPRESS or "-h" in options:
            continue
        assert help_text, f"{module} {options} has no help text"
    if got["help"]:
        assert got["help"].count("(default:") >= sum(1 for o, h, d in got["actions"]
                                                      if o and h != argparse.SUPPRESS and d not in ("None",) and "-h" not in o)


def test_importing_the_packages_changes_nothing():
    code = """
import json, os, sys
before = dict(os.environ)
import matplotlib
backend = dict.__getitem__(matplotlib.rcParams, "backend")  # not get_backend(): it would resolve (and import pyplot)
import fer, spaces, search, search.run, search.report, search.report.cli, search.report.run_report, fer.prepare, fer.predict, fer.faces
import search.report.drawing, fer.data_plots
changed = sorted(k for k in set(os.environ) | set(before) if os.environ.get(k) != before.get(k))
print(json.dumps({"env": changed, "backend_same": dict.__getitem__(matplotlib.rcParams, "backend") == backend,
                  "tensorflow": "tensorflow" in sys.modules, "pyplot": "matplotlib.pyplot" in sys.modules}))
"""
    out = python(code)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"env": [], "backend_same": True, "tensorflow": False, "pyplot": False}


def test_tensorflow_start_up_lines_stay_off_the_terminal(tmp_path):
    """A command that starts the backend and then fails prints exactly its one error line."""
    out = subprocess.run([sys.executable, "-m", "search.report", "--run", str(tmp_path / "nope")], cwd=ROOT,
                         env={k: v for k, v in os.environ.items() if not k.startswith("TF_")},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [f"python -m search.report: error: {tmp_path / 'nope'}: no such run folder"]
