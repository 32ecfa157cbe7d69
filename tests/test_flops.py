"""bench/tools/flops.py: multiply-adds counted from layer shapes, checked against a hand count."""
import importlib.util
from pathlib import Path

import keras

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "tools" / "flops.py"
spec = importlib.util.spec_from_file_location("flops", SCRIPT)
flops = importlib.util.module_from_spec(spec)
spec.loader.exec_module(flops)


def test_multiply_adds_match_a_hand_count():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)       # 8*8*4 outputs x 3*3*3 = 6912
    x = keras.layers.DepthwiseConv2D(3, padding="valid")(x)     # 6*6*4 outputs x 3*3 = 1296
    x = keras.layers.BatchNormalization()(x)                   # not counted
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(7)(x)                         # 144 x 7 = 1008
    model = keras.Model(inputs, outputs)
    assert flops.forward_macs(model) == 6912 + 1296 + 1008
    assert flops.training_flops(model) == 6 * (6912 + 1296 + 1008)
    nested = keras.Model(inputs, keras.layers.Dense(2)(model(inputs)))
    assert flops.forward_macs(nested) == 6912 + 1296 + 1008 + 14
