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


def follow(tracker, frames):
    """The tracker's faces for each frame of `frames` (a list of faces, or None for a frame not detected)."""
    decided = []
    for faces in frames:
        decided += tracker.add(faces)
    return decided + tracker.finish()


def test_one_face_keeps_its_id_and_one_odd_frame_does_not_flip_its_label():
    tracker = PeopleTracker(NAMES, frame_rate=15)
    frames = []
    for index in range(30):
        odd = index == 10  # one frame called unmasked in the middle of a masked run
        frames.append([face(10 + 4 * index, 50, "without_mask" if odd or index >= 20 else "with_mask")])
    seen = [faces[0] for faces in follow(tracker, frames)]
    assert len(seen) == 30
    ids = {f["track_id"] for f in seen}
    assert ids == {1}  # from the first frame on: a track confirmed on its second frame is numbered from its first
    person_labels = [f["person_label"] for f in seen]
    assert person_labels[10] == "with_mask"  # the odd frame: the frame's own label differs, the person's not
    changes = sum(a != b for a, b in zip(person_labels, person_labels[1:]))
    assert changes == 1
    # the mask came off at frame 20: the person's label follows within half a second
    assert person_labels.index("without_mask", 11) - 20 <= round(0.5 * 15)
    assert len(tracker.people) == 1 and tracker.people[1].frames == 30
    # over the whole track 19 of 30 frames masked, but the mask came off and stayed off: a person without a mask,
    # for the frames from when their label settled (the odd frame counted for none)
    assert tracker.counts() == {"with_mask": 0, "without_mask": 1}
    row, = tracker.rows()
    assert row["label"] == "without_mask" and 6 / 15 <= row["seconds_without_mask"] <= 9 / 15


def test_one_odd_unmasked_frame_does_not_make_a_person_without_a_mask():
    tracker = PeopleTracker(NAMES, frame_rate=15)
    follow(tracker, [[face(10 + 4 * index, 50, "without_mask" if index == 10 else "with_mask")]
                     for index in range(30)])
    assert tracker.counts() == {"with_mask": 1, "without_mask": 0}
    assert tracker.rows()[0]["seconds_without_mask"] == 0


