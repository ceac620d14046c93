"""Drawing masks on face photos: the face mesh's landmarks, where each way of wearing puts the mask, and the
make_masked_faces.py script on a folder of good and bad photos."""
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, face_photo

from facemask.drawn_masks.face_landmarks import NO_FACE, TOO_SMALL, FaceMesh, yaw
from facemask.drawn_masks.mask_drawing import (FACE_OVAL, STYLES, WHOLE_MASK, WORN, draw_mask, soft_alpha,
                                               visible_share)
from facemask.drawn_masks.masked_faces import RECORD, make_masked_faces, summary

NOSE_TIP, NOSE_TIP_UPPER = 1, 4
UPPER_LIP, MOUTH_CENTRE, LOWER_LIP = 0, 13, 17
CHIN_TIP, CHIN = 152, 199
RIGHT_EYE_CORNER, LEFT_EYE_CORNER = 33, 263


@pytest.fixture(scope="module")
def face_mesh():
    return FaceMesh(threads=1)


@pytest.fixture(scope="module")
def hopper(face_mesh):
    photo = face_photo()
    landmarks, reason = face_mesh(photo)
    assert reason is None
    return photo, landmarks


def change_at(before, after, point, radius=2):
    """The mean absolute change of the pixels round `point`."""
    x, y = np.round(point[:2]).astype(int)
    window = np.s_[y - radius:y + radius + 1, x - radius:x + radius + 1]
    return np.abs(before[window].astype(int) - after[window].astype(int)).mean()


def test_landmarks_fall_on_grace_hoppers_face(hopper):
    _, landmarks = hopper
    assert landmarks.shape == (468, 3)
    right_eye, left_eye, nose = landmarks[RIGHT_EYE_CORNER], landmarks[LEFT_EYE_CORNER], landmarks[NOSE_TIP]
    # measured: eye corners (≈203, 196) and (≈325, 190), nose tip (269, 243), mouth (271, 277), chin (274, 331)
    assert right_eye[0] + 80 < left_eye[0]  # her right eye on the photo's left, ~120 px apart
    assert right_eye[0] < nose[0] < left_eye[0] and nose[1] > max(right_eye[1], left_eye[1]) + 25
    assert nose[1] < landmarks[MOUTH_CENTRE, 1] < landmarks[CHIN_TIP, 1]
    assert 240 < nose[0] < 300 and 220 < nose[1] < 265
    assert nose[2] < landmarks[RIGHT_EYE_CORNER, 2]  # the nose is nearer the camera than the eyes' corners
    assert abs(yaw(landmarks)) < 10  # she faces the camera


def test_landmarks_turn_with_the_photo(face_mesh, hopper):
    photo, landmarks = hopper
    turn = cv2.getRotationMatrix2D((256, 300), 25, 1.0)  # 25° anticlockwise
    turned = cv2.warpAffine(photo, turn, (512, 600), borderMode=cv2.BORDER_REPLICATE)
    turned_landmarks, reason = face_mesh(turned)
    assert reason is None
    expected = landmarks[:, :2] @ turn[:, :2].T + turn[:, 2]
    for index in (NOSE_TIP, MOUTH_CENTRE, CHIN_TIP, RIGHT_EYE_CORNER, LEFT_EYE_CORNER):
        assert np.linalg.norm(turned_landmarks[index, :2] - expected[index]) < 8
    drawn = draw_mask(turned, turned_landmarks, "surgical", "correct", np.random.default_rng(0))
    for index in (NOSE_TIP, MOUTH_CENTRE):
        assert change_at(turned, drawn, turned_landmarks[index]) > 15


