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
# each command's module and the name its usage line gives it
COMMANDS = {"fer.prepare": "python -m fer.prepare", "fer.audit": "python -m fer.audit",
            "fer.predict": "python -m fer.predict", "search.run": "python -m search.run",
            "search.report.cli": "python -m search.report"}


def python(code: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "KERAS_"))} | env
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("module", COMMANDS)
def test_help_imports_no_backend_and_shows_every_default(module):
    code = f"""
import json, sys, importlib
parser = importlib.import_module("{module}").build_parser()
actions = [(a.option_strings, a.help, repr(a.default)) for a in parser._actions]
print(json.dumps({{"modules": [n for n in ("tensorflow", "keras", "matplotlib.pyplot", "torch") if n in sys.modules],
                  "prog": parser.prog, "help": parser.format_help(), "actions": actions}}))
"""
    out = python(code)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["modules"] == []
    assert got["prog"] == COMMANDS[module] and got["help"].startswith(f"usage: {COMMANDS[module]} ")
    arguments = [(o, h, d) for o, h, d in got["actions"] if h != argparse.SUPPRESS and "-h" not in o]
    assert arguments, f"{module} takes no argument"
    for options, help_text, default in arguments:
        assert help_text, f"{module} {options} has no help text"
    assert got["help"].count("(default:") >= sum(1 for o, h, d in arguments if o and d != "None")


def test_audit_takes_one_prepared_folder():
    from fer import audit
    parser = audit.build_parser()
    assert [a.dest for a in parser._actions if a.dest != "help"] == ["dir"]
    assert parser.parse_args(["data/fer2013"]).dir == Path("data/fer2013")
    assert "a folder written by fer.prepare" in parser.format_help()
    with pytest.raises(SystemExit):
        parser.parse_args([])


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
