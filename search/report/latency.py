"""What a point of accuracy costs at inference: milliseconds per image, measured here."""
import time

import numpy as np

INFERENCE_BATCH = 256
REPEATS = 3


def inference_ms(model, x: np.ndarray, batch: int = INFERENCE_BATCH) -> float:
    """Milliseconds per image of `model.predict` on one batch of `batch` faces (best of a few runs)."""
    faces = np.ascontiguousarray(x[:batch])
    if len(faces) < batch:  # tiny test splits: repeat faces to a full batch
        faces = np.resize(faces, (batch, *faces.shape[1:]))
    model.predict(faces, batch_size=batch, verbose=0)  # warm-up: tracing, allocation
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        model.predict(faces, batch_size=batch, verbose=0)
        best = min(best, time.perf_counter() - start)
    return 1000.0 * best / batch
