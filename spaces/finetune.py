"""Transfer learning's hyperparameters, for a space whose model wraps a pretrained backbone.

As the Keras guide and the seed experiments fine-tune: a first phase with the backbone frozen
trains the new head (`frozen_phase`: that fraction of a fit's epochs), then the top
`unfreeze_layers` train too, at the rate times `finetune_lr_factor`; both phases lie inside one
trial's epochs and one schedule. `batch_norm_mode` says what the backbone's BatchNorm layers
normalise with: ImageNet's moving statistics ("frozen"), or statistics re-estimated on the
training faces before the fit ("adapt"; FER's grayscale faces are far from ImageNet's photos).
Either way they run in inference mode and are never trained. The space only declares them; the
fit acts on them (`search.transfer`).
"""
from spaces.recipe import conditional

FROZEN_PHASES = (0.0, 0.25, 0.5)
FINETUNE_LR_FACTORS = (0.1, 0.3, 1.0)
BATCH_NORM_MODES = ("frozen", "adapt")
# What a fit does where a trial does not say (a space without them, a trial saved before them):
# no frozen phase, the trial's own rate throughout, ImageNet's statistics.
UNPHASED = {"frozen_phase": 0.0, "finetune_lr_factor": 1.0, "batch_norm_mode": "frozen"}


def finetune_choices(hp) -> None:
    """Declare the three; `finetune_lr_factor` only where there is a frozen phase to follow."""
    hp.Choice("frozen_phase", FROZEN_PHASES, default=0.25)
    conditional(hp, "finetune_lr_factor", "frozen_phase", [p for p in FROZEN_PHASES if p],
                lambda: hp.Choice("finetune_lr_factor", FINETUNE_LR_FACTORS, default=0.3))
    hp.Choice("batch_norm_mode", BATCH_NORM_MODES, default="frozen")


def setting(values: dict, name: str):
    """A trial's value of one of them, or what a fit does without it (UNPHASED)."""
    value = values.get(name)
    return UNPHASED[name] if value is None else value
