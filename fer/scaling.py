"""Pixel normalisation, in exactly one place: uint8 [0, 255] -> float [0, 1].

Arrays stay uint8 on disk and in memory; every model starts with `scaling_layer()`, so the
scale is applied once, inside the model, on whatever device runs it.
"""
PIXEL_SCALE = 1.0 / 255.0


def scaling_layer(name: str = "scale_0_1"):
    import keras
    return keras.layers.Rescaling(PIXEL_SCALE, name=name)
