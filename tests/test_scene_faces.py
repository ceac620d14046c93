"""cut_scene_faces.py: the annotated faces of scene photos, cut as detection frames them, as a dataset."""
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, face_photo, with_drawn_mask
from test_evaluate import write_voc

from facemask.dataset import load_dataset, split
from facemask.training.scene_faces import cut_face, cuts_per_class


def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "cut_scene_faces.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def scenes(tmp_path):
    """Two street-like scenes: Grace Hopper small, three times masked and twice bare; in each a face too small to
    cut, and a mask below the nose."""
    folder = tmp_path / "scenes"
    (folder / "images").mkdir(parents=True)
    (folder / "annotations").mkdir()
    photo = face_photo()
    faces = {"with_mask": cv2.resize(with_drawn_mask(photo), (60, 60)), "without_mask": cv2.resize(photo, (60, 60))}
    for number, labels in enumerate([["with_mask", "with_mask", "without_mask"], ["with_mask", "without_mask"]]):
        scene = np.full((200, 400, 3), 120, np.uint8)
        boxes = []
        for index, label in enumerate(labels):
            x = 10 + 75 * index
            scene[70:130, x:x + 60] = faces[label]
            boxes.append((label, (x, 70, x + 60, 130)))
        boxes += [("without_mask", (350, 10, 360, 20)),             # 10 px: not cut
                  ("mask_weared_incorrect", (330, 100, 390, 160))]  # not asked for below
        cv2.imwrite(str(folder / "images" / f"street{number}.jpg"), scene)
        write_voc(folder / "annotations" / f"street{number}.xml", f"street{number}.jpg", scene.shape, boxes)
    return folder


def test_rarer_classes_get_more_cuts_up_to_a_limit():
    assert cuts_per_class({"with_mask": 628, "without_mask": 119}) == {"with_mask": 2, "without_mask": 4}
    assert cuts_per_class({"with_mask": 100, "without_mask": 70}) == {"with_mask": 2, "without_mask": 3}
    assert cuts_per_class({"with_mask": 10, "without_mask": 10}) == {"with_mask": 2, "without_mask": 2}


def test_a_cut_holds_the_face_with_a_margin_and_stays_in_the_image():
    image = np.zeros((100, 100, 3), np.uint8)
    rng = np.random.default_rng(0)
    for _ in range(50):
        cut = cut_face(image, (40, 40, 60, 60), rng)
        # a 20-px face, scaled 0.9-1.15 and grown by 10-35% on each side: 21.6 to 39 px
        assert 21 <= cut.shape[0] <= 39 and 21 <= cut.shape[1] <= 39
    assert cut_face(image, (0, 0, 30, 30), rng).shape[0] <= 30 + 30  # cut at the image's edge, never outside


def test_the_script_cuts_each_face_of_the_labels_asked_and_lists_its_cuts(scenes, tmp_path):
    result = run("--scenes", scenes, "--output", tmp_path / "cuts", "--labels", "with_mask", "without_mask")
    assert result.returncode == 0, result.stderr
    # 3 masked faces, 2 bare ones: the rarer class is cut more often, 2 × 3 / 2 = 3 times a face
    assert "cut 12 images from 5 faces: 3 with_mask (2 cuts each), 2 without_mask (3 cuts each)" in result.stdout
    assert sorted(path.name for path in (tmp_path / "cuts").iterdir()) == ["scene_faces.json", "with_mask",
                                                                           "without_mask"]
    record = json.loads((tmp_path / "cuts" / "scene_faces.json").read_text())
    assert len(record["images"]) == 12 and record["faces"] == {"with_mask": 3, "without_mask": 2}
    cut = cv2.imread(str(tmp_path / "cuts" / record["images"][0]["image"]))
    assert 60 < cut.shape[0] < 110  # the 60-px face at its own resolution, with a margin
    # the cuts of one face are one group, so the split keeps them on one side
    data = load_dataset(tmp_path / "cuts", image_size=16)
    assert len(data.labels) == 12 and len(set(data.groups)) == 5
    train, val = split(data.labels, 0.5, 0, data.groups)
    assert not set(data.groups[train]) & set(data.groups[val])
    # the same seed cuts the same faces
    again = run("--scenes", scenes, "--output", tmp_path / "again", "--labels", "with_mask", "without_mask")
    assert again.returncode == 0, again.stderr
    first = tmp_path / "cuts" / record["images"][5]["image"]
    assert first.read_bytes() == (tmp_path / "again" / record["images"][5]["image"]).read_bytes()


def test_every_label_by_default_and_a_face_under_min_size_is_not_cut(scenes, tmp_path):
    result = run("--scenes", scenes, "--output", tmp_path / "cuts", "--min-size", 8)
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "cuts" / "scene_faces.json").read_text())
    assert record["faces"] == {"with_mask": 3, "without_mask": 4, "mask_weared_incorrect": 2}


@pytest.mark.parametrize("case, message", [
    ("no annotations", "error: no PASCAL VOC annotations in"),
    ("no scenes folder", "error: scenes folder not found: "),
    ("no such label", "error: no face labelled hat of 16 pixels or more annotated in"),
    ("output inside the scenes", "must be apart: neither inside the other"),
    ("output not empty", "is not empty: pass --force"),
])
def test_bad_input_is_one_line_and_writes_nothing(scenes, tmp_path, case, message):
    output = tmp_path / "cuts"
    arguments = ["--scenes", scenes, "--output", output]
    if case == "no annotations":
        arguments[1] = tmp_path
    elif case == "no scenes folder":
        arguments[1] = tmp_path / "scenes-not-here"
    elif case == "no such label":
        arguments += ["--labels", "hat"]
    elif case == "output inside the scenes":
        arguments[3] = output = scenes / "cuts"
    else:
        output.mkdir()
        (output / "mine.txt").write_text("keep me")
    result = run(*arguments)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert not output.exists() or [path.name for path in output.iterdir()] == ["mine.txt"]