@pytest.mark.parametrize("style", STYLES)
def test_a_mask_worn_correctly_covers_the_nose_tip_and_the_mouth(hopper, style):
    photo, landmarks = hopper
    drawn = draw_mask(photo, landmarks, style, "correct", np.random.default_rng(0))
    for index in (NOSE_TIP, NOSE_TIP_UPPER, UPPER_LIP, MOUTH_CENTRE, LOWER_LIP, CHIN):
        assert change_at(photo, drawn, landmarks[index]) > 15, index
    assert change_at(photo, drawn, landmarks[RIGHT_EYE_CORNER]) == 0  # the eyes show


@pytest.mark.parametrize("style", STYLES)
def test_a_mask_under_the_nose_leaves_its_tip_and_covers_the_mouth(hopper, style):
    photo, landmarks = hopper
    drawn = draw_mask(photo, landmarks, style, "nose", np.random.default_rng(0))
    for index in (NOSE_TIP, NOSE_TIP_UPPER):
        assert change_at(photo, drawn, landmarks[index]) == 0, index
    for index in (UPPER_LIP, MOUTH_CENTRE, LOWER_LIP, CHIN):
        assert change_at(photo, drawn, landmarks[index]) > 15, index


def test_a_mask_on_the_chin_leaves_the_mouth(hopper):
    photo, landmarks = hopper
    drawn = draw_mask(photo, landmarks, "surgical", "chin", np.random.default_rng(0))
    for index in (NOSE_TIP, UPPER_LIP, MOUTH_CENTRE):
        assert change_at(photo, drawn, landmarks[index]) == 0, index
    assert change_at(photo, drawn, landmarks[CHIN]) > 15


def face_area(photo, landmarks, grow=3):
    face = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillPoly(face, [np.round(landmarks[list(FACE_OVAL), :2]).astype(np.int32)], 1)
    return cv2.dilate(face, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))


@pytest.mark.parametrize("worn", [worn for worn in WORN if worn not in WHOLE_MASK])
def test_the_mask_stays_inside_the_face_outline(hopper, worn):
    photo, landmarks = hopper
    grown = face_area(photo, landmarks)
    for seed, style in enumerate(STYLES):
        drawn = draw_mask(photo, landmarks, style, worn, np.random.default_rng(seed))
        changed = (drawn != photo).any(axis=2)
        assert changed.sum() > 3000  # a mask was drawn
        assert not (changed & (grown == 0)).any()


@pytest.mark.parametrize("seed", range(6))
def test_a_mask_pulled_down_leaves_the_nose_covers_the_chin_and_reaches_below_the_jaw(hopper, seed):
    photo, landmarks = hopper
    drawn = draw_mask(photo, landmarks, STYLES[seed], "pulled", np.random.default_rng(seed))
    for index in (NOSE_TIP, NOSE_TIP_UPPER):
        assert change_at(photo, drawn, landmarks[index]) == 0, index
    assert change_at(photo, drawn, landmarks[CHIN]) > 15
    changed = (drawn != photo).any(axis=2)
    below_the_face = changed & (face_area(photo, landmarks) == 0)
    below_the_face[:int(landmarks[CHIN_TIP, 1])] = False
    assert below_the_face.sum() > 1000  # the whole mask: its lower part hangs below the chin


@pytest.mark.parametrize("seed", range(6))
def test_a_mask_hanging_from_one_ear_leaves_the_nose_and_mouth_and_hangs_at_one_side(hopper, seed):
    photo, landmarks = hopper
    drawn = draw_mask(photo, landmarks, STYLES[seed], "hanging", np.random.default_rng(seed))
    for index in (NOSE_TIP, UPPER_LIP, MOUTH_CENTRE):
        assert change_at(photo, drawn, landmarks[index]) < 3, index  # bare, or at most the mask's faded edge
    changed = (drawn != photo).any(axis=2)
    middle = landmarks[NOSE_TIP, 0]
    left, right = changed[:, :int(middle)].sum(), changed[:, int(middle):].sum()
    assert max(left, right) > 3000 and min(left, right) < 0.1 * max(left, right)  # one side only


