"""What the face detectors, the evaluation and the tracking share about boxes: a face's size, their overlaps, and
non-maximum suppression."""
import cv2
import numpy as np


def shorter_side(box):
    """A face box's size as the evaluation and the tracking measure it: the shorter side of [x1, y1, x2, y2]."""
    x1, y1, x2, y2 = box
    return min(x2 - x1, y2 - y1)


def non_maximum_suppression(boxes, scores, iou_threshold):
    """Indices of the [x1, y1, x2, y2] boxes kept, most confident first: a box is dropped when it overlaps a kept,
    more confident one by more than iou_threshold."""
    if len(boxes) == 0:
        return np.empty(0, dtype=int)
    rectangles = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    kept = np.asarray(cv2.dnn.NMSBoxes(rectangles.tolist(), scores.tolist(), 0.0, iou_threshold), dtype=int)
    return kept.ravel()


def overlaps(a, b):
    """IoU of every box of a (n, 4) with every box of b (m, 4), [x1, y1, x2, y2]: an (n, m) array."""
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    intersection = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return intersection / np.maximum(area_a[:, None] + area_b[None, :] - intersection, 1e-9)