def test_a_person_coming_nearer_is_labelled_by_the_larger_looks_more():
    tracker = PeopleTracker(NAMES, frame_rate=15)
    # a face growing from 24 to 96 px about one place, called unmasked while under 70 px (6 of its 10 frames)
    sizes = list(range(24, 97, 8))
    frames = [[face(100 - size // 2, 100 - size // 2, "without_mask" if size < 70 else "with_mask", 0.9, size)]
              for size in sizes]
    seen = [faces[0] for faces in follow(tracker, frames)]
    assert {f["track_id"] for f in seen} == {1}
    label, confidence = tracker.people[1].label(NAMES)
    # each look weighed by its size: the four large masked looks outweigh the six small ones; the plain mean would
    # say unmasked (0.58)
    masked = sum(size * (0.1 if size < 70 else 0.9) for size in sizes) / sum(sizes)
    assert label == "with_mask" and confidence == pytest.approx(masked)
    assert seen[-1]["person_label"] == "with_mask"


def test_frames_without_faces_and_a_face_coming_back():
    tracker = PeopleTracker(NAMES, frame_rate=15)
    decided = follow(tracker, [[face(10 + 4 * index, 50)] for index in range(5)] + [[], [face(34, 50)]])
    assert decided[5] == []
    assert decided[6][0]["track_id"] == 1 and len(tracker.people) == 1  # one frame away: still the same person


def test_frames_not_detected_get_each_person_between_their_boxes():
    tracker = PeopleTracker(NAMES, frame_rate=30)
    frames = []
    for index in range(13):  # detected on every fourth frame: 0, 4, 8, 12
        frames.append([face(10 + 6 * index, 50), face(400, 50)] if index % 4 == 0 else None)
    frames[8] = [face(10 + 6 * 8, 50)]  # the second face is not found on frame 8
    decided = follow(tracker, frames)
    assert len(decided) == 13
    moving = [[f for f in faces if f["box"][0] < 300] for faces in decided]
    assert [faces[0]["box"][0] for faces in moving] == [10 + 6 * index for index in range(13)]
    assert {faces[0]["track_id"] for faces in moving} == {1}
    # the face not found on frame 8 stays for the first half of the frames before it, then is gone
    still = [len([f for f in faces if f["box"][0] == 400]) for faces in decided]
    assert still[:7] == [1] * 7 and still[7:9] == [0, 0]
    assert tracker.people[1].frames == 13 and tracker.people[1].last_frame == 12


def test_a_steady_scene_has_the_same_people_each_still_or_moving_on_as_before_within_a_fifth_of_its_size():
    tracker = PeopleTracker(NAMES, frame_rate=30)
    tracker.add([face(10, 50)])  # faces 80 pixels wide: a fifth is 16
    assert not tracker.steady  # a face not followed yet
    tracker.add([face(22, 50)])  # 12 pixels in a thirtieth of a second: a detector's jitter, within 16
    assert tracker.steady
    tracker.add([face(24, 50), face(300, 50)])
    assert not tracker.steady  # someone new
    tracker.add([face(26, 50), face(302, 50)])
    assert tracker.steady
    tracker.add([face(26, 50), face(322, 50)])  # 20 pixels from where it was, and from where moving on puts it
    assert not tracker.steady
    tracker.add([face(26, 50), face(342, 50)])  # 20 pixels on again: where moving on puts it
    assert tracker.steady
    tracker.add([face(26, 50), face(382, 50)])  # 40 pixels on: twice as fast
    assert not tracker.steady
    tracker.add([face(26, 50), {**face(382, 50), "box": [370, 50, 474, 130]}])  # its side edges out by 12
    assert not tracker.steady  # its centre kept, but grown by 24, more than a fifth of its 104
    tracker.add([face(26, 50), {**face(382, 50), "box": [370, 40, 474, 140]}])  # its top and bottom out by 10
    assert tracker.steady  # its centre and size kept
    tracker.add([face(26, 50)])
    assert not tracker.steady  # someone gone


def test_two_faces_crossing_keep_their_ids():
    tracker = PeopleTracker(NAMES, frame_rate=15)
    # one moves right, one left, on the same line, crossing in the middle of the run
    frames = [[face(20 + 10 * index, 100, "with_mask"), face(420 - 10 * index, 110, "without_mask")]
              for index in range(40)]
    decided = follow(tracker, frames)
    left = [faces[0]["track_id"] for faces in decided]
    right = [faces[1]["track_id"] for faces in decided]
    assert len(set(left)) == 1 and len(set(right)) == 1 and left[0] != right[0]
    assert tracker.counts() == {"with_mask": 1, "without_mask": 1}


def test_after_a_cut_to_a_new_shot_whoever_is_in_view_is_a_new_person():
    tracker = PeopleTracker(NAMES, frame_rate=15)
    decided = []
    for index in range(6):
        decided += tracker.add([face(100 + 2 * index, 50)] if index % 2 == 0 else None)
    # a cut on frame 6: someone unmasked stands where the masked person stood
    decided += tracker.add([face(112, 50, "without_mask")], new_shot=True)
    for index in range(7, 10):
        decided += tracker.add([face(112, 50, "without_mask")])
    decided += tracker.finish()
    assert len(decided) == 10
    assert [faces[0]["track_id"] for faces in decided] == [1] * 6 + [2] * 4
    assert decided[5][0]["box"] == decided[4][0]["box"]  # held up to the cut, not drawn towards the new face
    assert [faces[0]["person_label"] for faces in decided[6:]] == ["without_mask"] * 4
    assert tracker.counts() == {"with_mask": 1, "without_mask": 1}
    with pytest.raises(ValueError):
        tracker.add(None, new_shot=True)


def test_a_person_is_classified_once_in_half_a_window_and_a_mask_taken_off_still_shows_in_time():
    tracker = PeopleTracker(NAMES, frame_rate=30)  # a window of 12 frames: a person is checked every 6th
    labels = ["with_mask"] * 40 + ["without_mask"] * 20
    asked, decided = [], []
    for index, label in enumerate(labels):
        def classify(faces, label=label):
            asked.append(index)
            return [{**found, "label": label, "confidence": 0.98} for found in faces]
        found = [{"box": [10 + index, 50, 90 + index, 130], "face_confidence": 0.9}]
        decided += tracker.add(found, classify=classify)
    decided += tracker.finish()
    assert len(decided) == 60 and {faces[0]["track_id"] for faces in decided} == {1}
    assert asked[:3] == [0, 1, 2]  # a person's first three faces
    assert [frame for frame in asked if 3 <= frame < 40] == [8, 14, 20, 26, 32, 38]  # then one in six
    person_labels = [faces[0]["person_label"] for faces in decided]
    assert person_labels.index("without_mask") - 40 <= round(0.5 * 30)  # the mask came off at frame 40
    assert sum(a != b for a, b in zip(person_labels, person_labels[1:])) == 1
    unclassified = decided[4][0]  # between checks: the label of the face last classified
    assert 4 not in asked and (unclassified["label"], unclassified["confidence"]) == ("with_mask", 0.98)
    assert tracker.people[1].classified == len(asked) and tracker.people[1].frames == 60


def test_a_face_whose_detector_guess_agrees_with_its_person_is_classified_once_a_second_else_at_once():
    tracker = PeopleTracker(NAMES, frame_rate=30)
    truth = ["with_mask"] * 100 + ["without_mask"] * 30  # the mask comes off at frame 100
    guesses = [0.1] * 100 + [0.9] * 30  # the detector's p(without_mask)
    asked, decided = [], []
    for index, (label, guess) in enumerate(zip(truth, guesses)):
        def classify(faces, label=label):
            asked.append(index)
            return [{**found, "label": label, "confidence": 0.98} for found in faces]
        found = [{"box": [10 + index, 50, 90 + index, 130], "face_confidence": 0.9, "detector_without_mask": guess}]
        decided += tracker.add(found, classify=classify)
    decided += tracker.finish()
    assert asked[:3] == [0, 1, 2]  # a person's first three faces, as without a guess
    assert [frame for frame in asked if 3 <= frame < 100] == [32, 62, 92]  # then once in 30 frames, a second
    assert 100 in asked  # the guess disagrees with the person's label: classified at once
    person_labels = [faces[0]["person_label"] for faces in decided]
    assert person_labels.index("without_mask") - 100 <= round(0.5 * 30)
    assert sum(a != b for a, b in zip(person_labels, person_labels[1:])) == 1


def test_the_window_is_about_the_label_seconds():
    assert PeopleTracker(NAMES, frame_rate=30).window == round(LABEL_SECONDS * 30)
    assert PeopleTracker(NAMES, frame_rate=1).window == 1


def write_walk(video, step=10):
    """A face photo moving right `step` pixels a frame with a drawn mask, then the same face without one moving
    back: one person who takes the mask off, 40 frames at 10 frames/s."""
    photo = cv2.resize(face_photo(), (200, 235))
    masked = cv2.resize(with_drawn_mask(face_photo()), (200, 235))  # drawn at full size, where the mesh fits
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 360))
    for index in range(40):
        frame = np.full((360, 640, 3), 90, np.uint8)
        x = 20 + step * index if index < 20 else 20 + step * (39 - index)
        frame[60:295, x:x + 200] = masked if index < 20 else photo
        writer.write(frame)
    writer.release()
    return video


