"""Training our face detector: matching boxes to anchors, the training crops, composed scenes and their faces'
classes, and a short real training run on made-up scenes."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
from conftest import ROOT, face_photo, with_drawn_mask

from facemask.detectors.mobilenet import decode, make_anchors
from facemask.training.detector import match_anchors, random_crop
from facemask.training.scenes import class_label, close_up, crowd, find_face_boxes, hidden_share, read_scenes

FACE_BOX = np.array([[150.0, 120, 360, 400]])  # Grace Hopper's face in grace_hopper.jpg, roughly


def test_each_face_gets_its_anchors_and_the_rest_is_background_or_ignored():
    anchors = make_anchors(128, 128)
    face = [30.0, 30, 60, 66]
    targets = match_anchors(anchors, [face], [1], ignored=[[100.0, 100, 104, 104]])
    positive = targets[:, 0] == 1
    assert positive.sum() >= 1
    # every positive anchor's offsets decode back to the face
    np.testing.assert_allclose(decode(targets[positive, 1:5], anchors[positive]), [face] * positive.sum(), atol=1e-4)
    assert (targets[:, 0] == 0).sum() > 0.9 * len(anchors)  # most of the frame is background
    # the face's class is taught on its anchors only; a face of unknown class teaches none
    assert (targets[positive, 5] == 1).all() and (targets[~positive, 5] == -1).all()
    assert (match_anchors(anchors, [face], [-1])[:, 5] == -1).all()
    # a face too small for any anchor still gets its best one
    tiny = match_anchors(anchors, [[10.0, 10, 14, 14]])
    assert (tiny[:, 0] == 1).sum() == 1


def test_a_crop_keeps_the_faces_inside_it_and_ignores_those_cut_or_too_small():
    rng = np.random.default_rng(0)
    image = np.zeros((400, 400, 3), np.uint8)
    faces = np.array([[100.0, 100, 200, 200], [390, 10, 420, 40], [300, 300, 303, 303]])
    crop, good, labels, ignored = random_crop(image, faces, np.array([1, 0, -1]), 384, rng, scale_range=(1, 1))
    assert crop.shape == (384, 384, 3)
    assert len(labels) == len(good) and len(good) + len(ignored) <= 3
    if len(good):  # only the first face is both inside and large enough
        assert labels.tolist() == [1] and all((box >= 0).all() and (box <= 384).all() for box in good)
    sides = np.concatenate([good, ignored])[:, 2:] - np.concatenate([good, ignored])[:, :2]
    assert (sides >= 0).all()


def test_composed_scenes_put_the_face_box_on_the_face_and_keep_the_faces_that_show():
    rng = np.random.default_rng(1)
    photo = face_photo()
    background = np.full((300, 400, 3), 90, np.uint8)
    background_face = np.array([10.0, 10, 50, 50])
    for _ in range(6):
        frame, boxes, labels = close_up(photo, FACE_BOX, [1], background, [background_face], [0], rng)
        assert labels.tolist() == [1] + [0] * (len(boxes) - 1)  # each face keeps its class
        x1, y1, x2, y2 = boxes[0].round().astype(int)
        # the first box holds the face's pixels (Grace Hopper's skin), not the grey background
        assert np.abs(frame[y1:y2, x1:x2].astype(int) - 90).mean() > 20
        assert frame.shape[0] >= (y2 - y1) * 0.99
        # the background's face is boxed wherever it still shows, scaled with the background
        scaled = background_face * np.array([frame.shape[1] / 400, frame.shape[0] / 300] * 2)
        shown = [box for box in boxes[1:] if np.allclose(box, scaled, atol=1)]
        assert len(boxes) == 1 + len(shown)
    for _ in range(6):
        scene, boxes, labels = crowd(background, np.array([background_face]), [0], [(photo, FACE_BOX, [1])], rng,
                                     count=3)
        assert scene.shape == background.shape and 1 <= len(boxes) <= 4
        # each box is the background's face or a pasted one, 12 pixels to a third of the scene's height wide
        widths = boxes[:, 2] - boxes[:, 0]
        pasted = (widths >= 12 - 1e-6) & (widths <= 100 + 1e-6) & ~np.all(boxes == background_face, axis=1)
        assert pasted.sum() >= 1 and all(np.allclose(box, background_face) for box in boxes[~pasted])
        assert (labels[pasted] == 1).all() and (labels[~pasted] == 0).all()
    assert hidden_share([0, 0, 10, 10], [5, 0, 20, 10]) == 0.5


def test_faces_are_labelled_from_the_scenes_annotations_and_the_face_photos_folders(tmp_path):
    assert [class_label(name) for name in ("with_mask", "without_mask", "face")] == [0, 1, -1]
    make_scenes(tmp_path / "scenes", 2, np.random.default_rng(5))
    (_, boxes, labels), _ = read_scenes(tmp_path / "scenes")
    assert len(boxes) == 2 and labels.tolist() == [1, 0]  # the first scene: bare, then masked
    from facemask.detectors.blazeface import BlazeFace

    for name, photo in {"without_mask": face_photo(), "with_mask": with_drawn_mask(face_photo()),
                        "other": face_photo()}.items():
        (tmp_path / "faces" / name).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "faces" / name / "1.jpg"), photo)
    found, skipped = find_face_boxes(tmp_path / "faces", BlazeFace("short"))
    assert skipped == 0 and [labels[0] for _, _, labels in found] == [-1, 0, 1]  # sorted: other, with, without
    # class folders that are symbolic links are read as the classifier's dataset reads them
    (tmp_path / "linked").mkdir()
    for name in ("with_mask", "without_mask"):
        (tmp_path / "linked" / name).symlink_to(tmp_path / "faces" / name, target_is_directory=True)
    found, skipped = find_face_boxes(tmp_path / "linked", BlazeFace("short"))
    assert skipped == 0 and [labels[0] for _, _, labels in found] == [0, 1]


def make_scenes(folder, count, rng):
    """Scene photos with Grace Hopper's face, bare or masked, pasted at random sizes and places on textured
    backgrounds, with PASCAL VOC boxes labelled without_mask or with_mask."""
    (folder / "images").mkdir(parents=True)
    (folder / "annotations").mkdir()
    photo = face_photo()
    faces = [photo[120:400, 150:360], with_drawn_mask(photo)[120:400, 150:360]]
    for index in range(count):
        noise = rng.integers(0, 255, (12, 16, 3)).astype(np.uint8)
        scene = cv2.resize(noise, (320, 240), interpolation=cv2.INTER_CUBIC)
        objects = ""
        for slot in range(2):
            width = int(rng.integers(40, 90))
            height = int(width * 280 / 210)
            x, y = int(slot * 160 + rng.integers(0, 160 - width)), int(rng.integers(0, 240 - height))
            scene[y:y + height, x:x + width] = cv2.resize(faces[(index + slot) % 2], (width, height))
            objects += (f"<object><name>{('without_mask', 'with_mask')[(index + slot) % 2]}</name><bndbox><xmin>{x}</xmin><ymin>{y}</ymin><xmax>{x + width}</xmax>"
                        f"<ymax>{y + height}</ymax></bndbox></object>")
        cv2.imwrite(str(folder / "images" / f"{index}.jpg"), scene)
        (folder / "annotations" / f"{index}.xml").write_text(
            f"<annotation><filename>{index}.jpg</filename>{objects}</annotation>")


def test_a_short_training_run_offline_learns_to_find_the_faces(tmp_path):
    make_scenes(tmp_path / "scenes", 16, np.random.default_rng(2))
    # the default --base-weights, with an empty Keras cache and no internet: the shipped ImageNet weights
    offline = {**os.environ, "KERAS_HOME": str(tmp_path / "empty-keras-cache"), "HTTPS_PROXY": "http://127.0.0.1:9",
               "https_proxy": "http://127.0.0.1:9"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "train_face_detector.py"), "--scenes", tmp_path / "scenes", "--output",
         tmp_path / "detector", "--steps", "300", "--batch-size", "4", "--crop-size", "256", "--val-split", "0.25",
         "--lr", "2e-3"],
        capture_output=True, text=True, timeout=900, env=offline)
    assert result.returncode == 0, result.stderr[-2000:]
    output = tmp_path / "detector"
    assert {path.name for path in output.iterdir()} >= {"face_detector.tflite", "face_detector.keras", "loss.png",
                                                      "training_metadata.json"}
    validation = json.loads((output / "training_metadata.json").read_text())["validation"]
    # 4 held-out photos, 8 faces: an untrained head finds none (it starts at 1% confidence everywhere)
    assert validation["faces"] == 8
    assert validation["face_recall"] >= 0.75 and validation["precision"] >= 0.5, validation

    # its class output learnt the difference between the bare and the masked faces of the training scenes
    from facemask.detectors.mobilenet import MobileNetDetector

    detector = MobileNetDetector(output)
    (image, boxes, labels), *_ = read_scenes(tmp_path / "scenes")
    detector.detect(image)
    without_mask = detector.without_mask_probabilities(boxes)
    assert detector.has_classes and without_mask[labels == 1].min() > without_mask[labels == 0].max(), without_mask

    # the detector loads and finds the faces in the detection script
    scene = tmp_path / "scenes" / "images" / "0.jpg"
    found = subprocess.run([sys.executable, str(ROOT / "detect_mask_image.py"), "--image", scene, "--detector",
                            "mobilenet", "--face", output, "--json", "-"], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    assert len(json.loads(found.stdout)[str(scene)]) >= 1


def run_training(*args):
    return subprocess.run([sys.executable, str(ROOT / "train_face_detector.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=900)


def test_a_folder_that_holds_a_detector_is_refused_without_force(tmp_path):
    make_scenes(tmp_path / "scenes", 4, np.random.default_rng(3))
    output = tmp_path / "detector"
    output.mkdir()
    (output / "face_detector.tflite").write_bytes(b"the good detector")
    small = ["--scenes", tmp_path / "scenes", "--output", output, "--base-weights", "none", "--steps", 1,
             "--batch-size", 1, "--crop-size", 128, "--val-split", 0.25]
    result = run_training(*small)
    assert result.returncode == 2
    assert result.stderr == (f"error: --output {output} already holds a model (face_detector.tflite): pass --force "
                             "to replace it, or choose another --output\n")  # before the scenes are read
    assert result.stdout == "" and os.listdir(output) == ["face_detector.tflite"]
    assert (output / "face_detector.tflite").read_bytes() == b"the good detector"

    result = run_training(*small, "--force")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (output / "face_detector.tflite").read_bytes() != b"the good detector"
    assert json.loads((output / "training_metadata.json").read_text())["options"]["force"] is True


def test_a_missing_weights_file_stops_the_run_before_the_scenes_and_leaves_no_folder(tmp_path):
    make_scenes(tmp_path / "scenes", 4, np.random.default_rng(4))
    output = tmp_path / "detector"
    result = run_training("--scenes", tmp_path / "scenes", "--output", output, "--base-weights",
                          tmp_path / "missing.h5", "--steps", 1)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: --base-weights file not found:")
    assert "scene photos" not in result.stdout  # stopped before the scenes were read
    assert not output.exists()
