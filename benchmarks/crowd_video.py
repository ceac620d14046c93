#!/usr/bin/env python3
"""People on video, against known answers: a crowd video composed with its ground truth, the video default with its
people tracking run over it, and the tutorial loop on the same video for speed.

The video (640×480, 15 frames/s): a slow pan and zoom over each of --photos street photos of
../shared/data/scenes-street/val (their annotated faces are the people, boxes and labels known on every frame),
then face photos of ../shared/data/faces walking across a street, one masked and one not, crossing each other.
Measured with motmetrics: people counted against the truth, identity switches, MOTA and IDF1, and the share of people
given the right label over their whole track; faces under --min-size pixels are don't-care (neither people to find
nor false when found), and the people counted are the tracks with a face of --min-size pixels or more.

    pip install -r requirements-benchmarks.txt
    python benchmarks/crowd_video.py --output crowd/
"""
import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

from facemask.boxes import overlaps, shorter_side  # noqa: E402
from facemask.evaluate import iou, read_voc, voc_annotations  # noqa: E402
from facemask.images import read_image  # noqa: E402
from facemask.detectors import FACE_DETECTORS  # noqa: E402
from facemask.pipeline import DEFAULT_MODEL, VIDEO_DETECTOR  # noqa: E402
from facemask.training.scenes import hidden_share  # noqa: E402

WIDTH, HEIGHT, FPS = 640, 480, 15
LABELS = ("with_mask", "without_mask")
PAN_FRAMES, WALK_FRAMES = 45, 75


