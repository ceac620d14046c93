"""Our own face detector: an SSD-style head on ImageNet's MobileNetV2, trained on street photos and on scenes
composed from masked and unmasked faces (train_face_detector.py), run with LiteRT.

This module owns what training and detection share, in NumPy: the anchors, the encoding of face boxes against them
and its inverse; and running the trained .tflite file on a frame.

The network sees the frame with its longer side scaled to `input_size`, but never enlarged more than 1.6 times
(a webcam's close face need not be larger), padded at the right and bottom to a multiple of 32. Each of five levels (strides 8 to 128) has three anchors per cell, of one face shape, at sizes a
third of an octave apart, so that anchor sizes run from 16 to 406 pixels of the input. For each anchor the network
gives a face logit and four box offsets; the shipped network also a class logit, p(without_mask), which the pipeline
weighs with the classifier's (see class_probabilities).
"""
import math
from pathlib import Path

import cv2
import numpy as np

from facemask import UserError
from facemask.boxes import non_maximum_suppression, overlaps
from facemask.files import input_problem
from facemask.runtime import load_interpreter

MODEL_FOLDER = Path(__file__).resolve().parents[2] / "models"  # the shipped detector's
MODEL_NAME = "face_detector.tflite"
STRIDES = (8, 16, 32, 64, 128)
SCALES = (1.0, 2 ** (1 / 3), 2 ** (2 / 3))  # anchor size = 2 × stride × scale
ASPECT = 0.85  # width / height of the anchors: the median face box of the street photos is 0.93, of webcams 0.73
VARIANCES = np.array([0.1, 0.1, 0.2, 0.2])  # SSD's: the offsets are scaled to about unit size
PAD_TO = 32  # the input's sides are padded to a multiple of the backbone's stride
NMS_IOU = 0.4
DEFAULT_INPUT_SIZE = 640
MAX_UPSCALE = 1.6  # street photos of 400 pixels become 640: their faces of 16 pixels become 26
# A face's class output: the mean over the anchors that found it (face probability CLASS_FLOOR or more, decoded box
# overlapping it by CLASS_IOU or more), weighted by their face probability, as measured in models/face_detector.md
CLASS_FLOOR, CLASS_IOU = 0.05, 0.5
MASK_CLASSES = ("with_mask", "without_mask")  # the class output is the probability of the second


def input_scale(height, width, input_size=DEFAULT_INPUT_SIZE):
    """How much a height × width frame is scaled for the network."""
    return min(input_size / max(height, width), MAX_UPSCALE)


