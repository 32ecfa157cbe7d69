"""The pace a search starts from: one epoch of the space's default model, timed here before the
first trial, so a `--time-budget` too small for a single epoch is refused before anything trains."""
import math

from fer.errors import UserError
from search.budget import TimeBudget, fmt_duration, parse_duration
from search.fixed import fixed_point_builder
from search.project import space_options


def estimate_epoch_seconds(config, n_train: int, build=None, policy: str | None = None) -> float:
    """Seconds one training epoch of the space's default model (at its --fix'ed point), or of
    `build(hp)`'s, takes here under `policy` (the search's when not given): a few timed steps."""
    import keras

    from search.precision import time_steps
    policy = policy or config.resolved["precision"]["policy"]
    options = space_options(config)
    per_step = time_steps(build or fixed_point_builder(config, options), policy, options.input_shape,
                          batch=config.batch_size, warmup=1, steps=2)
    keras.mixed_precision.set_global_policy(policy)  # time_steps puts float32 back
    return per_step * math.ceil(n_train / config.batch_size) * 1.1  # and the validation pass


def start_budget(config, n_train: int) -> TimeBudget | None:
    """This session's TimeBudget (None without --time-budget); too small for one epoch is an error."""
    if not config.time_budget:
        return None
    seconds = parse_duration(config.time_budget)
    epoch = estimate_epoch_seconds(config, n_train)
    if seconds < epoch:
        raise UserError(f"--time-budget {config.time_budget}: one epoch of the {config.space} space's default model "
                        f"takes about {fmt_duration(epoch)} here (measured); give at least that")
    budget = TimeBudget.starting_now(seconds)
    config.resolved["time_budget"] = budget.record()  # distributed workers stop on the same deadline
    return budget


def time_inference(model, input_shape, batch: int = 256, repeats: int = 2) -> float:
    """Seconds per image of `model.predict` here (after one warm-up batch): what evaluation and TTA cost."""
    import time

    import numpy as np
    x = np.random.default_rng(0).integers(0, 256, size=(batch, *input_shape), dtype=np.uint8)
    model.predict(x, batch_size=batch, verbose=0)
    start = time.perf_counter()
    for _ in range(repeats):
        model.predict(x, batch_size=batch, verbose=0)
    return (time.perf_counter() - start) / (repeats * batch)


def estimate_image_seconds(config, build=None) -> float:
    """Seconds per image of one forward pass of the space's default model (at its --fix'ed point),
    or of `build(hp)`'s."""
    import keras
    import keras_tuner as kt

    from search import tf_memory
    options = space_options(config)
    mark = tf_memory.mark()
    try:
        keras.backend.clear_session()
        build = build or fixed_point_builder(config, options)
        return time_inference(build(kt.HyperParameters()), options.input_shape)
    finally:
        tf_memory.release(mark)
