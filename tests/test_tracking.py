"""Following people through a video: one id per person, a label decided over their recent frames, people counted."""
import csv
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, face_photo, with_drawn_mask

from facemask.tracking import LABEL_SECONDS, PeopleTracker

NAMES = ["with_mask", "without_mask"]


def face(x, y, label="with_mask", confidence=0.99, size=80):
    return {"box": [x, y, x + size, y + size], "label": label, "confidence": confidence, "face_confidence": 0.9}


def test_one_face_keeps_its_id_and_one_odd_frame_does_not_flip_its_label():
    tracker = PeopleTracker(NAMES, frame_rate=15)
    seen = []
    for index in range(30):
        odd = index == 10  # one frame called unmasked in the middle of a masked run
        label = "without_mask" if odd or index >= 20 else "with_mask"
        seen += tracker.update([face(10 + 4 * index, 50, label)])
    ids = {f["track_id"] for f in seen[2:]}
    assert len(ids) == 1 and None not in ids
    person_labels = [f["person_label"] for f in seen]
    assert person_labels[10] == "with_mask"  # the odd frame: the frame's own label differs, the person's not
    changes = sum(a != b for a, b in zip(person_labels, person_labels[1:]))
    assert changes == 1
    # the mask came off at frame 20: the person's label follows within half a second
    assert person_labels.index("without_mask", 11) - 20 <= round(0.5 * 15)
    assert len(tracker.people) == 1
    # over the whole track, 19 of 30 frames masked
    assert tracker.counts() == {"with_mask": 1, "without_mask": 0}


def test_frames_without_faces_and_a_face_coming_back():
    tracker = PeopleTracker(NAMES, frame_rate=15)
    for index in range(5):
        tracker.update([face(10 + 4 * index, 50)])
    assert tracker.update([]) == []
    back = tracker.update([face(34, 50)])
    assert back[0]["track_id"] == 1 and len(tracker.people) == 1  # one frame away: still the same person


def test_two_faces_crossing_keep_their_ids():
    tracker = PeopleTracker(NAMES, frame_rate=15)
    tracks = {"left": [], "right": []}
    for index in range(40):
        # one moves right, one left, on the same line, crossing in the middle of the run
        frame = tracker.update([face(20 + 10 * index, 100, "with_mask"), face(420 - 10 * index, 110, "without_mask")])
        tracks["left"].append(frame[0]["track_id"])
        tracks["right"].append(frame[1]["track_id"])
    assert len(set(tracks["left"][2:])) == 1 and len(set(tracks["right"][2:])) == 1
    assert tracks["left"][-1] != tracks["right"][-1]
    assert tracker.counts() == {"with_mask": 1, "without_mask": 1}


def test_the_window_is_about_the_label_seconds():
    assert PeopleTracker(NAMES, frame_rate=30).window == round(LABEL_SECONDS * 30)
    assert PeopleTracker(NAMES, frame_rate=1).window == 1


@pytest.fixture
def walking_video(tmp_path):
    """A face photo moving right with a drawn mask, then the same face without one moving back: one person who
    takes the mask off."""
    video = tmp_path / "walk.mp4"
    photo = cv2.resize(face_photo(), (200, 235))
    masked = cv2.resize(with_drawn_mask(face_photo()), (200, 235))  # drawn at full size, where the mesh fits
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 360))
    for index in range(40):
        frame = np.full((360, 640, 3), 90, np.uint8)
        x = 20 + 10 * index if index < 20 else 20 + 10 * (39 - index)
        frame[60:295, x:x + 200] = masked if index < 20 else photo
        writer.write(frame)
    writer.release()
    return video


def test_the_video_script_follows_the_person_and_counts_people(walking_video, tmp_path):
    result = run_video("--input", walking_video, "--json-lines", tmp_path / "faces.jsonl",
                       "--people", tmp_path / "people.csv", "--snapshots", tmp_path / "unmasked",
                       "--plot", tmp_path / "people.png")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in (tmp_path / "faces.jsonl").read_text().splitlines()]
    faces = [line["faces"][0] for line in lines if line["faces"]]
    assert len(faces) >= 36
    assert len({f["track_id"] for f in faces if f["track_id"] is not None}) == 1
    person_labels = [f["person_label"] for f in faces]
    assert person_labels[5] == "with_mask" and person_labels[-1] == "without_mask"
    assert sum(a != b for a, b in zip(person_labels, person_labels[1:])) == 1
    assert ", people 1 (" in result.stdout.splitlines()[-1]
    # the people file: one row, the whole walk; over it, 20 frames masked and 20 not
    rows = list(csv.DictReader((tmp_path / "people.csv").open()))
    assert len(rows) == 1 and rows[0]["person"] == "1"
    assert int(rows[0]["first_frame"]) <= 1 and rows[0]["last_frame"] == "39"
    assert float(rows[0]["last_second"]) == pytest.approx(3.9)
    assert int(rows[0]["frames"]) >= 36 and rows[0]["label"] in ("with_mask", "without_mask")
    # the snapshots hold the person if, over the whole walk, they were labelled unmasked
    snaps = sorted(path.name for path in (tmp_path / "unmasked").iterdir())
    assert snaps == (["person_1.png"] if rows[0]["label"] == "without_mask" else [])
    if snaps:
        assert cv2.imread(str(tmp_path / "unmasked" / snaps[0])).shape[0] > 50
    assert cv2.imread(str(tmp_path / "people.png")) is not None


def test_a_masked_walk_then_an_unmasked_one_are_two_people_in_the_people_file(tmp_path):
    video = tmp_path / "two.mp4"
    photo = cv2.resize(face_photo(), (200, 235))
    masked = cv2.resize(with_drawn_mask(face_photo()), (200, 235))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 360))
    for index in range(60):
        frame = np.full((360, 640, 3), 90, np.uint8)
        if index < 25:
            frame[60:295, 20 + 8 * index:220 + 8 * index] = masked
        elif index >= 35:  # a gap of a second, then someone else, unmasked, from the right
            x = 420 - 8 * (index - 35)
            frame[60:295, x:x + 200] = photo
        writer.write(frame)
    writer.release()
    result = run_video("--input", video, "--people", tmp_path / "people.json", "--snapshots", tmp_path / "unmasked")
    assert result.returncode == 0, result.stderr
    people = json.loads((tmp_path / "people.json").read_text())
    assert [person["label"] for person in people] == ["with_mask", "without_mask"]
    assert "people 2 (1 mask, 1 no mask)" in result.stdout
    assert sorted(path.name for path in (tmp_path / "unmasked").iterdir()) == [f"person_{people[1]['person']}.png"]


@pytest.mark.parametrize("flag, name, message", [("--people", "people.txt", "end it in .csv or .json"),
                                                 ("--plot", "people.jpg", "end it in .png")])
def test_people_outputs_that_cannot_be_written_are_refused_before_the_video_is_read(tmp_path, flag, name, message):
    result = run_video("--input", tmp_path / "missing.mp4", flag, tmp_path / name)
    assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / name).exists()


def run_video(*args):
    return subprocess.run([sys.executable, str(ROOT / "detect_mask_video.py"), "--no-display", *map(str, args)],
                          capture_output=True, text=True, timeout=300)
