"""Transfer learning's fit, in phases: the backbone frozen while the new head learns, then its top
layers fine-tuned at a lower rate, as the Keras guide and the seed experiments do it.

`spaces.finetune` declares the hyperparameters; the training core (`search.training.fit`) hands a
fit here when a model wraps a backbone (its one nested model) and the trial asks for more than
one plain fit. Each phase is one `model.fit` through the core (Keras 3 takes a change of
`trainable` only at compile, so each phase recompiles with a fresh optimizer at its rate); one
schedule (warm-up, cosine) spans both. The caller's callbacks (keras-tuner's, the best-epoch
checkpoint, the budget's stop) see one fit: the full model, one begin and end, every epoch.
A frozen phase whose input path is deterministic trains the model's own head layers on the
backbone's features, computed once (`search.feature_cache`): an epoch costs a dense layer's time.
A Hyperband continuation (epochs 2 to 6) splits its own epochs, as its schedule does.
"""
import functools
import math
from dataclasses import dataclass

import keras

from search import batch_norm, feature_cache
from search.schedule import WarmupCosine
from spaces.augment import RandomCropWindow
from spaces.finetune import setting
from spaces.inference import is_training_only

HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end",
         "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end")


@dataclass(frozen=True)
class Phase:
    frozen: bool  # the whole backbone frozen (only the head trains)
    end: int  # the epoch it ends before (model.fit's `epochs`)
    lr_factor: float  # of the trial's rate


class Parts:
    """A model as backbone and head: the nested backbone, the head's chain of layers after it, and
    (built when asked) the model's input path to the backbone and to its features."""

    def __init__(self, model: keras.Model, backbone: keras.Model, head: list):
        self.model, self.backbone, self.head = model, backbone, head

    @classmethod
    def of(cls, model: keras.Model) -> "Parts | None":
        nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
        if len(nested) != 1 or len(model.inputs) != 1 or len(model.outputs) != 1:
            return None
        backbone = nested[0]
        head = model.layers[model.layers.index(backbone) + 1:]
        if not head:
            return None
        tensor = head[0].input
        for layer in head:  # each layer takes the one before it: a chain
            if layer.input is not tensor:
                return None
            tensor = layer.output
        return cls(model, backbone, head) if tensor is model.outputs[0] else None

    @functools.cached_property
    def path_in(self) -> keras.Model:
        """Faces -> the backbone's input."""
        return keras.Model(self.model.inputs, self.backbone._inbound_nodes[0].input_tensors[0])  # in this graph

    @functools.cached_property
    def extractor(self) -> keras.Model:
        """Faces -> the backbone's features."""
        return keras.Model(self.model.inputs, self.head[0].input)

    def deterministic_input(self) -> bool:
        """Whether training feeds the backbone what inference does (no augmentation, crop or erasing)."""
        before = self.model.layers[:self.model.layers.index(self.backbone)]
        return not any(is_training_only(layer) or isinstance(layer, RandomCropWindow) for layer in before)

    def head_model(self) -> keras.Model:
        """The model's own head layers (shared weights) on the backbone's features."""
        x = inputs = keras.Input(self.extractor.output.shape[1:], name="features")
        for layer in self.head:
            x = layer(x)
        return keras.Model(inputs, x, name=f"{self.model.name}_head")


def frozen_epochs(fraction: float, epochs: int) -> int:
    """Epochs of a fit of `epochs` with the backbone frozen: the fraction, rounded half up, leaving
    fine-tuning at least one (a 1-epoch fit is all fine-tuning)."""
    return max(0, min(epochs - 1, math.floor(fraction * epochs + 0.5))) if fraction > 0 else 0


def phases(values: dict, first: int, end: int, backbone_trains: bool) -> list[Phase]:
    """The fit's phases: one frozen phase when nothing of the backbone trains, else an optional
    frozen one (`frozen_phase`) before fine-tuning at `finetune_lr_factor` times the rate."""
    if not backbone_trains:
        return [Phase(True, end, 1.0)]
    k = frozen_epochs(float(setting(values, "frozen_phase")), end - first)
    if k == 0:
        return [Phase(False, end, 1.0)]
    return [Phase(True, first + k, 1.0), Phase(False, end, float(setting(values, "finetune_lr_factor")))]


@dataclass
class Plan:
    parts: Parts
    phases: list
    cached: bool  # frozen phases train the head on cached features
    adapt: bool  # BatchNorm re-estimated on the faces first
    cache_folder: str | None = None  # where cached features live (search.feature_cache)


def plan(model: keras.Model, values: dict, first: int, end: int, cache_folder) -> Plan | None:
    """How this fit runs, or None where it is one plain fit (no backbone, or nothing to change)."""
    parts = Parts.of(model)
    if parts is None:
        return None
    steps = phases(values, first, end, bool(parts.backbone.trainable_weights))
    cached = (cache_folder is not None and not float(values.get("mixup") or 0.0) and parts.deterministic_input()
              and any(p.frozen for p in steps))
    adapt = setting(values, "batch_norm_mode") == "adapt"
    if len(steps) == 1 and not cached and not adapt:
        return None
    return Plan(parts, steps, cached, adapt, cache_folder)


