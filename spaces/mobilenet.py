"""`mobilenet`: MobileNetV2 transfer learning (the seed: 37% frozen, 60% at 96x96, ~66% at 224x224).

The 48x48 grayscale input is resized and repeated to 3 channels inside the model (never
pre-resized in memory: 224x224x3 float32 copies of FER-2013 would need ~17 GB). The top
`unfreeze_layers` backbone layers train, BatchNorm layers always stay frozen and run in
inference mode, so fine-tuning does not wreck their ImageNet statistics.
"""
from pathlib import Path

import keras

from fer.errors import UserError
from spaces.common import SpaceOptions, class_weighting_choice, classifier_head, compile_classifier, inputs_scaled

INPUT_SIZES = [48, 64, 96, 128, 160, 192, 224]
ALPHAS = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4]
LOCAL_WEIGHTS_ALPHA = 1.0  # a local weights file is the alpha-1.0 no-top backbone
BACKBONE_LAYERS = 155      # layers of MobileNetV2(include_top=False, pooling="avg"); checked by the tests
KEY_HPS = ("input_size", "unfreeze_layers", "learning_rate", "augment")  # leaderboard columns
UNFREEZE_CHOICES = [0, 10, 20, 40, 80, BACKBONE_LAYERS]  # 0 = frozen, 155 = all


def weights_label(weights) -> str:
    return "random" if weights is None else "imagenet" if weights == "imagenet" else f"file:{Path(weights).name}"


def build(hp, options: SpaceOptions | None = None) -> keras.Model:
    options = options or SpaceOptions()
    inputs, x = inputs_scaled(hp, options, augment_default="light")
    class_weighting_choice(hp)
    size = hp.Choice("input_size", INPUT_SIZES, default=96)
    if options.weights not in (None, "imagenet"):
        alpha = hp.Fixed("alpha", LOCAL_WEIGHTS_ALPHA)
    else:
        alpha = hp.Choice("alpha", ALPHAS, default=1.0)
    unfreeze = hp.Choice("unfreeze_layers", UNFREEZE_CHOICES, default=20)
    dropout = hp.Float("head_dropout", 0.0, 0.5, step=0.1, default=0.2)
    lr = hp.Float("learning_rate", 1e-5, 1e-2, sampling="log", default=3e-4)

    if size != options.input_shape[0]:
        x = keras.layers.Resizing(size, size, interpolation="bilinear", name="resize")(x)
    if options.input_shape[-1] == 1:
        x = keras.layers.Concatenate(name="gray_to_rgb")([x, x, x])
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_minus1_1")(x)  # MobileNetV2 expects [-1, 1]
    backbone = keras.applications.MobileNetV2(input_shape=(size, size, 3), alpha=alpha, include_top=False,
                                              weights=options.weights, pooling="avg")
    backbone.trainable = True
    n = len(backbone.layers)
    for i, layer in enumerate(backbone.layers):
        layer.trainable = i >= n - unfreeze and not isinstance(layer, keras.layers.BatchNormalization)
    x = backbone(x, training=False)  # BatchNorm in inference mode even when unfrozen
    outputs = classifier_head(x, options.num_classes, dropout)
    model = keras.Model(inputs, outputs, name="mobilenetv2")
    return compile_classifier(model, "adam", lr)


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
