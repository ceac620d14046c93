"""Reading images from disk, and the one function that turns a face into classifier input.

Every image in the toolkit, a training photo or a video frame, is an 8-bit BGR array, OpenCV's convention.
`prepare_face` is used by training, evaluation and detection alike, so they can never drift apart.
"""
from pathlib import Path

import cv2
import numpy as np

from facemask import UserError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
JPEG_MAGIC = b"\xff\xd8"
IMAGE_SIZE = 224  # the classifier's input: IMAGE_SIZE × IMAGE_SIZE RGB


def is_image_file(path):
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def to_bgr8(image):
    """Any decoded image (grayscale, BGR, BGRA; 8 or 16 bits) as 8-bit, 3-channel BGR.

    Transparent pixels are laid over white, the way an image viewer shows them.
    """
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        alpha = image[:, :, 3:].astype(np.float32) / 255.0
        over_white = image[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
        return np.round(over_white).astype(np.uint8)
    return image


def read_image(path):
    """Read an image file as 8-bit BGR; raise UserError naming the file when it cannot be read."""
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)  # np.fromfile copes with non-ASCII names on every OS
    except OSError as error:
        raise UserError(f"cannot read image {path}: {error.strerror or error}") from None
    # JPEGs never carry alpha, so IMREAD_COLOR loses nothing there and applies the EXIF orientation;
    # other formats are read unchanged so that alpha and 16-bit depth reach to_bgr8.
    flags = cv2.IMREAD_COLOR if data[:2].tobytes() == JPEG_MAGIC else cv2.IMREAD_UNCHANGED
    image = cv2.imdecode(data, flags) if data.size else None
    if image is None:
        raise UserError(f"cannot read image {path}: not an image, or a damaged one")
    return to_bgr8(image)


def prepare_face(face_bgr, size):
    """A BGR face crop as the classifier's input: `size`×`size` RGB, uint8.

    Scaling to the network's range is done inside the model, so the model file carries its own preprocessing.
    """
    height, width = face_bgr.shape[:2]
    shrinking = height > size or width > size
    resized = cv2.resize(face_bgr, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
