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
    """--help is fast (no backend), every flag has help, a flag taking a value shows its default
    where it has one, no line shows a default that says nothing ("None", "False", "[]"), the flags
    sit in argument groups, and an epilogue gives three example command lines of the command itself."""
    code = f"""
import json, sys, importlib
from fer.command import shows_default
m = importlib.import_module("{module}")
parser = m.build_parser()
text = parser.format_help()
actions = [(a.option_strings, a.help, shows_default(a), repr(a.default)) for a in parser._actions]
groups = [g.title for g in parser._action_groups if g._group_actions and g.title not in ("options", "positional arguments")]
print(json.dumps({{"prog": parser.prog, "modules": [n for n in ("tensorflow", "keras", "matplotlib.pyplot", "torch") if n in sys.modules],
                  "help": text, "actions": actions, "groups": groups, "epilog": parser.epilog or ""}}))
"""
    out = python(code)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["modules"] == []
    assert got["prog"] == COMMANDS[module] and got["help"].startswith(f"usage: {COMMANDS[module]} ")
    for options, help_text, _, default in got["actions"]:
        if help_text == argparse.SUPPRESS or "-h" in options:
            continue
        assert help_text, f"{module} {options} has no help text"
    flat = " ".join(got["help"].split())  # argparse wraps lines
    shown = [(o, d) for o, h, shows, d in got["actions"] if shows]
    for options, default in shown:
        assert f"(default: {eval(default)})" in flat, f"{module} {options}: default {default} not in --help"
    assert flat.count("(default:") == len(shown)
    for empty in ("(default: None)", "(default: False)", "(default: True)", "(default: [])"):
        assert empty not in flat
    assert got["groups"], f"{module}: its flags are in no argument group"
    lines = got["epilog"].splitlines()
    prog = module.removesuffix(".cli")
    assert lines[0] == "examples:" and len(lines) == 4 and all(f"python -m {prog.split('.')[0]}." in x for x in lines[1:])


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
