"""What every command shares: its parser's style, and a quiet start of the Keras backend.

Importing a package here does nothing but define things: no backend import, no environment
variables, no allocator or matplotlib changes. A command calls `start_backend` once its
arguments are parsed, so `--help` stays fast and free of side effects.
"""
import argparse
import contextlib
import os

TF_LOG_ENV = "TF_CPP_MIN_LOG_LEVEL"


def command_parser(prog: str, doc: str) -> argparse.ArgumentParser:
    """A parser whose --help shows every flag's default (each flag carries help text)."""
    return argparse.ArgumentParser(prog=prog, description=doc.strip().splitlines()[0], allow_abbrev=False,
                                   formatter_class=argparse.ArgumentDefaultsHelpFormatter)


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