@pytest.fixture
def walking_video(tmp_path):
    return write_walk(tmp_path / "walk.mp4")


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


def test_a_steady_walk_is_detected_on_fewer_frames_and_every_frame_comes_out(tmp_path):
    from facemask.video import FrameReader, follow_people, load_detectors, open_capture

    slow_walk = write_walk(tmp_path / "slow.mp4", step=3)  # 30 pixels a second: the scene is steady

    detector = load_detectors(ROOT / "models" / "mask_detector.keras", count=1)[0]
    looks = record_looks(detector)
    tracker = PeopleTracker(NAMES, frame_rate=10)
    capture, live = open_capture(slow_walk)
    frames = list(follow_people([detector], FrameReader(capture, live), tracker, every=4))
    assert len(frames) == 40 and all(len(faces) == 1 for _, faces in frames)
    looks = [look for _, look in looks]
    assert 10 <= len(looks) < 20  # every fourth frame, and the next one while the person is not yet followed
    # the face, about 75 pixels, is 37 in the glance's input: most looks are glances, a full one once a second
    assert looks.count("glance") >= 5 and looks.count("full") >= 4
    assert {faces[0]["track_id"] for _, faces in frames} == {1}
    labels = [faces[0]["person_label"] for _, faces in frames]
    assert labels[0] == "with_mask" and labels[-1] == "without_mask"
    assert sum(a != b for a, b in zip(labels, labels[1:])) == 1


