"""Training FLOPs per image of a recipe's model: the multiply-adds of its convolutions and dense
layers (from their output shapes), times 2 FLOPs each, times 3 for training (the backward pass
costs about twice the forward one). Layers without weights (pooling, BatchNorm, activations) and
custom layers are not counted, so this is a floor.

    python bench/tools/flops.py --recipe cpu-2h
    python bench/tools/flops.py --recipe cpu-2h --fix crop_size=40
"""
import argparse
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

TRAINING_FACTOR = 3  # forward + backward (about twice the forward)


def layers_of(model):
    """Every layer, nested models included."""
    import keras
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from layers_of(layer)
        else:
            yield layer


def layer_macs(layer) -> int:
    """Multiply-adds of one forward pass of `layer` for one image (0 for layers not counted)."""
    import keras
    if not layer.weights:
        return 0
    out = layer.output.shape
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return math.prod(out[1:]) * math.prod(layer.kernel_size)
    if isinstance(layer, keras.layers.Conv2D):
        cin = layer.input.shape[-1]
        return math.prod(out[1:]) * math.prod(layer.kernel_size) * cin // layer.groups
    if isinstance(layer, keras.layers.Dense):
        return math.prod(layer.input.shape[1:]) * out[-1]
    return 0


def forward_macs(model) -> int:
    return sum(layer_macs(layer) for layer in layers_of(model))


def training_flops(model) -> int:
    return 2 * TRAINING_FACTOR * forward_macs(model)


def main(argv=None) -> int:
    import time_to_accuracy as tta_bench

    from fer.errors import UserError, print_user_error
    from search.fixed import parse_fixed
    parser = argparse.ArgumentParser(prog="bench/tools/flops.py", description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", default="cpu-2h", help="a recipe or a time_to_accuracy BENCH_RECIPES name")
    parser.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    try:
        recipe = tta_bench.resolve(args.recipe)
        recipe = tta_bench.BenchRecipe(recipe.name, recipe.space, {**recipe.pins, **parse_fixed(args.fix)})
        model, _ = tta_bench.build(recipe, 0)
    except UserError as e:
        return print_user_error(e, "bench/tools/flops.py")
    macs = forward_macs(model)
    print(f"recipe={recipe.name} forward_mflops={2 * macs / 1e6:.1f} training_mflops_per_image="
          f"{training_flops(model) / 1e6:.1f} params={model.count_params()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