class WholeFit(keras.callbacks.Callback):
    """The caller's callbacks over a fit in phases: they see the full model, the whole fit's epochs
    in `params`, one train begin and end (`begin`, `end`; keras-tuner's HParams callback takes one),
    and a stop one of them asks for ends the fit, not just the phase (`stopped`)."""

    def __init__(self, callbacks, model: keras.Model, epochs: int):
        super().__init__()
        self.inner, self.full, self.epochs, self.stopped, self.trained = list(callbacks), model, epochs, False, model
        for c in self.inner:
            c.set_model(model)

    def set_model(self, model):
        self.trained = model  # the phase's: the full model, or the head on cached features

    def set_params(self, params):
        super().set_params(params)
        for c in self.inner:
            c.set_params({**params, "epochs": self.epochs})

    def begin(self):
        for c in self.inner:
            c.on_train_begin()

    def end(self, logs=None):
        for c in self.inner:
            c.on_train_end(logs)

    def forward(self, hook: str, *args, **kwargs):
        asked, self.full.stop_training = self.full.stop_training, False  # a phase's own early stop
        for c in self.inner:
            getattr(c, hook)(*args, **kwargs)
        if self.full.stop_training:
            self.stopped = self.trained.stop_training = True
        self.full.stop_training = self.full.stop_training or asked


for _hook in HOOKS:  # every epoch, batch and validation hook goes to the caller's callbacks
    setattr(WholeFit, _hook, lambda self, *args, _h=_hook, **kwargs: self.forward(_h, *args, **kwargs))


def fresh_optimizer(template, learning_rate: float):
    """A new optimizer like `template` (its config and weight-decay exclusions) at this rate."""
    template = getattr(template, "inner_optimizer", template)  # compile wraps a loss-scaled one again
    opt = template.__class__.from_config({**template.get_config(), "learning_rate": learning_rate})
    opt._exclude_from_weight_decay = getattr(template, "_exclude_from_weight_decay", set())
    opt._exclude_from_weight_decay_pattern = getattr(template, "_exclude_from_weight_decay_pattern", None)
    opt._exclude_from_weight_decay_cache = {}
    return opt


def recompile(model: keras.Model, compile_config: dict, optimizer) -> None:
    """Compile `model` as the trial's model was (loss, metrics), with `optimizer`."""
    model.compile(**{**keras.saving.deserialize_keras_object(compile_config), "optimizer": optimizer})


def set_frozen(parts: Parts, frozen: bool, trainable: dict) -> None:
    """Freeze the whole backbone, or give its layers back the trainable flags the space built."""
    parts.backbone.trainable = not frozen
    if not frozen:
        for layer in parts.backbone.layers:
            layer.trainable = trainable[layer.name]


def merged(histories: list, model: keras.Model, epochs: int) -> keras.callbacks.History:
    """The phases' histories as one fit's, for keras-tuner and the report."""
    whole = keras.callbacks.History()
    whole.set_model(model)
    whole.set_params({**histories[-1].params, "epochs": epochs})
    whole.epoch = [e for h in histories for e in h.epoch]
    for h in histories:
        for key, values in h.history.items():
            whole.history.setdefault(key, []).extend(values)
    return whole


class CachedData:
    """The frozen phases' data on the backbone's features, computed on first use."""

    def __init__(self, parts: Parts, data: dict, validation, folder):
        self.parts, self.data, self.validation, self.folder, self.ready = parts, data, validation, folder, None

    def get(self) -> tuple:
        if self.ready is None:
            head = self.parts.head_model()
            train, _ = feature_cache.features(self.parts.extractor, self.parts.backbone, self.data["x"], self.folder)
            val = None
            if self.validation is not None:
                xv, *rest = self.validation
                val = (feature_cache.features(self.parts.extractor, self.parts.backbone, xv, self.folder)[0], *rest)
            self.ready = (head, {**self.data, "x": train}, val)
        return self.ready


def fit_in_phases(plan_: Plan, x, data: dict, validation, recipe: list, caller: list, fit_kwargs: dict,
                  run) -> keras.callbacks.History:
    """Fit `plan_.parts.model` on the faces `x` phase by phase: `data` and `validation` as model.fit
    takes them, the `recipe`'s callbacks on the model each phase trains, the `caller`'s on the whole
    fit (WholeFit); `run(model, **kwargs)` is the core's model.fit."""
    parts, model = plan_.parts, plan_.parts.model
    first, end = int(fit_kwargs.pop("initial_epoch", 0)), int(fit_kwargs.pop("epochs", 1))
    compile_config, template = model.get_compile_config(), model.optimizer
    base = float(keras.ops.convert_to_numpy(getattr(template, "inner_optimizer", template).learning_rate))
    trainable = {layer.name: layer.trainable for layer in parts.backbone.layers}
    if plan_.adapt:
        batch_norm.reestimate(parts.path_in, parts.backbone, x)
    for c in recipe:
        if isinstance(c, WarmupCosine):
            c.span(end)
    whole, cached = WholeFit(caller, model, end), CachedData(parts, data, validation, plan_.cache_folder)
    histories, start = [], first
    whole.begin()
    for phase in plan_.phases:
        set_frozen(parts, phase.frozen, trainable)
        optimizer = fresh_optimizer(template, base * phase.lr_factor)
        recompile(model, compile_config, optimizer)
        trained, phase_data, phase_val = model, data, validation
        if phase.frozen and plan_.cached:
            trained, phase_data, phase_val = cached.get()
            recompile(trained, compile_config, optimizer)  # the same optimizer: what the full model reports
        histories.append(run(trained, **phase_data, validation_data=phase_val, callbacks=[*recipe, whole],
                             epochs=phase.end, initial_epoch=start, **fit_kwargs))
        start += len(histories[-1].epoch)
        if whole.stopped or start >= end:
            break
    set_frozen(parts, False, trainable)
    history = merged(histories, model, end)
    whole.end({k: v[-1] for k, v in history.history.items()} if history.epoch else None)
    return history
