"""Several face detectors as one: each runs on the frame, their confidences are put on one scale, each face's
confidence is moved by what the other detectors see there, and the boxes that more than one of them found for the
same face are merged by one non-maximum suppression.

One scale: each detector has a midpoint, by default its default confidence (the threshold at which it was measured
to find faces best alone). Its confidences are mapped piecewise linearly so that its midpoint becomes 0.5 (0 stays
0, 1 stays 1), and a box's confidence says how far above its own detector's midpoint it was. A detector given a
higher midpoint than its default weighs less in the merge: the faces it alone finds must be surer.

The vote: a face that another detector also sees is surer, one that no other detector sees less sure. Each box's
confidence moves by AGREEMENT × (the other detectors' best confidence on that face − 0.5), a face they missed
counting 0. At the default threshold, 0.45, a face one detector alone finds needs 0.55 on the common scale, and
one that both find at their own defaults passes.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from facemask.boxes import non_maximum_suppression, overlaps

MERGE_IOU = 0.3  # two detectors' boxes of one face overlap more than this (their boxes are drawn differently)
# How much the other detectors' view of a face moves its confidence, and the merged default threshold: chosen on
# photos no detector had seen (models/face_detector.md, "Agreement"), for ours and BlazeFace.
AGREEMENT = 0.2
DEFAULT_CONFIDENCE = 0.45
# With YuNet as a third, chosen the same way on 70 photos held out of every training run (models/face_detector.md,
# "YuNet"): the vote weighs more, and YuNet's midpoint is above its default, so that the faces it alone finds (its
# false ones among them: hands, ears, the backs of heads) must be surer.
AGREEMENT_WITH_YUNET = 0.4
YUNET_MIDPOINT = 0.75
SUPPORT_FLOOR = 0.1  # each detector reports its boxes down to this (common scale) to vote on the others'


def to_common_scale(confidences, default):
    """A detector's confidences on the common scale, on which its `default` is 0.5."""
    confidences = np.asarray(confidences, dtype=float)
    return np.where(confidences < default, 0.5 * confidences / default,
                    0.5 + 0.5 * (confidences - default) / (1 - default))


def from_common_scale(confidence, default):
    """The detector's own confidence that is `confidence` on the common scale: to_common_scale's inverse."""
    return confidence * 2 * default if confidence < 0.5 else default + (confidence - 0.5) * 2 * (1 - default)


class MergedDetector:
    """Runs `detectors` (each with .detect(frame, min_confidence) and .default_confidence) as one detector.
    `midpoints`: each detector's own confidence that the common scale puts at 0.5 (default: its default)."""

    default_confidence = DEFAULT_CONFIDENCE

    def __init__(self, detectors, agreement=AGREEMENT, midpoints=None):
        self.detectors, self.agreement = detectors, agreement
        self.midpoints = midpoints or [detector.default_confidence for detector in detectors]
        # The detectors run side by side: LiteRT and OpenCV let go of Python's lock while they compute, so a frame
        # costs about its slowest detector where a core is free (the video loop's single-threaded pipelines)
        self.pool = ThreadPoolExecutor(len(detectors) - 1) if len(detectors) > 1 else None

    def detect(self, frame, min_confidence=default_confidence):
        """Faces in a BGR frame: an (n, 4) int array of [x1, y1, x2, y2] boxes clipped to the frame, and their
        (n,) confidences on the common scale after the vote, most confident first."""
        floor = min(min_confidence, SUPPORT_FLOOR)
        floors = [from_common_scale(floor, midpoint) for midpoint in self.midpoints]
        # the first in this thread, the others in the pool's
        others = [self.pool.submit(detector.detect, frame, own_floor)
                  for detector, own_floor in zip(self.detectors[1:], floors[1:])]
        found = [self.detectors[0].detect(frame, floors[0])] + [future.result() for future in others]
        boxes, confidences, sources = [], [], []
        for index, ((found_boxes, own), midpoint) in enumerate(zip(found, self.midpoints)):
            boxes.append(found_boxes)
            confidences.append(to_common_scale(own, midpoint))
            sources.append(np.full(len(own), index))
        boxes, confidences = np.concatenate(boxes).reshape(-1, 4), np.concatenate(confidences)
        confidences = vote(boxes.astype(float), confidences, np.concatenate(sources), self.agreement)
        sure = confidences >= min_confidence
        boxes, confidences = boxes[sure], confidences[sure]
        keep = non_maximum_suppression(boxes.astype(float), confidences, MERGE_IOU)
        return boxes[keep], confidences[keep]


def vote(boxes, confidences, sources, agreement):
    """Each box's confidence moved by `agreement` × (the best confidence of another source's box that overlaps it
    by more than MERGE_IOU, or 0 if none, minus 0.5), kept within [0, 1]."""
    others = (sources[:, None] != sources[None, :]) & (overlaps(boxes, boxes) > MERGE_IOU)
    support = np.where(others, confidences[None, :], 0.0).max(axis=1, initial=0.0)
    return np.clip(confidences + agreement * (support - 0.5), 0.0, 1.0)
