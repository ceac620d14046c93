"""A third face detector: YuNet (Shiqi Yu's libfacedetection), trained on WIDER FACE, run by OpenCV's
cv2.FaceDetectorYN. It sees faces turned aside and looking down, which our street photos hardly show.

Its ONNX file ships in models/yunet/ (see its README). It was exported for a 640×640 input, but the network is
fully convolutional and OpenCV takes any input size: the frame is scaled and padded as our own detector's
(mobilenet.input_shape), so a 16:9 frame is not padded to a square. YuNet draws its boxes as WIDER FACE's
annotators did, from the eyebrows down, where our sets' boxes (and so our classifier's training crops) reach the
forehead and the chin under a mask: each box is moved to our convention by BOX_SHIFT before it is returned.
"""
from pathlib import Path

import cv2
import numpy as np

from facemask import UserError
from facemask.detectors.mobilenet import DEFAULT_INPUT_SIZE, input_shape
from facemask.files import input_problem

MODEL_FOLDER = Path(__file__).resolve().parents[2] / "models" / "yunet"
MODEL_NAME = "yunet_s_640_640.onnx"
NMS_IOU = 0.3  # OpenCV's model zoo's
TOP_K = 5000
# How far each edge of YuNet's box lies from the annotated box's, in shares of the box's width (left, right) and
# height (top, bottom): the medians over the 736 faces of 16 pixels or more of scenes-street/train that YuNet-s
# finds (IoU ≥ 0.3). Moved so, a box's median IoU with the annotation goes from 0.66 to 0.79 (each half of the
# photos fitted on the other); YuNet's five landmarks as well did no better (0.80).
BOX_SHIFT = np.array([0.002, 0.19, 0.041, 0.078])  # left, top, right, bottom
KEYPOINTS = ("right eye", "left eye", "nose tip", "right mouth corner", "left mouth corner")


def to_our_boxes(boxes):
    """YuNet's [x1, y1, x2, y2] boxes (n, 4), float, moved by BOX_SHIFT to the convention of our sets."""
    sizes = np.tile(boxes[:, 2:] - boxes[:, :2], 2)
    return boxes + BOX_SHIFT * sizes


class YuNet:
    """YuNet-s from `model_dir` (default: the shipped models/yunet/). `input_size`: the longer side of the network's
    input in pixels (default 640), as our detector's (larger finds smaller faces, and costs more)."""

    # Its best F1 of face recall and precision alone on the 206 photos of scenes-street/train, which it never saw
    # (faces of 16 pixels or more; models/face_detector.md, "YuNet")
    default_confidence = 0.65

    def __init__(self, model_dir=None, input_size=None):
        self.input_size = input_size or DEFAULT_INPUT_SIZE
        path = Path(model_dir or MODEL_FOLDER) / MODEL_NAME
        problem = input_problem(path)
        if problem is not None:
            raise UserError(f"cannot read YuNet face detector {path}: {problem}")
        try:
            self.net = cv2.FaceDetectorYN.create(str(path), "", (DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE), 0.0,
                                                 NMS_IOU, TOP_K)
        except cv2.error:
            raise UserError(f"YuNet face detector {path} is damaged: OpenCV cannot load it") from None

    def detect(self, frame, min_confidence=default_confidence):
        """Faces in a BGR frame: an (n, 4) int array of [x1, y1, x2, y2] boxes clipped to the frame, in our sets'
        convention, and their (n,) confidences, most confident first."""
        boxes, confidences, _ = self.detect_with_keypoints(frame, min_confidence)
        return boxes, confidences

    def detect_with_keypoints(self, frame, min_confidence=default_confidence):
        """As detect, and each face's five landmarks (n, 5, 2) as float [x, y] in the frame's pixels, in the order
        of KEYPOINTS; they are not clipped to the frame."""
        height, width = frame.shape[:2]
        scale, padded_height, padded_width = input_shape(height, width, self.input_size)
        resized = cv2.resize(frame, (max(1, round(width * scale)), max(1, round(height * scale))),
                             interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        tensor = np.zeros((padded_height, padded_width, 3), np.uint8)
        tensor[:resized.shape[0], :resized.shape[1]] = resized
        self.net.setInputSize((padded_width, padded_height))
        self.net.setScoreThreshold(float(min_confidence))
        _, rows = self.net.detect(tensor)  # each: x, y, w, h, five landmarks (x, y), score; in the input's pixels
        rows = np.zeros((0, 15), np.float32) if rows is None else rows[np.argsort(-rows[:, 14])]
        boxes = to_our_boxes(np.concatenate([rows[:, :2], rows[:, :2] + rows[:, 2:4]], axis=1) / scale)
        boxes = np.clip(np.round(boxes), 0, [width, height, width, height]).astype(int).reshape(-1, 4)
        inside = (boxes[:, 2:] > boxes[:, :2]).all(axis=1)
        keypoints = rows[:, 4:14].reshape(-1, 5, 2).astype(float) / scale
        return boxes[inside], rows[inside, 14].astype(float), keypoints[inside]