def pan_over(photo, faces, photo_name, frames=PAN_FRAMES):
    """Frames of a slow pan (left to right) and zoom (1 to 1.25 times) over a photo, and per frame the faces in
    view: {"id", "box", "label"}."""
    height, width = photo.shape[:2]
    cover = max(WIDTH / width, HEIGHT / height)
    for index in range(frames):
        t = index / (frames - 1)
        scale = cover * (1 + 0.25 * t)
        left = t * (width * scale - WIDTH)
        top = (height * scale - HEIGHT) / 2
        move = np.float32([[scale, 0, -left], [0, scale, -top]])
        frame = cv2.warpAffine(photo, move, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        truth = []
        for number, (label, box) in enumerate(faces):
            x1, y1, x2, y2 = box[0] * scale - left, box[1] * scale - top, box[2] * scale - left, box[3] * scale - top
            clipped = [max(0, x1), max(0, y1), min(WIDTH, x2), min(HEIGHT, y2)]
            if (clipped[2] - clipped[0]) * (clipped[3] - clipped[1]) > 0.5 * (x2 - x1) * (y2 - y1):
                truth.append({"id": f"{photo_name}#{number}", "box": [round(v) for v in clipped], "label": label})
        yield frame, truth


def walkers(background, people, frames=WALK_FRAMES):
    """Frames of face photos walking across a street photo, one from each side, crossing in the middle; the
    one drawn later hides the other, which is then left out of the truth while mostly hidden."""
    street = cv2.resize(background, (WIDTH, HEIGHT))
    for index in range(frames):
        t = index / (frames - 1)
        frame, truth = street.copy(), []
        for number, (photo, face, label) in enumerate(people):
            height, width = photo.shape[:2]
            x = -width + t * (WIDTH + width) if number % 2 == 0 else WIDTH - t * (WIDTH + width)
            y = 120 + 40 * number
            left, top = int(round(x)), y
            a, b = max(0, left), min(WIDTH, left + width)
            if b <= a:
                continue
            frame[top:top + height, a:b] = photo[:HEIGHT - top, a - left:b - left]
            box = [face[0] + left, face[1] + top, face[2] + left, face[3] + top]
            for other in truth:  # a face drawn over another hides it
                if hidden_share(other["box"], [a, top, b, top + height]) > 0.5:
                    other["hidden"] = True
            clipped = [max(0, box[0]), box[1], min(WIDTH, box[2]), box[3]]
            if (clipped[2] - clipped[0]) > 0.5 * (box[2] - box[0]):
                truth.append({"id": f"walker#{number}", "box": [round(v) for v in clipped], "label": label})
        yield frame, [face for face in truth if not face.pop("hidden", False)]


def walking_people():
    """Two face photos of ../shared/data/faces, one masked and one not, with their face boxes (BlazeFace's, drawn
    the annotators' way, as detector training finds them), scaled to 200 pixels high."""
    from facemask.detectors.blazeface import BlazeFace
    from facemask.training.scenes import face_boxes

    finder, people = BlazeFace("short"), []
    for label in ("with_mask", "without_mask"):
        for path in sorted((SHARED / "data" / "faces" / label).glob("*.jp*g")):
            photo = read_image(path)
            photo = cv2.resize(photo, (round(200 * photo.shape[1] / photo.shape[0]), 200))
            boxes = face_boxes(photo, finder)
            if len(boxes) == 1 and boxes[0, 3] - boxes[0, 1] > 60:
                people.append((photo, [round(v) for v in boxes[0]], label))
                break
    return people


def compose(video_path, photos):
    """Write the crowd video; returns its truth, a list per frame of {"id", "box", "label"}."""
    folder = SHARED / "data" / "scenes-street" / "val"
    scenes = []
    for annotation in voc_annotations(folder):
        name, faces = read_voc(annotation)
        if all(label in LABELS for label, _ in faces) and sum(label == "without_mask" for label, _ in faces):
            scenes.append((name, faces))
    scenes = sorted(scenes, key=lambda scene: -len(scene[1]))[:photos]  # the fullest, with unmasked people
    writer = cv2.VideoWriter(str(video_path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    truth = []
    for name, faces in scenes:
        for frame, faces_in_view in pan_over(read_image(folder / "images" / name), faces, name):
            writer.write(frame)
            truth.append(faces_in_view)
    background = read_image(folder / "images" / scenes[0][0])
    for frame, faces_in_view in walkers(cv2.GaussianBlur(background, (0, 0), 3), walking_people()):
        writer.write(frame)
        truth.append(faces_in_view)
    writer.release()
    return truth


def follow(video_path, every=None, face_detector=VIDEO_DETECTOR):
    """detect_mask_video.py's loop over the video, headless, with `face_detector`, detecting every `every`-th frame
    of a steady scene (default: its default): (per frame the tracked faces, the tracker, frames/s)."""
    from facemask.tracking import PeopleTracker
    from facemask.video import FrameReader, follow_people, load_detectors, open_capture

    detectors = load_detectors(DEFAULT_MODEL, face_detector=face_detector)
    capture, live = open_capture(video_path)
    tracker = PeopleTracker(detectors[0].classifier.class_names, FPS)
    per_frame = []
    started = time.perf_counter()
    for _, faces in follow_people(detectors, FrameReader(capture, live), tracker, every):
        per_frame.append(faces)
    return per_frame, tracker, len(per_frame) / (time.perf_counter() - started)


def measure(truth, tracked, tracker, min_size):
    """motmetrics' figures, and the people counted and labelled, for faces of at least min_size pixels."""
    import motmetrics

    accumulator = motmetrics.MOTAccumulator(auto_id=True)
    numbers = {}  # motmetrics wants numbers for ids
    counted_tracks = set()

    def large_enough(face):
        return shorter_side(face["box"]) >= min_size

    for faces_in_view, faces in zip(truth, tracked):
        people = [face for face in faces_in_view if large_enough(face)]
        small = [face["box"] for face in faces_in_view if face not in people]
        found = [face for face in faces if face["track_id"] is not None
                 and not any(iou(face["box"], box) >= 0.4 for box in small)]  # on a don't-care face: neither
        # people counted, like the truth's: tracks with a face of min_size or more
        counted_tracks.update(face["track_id"] for face in found if large_enough(face))
        # 1 - IoU, and no match under IoU 0.4, as in the evaluation (motmetrics' iou_matrix fails under NumPy 2)
        overlap = overlaps(np.array([p["box"] for p in people], float).reshape(-1, 4),
                           np.array([f["box"] for f in found], float).reshape(-1, 4))
        distances = np.where(overlap >= 0.4, 1 - overlap, np.nan)
        accumulator.update([numbers.setdefault(p["id"], len(numbers)) for p in people],
                           [f["track_id"] for f in found], distances)
    summary = motmetrics.metrics.create().compute(accumulator, metrics=["num_unique_objects", "num_switches", "mota",
                                                                         "idf1", "recall", "precision"])
    figures = {key: float(summary[key].iloc[0]) for key in summary.columns}
    matches = accumulator.mot_events.query("Type == 'MATCH' or Type == 'SWITCH'")
    labels = {numbers[face["id"]]: face["label"] for faces in truth for face in faces if face["id"] in numbers}
    right, per_label = 0, Counter()
    for person, events in matches.groupby("OId"):
        track = Counter(events["HId"]).most_common(1)[0][0]
        label = tracker.people[int(track)].verdict(tracker.class_names)[0]  # as the people file says
        right += label == labels[person]
        per_label[(labels[person], label == labels[person])] += 1
    people_true = int(figures["num_unique_objects"])
    return {**figures, "people_true": people_true, "people_counted": len(counted_tracks),
            "people_matched": int(matches["OId"].nunique()), "right_label": right / max(1, people_true),
            "right_by_label": {label: f"{per_label[(label, True)]} of {per_label[(label, True)] + per_label[(label, False)]}"
                               for label in LABELS}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path("crowd"), help="folder for the video and its truth")
    parser.add_argument("--photos", type=int, default=8, help="street photos panned over (default: 8)")
    parser.add_argument("--min-size", type=int, default=24, help="smaller faces are don't-care (default: 24)")
    parser.add_argument("--no-tutorial", action="store_true", help="skip the tutorial loop's timing")
    parser.add_argument("--detectors", nargs="+", choices=list(FACE_DETECTORS), default=[VIDEO_DETECTOR],
                        help=f"face detectors to run the video loop with (default: {VIDEO_DETECTOR}, the video "
                             "script's)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"error: this benchmark needs the development data in {SHARED}, which the toolkit does not ship")
    args.output.mkdir(parents=True, exist_ok=True)
    video = args.output / "crowd.mp4"
    truth = compose(video, args.photos)
    with open(args.output / "truth.jsonl", "w") as file:
        for index, faces in enumerate(truth):
            file.write(json.dumps({"frame": index, "faces": faces}) + "\n")
    print(f"{video}: {len(truth)} frames; people: those with a face of {args.min_size} px or more")
    speeds = []
    runs = [(f"--detector {detector}{' (the video default)' if detector == VIDEO_DETECTOR else ''}{label}", every,
             detector) for detector in args.detectors
            for label, every in (("", None), (", detecting every frame (--detect-every 1)", 1))]
    for name, every, detector in runs:
        tracked, tracker, fps = follow(video, every, detector)
        figures = measure(truth, tracked, tracker, args.min_size)
        speeds.append((name, fps))
        print(f"  {name}: people counted {figures['people_counted']} (truth {figures['people_true']}; "
              f"{figures['people_matched']} of them found), identity switches {figures['num_switches']:.0f}, "
              f"MOTA {figures['mota']:.3f}, IDF1 {figures['idf1']:.3f}, recall {figures['recall']:.3f}, "
              f"precision {figures['precision']:.3f}")
        print(f"    the right label over the whole track: {figures['right_label']:.3f} of the people (with_mask "
              f"{figures['right_by_label']['with_mask']}, without_mask {figures['right_by_label']['without_mask']} "
              f"found); {fps:.1f} frames/s")
    if not args.no_tutorial:
        from detect_speed import tutorial_video_loop
        from facemask.runtime import read_class_names

        cv2.setNumThreads(-1)
        tutorial_fps, _ = tutorial_video_loop(video, DEFAULT_MODEL, read_class_names(DEFAULT_MODEL, 2), 300)
        ratios = ", ".join(f"{name} {fps / tutorial_fps:.1f}x" for name, fps in speeds)
        print(f"  the tutorial loop: {tutorial_fps:.1f} frames/s; {ratios}")


if __name__ == "__main__":
    main()
