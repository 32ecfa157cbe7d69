"""Writes of Keras and keras-tuner that survive a full disk: whole files or none, and one line.

Three things go wrong when a disk fills during a search (seen on a 12 MB file system):
- Keras's `save_weights` (keras-tuner's per-trial checkpoint, the report's best-epoch checkpoint)
  lets h5py write the file and does not close it when a write fails. The half-open HDF5 file is
  closed when Python drops it, fails again, and HDF5's clean-up at exit then crashes the process
  (a segmentation fault in H5SL_search, under H5_term_library). Here HDF5 writes into memory
  and Python writes the bytes, atomically, so h5py never meets the full disk.
- keras-tuner writes oracle.json and trial.json in place: a failed or interrupted write leaves a
  truncated file that --resume cannot read. Here they are written atomically.
- keras-tuner takes any exception inside a trial for a failed trial and goes on to the next
  (which fails the same way, ten times, each with its traceback). A disk fault inside a trial is
  raised as `SearchWriteFault`, a keras-tuner FatalError: the search stops at the first failed
  write, and the trial, still running in oracle.json, is run again by --resume.

`install()` is called once by each search process (search.startup), after its arguments are parsed.
"""
import io
import json

import keras_tuner as kt

from fer.cache import atomic_write_bytes, atomic_write_text
from fer.write_faults import WriteFault, is_write_fault


class SearchWriteFault(WriteFault, kt.errors.FatalError):
    """A disk fault that ends the search (keras-tuner re-raises FatalErrors instead of failing the trial)."""


def as_search_fault(err: BaseException, path=None) -> BaseException:
    """`err` as a SearchWriteFault when it is a disk fault (and not one already), else `err` itself."""
    if isinstance(err, WriteFault) and not isinstance(err, SearchWriteFault):
        return SearchWriteFault(err.error, err.path)
    if isinstance(err, OSError) and is_write_fault(err):
        return SearchWriteFault(err, path)
    return err


def save_weights_in_memory(model, filepath) -> None:
    """What Keras's `save_weights_only` writes to `filepath` (.weights.h5), built in memory first."""
    from keras.src.saving import saving_lib
    buffer = io.BytesIO()
    store = saving_lib.H5IOStore(buffer, mode="w")
    try:
        saving_lib._save_state(model, weights_store=store, assets_store=None, inner_path="",
                               visited_saveables=set())
    finally:
        store.close()
    try:
        atomic_write_bytes(filepath, buffer.getvalue())
    except OSError as e:
        raise as_search_fault(e, str(filepath)) from e


def _weights_saver(original):
    def save_weights_only(model, filepath, max_shard_size=None, objects_to_skip=None):
        from keras.src.utils import file_utils
        simple = (max_shard_size is None and objects_to_skip is None and model.built
                  and str(filepath).endswith(".weights.h5") and not file_utils.is_remote_path(filepath))
        if not simple:
            return original(model, filepath, max_shard_size, objects_to_skip)
        return save_weights_in_memory(model, filepath)
    save_weights_only.fer_safe = True
    return save_weights_only


def _json_saver(original):
    def save_json(path, obj):
        if "://" in str(path):  # a remote file system: keras-tuner's own writer
            return original(path, obj)
        text = json.dumps(obj)
        try:
            atomic_write_text(path, text)
        except OSError as e:
            raise as_search_fault(e, str(path)) from e
        return text
    save_json.fer_safe = True
    return save_json


def _trial_runner(original):
    def _run_and_update_trial(self, trial, *fit_args, **fit_kwargs):
        try:
            return original(self, trial, *fit_args, **fit_kwargs)
        except Exception as e:  # noqa: BLE001 - only disk faults change type; the rest goes on as it was
            fault = as_search_fault(e)
            if fault is e:
                raise
            raise fault from e
    _run_and_update_trial.fer_safe = True
    return _run_and_update_trial


def install() -> None:
    """Put the three writers in place (once; a second call changes nothing)."""
    from keras.src.saving import saving_lib
    from keras_tuner.src import utils as kt_utils
    from keras_tuner.src.engine import base_tuner
    if hasattr(saving_lib, "H5IOStore") and hasattr(saving_lib, "_save_state") and \
            not getattr(saving_lib.save_weights_only, "fer_safe", False):
        saving_lib.save_weights_only = _weights_saver(saving_lib.save_weights_only)
    if not getattr(kt_utils.save_json, "fer_safe", False):
        kt_utils.save_json = _json_saver(kt_utils.save_json)
    runner = base_tuner.BaseTuner._run_and_update_trial
    if not getattr(runner, "fer_safe", False):
        base_tuner.BaseTuner._run_and_update_trial = _trial_runner(runner)
