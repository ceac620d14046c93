"""YuNet: the shipped files are the ones its README names, its boxes moved to our sets' convention, real photos
found as our detector finds them, --detector yunet on photos and video, and its one-line errors."""
import hashlib
import json
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, face_photo, with_drawn_mask

from facemask import UserError
from facemask.detectors import MobileNetDetector, YuNet
from facemask.detectors.yunet import MODEL_FOLDER, MODEL_NAME, to_our_boxes
from facemask.evaluate import iou


@pytest.fixture(scope="module")
def yunet():
    return YuNet()


def turned(photo, degrees):
    """The photo turned by `degrees` about its centre, on a canvas large enough to hold all of it."""
    height, width = photo.shape[:2]
    side = int(np.hypot(height, width))
    rotation = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    rotation[:, 2] += [(side - width) / 2, (side - height) / 2]
    return cv2.warpAffine(photo, rotation, (side, side), borderMode=cv2.BORDER_REPLICATE)


def test_the_shipped_files_are_the_ones_its_readme_names():
    readme = (MODEL_FOLDER / "README.md").read_text()
    named = re.search(rf"`{re.escape(MODEL_NAME)}` \| `([0-9a-f]{{64}})`", readme)
    assert named, f"{MODEL_NAME} has no SHA-256 in models/yunet/README.md"
    assert hashlib.sha256((MODEL_FOLDER / MODEL_NAME).read_bytes()).hexdigest() == named.group(1)
    assert "Apache License" in (MODEL_FOLDER / "LICENSE").read_text()


def test_a_box_is_moved_to_our_convention_by_hand():
    # a 100×200 box: left by 0.002 × 100, top by 0.19 × 200, right by 0.041 × 100, bottom by 0.078 × 200
    np.testing.assert_allclose(to_our_boxes(np.array([[10.0, 20.0, 110.0, 220.0]])),
                               [[10.2, 58.0, 114.1, 235.6]])


@pytest.mark.parametrize("degrees", [0, 30])
@pytest.mark.parametrize("masked", [False, True])
def test_grace_hopper_is_framed_as_our_detector_frames_her(yunet, degrees, masked):
    photo = turned(with_drawn_mask(face_photo()) if masked else face_photo(), degrees)
    boxes, confidences = yunet.detect(photo)
    ours, _ = MobileNetDetector().detect(photo)
    assert len(boxes) == 1 and confidences[0] >= yunet.default_confidence
    assert iou(boxes[0].tolist(), ours[0].tolist()) >= 0.5


def test_landmarks_fall_on_her_face(yunet):
    boxes, _, keypoints = yunet.detect_with_keypoints(face_photo())
    (x1, y1, x2, y2), points = boxes[0], keypoints[0]
    assert ((points >= [x1, y1]) & (points <= [x2, y2])).all()
    right_eye, left_eye, nose, right_mouth, left_mouth = points
    assert right_eye[0] < left_eye[0] and right_mouth[0] < left_mouth[0]  # in the photo, her right is on the left
    assert max(right_eye[1], left_eye[1]) < nose[1] < min(right_mouth[1], left_mouth[1])


@pytest.mark.parametrize("input_size", [320, 640])
def test_any_frame_shape_finds_a_close_face_and_a_flat_frame_has_none(input_size):
    detector = YuNet(input_size=input_size)
    wide = cv2.copyMakeBorder(face_photo(), 0, 0, 300, 300, cv2.BORDER_CONSTANT)  # 1112×600: not a square input
    boxes, _ = detector.detect(wide)
    assert len(boxes) == 1
    x1, y1, x2, y2 = boxes[0]
    assert x1 < 300 + 255 < x2 and y1 < 260 < y2  # Grace Hopper's face, moved 300 pixels right
    assert len(detector.detect(np.full((480, 640, 3), 128, np.uint8))[0]) == 0


def test_a_missing_or_damaged_file_is_named(tmp_path):
    with pytest.raises(UserError, match="yunet_s_640_640.onnx: no such file"):
        YuNet(tmp_path)
    (tmp_path / "yunet_s_640_640.onnx").write_bytes(b"\x08\x07" + bytes(100))
    with pytest.raises(UserError, match="yunet_s_640_640.onnx is damaged") as error:
        YuNet(tmp_path)
    assert "\n" not in str(error.value)


def run(script, *args):
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_detector_yunet_on_a_photo_and_a_video(tmp_path):
    photo = tmp_path / "hopper.jpg"
    cv2.imwrite(str(photo), face_photo())
    result = run("detect_mask_image.py", "--image", photo, "--detector", "yunet", "--json", tmp_path / "faces.json",
                 "--output", tmp_path / "annotated.jpg")
    assert result.returncode == 0, result.stderr
    faces = json.loads((tmp_path / "faces.json").read_text())[str(photo)]
    assert [face["label"] for face in faces] == ["without_mask"]

    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 376))
    still = cv2.resize(face_photo(), (320, 376))
    for index in range(10):
        writer.write(np.roll(still, index, axis=1))
    writer.release()
    result = run("detect_mask_video.py", "--input", video, "--detector", "yunet", "--no-display",
                 "--json-lines", tmp_path / "faces.jsonl")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in (tmp_path / "faces.jsonl").read_text().splitlines()]
    assert len(lines) == 10 and all(len(line["faces"]) == 1 for line in lines)


def test_a_videos_glance_leaves_yunet_out_and_its_full_look_keeps_it():
    from facemask.pipeline import DEFAULT_DETECTOR, video_detector

    detector = video_detector(face_detector=DEFAULT_DETECTOR, glance_size=320)
    assert [type(one).__name__ for one in detector.face_detector.detectors] == ["MobileNetDetector", "BlazeFace",
                                                                                 "YuNet"]
    assert [type(one).__name__ for one in detector.glance_detector.detectors] == ["MobileNetDetector", "BlazeFace"]
    assert detector.glance_detector.detectors[0].input_size == 320
