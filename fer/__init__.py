"""fer: the FER-2013 domain (classes, sources, cached arrays, metrics, plots)."""
from fer.constants import CLASS_NAMES, NUM_CLASSES, IMAGE_SHAPE, SPLITS
from fer.errors import UserError

__all__ = ["CLASS_NAMES", "NUM_CLASSES", "IMAGE_SHAPE", "SPLITS", "UserError", "Dataset"]


def __getattr__(name):  # lazy, so `import fer` stays cheap for the CLI
    if name == "Dataset":
        from fer.dataset import Dataset
        return Dataset
    raise AttributeError(name)