def test_the_mask_edge_fades():
    hard = np.zeros((60, 60), np.uint8)
    hard[10:50, 10:50] = 255
    alpha = soft_alpha(hard, 2)
    assert alpha.max() == pytest.approx(1) and (alpha[hard == 0] == 0).all()
    edge_row = alpha[30, 5:30]
    assert ((edge_row > 0.05) & (edge_row < 0.95)).sum() >= 4  # a ramp of several pixels, not a step
    assert (np.diff(edge_row) >= 0).all()


def test_the_same_seed_draws_the_same_image(hopper):
    photo, landmarks = hopper
    first, again, other = (draw_mask(photo, landmarks, style, "correct", np.random.default_rng(seed))
                           for style, seed in (("patterned", 3), ("patterned", 3), ("patterned", 4)))
    assert np.array_equal(first, again)
    assert (first != other).any(axis=2).sum() > 1000


def test_photos_without_a_face_have_a_reason(face_mesh):
    gradient = np.tile(np.linspace(0, 255, 300).astype(np.uint8), (240, 1))
    assert face_mesh(cv2.cvtColor(gradient, cv2.COLOR_GRAY2BGR)) == (None, NO_FACE)
    assert face_mesh(cv2.resize(face_photo(), (20, 20), interpolation=cv2.INTER_AREA)) == (None, TOO_SMALL)


