"""`mobilenet`: MobileNetV2 transfer learning, the seed experiments' frozen and fine-tuned backbone
at several input sizes.

The 48x48 grayscale input is resized and repeated to 3 channels inside the model (never
pre-resized in memory: `python bench/bench_search.py mobilenet` prints what 224x224x3 float32
copies of the training split would take). The top `unfreeze_layers` backbone layers train;
BatchNorm layers are never trained and run in inference mode, so fine-tuning does not wreck
their statistics. How a fit fine-tunes is transfer learning's hyperparameters
(`spaces.finetune`): a first phase with the backbone frozen (`frozen_phase`), the fine-tuning
rate (`finetune_lr_factor`), and whether BatchNorm keeps ImageNet's statistics or re-estimates
them on the faces (`batch_norm_mode`). Trials saved before they existed are rebuilt without
them, and train as they did: one phase, BatchNorm on ImageNet's statistics (`SPACE.legacy`).

The space proposes only what its weights source can serve at every input size: random init
(`weights=None`) every alpha; a local weights file alpha 1.0 (it is the alpha-1.0 file); ImageNet
alpha 0.35 to 1.0. Keras's ImageNet files exist for those at input 96, 128, 160, 192 and 224 (any
other size loads the 224 file) and for alpha 1.3 and 1.4 at 224 only. Offering the wide alphas at
224 alone would take one hyperparameter with two choice lists under two conditions, which
keras-tuner 1.4 does not keep apart (it drops a value when another hyperparameter of the same
name is inactive), so with ImageNet weights they are not offered; `--weights none` searches them.
A trial that still asks for a combination without weights (a pinned value, an older search)
fails with that reason before anything is downloaded.
"""
from pathlib import Path

import keras
import keras_tuner as kt

from fer.errors import UserError
from spaces.common import SpaceOptions, class_weighting_choice, classifier_head, inputs_scaled
from spaces.finetune import finetune_choices
from spaces.interface import LegacyRebuild, Space
from spaces.recipe import QUICK_FIX, compile_with_recipe

INPUT_SIZES = [48, 64, 96, 128, 160, 192, 224]
ALPHAS = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4]
LOCAL_WEIGHTS_ALPHA = 1.0  # a local weights file is the alpha-1.0 no-top backbone
IMAGENET_ROWS = (96, 128, 160, 192, 224)  # input sizes with an ImageNet file of their own
WIDE_ALPHAS = (1.3, 1.4)   # whose ImageNet files exist at 224 only
BACKBONE_LAYERS = 155      # layers of MobileNetV2(include_top=False, pooling="avg"); checked by the tests
KEY_HPS = ("input_size", "unfreeze_layers", "frozen_phase", "learning_rate", "augment")  # leaderboard columns
UNFREEZE_CHOICES = [0, 10, 20, 40, 80, BACKBONE_LAYERS]  # 0 = frozen, 155 = all


def weights_label(weights) -> str:
    return "random" if weights is None else "imagenet" if weights == "imagenet" else f"file:{Path(weights).name}"


def imagenet_file_rows(size: int) -> int:
    """The input size of the ImageNet file Keras loads for a backbone of this size."""
    return size if size in IMAGENET_ROWS else 224


def alphas_served(weights, size: int) -> list[float]:
    """The alphas whose backbone weights this source can provide at this input size."""
    if weights is None:
        return list(ALPHAS)
    if weights != "imagenet":
        return [LOCAL_WEIGHTS_ALPHA]
    return [a for a in ALPHAS if a not in WIDE_ALPHAS or imagenet_file_rows(size) == 224]


def alphas_offered(weights) -> list[float]:
    """The alphas the space proposes with this weights source: those it serves at every input size."""
    return [a for a in ALPHAS if all(a in alphas_served(weights, size) for size in INPUT_SIZES)]


def alpha_choice(hp, weights) -> float:
    """`alpha`, declared with only the values the weights source serves (a Fixed when only one)."""
    alphas = alphas_offered(weights)
    return hp.Fixed("alpha", alphas[0]) if len(alphas) == 1 else hp.Choice("alpha", alphas, default=1.0)


def require_weights(weights, alpha: float, size: int) -> None:
    """Fail a trial, with the reason, whose combination the weights source cannot serve (one that
    an older search, a pinned value or a resumed oracle asks for)."""
    served = alphas_served(weights, size)
    if alpha not in served:
        raise ValueError(f"MobileNetV2 {weights_label(weights)} weights exist for alpha "
                         f"{', '.join(map(str, served))} at input {size}, not alpha {alpha}")


