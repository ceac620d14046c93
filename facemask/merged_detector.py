"""Several face detectors as one: each runs on the frame, their confidences are put on one scale, and the boxes
that more than one of them found for the same face are merged by one non-maximum suppression.

One scale: each detector has a default confidence, the threshold at which it was measured to find faces best.
Its confidences are mapped piecewise linearly so that its default becomes 0.5 (0 stays 0, 1 stays 1); a merged
threshold of 0.5 then runs every detector at its own default, and a box's confidence says how far above its own
detector's default it was.
"""
import numpy as np

from facemask.boxes import non_maximum_suppression

MERGE_IOU = 0.3  # two detectors' boxes of one face overlap more than this (their boxes are drawn differently)


def to_common_scale(confidences, default):
    """A detector's confidences on the common scale, on which its `default` is 0.5."""
    confidences = np.asarray(confidences, dtype=float)
    return np.where(confidences < default, 0.5 * confidences / default,
                    0.5 + 0.5 * (confidences - default) / (1 - default))


def from_common_scale(confidence, default):
    """The detector's own confidence that is `confidence` on the common scale: to_common_scale's inverse."""
    return confidence * 2 * default if confidence < 0.5 else default + (confidence - 0.5) * 2 * (1 - default)


class MergedDetector:
    """Runs `detectors` (each with .detect(frame, min_confidence) and .default_confidence) as one detector."""

    default_confidence = 0.5

    def __init__(self, detectors):
        self.detectors = detectors

    def detect(self, frame, min_confidence=default_confidence):
        """Faces in a BGR frame: an (n, 4) int array of [x1, y1, x2, y2] boxes clipped to the frame, and their
        (n,) confidences on the common scale, most confident first."""
        boxes, confidences = [], []
        for detector in self.detectors:
            found, own = detector.detect(frame, from_common_scale(min_confidence, detector.default_confidence))
            boxes.append(found)
            confidences.append(to_common_scale(own, detector.default_confidence))
        boxes, confidences = np.concatenate(boxes).reshape(-1, 4), np.concatenate(confidences)
        keep = non_maximum_suppression(boxes.astype(float), confidences, MERGE_IOU)
        return boxes[keep], confidences[keep]