def run_script(*arguments):
    return subprocess.run([sys.executable, str(ROOT / "make_masked_faces.py"), *map(str, arguments)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.fixture
def photo_folder(tmp_path):
    """Two face photos of the same name in different folders, and three photos that cannot be fitted: no face,
    too small, damaged; plus files that are no photos of the set (hidden, a Mac zip's)."""
    folder = tmp_path / "faces"
    (folder / "more").mkdir(parents=True)
    (folder / "__MACOSX").mkdir()
    photo = face_photo()
    cv2.imwrite(str(folder / "hopper.jpg"), photo)
    cv2.imwrite(str(folder / "more" / "hopper.png"), cv2.resize(photo, (384, 450)))
    cv2.imwrite(str(folder / "gradient.png"), np.tile(np.linspace(0, 255, 300).astype(np.uint8), (240, 1)))
    cv2.imwrite(str(folder / "tiny.jpg"), cv2.resize(photo, (20, 20), interpolation=cv2.INTER_AREA))
    (folder / "damaged.jpg").write_bytes(b"these bytes are not an image" * 10)
    (folder / ".hidden.jpg").write_bytes(b"not even read")
    (folder / "__MACOSX" / "hopper.jpg").write_bytes(b"not even read")
    return folder


def test_the_script_draws_a_dataset_and_counts_what_it_skips(photo_folder, tmp_path):
    output = tmp_path / "drawn"
    result = run_script("--input", photo_folder, "--output", output, "--worn", "mixed", "--per-face", 3,
                        "--seed", 1, "--workers", 2)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "skipped 3 of 5 photos: " in result.stdout
    for count in ("1 no face", "1 too small", "1 unreadable"):
        assert count in result.stdout
    record = json.loads((output / RECORD).read_text())
    images = record["images"]
    assert len(images) == 6
    written = sorted(str(path.relative_to(output)) for path in output.rglob("*.jpg"))
    assert written == sorted(image["image"] for image in images)
    assert len(set(image["image"].split("/")[1] for image in images)) == 6  # names unique across folders
    assert {image["source"] for image in images} == {str(photo_folder / "hopper.jpg"),
                                                     str(photo_folder / "more" / "hopper.png")}
    for image in images:
        assert image["style"] in STYLES and image["worn"] in WORN
        folder = "with_mask" if image["worn"] == "correct" else "mask_weared_incorrect"
        assert image["image"].startswith(folder + "/")
        drawn = cv2.imread(str(output / image["image"]))
        assert drawn.shape[:2] == ((600, 512) if image["source"].endswith(".jpg") else (450, 384))  # whole photo
    assert {(skipped["source"].split("/")[-1], skipped["reason"]) for skipped in record["skipped"]} == {
        ("gradient.png", "no face"), ("tiny.jpg", "too small"), ("damaged.jpg", "unreadable")}
    assert record["options"]["worn"] == "mixed" and record["options"]["per_face"] == 3
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # no staging left

    first_run = {image["image"]: (output / image["image"]).read_bytes() for image in images}
    again = run_script("--input", photo_folder, "--output", output, "--worn", "mixed", "--per-face", 3, "--seed", 1,
                       "--force")  # one worker this time: the same images, whichever process drew them
    assert again.returncode == 0, again.stderr
    assert json.loads((output / RECORD).read_text())["images"] == images
    assert all((output / name).read_bytes() == content for name, content in first_run.items())


def test_the_same_seed_writes_the_same_files(photo_folder, tmp_path):
    outputs = [tmp_path / "first", tmp_path / "second"]
    for output in outputs:
        make_masked_faces(photo_folder, output, per_face=2, seed=5)
    for image in json.loads((outputs[0] / RECORD).read_text())["images"]:
        assert (outputs[0] / image["image"]).read_bytes() == (outputs[1] / image["image"]).read_bytes()


@pytest.mark.parametrize("kind, flags, message", [
    ("not empty", [], "not empty: pass --force"),
    ("not empty", ["--force"], "not an output of this script"),  # --force replaces only an earlier output
    ("a file", [], "it is a file, not a folder"),
    ("inside the input", [], "neither inside the other"),
])
def test_a_bad_output_is_refused_before_any_work(photo_folder, tmp_path, kind, flags, message):
    output = {"not empty": tmp_path / "taken", "a file": tmp_path / "file.jpg",
              "inside the input": photo_folder / "drawn"}[kind]
    if kind == "not empty":
        output.mkdir()
        cv2.imwrite(str(output / "mine.jpg"), face_photo())
    elif kind == "a file":
        output.write_bytes(b"a file")
    before = sorted(tmp_path.rglob("*"))
    result = run_script("--input", photo_folder, "--output", output, *flags)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0] and output.name in lines[0]
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, nothing removed


def test_a_failed_run_leaves_the_earlier_output(photo_folder, tmp_path, monkeypatch):
    output = tmp_path / "drawn"
    make_masked_faces(photo_folder, output)
    before = {path: path.read_bytes() for path in output.rglob("*") if path.is_file()}

    def broken(*arguments):
        raise RuntimeError("the disk broke")

    monkeypatch.setattr("facemask.drawn_masks.masked_faces.draw_mask", broken)
    with pytest.raises(RuntimeError):
        make_masked_faces(photo_folder, output, seed=1, force=True)
    assert {path: path.read_bytes() for path in output.rglob("*") if path.is_file()} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["drawn", "faces"]  # no staging left


def test_a_mask_that_would_fall_outside_the_photo_is_left_out(tmp_path, hopper):
    photo, landmarks = hopper
    cut = photo[:300]  # cut off under her mouth: a mask on her chin would hardly show
    assert visible_share(cut.shape, landmarks, "chin") < 0.2 < 0.8 < visible_share(cut.shape, landmarks, "correct")
    assert visible_share(photo.shape, landmarks, "chin") == 1
    (tmp_path / "faces").mkdir()
    cv2.imwrite(str(tmp_path / "faces" / "cut.png"), cut)
    for worn, drawn in (("chin", 0), ("correct", 1)):
        record = make_masked_faces(tmp_path / "faces", tmp_path / worn, worn=worn)
        assert len(record["images"]) == drawn
        assert [skipped["reason"] for skipped in record["skipped"]] == ["mask out of frame"] * (1 - drawn)
    assert summary(make_masked_faces(tmp_path / "faces", tmp_path / "again", worn="chin")) == [
        "drew 0 masked faces", "left out 1 drawings whose mask would fall mostly outside the photo (worn chin: 1)"]