def backbone_model(weights, alpha: float, size: int) -> keras.Model:
    """Keras's MobileNetV2 without its top, average-pooled; a weights download that fails is the
    trial's failure, with the reason."""
    require_weights(weights, alpha, size)
    try:
        return keras.applications.MobileNetV2(input_shape=(size, size, 3), alpha=alpha, include_top=False,
                                              weights=weights, pooling="avg")
    except Exception as e:  # noqa: BLE001 - Keras's download raises plain Exception
        if weights is None:
            raise
        raise ValueError(f"MobileNetV2 {weights_label(weights)} weights for alpha {alpha} at input {size} "
                         f"could not be had: {type(e).__name__}: {e}") from None


def saved_before_phases(hp) -> bool:
    """A trial of a search from before transfer learning's hyperparameters (`spaces.finetune`): its
    saved space is whole but lacks `frozen_phase`, as does every trial of such a search resumed.
    The first build of a new search holds at most the --fix pins (Fixed)."""
    names = {p.name for p in hp.space}
    saved_trial = any(not isinstance(p, kt.engine.hyperparameters.Fixed) for p in hp.space)
    return saved_trial and "unfreeze_layers" in hp.values and "frozen_phase" not in names


def build(hp, options: SpaceOptions | None = None) -> keras.Model:
    return network(hp, options or SpaceOptions(), phased=True)


def build_before_phases(hp, options: SpaceOptions | None = None) -> keras.Model:
    """Such a trial as it was trained: the phases undeclared, so its fit runs unphased."""
    return network(hp, options or SpaceOptions(), phased=False)


def network(hp, options: SpaceOptions, phased: bool) -> keras.Model:
    inputs, x = inputs_scaled(hp, options, augment_default="light")
    class_weighting_choice(hp)
    size = hp.Choice("input_size", INPUT_SIZES, default=96)
    alpha = alpha_choice(hp, options.weights)
    unfreeze = hp.Choice("unfreeze_layers", UNFREEZE_CHOICES, default=20)
    dropout = hp.Float("head_dropout", 0.0, 0.5, step=0.1, default=0.2)
    if phased:
        finetune_choices(hp)

    if size != x.shape[1]:  # the input's side, or the crop's when crop_size cut a window
        x = keras.layers.Resizing(size, size, interpolation="bilinear", name="resize")(x)
    if options.input_shape[-1] == 1:
        x = keras.layers.Concatenate(name="gray_to_rgb")([x, x, x])
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_minus1_1")(x)  # MobileNetV2 expects [-1, 1]
    backbone = backbone_model(options.weights, alpha, size)
    backbone.trainable = True
    n = len(backbone.layers)
    for i, layer in enumerate(backbone.layers):
        layer.trainable = i >= n - unfreeze and not isinstance(layer, keras.layers.BatchNormalization)
    x = backbone(x, training=False)  # BatchNorm in inference mode: its layers are never trainable
    outputs = classifier_head(x, options.num_classes, dropout)
    model = keras.Model(inputs, outputs, name="mobilenetv2")
    return compile_with_recipe(model, hp, lr_range=(1e-5, 3e-3, 3e-4))


def check_weights(weights) -> None:
    """Fail early, in one line, where the requested weights cannot be had."""
    if weights is None:
        return
    if weights != "imagenet":
        if not Path(weights).is_file():
            raise UserError(f"--weights {weights}: file not found")
        return
    try:
        keras.applications.MobileNetV2(input_shape=(224, 224, 3), include_top=False, weights="imagenet")
    except Exception as e:  # noqa: BLE001 - any download failure means the same to the user
        raise UserError("ImageNet weights for MobileNetV2 could not be downloaded "
                        f"({type(e).__name__}); pass --weights PATH to a local "
                        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5, copy it into "
                        "~/.keras/models/, or pass --weights none for random init") from None


SPACE = Space("mobilenet", build, __doc__, key_hps=KEY_HPS, quick_fix=QUICK_FIX, legacy=(
    LegacyRebuild("trials saved before frozen_phase, finetune_lr_factor and batch_norm_mode existed",
                  saved_before_phases, build_before_phases),))