def grid_sizes(height, width):
    """(rows, columns) of each level's grid for an input of height × width (multiples of 32): levels up to
    stride 32 are the backbone's, the next two halve the one before, rounding up (a 3×3 convolution, stride 2)."""
    sizes = [(height // stride, width // stride) for stride in STRIDES[:3]]
    for _ in STRIDES[3:]:
        rows, columns = sizes[-1]
        sizes.append((math.ceil(rows / 2), math.ceil(columns / 2)))
    return sizes


def make_anchors(height, width):
    """The anchors of an input of height × width, as an (n, 4) array of [cx, cy, w, h] in input pixels, in the
    network's output order: level by level, rows top to bottom, columns left to right, then the scales."""
    anchors = []
    for stride, (rows, columns) in zip(STRIDES, grid_sizes(height, width)):
        y, x = np.meshgrid((np.arange(rows) + 0.5) * stride, (np.arange(columns) + 0.5) * stride, indexing="ij")
        centres = np.repeat(np.stack([x.ravel(), y.ravel()], axis=1), len(SCALES), axis=0)
        heights = 2 * stride * np.array(SCALES) / math.sqrt(ASPECT)
        shapes = np.tile(np.stack([heights * ASPECT, heights], axis=1), (rows * columns, 1))
        anchors.append(np.concatenate([centres, shapes], axis=1))
    return np.concatenate(anchors)


def encode(boxes, anchors):
    """Face boxes (n, 4) [x1, y1, x2, y2] as offsets (n, 4) from their anchors (n, 4) [cx, cy, w, h]."""
    sizes = boxes[:, 2:] - boxes[:, :2]
    centres = boxes[:, :2] + sizes / 2
    offsets = np.concatenate([(centres - anchors[:, :2]) / anchors[:, 2:],
                              np.log(np.maximum(sizes, 1e-6) / anchors[:, 2:])], axis=1)
    return offsets / VARIANCES


def decode(offsets, anchors):
    """Offsets (n, 4) from anchors (n, 4) [cx, cy, w, h] as boxes (n, 4) [x1, y1, x2, y2]: encode's inverse."""
    offsets = offsets * VARIANCES
    centres = anchors[:, :2] + offsets[:, :2] * anchors[:, 2:]
    sizes = anchors[:, 2:] * np.exp(np.minimum(offsets[:, 2:], 10))
    return np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)


def input_shape(height, width, input_size):
    """(scale, padded height, padded width): how a height × width frame becomes the network's input."""
    scale = input_scale(height, width, input_size)
    padded = [math.ceil(round(side * scale) / PAD_TO) * PAD_TO for side in (height, width)]
    return scale, padded[0], padded[1]


def prepare(frame, input_size):
    """The BGR frame as the network's input: longer side scaled to input_size, RGB, padded with black to a
    multiple of 32, float32 (0-255; the model scales its input itself), batch of 1; and the scale."""
    height, width = frame.shape[:2]
    scale, padded_height, padded_width = input_shape(height, width, input_size)
    resized = cv2.resize(frame, (round(width * scale), round(height * scale)),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    tensor = np.zeros((1, padded_height, padded_width, 3), np.float32)
    tensor[0, :resized.shape[0], :resized.shape[1]] = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    return tensor, scale


def sigmoid(logits):
    return 1 / (1 + np.exp(-np.clip(logits, -50, 50)))


def faces_from_outputs(outputs, anchors, scale, frame_shape, min_confidence):
    """The network's (n, 5) outputs on a frame of frame_shape (height, width) scaled by `scale` as boxes (int, in
    the frame's pixels, clipped to it) and confidences of at least min_confidence, overlaps removed, most
    confident first."""
    height, width = frame_shape[:2]
    scores = sigmoid(outputs[:, 0])
    candidates = np.flatnonzero(scores >= min_confidence)
    boxes = decode(outputs[candidates, 1:5], anchors[candidates]) / scale
    keep = non_maximum_suppression(boxes, scores[candidates], NMS_IOU)
    boxes = np.clip(np.round(boxes[keep]), 0, [width, height, width, height]).astype(int).reshape(-1, 4)
    return boxes, scores[candidates][keep].astype(float)


def class_probabilities(outputs, anchors, scale, boxes):
    """For each box (m, 4) [x1, y1, x2, y2] in the frame's pixels, the network's p(without_mask) there from its
    (n, 6) outputs on that frame scaled by `scale`: the mean of the class probability of the anchors that found that
    face, weighted by their face probability; NaN for a box no anchor found."""
    scores = sigmoid(outputs[:, 0])
    candidates = np.flatnonzero(scores >= CLASS_FLOOR)
    found = decode(outputs[candidates, 1:5], anchors[candidates]) / scale
    weights = np.where(overlaps(np.asarray(boxes, float).reshape(-1, 4), found) >= CLASS_IOU, scores[candidates], 0)
    total = weights.sum(axis=1)
    mean = weights @ sigmoid(outputs[candidates, 5]) / np.maximum(total, 1e-12)
    return np.where(total > 0, mean, np.nan)


class MobileNetDetector:
    """Our face detector, from the face_detector.tflite file in `model_dir` (default: the shipped one in models/).
    `input_size`: the longer side of the network's input in pixels (larger finds smaller faces, and costs more).
    `has_classes`: the file has the class output too (see without_mask_probabilities)."""

    default_confidence = 0.5

    def __init__(self, model_dir=None, threads=None, input_size=None):
        model_path = Path(model_dir or MODEL_FOLDER) / MODEL_NAME
        problem = input_problem(model_path)
        if problem is not None:
            raise UserError(f"cannot read face detector {model_path}: {problem}")
        try:
            self.interpreter = load_interpreter(model_path=str(model_path), threads=threads,
                                                input_shape=(1, PAD_TO, PAD_TO, 3))
        except Exception:  # LiteRT raises ValueError or RuntimeError for a damaged file
            raise UserError(f"face detector {model_path} is damaged: LiteRT cannot load it") from None
        inputs, outputs = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        faces = [output["index"] for output in outputs if output["shape"][-1] == 5]
        classes = [output["index"] for output in outputs if output["shape"][-1] == 1]
        if len(inputs) != 1 or len(faces) != 1 or len(classes) > 1 or len(outputs) != 1 + len(classes):
            raise UserError(f"{model_path} is not a face detector of train_face_detector.py")
        self.input_index, self.output_indices = inputs[0]["index"], faces + classes
        self.has_classes = bool(classes)
        self.model_path, self.input_size = model_path, input_size or DEFAULT_INPUT_SIZE
        self.shape, self.anchors = None, None
        self.last = None  # (outputs, scale) of the frame detected last, for without_mask_probabilities

    def raw_outputs(self, tensor):
        """The network's (n, 5) outputs on a prepared input: [face logit, 4 box offsets] per anchor; (n, 6), with
        the class logit last, from a network that has the class output."""
        if tensor.shape != self.shape:  # a new frame size: the interpreter and the anchors follow it
            self.interpreter.resize_tensor_input(self.input_index, tensor.shape)
            self.interpreter.allocate_tensors()
            self.shape, self.anchors = tensor.shape, make_anchors(*tensor.shape[1:3])
        self.interpreter.set_tensor(self.input_index, tensor)
        self.interpreter.invoke()
        outputs = np.concatenate([self.interpreter.get_tensor(index)[0] for index in self.output_indices], axis=1)
        if len(outputs) != len(self.anchors):
            raise UserError(f"{self.model_path} gives {len(outputs)} outputs for a {tensor.shape[2]}×"
                            f"{tensor.shape[1]} input, where its anchors are {len(self.anchors)}")
        return outputs

    def detect(self, frame, min_confidence=default_confidence):
        """Faces in a BGR frame: an (n, 4) int array of [x1, y1, x2, y2] boxes clipped to the frame, and their
        (n,) confidences, most confident first."""
        tensor, scale = prepare(frame, self.input_size)
        outputs = self.raw_outputs(tensor)
        self.last = (outputs, scale)
        return faces_from_outputs(outputs, self.anchors, scale, frame.shape[:2], min_confidence)

    def without_mask_probabilities(self, boxes):
        """p(without_mask) by the class output for each box of the frame detected last (see class_probabilities),
        or None when the network has no class output."""
        if not self.has_classes:
            return None
        outputs, scale = self.last
        return class_probabilities(outputs, self.anchors, scale, boxes)
