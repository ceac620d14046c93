"""The decoder of the peer (benchmarks/aizoo.py, AIZOO's face-mask detector, for comparison only): its anchors and
SSD decoding checked by hand, then the real network on a photo when ../shared is present."""
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, SHARED, needs_shared

from facemask import UserError

sys.path.insert(0, str(ROOT / "benchmarks"))

from aizoo import AizooDetector, aizoo_anchors, decode, select  # noqa: E402


def test_anchors_by_hand():
    anchors = aizoo_anchors()
    # 4 anchors per cell on maps of 33², 17², 9², 5², 3² cells: 4 · (1089 + 289 + 81 + 25 + 9) = 5972
    assert anchors.shape == (5972, 4)

    # first anchor of the 33×33 map: centre of cell (0, 0) = 0.5 / 33, size s1 = 0.04 at ratio 1
    assert anchors[0] == pytest.approx([0.5 / 33, 0.5 / 33, 0.04, 0.04])
    # row by row: the next cell (index 4) is one column to the right, the cell at index 33·4 one row down
    assert anchors[4, :2] == pytest.approx([1.5 / 33, 0.5 / 33])
    assert anchors[33 * 4, :2] == pytest.approx([0.5 / 33, 1.5 / 33])

    # the 17×17 map starts after 33·33·4 = 4356 anchors; its cell in row 2, column 5 is cell 2·17 + 5 = 39,
    # so its anchors are 4356 + 39·4 = 4512 to 4515, centred at (5.5 / 17, 2.5 / 17) = (0.323529, 0.147059).
    # (s1, s2) = (0.08, 0.11); √0.62 = 0.787401, √0.42 = 0.648074; width = s·√ratio, height = s/√ratio
    cell = anchors[4512:4516]
    assert cell[:, 0] == pytest.approx([0.323529] * 4, abs=1e-6)
    assert cell[:, 1] == pytest.approx([0.147059] * 4, abs=1e-6)
    assert cell[:, 2:] == pytest.approx(np.array([
        [0.08, 0.08],            # s1, ratio 1
        [0.11, 0.11],            # s2, ratio 1
        [0.062992, 0.101600],    # s1, ratio 0.62: 0.08 · 0.787401, 0.08 / 0.787401
        [0.051846, 0.123443],    # s1, ratio 0.42: 0.08 · 0.648074, 0.08 / 0.648074
    ]), abs=1e-6)

    # first anchor of the last (3×3) map: 5972 - 3·3·4 = 5936, centre 0.5 / 3, size s1 = 0.64
    assert anchors[5936] == pytest.approx([1 / 6, 1 / 6, 0.64, 0.64])
    # and the very last one: cell (2, 2), s1 at ratio 0.42
    assert anchors[-1] == pytest.approx([2.5 / 3, 2.5 / 3, 0.64 * np.sqrt(0.42), 0.64 / np.sqrt(0.42)])


def test_decode_by_hand():
    anchors = np.array([[0.5, 0.5, 0.2, 0.1],
                        [0.25, 0.75, 0.1, 0.1]])
    # zero offsets give the anchor's own box: [cx - w/2, cy - h/2, cx + w/2, cy + h/2]
    assert decode(np.zeros((2, 4)), anchors) == pytest.approx(np.array([[0.4, 0.45, 0.6, 0.55],
                                                                        [0.2, 0.7, 0.3, 0.8]]))
    # offsets [1, -2, 5·ln 2, 0] on the first anchor, variances (0.1, 0.1, 0.2, 0.2):
    #   cx = 0.5 + 1 · 0.1 · 0.2 = 0.52          cy = 0.5 + (-2) · 0.1 · 0.1 = 0.48
    #   w = 0.2 · exp(5·ln 2 · 0.2) = 0.2 · 2 = 0.4   h = 0.1 · exp(0) = 0.1
    #   box = [0.52 - 0.2, 0.48 - 0.05, 0.52 + 0.2, 0.48 + 0.05] = [0.32, 0.43, 0.72, 0.53]
    # on the second: offsets [-2.5, 0, 0, -5·ln 2]: cx = 0.25 - 2.5 · 0.1 · 0.1 = 0.225, h = 0.1 / 2 = 0.05
    #   box = [0.225 - 0.05, 0.75 - 0.025, 0.225 + 0.05, 0.75 + 0.025] = [0.175, 0.725, 0.275, 0.775]
    offsets = np.array([[1, -2, 5 * np.log(2), 0],
                        [-2.5, 0, 0, -5 * np.log(2)]])
    assert decode(offsets, anchors) == pytest.approx(np.array([[0.32, 0.43, 0.72, 0.53],
                                                               [0.175, 0.725, 0.275, 0.775]]))


def test_select_one_nms_over_both_classes():
    boxes = np.array([[0, 0, 10, 10],     # with_mask 0.9
                      [1, 0, 11, 10],     # without_mask 0.8, IoU 9/11 with the first: suppressed across classes
                      [20, 20, 30, 30],   # without_mask 0.5: exactly the confidence, kept
                      [40, 40, 50, 50]],  # 0.49: below it
                     dtype=float)
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.5], [0.49, 0.1]])
    assert select(boxes, scores, 0.5).tolist() == [0, 2]
    assert select(boxes, scores, 0.95).tolist() == []


def test_missing_model_is_one_line_error(tmp_path):
    with pytest.raises(UserError, match="folder not found") as error:
        AizooDetector(model_dir=tmp_path / "nowhere")
    assert "\n" not in str(error.value) and "nowhere" in str(error.value)
    with pytest.raises(UserError, match="face_mask_detection.prototxt"):
        AizooDetector(model_dir=tmp_path)


@needs_shared
def test_two_masked_people():
    frame = cv2.imread(str(SHARED / "media" / "pic1.jpeg"))
    faces = AizooDetector()(frame)
    assert [face["label"] for face in faces] == ["with_mask", "with_mask"]
    height, width = frame.shape[:2]
    for face in faces:
        x1, y1, x2, y2 = face["box"]
        assert all(isinstance(v, int) for v in face["box"])
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
        assert face["face_confidence"] == face["confidence"] >= 0.5
    assert faces[0]["confidence"] >= faces[1]["confidence"]
    # two different people, side by side
    assert faces[0]["box"][2] < faces[1]["box"][0] or faces[1]["box"][2] < faces[0]["box"][0]