def record_looks(detector, blind_glance=False):
    """Make `detector` note each look it is asked for, as (the frame's id, the look), in the list returned; with
    `blind_glance` its glances find nobody."""
    looks, find_faces = [], detector.find_faces

    def recording(frame, look="full"):
        looks.append((id(frame), look))
        return [] if blind_glance and look == "glance" else find_faces(frame, look)

    detector.find_faces = recording
    return looks


def test_a_glance_that_loses_someone_is_followed_by_a_full_look_at_the_same_frame(tmp_path):
    from facemask.video import FrameReader, follow_people, load_detectors, open_capture

    slow_walk = write_walk(tmp_path / "slow.mp4", step=3)
    detector = load_detectors(ROOT / "models" / "mask_detector.keras", count=1)[0]
    looks = record_looks(detector, blind_glance=True)
    capture, live = open_capture(slow_walk)
    frames = list(follow_people([detector], FrameReader(capture, live), PeopleTracker(NAMES, frame_rate=10), every=4))
    assert len(frames) == 40 and all(len(faces) == 1 for _, faces in frames)
    glances = [number for number, (_, look) in enumerate(looks) if look == "glance"]
    assert glances and all(looks[number + 1] == (looks[number][0], "full") for number in glances)


def test_a_glance_is_taken_only_when_it_sees_every_face_large_enough():
    from facemask.video import GLANCE_FACE, glance_sees

    def faces(*sides):
        return [{"box": [10, 10, 10 + side, 10 + round(side * 1.2)]} for side in sides]

    # a 640×480 frame on a 320-pixel input: halved
    assert glance_sees(faces(2 * GLANCE_FACE, 200), (480, 640, 3), 320)
    assert not glance_sees(faces(2 * GLANCE_FACE - 2, 200), (480, 640, 3), 320)  # one face too small
    assert not glance_sees(faces(), (480, 640, 3), 320)  # nobody in view: only a full look finds newcomers
    assert glance_sees(faces(GLANCE_FACE), (240, 320, 3), 320)  # a frame no larger than the glance: not shrunk


def test_a_small_face_gets_no_glance(tmp_path):
    from facemask.video import FrameReader, follow_people, load_detectors, open_capture

    video = tmp_path / "small.mp4"
    portrait = cv2.resize(face_photo(), (120, 141))  # its face about 45 pixels: 22 in a 320-pixel glance
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 360))
    for index in range(20):
        frame = np.full((360, 640, 3), 90, np.uint8)
        frame[100:241, 300 + index:420 + index] = portrait
        writer.write(frame)
    writer.release()
    detector = load_detectors(ROOT / "models" / "mask_detector.keras", count=1)[0]
    looks = record_looks(detector)
    capture, live = open_capture(video)
    frames = list(follow_people([detector], FrameReader(capture, live), PeopleTracker(NAMES, frame_rate=10), every=2))
    assert sum(len(faces) == 1 for _, faces in frames) >= 18
    assert 5 <= len(looks) < 20 and {look for _, look in looks} == {"full"}


def test_two_faces_crossing_in_a_video_keep_their_ids_and_labels(tmp_path):
    video = tmp_path / "crossing.mp4"
    photo = cv2.resize(face_photo(), (150, 176))
    masked = cv2.resize(with_drawn_mask(face_photo()), (150, 176))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 400))
    for index in range(40):  # the masked face walks right, the other left, one above the other, crossing at frame 20
        frame = np.full((400, 640, 3), 90, np.uint8)
        frame[20:196, 10 + 12 * index:160 + 12 * index] = masked
        frame[176:352, 480 - 12 * index:630 - 12 * index] = photo  # over the lower edge of the other
        writer.write(frame)
    writer.release()
    result = run_video("--input", video, "--json-lines", tmp_path / "faces.jsonl", "--people", tmp_path / "people.json")
    assert result.returncode == 0, result.stderr
    by_side = {"top": [], "bottom": []}
    for line in (tmp_path / "faces.jsonl").read_text().splitlines():
        for found in json.loads(line)["faces"]:
            by_side["top" if found["box"][1] < 150 else "bottom"].append((found["track_id"], found["person_label"]))
    top, bottom = ({track for track, _ in faces} for faces in by_side.values())
    assert len(top) == 1 and len(bottom) == 1 and top != bottom and None not in top | bottom
    assert {label for _, label in by_side["top"]} == {"with_mask"}
    assert {label for _, label in by_side["bottom"]} == {"without_mask"}
    assert "people 2 (1 mask, 1 no mask)" in result.stdout


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


