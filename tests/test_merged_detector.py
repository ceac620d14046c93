"""Merging face detectors: their confidences on one scale, and one face found by two detectors kept once."""
import numpy as np
import pytest

from facemask.merged_detector import MergedDetector, from_common_scale, to_common_scale


class Fixed:
    """A face detector that always finds the same boxes."""

    def __init__(self, default_confidence, boxes, confidences):
        self.default_confidence = default_confidence
        self.boxes, self.confidences = np.array(boxes).reshape(-1, 4), np.array(confidences, float)
        self.asked = None

    def detect(self, frame, min_confidence):
        self.asked = min_confidence
        keep = self.confidences >= min_confidence
        return self.boxes[keep], self.confidences[keep]


def test_the_common_scale_puts_each_default_at_one_half():
    # default 0.25: 0.125 is half of it (0.25 on the common scale); 0.625 is half way from 0.25 to 1 (0.75)
    np.testing.assert_allclose(to_common_scale([0, 0.125, 0.25, 0.625, 1], 0.25), [0, 0.25, 0.5, 0.75, 1])
    for value in (0.1, 0.5, 0.8):
        assert from_common_scale(to_common_scale(value, 0.25), 0.25) == pytest.approx(value)


def test_two_detectors_one_face_kept_once_and_each_detector_asked_at_its_own_threshold():
    ssd_like = Fixed(0.25, [[10, 10, 50, 50], [200, 10, 240, 50]], [0.4, 0.2])     # common scale: 0.6, 0.4
    other = Fixed(0.5, [[12, 12, 52, 52], [100, 100, 140, 140]], [0.9, 0.6])       # common scale: 0.9, 0.6
    boxes, confidences = MergedDetector([ssd_like, other]).detect(np.zeros((300, 300, 3), np.uint8), 0.5)
    assert (ssd_like.asked, other.asked) == (0.25, 0.5)
    # [10, 10, 50, 50] and [12, 12, 52, 52] overlap by 0.82: the more confident on the common scale stays
    assert boxes.tolist() == [[12, 12, 52, 52], [100, 100, 140, 140]]
    np.testing.assert_allclose(confidences, [0.9, 0.6])
    boxes, _ = MergedDetector([ssd_like, other]).detect(np.zeros((300, 300, 3), np.uint8), 0.35)
    assert [200, 10, 240, 50] in boxes.tolist()  # 0.2 is 0.4 on the common scale
