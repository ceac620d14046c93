"""Our face detector's NumPy side: anchors, box encoding, decoding the network's outputs, its class output, the
input's shape; and its files."""
import math

import numpy as np
import pytest
from conftest import face_photo, with_drawn_mask

from facemask import UserError
from facemask.detectors.mobilenet import (
    MobileNetDetector, class_probabilities, decode, encode, faces_from_outputs, grid_sizes, input_shape,
    make_anchors)


def test_grids_and_anchors_in_the_networks_order():
    assert grid_sizes(64, 96) == [(8, 12), (4, 6), (2, 3), (1, 2), (1, 1)]
    anchors = make_anchors(32, 32)
    # stride 8: 4×4 cells, 16: 2×2, 32: 1×1, 64 and 128: 1×1 (halved, rounding up); three anchors per cell
    assert anchors.shape == ((16 + 4 + 1 + 1 + 1) * 3, 4)
    # The first anchor: the first cell's centre (4, 4); its size 2 × 8 × 1 = 16 is the geometric mean of its
    # sides, at width / height 0.85: height 16 / √0.85 = 17.354, width 0.85 × 17.354 = 14.751.
    np.testing.assert_allclose(anchors[0], [4, 4, 14.751, 17.354], atol=1e-3)
    np.testing.assert_allclose(anchors[1, 2:], anchors[0, 2:] * 2 ** (1 / 3))  # the next scale, same cell
    np.testing.assert_allclose(anchors[3, :2], [12, 4])  # the next cell to the right
    np.testing.assert_allclose(anchors[12, :2], [4, 12])  # the first cell of the second row
    np.testing.assert_allclose(anchors[48], [8, 8, 2 * 14.751, 2 * 17.354], atol=1e-3)  # stride 16 begins


def test_encoding_worked_out_by_hand_and_decoding_inverts_it():
    anchors = np.array([[10.0, 20, 8, 16]])
    # the box [8, 16, 16, 32]: centre (12, 24), size (8, 16); offsets ((12 - 10) / 8 / 0.1, (24 - 20) / 16 / 0.1,
    # ln(8 / 8) / 0.2, ln(16 / 16) / 0.2)
    np.testing.assert_allclose(encode(np.array([[8.0, 16, 16, 32]]), anchors), [[2.5, 2.5, 0, 0]])
    boxes = np.array([[3.0, 5, 40, 30], [100, 80, 120, 130]])
    some_anchors = np.array([[20.0, 20, 30, 30], [105, 100, 16, 40]])
    np.testing.assert_allclose(decode(encode(boxes, some_anchors), some_anchors), boxes)


def test_faces_from_outputs_worked_out_by_hand():
    anchors = np.array([[10.0, 20, 8, 16], [40, 40, 20, 20], [12, 22, 8, 16], [12, 22, 8, 16]])
    outputs = np.array([
        [0.0, 2.5, 2.5, 0, 0],                  # 0.5; box [8, 16, 16, 32]
        [math.log(9), 0, 0, 5 * math.log(2), 0],  # 0.9; width 20 × e^(0.2 × 5 ln 2) = 40: box [20, 30, 60, 50]
        [1.0, 0, 0, 0, 0],                      # 0.731; the anchor's own box [8, 14, 16, 30]
        [-math.log(3), 0, 0, 0, 0],             # 0.25: under the threshold
    ])
    # The frame was scaled by 2, so boxes halve: [4, 8, 8, 16], [10, 15, 30, 25], [4, 7, 8, 15]. The first and the
    # third overlap by 28 / 36 = 0.78, so the less confident first goes. The second is clipped to the 25×20 frame.
    boxes, scores = faces_from_outputs(outputs, anchors, scale=2.0, frame_shape=(20, 25), min_confidence=0.3)
    assert boxes.tolist() == [[10, 15, 25, 20], [4, 7, 8, 15]]
    np.testing.assert_allclose(scores, [0.9, 1 / (1 + math.exp(-1))])
    boxes, scores = faces_from_outputs(outputs, anchors, 2.0, (20, 25), min_confidence=0.95)
    assert boxes.shape == (0, 4) and scores.shape == (0,)


def test_class_output_worked_out_by_hand():
    anchors = np.array([[12.0, 24, 8, 16], [12, 24, 8, 16], [12, 24, 8, 16], [60, 60, 10, 10]])
    logit = math.log
    outputs = np.array([
        [logit(3), 0, 0, 0, 0, logit(9)],      # face 0.75 at the anchor's own box [8, 16, 16, 32]; p 0.9
        [logit(1 / 3), 0, 0, 0, 0, 0.0],       # face 0.25, same box; p 0.5
        [-10.0, 0, 0, 0, 0, 10.0],             # face 0.00005: under CLASS_FLOOR, not counted
        [logit(4), 0, 0, 0, 0, -5.0],          # elsewhere: [55, 55, 65, 65]
    ])
    # At scale 2 the first three anchors' box is [4, 8, 8, 16] in the frame: the box [4, 8, 8, 16] gets
    # (0.75 × 0.9 + 0.25 × 0.5) / (0.75 + 0.25) = 0.8; a box nowhere near a face gets NaN.
    probabilities = class_probabilities(outputs, anchors, 2.0, [[4, 8, 8, 16], [200, 200, 220, 220]])
    assert probabilities[0] == pytest.approx(0.8) and np.isnan(probabilities[1])


def test_the_shipped_detector_tells_a_mask_from_a_bare_face():
    detector = MobileNetDetector()
    assert detector.has_classes
    said = {}
    for name, photo in {"bare": face_photo(), "masked": with_drawn_mask(face_photo())}.items():
        boxes, _ = detector.detect(photo)
        assert len(boxes) == 1
        said[name] = detector.without_mask_probabilities(boxes)[0]
    assert said["bare"] > 0.5 > said["masked"]


@pytest.mark.parametrize("frame,expected", [
    ((400, 300), (1.6, 640, 480)),      # a street photo: enlarged 1.6 times
    ((240, 240), (1.6, 384, 384)),      # a webcam close-up: no more than 1.6 times
    ((1080, 1920), (1 / 3, 384, 640)),  # a large photo: longer side 640, 360 padded to 384
])
def test_how_a_frame_becomes_the_networks_input(frame, expected):
    scale, height, width = input_shape(*frame, input_size=640)
    assert (height, width) == expected[1:] and scale == pytest.approx(expected[0])


def test_a_missing_or_damaged_model_file_is_named(tmp_path):
    with pytest.raises(UserError, match="face_detector.tflite: no such file"):
        MobileNetDetector(tmp_path)
    (tmp_path / "face_detector.tflite").write_bytes(b"TFL3" + bytes(100))
    with pytest.raises(UserError, match="face_detector.tflite is damaged") as error:
        MobileNetDetector(tmp_path)
    assert "\n" not in str(error.value)
