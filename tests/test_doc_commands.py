"""The commands the README (and docs/*.md) tell users to run, and each command's --help examples,
parse with that command's real parser: a renamed or removed flag fails here, naming the line."""
import argparse
import contextlib
import importlib
import io
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMANDS = ("fer.prepare", "fer.audit", "fer.predict", "search.run", "search.report")
FENCE = re.compile(r"^```(?:bash|sh|shell)[ \t]*\n(.*?)^```", re.M | re.S)
OPERATORS = re.compile(r"&&|\|\||;|\|")  # what chains commands on one line
REDIRECT = re.compile(r"^\d*[<>]")         # > log, 2>&1, >> log: the shell's, not the command's


def shell_lines(block: str) -> list[str]:
    """A bash block's logical lines: backslash continuations joined."""
    return block.replace("\\\n", " ").splitlines()


def project_commands(line: str) -> list[tuple[str, list[str]]]:
    """(module, argv) of each `python -m fer.X|search.X ...` on a shell line, comments, redirections,
    environment assignments and other chained commands left out. A command whose arguments are
    elided ("...") is prose, not a command, and is left out too."""
    found = []
    for part in OPERATORS.split(line):
        try:
            words = shlex.split(part, comments=True)
        except ValueError:
            words = part.split()
        starts = [i for i, w in enumerate(words[:-2]) if Path(w).name.startswith("python") and words[i + 1] == "-m"]
        if not starts or not words[starts[0] + 2].startswith(("fer.", "search.")):
            continue
        module, argv = words[starts[0] + 2], words[starts[0] + 3:]
        argv = argv[:next((i for i, w in enumerate(argv) if REDIRECT.match(w)), len(argv))]
        if "..." not in argv:
            found.append((module, argv))
    return found


def doc_commands() -> list[tuple[str, str, list[str], str]]:
    """(file, module, argv, line) of every project command in the docs' bash blocks."""
    out = []
    for doc in DOCS:
        for block in FENCE.findall(doc.read_text()):
            for line in shell_lines(block):
                out += [(doc.name, module, argv, line.strip()) for module, argv in project_commands(line)]
    return out


def parser_of(module: str) -> argparse.ArgumentParser:
    """The module's build_parser(); a package's command lives in its cli module (search.report)."""
    m = importlib.import_module(module)
    if not hasattr(m, "build_parser"):
        m = importlib.import_module(f"{module}.cli")
    return m.build_parser()


def parse_error(module: str, argv: list[str]) -> str | None:
    """argparse's complaint about argv, or None when it parses."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            parser_of(module).parse_args(argv)
    except SystemExit:
        return err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else "exit"
    return None


def test_the_extractor_reads_shell_as_a_user_would():
    block = ("pip install -e . && python -m search.run --space cnn --data demo --quick  # a comment\n"
             "export KERAS_BACKEND=torch\n"
             "KERAS_BACKEND=torch python -m search.run --recipe gpu \\\n  --data data/fer2013 > log 2>&1\n"
             "python -m pytest -q; python -m fer.audit data/demo\n"
             "python -m search.report ...\n")
    got = [c for line in shell_lines(block) for c in project_commands(line)]
    assert got == [("search.run", ["--space", "cnn", "--data", "demo", "--quick"]),
                   ("search.run", ["--recipe", "gpu", "--data", "data/fer2013"]),
                   ("fer.audit", ["data/demo"])]
    assert parse_error("search.run", ["--no-such-flag"]) and parse_error("search.report", ["--top", "1"])


def test_every_documented_command_parses():
    commands = doc_commands()
    assert commands, "no `python -m fer.X|search.X` line in a ```bash block of README.md"
    failures = [f"{doc}: {line}  ->  {err}" for doc, module, argv, line in commands
                if (err := parse_error(module, argv))]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("module", COMMANDS)
def test_every_help_example_parses(module):
    examples = parser_of(module).epilog.splitlines()[1:]
    assert len(examples) == 3
    for line in examples:
        for command, argv in project_commands(line):
            assert parse_error(command, argv) is None, line


def test_documented_recipes_and_pins_exist():
    """What parsing cannot see: a documented --recipe is shipped (or a file), and its --fix pins are
    hyperparameters and values of the space (checked as search.run checks them, nothing trained)."""
    from search.fixed import parse_fixed
    from search.recipe_files import load_recipe
    from search.space_info import check_pins
    for doc, module, argv, line in doc_commands():
        if module != "search.run":
            continue
        args = parser_of(module).parse_args(argv)
        recipe = load_recipe("quick" if args.quick else args.recipe) if (args.quick or args.recipe) else None
        space = recipe.search.get("space", args.space) if recipe is not None and "--space" not in argv else args.space
        check_pins(space, parse_fixed(args.fix), f"{doc}: {line}: --fix")