def test_a_cut_to_someone_else_standing_in_the_same_place_counts_two_people(tmp_path):
    video = tmp_path / "cut.mp4"
    photo = cv2.resize(face_photo(), (200, 235))
    masked = cv2.resize(with_drawn_mask(face_photo()), (200, 235))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 360))
    for index in range(40):  # a masked face, then a cut to another room where an unmasked face stands in its place
        frame = np.full((360, 640, 3), 90 if index < 20 else (40, 140, 200), np.uint8)
        frame[60:295, 220:420] = masked if index < 20 else photo
        writer.write(frame)
    writer.release()
    result = run_video("--input", video, "--json-lines", tmp_path / "faces.jsonl")
    assert result.returncode == 0, result.stderr
    frames = [json.loads(line)["faces"] for line in (tmp_path / "faces.jsonl").read_text().splitlines()]
    assert len(frames) == 40 and all(len(faces) == 1 for faces in frames)
    before, after = ({faces[0]["track_id"] for faces in half} for half in (frames[:20], frames[20:]))
    assert len(before) == 1 and len(after) == 1 and before != after
    assert {faces[0]["person_label"] for faces in frames[20:]} == {"without_mask"}  # from the cut's first frame
    assert "people 2 (1 mask, 1 no mask)" in result.stdout


@pytest.mark.parametrize("flag, name, message", [("--people", "people.txt", "end it in .csv or .json"),
                                                 ("--plot", "people.jpg", "end it in .png")])
def test_people_outputs_that_cannot_be_written_are_refused_before_the_video_is_read(tmp_path, flag, name, message):
    result = run_video("--input", tmp_path / "missing.mp4", flag, tmp_path / name)
    assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / name).exists()


def run_video(*args):
    return subprocess.run([sys.executable, str(ROOT / "detect_mask_video.py"), "--no-display", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_a_face_unmasked_for_a_second_is_a_person_without_a_mask_with_a_snapshot_of_then(tmp_path):
    video = tmp_path / "off_and_on.mp4"
    photo = cv2.resize(face_photo(), (200, 235))
    masked = cv2.resize(with_drawn_mask(face_photo()), (200, 235))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 360))
    for index in range(60):  # 6 s, the mask off from 2.5 s to 3.5 s
        frame = np.full((360, 640, 3), 90, np.uint8)
        frame[60:295, 20 + 6 * index:220 + 6 * index] = photo if 25 <= index < 35 else masked
        writer.write(frame)
    writer.release()
    result = run_video("--input", video, "--people", tmp_path / "people.json", "--snapshots", tmp_path / "unmasked")
    assert result.returncode == 0, result.stderr
    person, = json.loads((tmp_path / "people.json").read_text())
    assert person["label"] == "without_mask" and 0.5 <= person["seconds_without_mask"] <= 1.2, person
    assert "people 1 (0 mask, 1 no mask)" in result.stdout
    assert sorted(path.name for path in (tmp_path / "unmasked").iterdir()) == ["person_1.png"]
    # the crop is of the unmasked face: the classifier says so of it
    from facemask.pipeline import DEFAULT_MODEL
    from facemask.runtime import Classifier

    classifier = Classifier(DEFAULT_MODEL)
    from facemask.images import prepare_face

    crop = cv2.imread(str(tmp_path / "unmasked" / "person_1.png"))
    without = classifier(np.array([prepare_face(crop, classifier.input_size)]))[0][
        classifier.class_names.index("without_mask")]
    assert without > 0.5
