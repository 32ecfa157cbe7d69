"""The model a winner is saved as: the trained model less its training-only layers.

A trained model carries layers that only act in training (the augmentation block with this
project's `RandomAffine`) and is compiled with this project's `MacroF1`; saved as it is, it
loads only where the project is importable. The inference model shares the trained layers and
weights, skips the training-only ones (identities at inference, so predictions are unchanged)
and is left uncompiled, so plain `keras.models.load_model(path)` opens it anywhere.
"""
import keras

from spaces.augment import AUGMENT_PREFIX, RandomAffine, RandomCropWindow, RandomErasing

# Layer types that act only in training; anything named augment_* is dropped as well.
TRAINING_ONLY_TYPES = (RandomAffine, RandomErasing, keras.layers.RandomFlip, keras.layers.RandomContrast,
                       keras.layers.RandomRotation, keras.layers.RandomTranslation, keras.layers.RandomZoom,
                       keras.layers.GaussianNoise, keras.layers.GaussianDropout)


def is_training_only(layer) -> bool:
    return layer.name.startswith(AUGMENT_PREFIX) or isinstance(layer, TRAINING_ONLY_TYPES)


def inference_model(model: keras.Model) -> keras.Model:
    """The same layers and weights with the training-only ones skipped; uncompiled."""
    def call_unless_training_only(layer, *args, **kwargs):
        if isinstance(layer, RandomCropWindow):  # its inference half is Keras's own centre crop
            return keras.layers.CenterCrop(layer.size, layer.size, name=layer.name)(args[0])
        return args[0] if is_training_only(layer) else layer(*args, **kwargs)

    graph = keras.models.clone_model(model, clone_function=lambda layer: layer,
                                     call_function=call_unless_training_only)
    return keras.Model(graph.input, graph.output, name=model.name)  # a fresh Model: no compile state


def nonstandard_layers(model: keras.Model) -> list[str]:
    """Names of layers (nested ones included) whose class is not one of Keras's own."""
    found = []
    for layer in model.layers:
        if not type(layer).__module__.startswith("keras."):
            found.append(f"{layer.name} ({type(layer).__name__})")
        if isinstance(layer, keras.Model):
            found += nonstandard_layers(layer)
    return found
