"""Whether a search's checkpoints will fit on the disk it writes to, said before it starts.

keras-tuner keeps every trial's best-epoch checkpoint (trial_<id>/checkpoint.weights.h5). Its
size is measured on the space's default model (at the --fix'ed point, with its optimizer's
slots, as a trained trial saves it), in memory, before the search; trials differ in size, so
the comparison is an estimate, and a search that runs out of room still stops in one line
(search/safe_writes.py).
"""
import io
import shutil
from pathlib import Path

MB = 1 << 20
CHECKPOINT = "checkpoint.weights.h5"


def checkpoint_bytes(config) -> int:
    """Bytes of a trial checkpoint of the space's default model, as keras-tuner would save it."""
    import keras_tuner as kt
    from keras.src.saving import saving_lib

    from search.fixed import fixed_point_builder
    from spaces import SpaceOptions
    model = fixed_point_builder(config, SpaceOptions(weights=None))(kt.HyperParameters())
    if getattr(model, "optimizer", None) is not None:
        model.optimizer.build(model.trainable_variables)  # its slots (Adam's moments) are saved too
    buffer = io.BytesIO()
    store = saving_lib.H5IOStore(buffer, mode="w")
    try:
        saving_lib._save_state(model, weights_store=store, assets_store=None, inner_path="", visited_saveables=set())
    finally:
        store.close()
    return len(buffer.getvalue())


def trials_with_checkpoints(project_dir: Path) -> int:
    return sum(1 for _ in Path(project_dir).glob(f"trial_*/{CHECKPOINT}"))


def free_bytes(folder: Path) -> int:
    """Free bytes on the file system of `folder` (or of its nearest existing parent)."""
    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def disk_space_lines(config, tuner) -> list[str]:
    """A warning line when the checkpoints still to be written (of the tuner's planned trials) would not
    fit in the free space."""
    planned_trials = tuner.planned_trials()
    each = config.resolved.get("checkpoint_bytes")
    if not each or not planned_trials:
        return []
    to_come = max(0, planned_trials - trials_with_checkpoints(config.project_dir))
    need = (to_come + 1) * each  # and one more while a checkpoint is written beside the last
    free = free_bytes(config.project_dir)
    if to_come == 0 or free >= need:
        return []
    return [f"warning: {config.project_dir}: {free / MB:.0f} MB free, and {to_come} more trial checkpoints need "
            f"about {need / MB:.0f} MB ({each / MB:.1f} MB each, measured on the space's default model): the "
            "search may stop on a full disk (it can then be resumed); free space, or plan fewer trials"]
