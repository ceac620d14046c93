"""Reading images from disk, and the one function that turns a face into classifier input.

Every image in the toolkit, a training photo or a video frame, is an 8-bit BGR array, OpenCV's convention.
`prepare_face` is used by training, evaluation and detection alike, so they can never drift apart.
"""
import zlib
from pathlib import Path

import cv2
import numpy as np

from facemask import UserError
from facemask.files import input_problem

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
JPEG_MAGIC = b"\xff\xd8"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IMAGE_SIZE = 224  # the classifier's input: IMAGE_SIZE × IMAGE_SIZE RGB
TRUNCATED = "truncated (the file ends before the image does)"
NOT_READ = {  # formats users name .jpg or ask about, which OpenCV 4.10 cannot decode: (offset, signature)
    (0, b"GIF8"): "a GIF, which is not supported (save it as PNG or JPEG)",
    (4, b"ftypheic"): "a HEIC photo, which is not supported (save it as JPEG)",
    (4, b"ftypmif1"): "a HEIF photo, which is not supported (save it as JPEG)",
    (4, b"ftypavif"): "an AVIF image, which is not supported (save it as PNG or JPEG)",
}
# EXIF orientation → the stored pixels as a viewer shows them (the transpose of an (h, w, c) array swaps h and w)
UPRIGHT = {
    2: lambda image: image[:, ::-1],
    3: lambda image: image[::-1, ::-1],
    4: lambda image: image[::-1],
    5: lambda image: image.swapaxes(0, 1),
    6: lambda image: image.swapaxes(0, 1)[:, ::-1],
    7: lambda image: image[::-1, ::-1].swapaxes(0, 1),
    8: lambda image: image.swapaxes(0, 1)[::-1],
}


class UnreadableImage(UserError):
    """An image file that cannot be read; `reason` says why in a few words."""

    def __init__(self, path, reason):
        super().__init__(f"cannot read image {path}: {reason}")
        self.reason = reason


