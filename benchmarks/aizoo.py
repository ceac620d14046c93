"""The peer, for comparison only: AIZOO's face-mask detector (AIZOOTech/FaceMaskDetection, MIT licence), run so
that benchmarks and evaluations can measure it beside ours on the same photos. The product never imports it.

Written from the facts in ../shared/models/peers/aizoo/README.md: one Caffe SSD-style network that finds faces and
says mask / no mask in one pass. The decoding is in plain numpy functions (`aizoo_anchors`, `decode`) so that it
can be tested without the model.

    from aizoo import AizooDetector     # with benchmarks/ on sys.path
    faces = AizooDetector()(frame)      # a BGR uint8 frame -> faces, like facemask.pipeline.MaskDetector
"""
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from facemask import UserError  # noqa: E402

AIZOO_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "models" / "peers" / "aizoo"
PROTOTXT_NAME = "face_mask_detection.prototxt"
WEIGHTS_NAME = "face_mask_detection.caffemodel"
CLASS_NAMES = ["with_mask", "without_mask"]  # the network's class outputs, in order
INPUT_SIZE = (260, 260)
OUTPUT_NAMES = ["loc_branch_concat", "cls_branch_concat"]
VARIANCES = np.array([0.1, 0.1, 0.2, 0.2])
NMS_IOU = 0.4

# The five feature maps, in output order: cells per side and the anchor sizes (s1, s2), relative to the image.
FEATURE_MAPS = [(33, (0.04, 0.056)), (17, (0.08, 0.11)), (9, (0.16, 0.22)), (5, (0.32, 0.45)), (3, (0.64, 0.72))]
# The four anchors of each cell, in output order: (size index, aspect ratio); width = s·√ratio, height = s/√ratio.
CELL_ANCHORS = [(0, 1.0), (1, 1.0), (0, 0.62), (0, 0.42)]


def aizoo_anchors():
    """The network's 5972 anchors as a (5972, 4) array of [cx, cy, w, h] relative to the image, in its output
    order: map by map, cells row by row (top to bottom, left to right within a row), four anchors per cell."""
    anchors = []
    for cells, sizes in FEATURE_MAPS:
        centres = (np.arange(cells) + 0.5) / cells
        cy, cx = np.meshgrid(centres, centres, indexing="ij")  # rows (y) outer, columns (x) inner
        shapes = np.array([(sizes[size] * np.sqrt(ratio), sizes[size] / np.sqrt(ratio))
                           for size, ratio in CELL_ANCHORS])  # (4, 2): w, h
        cell_centres = np.stack([cx.ravel(), cy.ravel()], axis=1)  # (cells², 2)
        anchors.append(np.concatenate([np.repeat(cell_centres, len(shapes), axis=0),
                                       np.tile(shapes, (len(cell_centres), 1))], axis=1))
    return np.concatenate(anchors)


def decode(offsets, anchors):
    """SSD decoding with variances (0.1, 0.1, 0.2, 0.2): (n, 4) offsets [dcx, dcy, dw, dh] and (n, 4) anchors
    [cx, cy, w, h] -> (n, 4) boxes [x1, y1, x2, y2] relative to the image."""
    offsets = np.asarray(offsets, dtype=float).reshape(-1, 4) * VARIANCES
    anchors = np.asarray(anchors, dtype=float).reshape(-1, 4)
    centres = anchors[:, :2] + offsets[:, :2] * anchors[:, 2:]
    sizes = anchors[:, 2:] * np.exp(offsets[:, 2:])
    return np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)


def select(boxes, scores, confidence, iou=NMS_IOU):
    """Indices of the boxes kept, most confident first: class scores (n, 2) -> the larger one per box, kept when
    >= confidence, then one non-maximum suppression over both classes at `iou`."""
    best = np.asarray(scores).max(axis=1)
    candidates = np.flatnonzero(best >= confidence)
    if len(candidates) == 0:
        return candidates
    corners = boxes[candidates]
    rects = np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], axis=1)  # x, y, w, h
    # The >= confidence cut is done above: NMSBoxes keeps only scores > its threshold, which must be >= 0.
    kept = np.asarray(cv2.dnn.NMSBoxes(rects.tolist(), best[candidates].tolist(), 0.0, iou), dtype=int).ravel()
    kept = candidates[kept]
    return kept[np.argsort(-best[kept], kind="stable")]


def find_model_files(model_dir=AIZOO_DIR):
    """(prototxt, caffemodel) in model_dir; UserError naming the missing folder or file."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise UserError(f"AIZOO model folder not found: {model_dir}")
    files = model_dir / PROTOTXT_NAME, model_dir / WEIGHTS_NAME
    for path in files:
        if not path.is_file():
            raise UserError(f"AIZOO model file not found: {path}")
    return files


class AizooDetector:
    """Callable on a BGR uint8 frame like facemask.pipeline.MaskDetector: returns a list of faces, most confident
    first, each {"box": [x1, y1, x2, y2] ints in the frame's pixels, "label": "with_mask" | "without_mask",
    "confidence": the winning class's score, "face_confidence": the same score (the peer has one score per box)}."""

    def __init__(self, confidence=0.5, model_dir=AIZOO_DIR):
        prototxt, weights = find_model_files(model_dir)
        self.net = cv2.dnn.readNetFromCaffe(str(prototxt), str(weights))
        self.confidence = confidence
        self.anchors = aizoo_anchors()

    def outputs(self, frame):
        """The network's raw outputs on a BGR frame: offsets (5972, 4) and class scores (5972, 2)."""
        # BGR -> RGB, resized to 260×260, pixels scaled by 1/255, no mean subtraction
        blob = cv2.dnn.blobFromImage(frame, 1 / 255, INPUT_SIZE, swapRB=True, crop=False)
        self.net.setInput(blob)
        offsets, scores = self.net.forward(OUTPUT_NAMES)
        return offsets.reshape(-1, 4), scores.reshape(-1, 2)

    def __call__(self, frame):
        height, width = frame.shape[:2]
        offsets, scores = self.outputs(frame)
        scale = np.array([width, height, width, height])
        boxes = decode(offsets, self.anchors) * scale
        faces = []
        for index in select(boxes, scores, self.confidence):
            box = np.clip(np.round(boxes[index]), 0, scale).astype(int)
            score = round(float(scores[index].max()), 6)
            faces.append({"box": box.tolist(), "label": CLASS_NAMES[int(scores[index].argmax())],
                          "confidence": score, "face_confidence": score})
        return faces
