"""What every command shares: its parser's style, and a quiet start of the Keras backend.

Importing a package here does nothing but define things: no backend import, no environment
variables, no allocator or matplotlib changes. A command calls `start_backend` once its
arguments are parsed, so `--help` stays fast and free of side effects.
"""
import argparse
import contextlib
import os

TF_LOG_ENV = "TF_CPP_MIN_LOG_LEVEL"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Each flag's help ends with its default where the flag takes a value and has one; a switch
    (on or off), a repeatable flag and one whose help says what happens when it is not given show none,
    so no help line reads "(default: None)" or "(default: False)". The epilogue keeps its lines."""

    def _get_help_string(self, action):
        text = action.help or ""
        return text + " (default: %(default)s)" if shows_default(action) and "%(default)" not in text else text


def shows_default(action: argparse.Action) -> bool:
    """Whether --help states this action's default (see HelpFormatter)."""
    return (bool(action.option_strings) and action.nargs != 0 and action.help != argparse.SUPPRESS
            and action.default not in (None, argparse.SUPPRESS) and action.default != [])


def command_parser(prog: str, doc: str, examples: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    """A command's parser: the module doc's first line as description, every default in its flag's
    help, and an epilogue of example command lines."""
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples) if examples else None
    return argparse.ArgumentParser(prog=prog, description=doc.strip().splitlines()[0], epilog=epilog,
                                   allow_abbrev=False, formatter_class=HelpFormatter)


def parse_command(build_parser, argv=None) -> tuple:
    """(parser, args, given): a command's arguments parsed from `argv` (the command line when None),
    with the settings given on it (`given_dests`), so a recipe's values yield only to those."""
    import sys
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    return parser, parser.parse_args(argv), given_dests(build_parser, argv)


def given_dests(build_parser, argv: list[str]) -> set[str]:
    """The settings given on the command line (their `dest`s), as opposed to left at their defaults:
    `argv` parsed again by a fresh parser whose defaults are all suppressed."""
    parser = build_parser()
    for action in parser._actions:
        action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(argv)))


def add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action="store_true",
                        help=f"show the backend's start-up lines (TensorFlow's; also shown when {TF_LOG_ENV} is set)")


@contextlib.contextmanager
def stderr_silenced():
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ start-up lines bypass Python's sys.stderr."""
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def start_backend(verbose: bool = False):
    """Import Keras (and start TensorFlow's devices) without TensorFlow's start-up lines unless asked for.

    Its oneDNN notice, CUDA stub and CPU-feature lines are written by C++ before its own log level
    applies; they reach the terminal only with --verbose or an explicit TF_CPP_MIN_LOG_LEVEL.
    Returns the keras module.
    """
    if verbose or TF_LOG_ENV in os.environ:
        import keras
        return keras
    os.environ[TF_LOG_ENV] = "3"
    with stderr_silenced():
        import keras
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf  # device start-up logs its CUDA probe: do it now, silenced
            tf.config.list_physical_devices()
    return keras
