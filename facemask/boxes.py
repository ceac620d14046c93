"""What the face detectors share about boxes: non-maximum suppression."""
import cv2
import numpy as np


def non_maximum_suppression(boxes, scores, iou_threshold):
    """Indices of the [x1, y1, x2, y2] boxes kept, most confident first: a box is dropped when it overlaps a kept,
    more confident one by more than iou_threshold."""
    if len(boxes) == 0:
        return np.empty(0, dtype=int)
    rectangles = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    kept = np.asarray(cv2.dnn.NMSBoxes(rectangles.tolist(), scores.tolist(), 0.0, iou_threshold), dtype=int)
    return kept.ravel()
