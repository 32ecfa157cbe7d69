"""The CIFAR-10 speedrun's ingredients (Jordan, arXiv 2404.00498) as hyperparameters of the shared
recipe, each off by default and taken only when pinned (`--fix`, a recipe's [pins]):

- `patch_whitening` = 2 or 3: a frozen first layer that whitens 2x2 or 3x3 patches (`spaces.whitening`;
  the spaces trained from scratch apply it, mobilenet's pretrained stem does not);
- `weight_ema` = a momentum in (0, 1), e.g. 0.99: the model validated, checkpointed and saved is the
  exponential moving average of the weights (`search.weight_averaging`);
- `flip_mode` = alternating: each face mirrored on every other epoch, in the batches (`search.flips`),
  instead of the augmentation's random flip;
- `lr_schedule` = linear: warm-up, then linear to zero (`search.schedule`), beside plateau and cosine;
- `label_smoothing` = 0.2, the speedrun's value, beyond the searched 0 and 0.1;
- `progressive_resize` = a starting side, e.g. 36: the first epochs train on smaller faces
  (`spaces.progressive`; the cnn with a pooled head and the resnet apply it).

They are read where they act (`held`) and registered only where `hp` already holds them (a pin, a
saved trial's value, `search.space_info`'s listing): keras-tuner's random oracle seeds each draw
with a counter over every hyperparameter of every trial, so one Fixed hyperparameter more in the
space would change what an existing search draws from its second trial on.
"""
import keras

from fer.errors import UserError
from spaces.progressive import PROGRESSIVE, progressive_layer
from spaces.whitening import WHITENING, whitening_layer

WEIGHT_EMA = "weight_ema"
FLIP_MODE = "flip_mode"
FLIP_MODES = ("random", "alternating")
# name: its value when off (what every space and recipe had before these existed)
OFF = {WHITENING: 0, WEIGHT_EMA: 0.0, FLIP_MODE: "random", PROGRESSIVE: 0}
BY_THE_SPACE = (PROGRESSIVE,)  # registered where the space applies it (`resized`), not by declare_last


def held(hp, name: str):
    """The value `hp` holds for one of OFF's names (pinned, or a trial's saved value); off when it
    holds none."""
    value = hp.values.get(name)
    return OFF[name] if value is None else value


def declare_last(hp, whitening: bool) -> dict:
    """Register the ingredients `hp` holds as Fixed (the rest stay unregistered and off);
    `whitening`: the space applies `whitened`. Returns {name: value}. Called after everything a
    space draws, so a listing shows them last."""
    names = [n for n in OFF if (whitening or n != WHITENING) and n not in BY_THE_SPACE]
    return {name: hp.Fixed(name, OFF[name]) if name in hp.values else OFF[name] for name in names}


def whitened(hp, x):
    """`x` through the frozen whitening layer when `hp` holds a patch side (the spaces trained from
    scratch call it on their scaled, augmented input; `spaces.whitening`)."""
    side = int(held(hp, WHITENING))
    return whitening_layer(side, x.shape[-1])(x) if side else x


def resized(hp, x):
    """`x` through the progressive-resizing layer when `hp` holds a starting side (spaces.progressive;
    registered here, so only the spaces that call it take the pin). Returns (x, the side or 0)."""
    start = int(hp.Fixed(PROGRESSIVE, OFF[PROGRESSIVE])) if PROGRESSIVE in hp.values else 0
    if not start:
        return x, 0
    if start >= x.shape[1]:
        raise UserError(f"{PROGRESSIVE}={start}: the faces are {x.shape[1]} px (crop_size) already; pin a smaller "
                        "start or leave it off")
    if keras.backend.backend() == "jax":  # its compiled step is reused across sides: not yet made to work there
        raise UserError(f"{PROGRESSIVE}: not available under KERAS_BACKEND=jax; use tensorflow or torch")
    return progressive_layer(start)(x), start
