"""A photo with two real faces for the face-detection tests, made from FER-2013's own faces.

No package this project depends on ships photos of faces, and drawn faces do not fool a Haar
cascade. FER-2013's faces do once upscaled (48 -> 160 pixels): two of them, pasted side by
side on a grey canvas, make a two-face photo. Candidates are tried in a fixed order and the
first pair the cascade finds, both and nothing else, is used, so the photo is the same on
every run. Without the shared FER-2013 zip the tests that need it are skipped.
"""
import io
import zipfile

import numpy as np
import pytest

from tests.conftest import REAL_ZIP

FACE_SIDE = 160
TOP = 60                 # room above the faces for the labels
LEFTS = (30, 250)        # the two faces' left edges
CANVAS = (250, 440)      # height, width
CANDIDATES = 40          # test-split faces tried, in name order


def upscaled_faces(limit: int = CANDIDATES):
    import cv2
    from PIL import Image
    with zipfile.ZipFile(REAL_ZIP) as zf:
        names = sorted(n for n in zf.namelist() if n.startswith("test/") and n.endswith((".jpg", ".png")))
        for name in names[:limit]:
            face = np.asarray(Image.open(io.BytesIO(zf.read(name))).convert("L"))
            yield name, cv2.resize(face, (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_CUBIC)


def compose(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    canvas = np.full(CANVAS, 128, dtype=np.uint8)
    for x0, face in zip(LEFTS, (left, right)):
        canvas[TOP:TOP + FACE_SIDE, x0:x0 + FACE_SIDE] = face
    return canvas


def one_face_each_side(boxes) -> bool:
    if len(boxes) != 2:
        return False
    centres = sorted(x + w / 2 for x, _, w, _ in boxes)
    return all(x0 < c < x0 + FACE_SIDE for c, x0 in zip(centres, LEFTS))


def two_face_photo() -> tuple[np.ndarray, list, list[str]]:
    """(grayscale photo, the two boxes the cascade finds in it, the FER-2013 files used)."""
    from fer.faces import detect_faces
    if not REAL_ZIP.is_file():
        pytest.skip(f"no FER-2013 faces to make a two-face photo from ({REAL_ZIP} is absent)")
    faces = list(upscaled_faces())
    for i, (name_a, a) in enumerate(faces):
        for name_b, b in faces[i + 1:]:
            photo = compose(a, b)
            boxes = detect_faces(photo)
            if one_face_each_side(boxes):
                return photo, boxes, [name_a, name_b]
    pytest.skip(f"the face cascade found no pair among the first {CANDIDATES} FER-2013 test faces")
