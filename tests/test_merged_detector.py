"""Merging face detectors: their confidences on one scale, the vote, and one face found by two detectors kept once."""
import numpy as np
import pytest

from facemask.detectors.merged import SUPPORT_FLOOR, MergedDetector, from_common_scale, to_common_scale, vote


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


def test_the_vote_moves_each_confidence_by_the_other_detectors_view_of_that_face():
    boxes = np.array([[10, 10, 50, 50], [12, 12, 52, 52], [100, 100, 140, 140], [104, 100, 144, 140]], float)
    confidences = np.array([0.6, 0.9, 0.6, 0.7])
    sources = np.array([0, 1, 1, 1])  # the last two overlap, but come from the same detector: no vote
    np.testing.assert_allclose(vote(boxes, confidences, sources, 0.2),
                               [0.6 + 0.2 * 0.4, 0.9 + 0.2 * 0.1, 0.6 - 0.2 * 0.5, 0.7 - 0.2 * 0.5])
    np.testing.assert_allclose(vote(boxes, np.array([1.0, 1.0, 0.05, 0.0]), sources, 0.2), [1.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(vote(boxes, confidences, sources, 0.0), confidences)


def test_two_detectors_one_face_kept_once_and_each_detector_asked_down_to_the_floor():
    ssd_like = Fixed(0.25, [[10, 10, 50, 50], [200, 10, 240, 50]], [0.4, 0.2])     # common scale: 0.6, 0.4
    other = Fixed(0.5, [[12, 12, 52, 52], [100, 100, 140, 140]], [0.9, 0.7])       # common scale: 0.9, 0.7
    merged = MergedDetector([ssd_like, other], agreement=0.2)
    boxes, confidences = merged.detect(np.zeros((300, 300, 3), np.uint8), 0.5)
    assert (ssd_like.asked, other.asked) == (from_common_scale(SUPPORT_FLOOR, 0.25), SUPPORT_FLOOR)
    # [10, 10, 50, 50] and [12, 12, 52, 52] overlap by 0.82: each votes for the other, the surer one stays
    # (0.9 + 0.2 × 0.1); the faces seen by one detector lose 0.2 × 0.5: 0.7 falls to 0.6, 0.4 to 0.3, under 0.5
    assert boxes.tolist() == [[12, 12, 52, 52], [100, 100, 140, 140]]
    np.testing.assert_allclose(confidences, [0.92, 0.6])
    boxes, _ = merged.detect(np.zeros((300, 300, 3), np.uint8), 0.25)
    assert [200, 10, 240, 50] in boxes.tolist()
    boxes, confidences = MergedDetector([ssd_like, other], agreement=0.0).detect(np.zeros((300, 300, 3)), 0.5)
    np.testing.assert_allclose(confidences, [0.9, 0.7])  # no vote: the confidences on the common scale


def test_a_detector_that_finds_nothing_leaves_the_others_faces():
    first = Fixed(0.5, [[10, 10, 50, 50], [100, 100, 140, 140]], [0.9, 0.8])
    second = Fixed(0.5, [[12, 12, 52, 52]], [0.9])
    frame = np.zeros((300, 300, 3), np.uint8)
    without = MergedDetector([first, second]).detect(frame)
    with_nothing = MergedDetector([first, second, Fixed(0.6, [], [])]).detect(frame)
    for found, expected in zip(with_nothing, without):
        np.testing.assert_array_equal(found, expected)
    assert len(without[0]) == 2


def test_a_higher_midpoint_makes_the_faces_a_detector_alone_finds_need_more():
    alone = Fixed(0.6, [[100, 100, 140, 140], [200, 200, 240, 240]], [0.7, 0.8])
    frame = np.zeros((300, 300, 3), np.uint8)
    # midpoint 0.6: 0.7 and 0.8 are 0.625 and 0.75 on the common scale, 0.525 and 0.65 after the vote (- 0.1)
    _, confidences = MergedDetector([alone, Fixed(0.5, [], [])]).detect(frame, 0.5)
    np.testing.assert_allclose(confidences, [0.65, 0.525])
    # midpoint 0.75: 0.7 is 0.467 on the common scale, 0.8 is 0.6; after the vote 0.367 (gone) and 0.5
    boxes, confidences = MergedDetector([alone, Fixed(0.5, [], [])], midpoints=[0.75, 0.5]).detect(frame, 0.5)
    assert boxes.tolist() == [[200, 200, 240, 240]]
    np.testing.assert_allclose(confidences, [0.5])