def is_image_file(path):
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def to_bgr8(image):
    """Any decoded image (grayscale, BGR, BGRA; 8 or 16 bits, or numbers 0-255) as 8-bit, 3-channel BGR;
    UserError for an array that is no image (no pixels, or not 1, 3 or 4 channels).

    Transparent pixels are laid over white, the way an image viewer shows them.
    """
    if image.ndim == 2:
        image = image[:, :, np.newaxis]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4) or image.size == 0 or image.dtype.kind not in "buif":
        raise UserError(f"not an image: an array of shape {image.shape} and type {image.dtype}")
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(np.nan_to_num(image.astype(np.float64)), 0, 255).astype(np.uint8)
    if image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        alpha = image[:, :, 3:].astype(np.float32) / 255.0
        over_white = image[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
        return np.round(over_white).astype(np.uint8)
    return image


def read_image(path):
    """Read an image file as 8-bit BGR, turned the way an image viewer shows it; UnreadableImage (a UserError)
    naming the file when it cannot be read."""
    path = Path(path)
    problem = input_problem(path)
    if problem is not None:
        raise UnreadableImage(path, problem)
    try:
        content = path.read_bytes()  # not cv2.imread, which cannot open non-ASCII names on Windows
    except OSError as error:
        raise UnreadableImage(path, error.strerror or str(error)) from None
    image, problem = decode(content)
    if problem is not None:
        raise UnreadableImage(path, problem)
    return image


def decode(content):
    """(the image as 8-bit BGR, None), or (None, what is wrong with the file's bytes)."""
    problem, exif = check_format(content)
    if problem is not None:
        return None, problem
    # JPEGs never carry alpha, so IMREAD_COLOR loses nothing there, and it applies their EXIF orientation;
    # other formats are read unchanged so that alpha and 16-bit depth reach to_bgr8, and are turned here.
    flags = cv2.IMREAD_COLOR if content.startswith(JPEG_MAGIC) else cv2.IMREAD_UNCHANGED
    try:
        image = cv2.imdecode(np.frombuffer(content, np.uint8), flags)
    except cv2.error:  # a few damaged headers fail an assertion (a BMP claiming a huge size) instead
        image = None
    if image is None:
        return None, "not an image, or a damaged one"
    turn = UPRIGHT.get(exif_orientation(exif))
    return to_bgr8(np.ascontiguousarray(turn(image)) if turn else image), None


def check_format(content):
    """(what is wrong with an image file's bytes that OpenCV would not say, or None; its EXIF block or b"").

    OpenCV's decoders print their complaints about a damaged file on standard error, or fill a JPEG cut short
    with grey without a word: these checks catch the usual cases first, so the user gets one line that says it."""
    if content.startswith(JPEG_MAGIC):
        return jpeg_problem(content), b""
    if content.startswith(PNG_MAGIC):
        return check_png(content)
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return check_webp(content)
    if content.startswith(b"BM") and int.from_bytes(content[2:6], "little") > len(content):  # its size, written first
        return TRUNCATED, b""
    for (offset, signature), problem in NOT_READ.items():
        if content[offset:offset + len(signature)] == signature:
            return problem, b""
    return None, b""


def jpeg_problem(content):
    """TRUNCATED for a JPEG that ends before its end-of-image marker, else None (OpenCV judges the rest)."""
    position = len(JPEG_MAGIC)
    while position + 4 <= len(content) and content[position] == 0xFF:
        marker = content[position + 1]
        if marker == 0xDA:  # start of scan: the compressed data, in which FF D9 cannot occur, and FF D9 at its end
            return None if content.find(b"\xff\xd9", position) >= 0 else TRUNCATED
        position += 1 if marker == 0xFF else 2 + int.from_bytes(content[position + 2:position + 4], "big")
    return TRUNCATED if position + 4 > len(content) else None


def check_png(content):
    """(what is wrong with PNG bytes, or None; their EXIF block): every chunk's checksum, up to the end chunk."""
    view, exif, position = memoryview(content), b"", len(PNG_MAGIC)
    while position + 12 <= len(content):
        end = position + 12 + int.from_bytes(view[position:position + 4], "big")
        if end > len(content):
            break
        if zlib.crc32(view[position + 4:end - 4]) != int.from_bytes(view[end - 4:end], "big"):
            return "damaged (a checksum does not match)", exif
        kind = bytes(view[position + 4:position + 8])
        if kind == b"eXIf":
            exif = bytes(view[position + 8:end - 4])
        if kind == b"IEND":
            return None, exif
        position = end
    return TRUNCATED, exif


def check_webp(content):
    """(what is wrong with WebP bytes, or None; their EXIF block)."""
    if 8 + int.from_bytes(content[4:8], "little") > len(content):
        return TRUNCATED, b""
    exif, position = b"", 12
    while position + 8 <= len(content):
        kind, size = content[position:position + 4], int.from_bytes(content[position + 4:position + 8], "little")
        if kind in (b"ANIM", b"ANMF"):
            return "an animated WebP, which is not supported (save one frame as PNG or JPEG)", b""
        if kind == b"EXIF":
            exif = content[position + 8:position + 8 + size]
        position += 8 + size + size % 2
    return None, exif.removeprefix(b"Exif\0\0")


def exif_orientation(exif):
    """The orientation (1-8) in an EXIF block (a TIFF header and its first directory of tags); 1 when absent."""
    order = {b"II": "little", b"MM": "big"}.get(exif[:2])
    if order is None:
        return 1

    def number(start, size):
        return int.from_bytes(exif[start:start + size], order)

    tags = number(4, 4)
    for entry in range(tags + 2, tags + 2 + 12 * number(tags, 2), 12):
        if number(entry, 2) == 0x0112:
            return number(entry + 8, 2)
    return 1


def prepare_face(face_bgr, size):
    """A BGR face crop as the classifier's input: `size`×`size` RGB, uint8; UserError for an array with no pixels.

    Scaling to the network's range is done inside the model, so the model file carries its own preprocessing.
    """
    face_bgr = to_bgr8(face_bgr)
    height, width = face_bgr.shape[:2]
    shrinking = height > size or width > size
    resized = cv2.resize(face_bgr, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
