"""Faces in photos: find them with OpenCV's Haar cascade and crop them the way FER-2013 is cropped.

FER-2013's faces are tight square crops, 48x48 grayscale. On FER-2013's own faces the
frontal-face cascade's box is about the FER frame and centred on it (bench/results/NOTES.md,
fer.faces.CROP_GROW), so a face here is the box grown by `CROP_GROW` about its centre, made
square, padded by repeating the edge pixels where it runs off the photo, and resized to 48x48.

The cascade file ships inside the opencv-python-headless wheel (4.x; the 5.0 wheels no longer
have `cv2.CascadeClassifier`), so nothing is downloaded at run time.
"""
from functools import lru_cache

import numpy as np

from fer.constants import IMAGE_SIZE
from fer.errors import UserError

FACE_MODES = ("haar", "none")  # find faces with the cascade, or take each image as one cropped face
CASCADE_FILE = "haarcascade_frontalface_default.xml"
CROP_GROW = 1.03        # the FER frame over the Haar box, median (module doc)
DETECT_MAX_SIDE = 1024  # larger photos are shrunk for detection only (speed); crops use full resolution
SCALE_FACTOR, MIN_NEIGHBORS, MIN_SIZE = 1.1, 5, 30  # OpenCV's usual settings; MIN_SIZE in detection pixels


@lru_cache(maxsize=1)
def cascade():
    import cv2
    path = cv2.data.haarcascades + CASCADE_FILE
    detector = cv2.CascadeClassifier(path)
    if detector.empty():
        raise UserError(f"{path}: OpenCV's face cascade could not be loaded; reinstall opencv-python-headless 4.x")
    return detector


def detect_faces(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Face boxes (x, y, w, h) in `gray`'s pixels, ordered left to right (then top to bottom)."""
    import cv2
    scale = min(1.0, DETECT_MAX_SIDE / max(gray.shape))
    small = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    found = cascade().detectMultiScale(cv2.equalizeHist(small), scaleFactor=SCALE_FACTOR,
                                       minNeighbors=MIN_NEIGHBORS, minSize=(MIN_SIZE, MIN_SIZE))
    boxes = [tuple(int(round(v / scale)) for v in box) for box in found]
    return sorted(boxes)


def to_face(gray: np.ndarray) -> np.ndarray:
    """Any grayscale image resized to one model input, (48, 48, 1) uint8."""
    import cv2
    shrinking = max(gray.shape) > IMAGE_SIZE
    face = cv2.resize(gray, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return face.reshape(IMAGE_SIZE, IMAGE_SIZE, 1).astype(np.uint8)


def crop_face(gray: np.ndarray, box, grow: float = CROP_GROW) -> np.ndarray:
    """The square crop around `box` grown by `grow`, as a (48, 48, 1) uint8 face."""
    import cv2
    x, y, w, h = box
    side = max(1, int(round(max(w, h) * grow)))
    x0, y0 = int(round(x + w / 2 - side / 2)), int(round(y + h / 2 - side / 2))
    height, width = gray.shape
    pad = max(0, -x0, -y0, x0 + side - width, y0 + side - height)
    if pad:
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0 = x0 + pad, y0 + pad
    return to_face(gray[y0:y0 + side, x0:x0 + side])


def faces_in(gray: np.ndarray, mode: str) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
    """(box, face) pairs of one photo: Haar-detected faces, or with mode "none" the whole image."""
    if mode == "none":
        return [((0, 0, gray.shape[1], gray.shape[0]), to_face(gray))]
    return [(box, crop_face(gray, box)) for box in detect_faces(gray)]
