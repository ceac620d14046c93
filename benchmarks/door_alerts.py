#!/usr/bin/env python3
"""Alerts at a door, measured: on ../shared/media/demo.mp4 and on crowd_video.py's composed crowd video, the video
loop run as `detect_mask_video.py --events ... --alert-command ...` runs it, against the people without a mask.

For each video: the alerts raised; on the crowd video, whose people and labels are known on every frame, how many of
the people without a mask got one, and how many alerts went to people with a mask, to faces under --min-size pixels
(don't-care) or to no face (a track is the person whose face it overlaps, IoU 0.4 or more, on most of its
frames); the delay from a person first in view (crowd; demo.mp4: from their face first classified unmasked) to
their alert. And the frame rate of the loop with and without the events file and the alerts (an alert command that
reads its input: `cat`), each run --runs times, alternately, in one process; the median.

    python benchmarks/door_alerts.py --output crowd/
"""
import argparse
import json
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
SHARED = ROOT.parent / "shared"

from facemask.alerts import Alerts  # noqa: E402
from facemask.boxes import shorter_side  # noqa: E402
from facemask.evaluate import iou  # noqa: E402
from facemask.pipeline import DEFAULT_MODEL, VIDEO_DETECTOR  # noqa: E402
from facemask.video import load_detectors, run_video  # noqa: E402


def run(detectors, video, folder, watched):
    """One run of the loop, its faces logged; with `watched`, events and alerts too. (totals, faces per frame,
    events)."""
    folder.mkdir(parents=True, exist_ok=True)
    events = folder / "events.jsonl"
    events.unlink(missing_ok=True)
    alerts = Alerts(command="cat > /dev/null", report=lambda line: None) if watched else None
    totals = run_video(detectors, video, json_lines=folder / "faces.jsonl", display=False,
                       events=events if watched else None, alerts=alerts)
    faces = [json.loads(line)["faces"] for line in (folder / "faces.jsonl").read_text().splitlines()]
    return totals, faces, [json.loads(line) for line in events.read_text().splitlines()] if watched else []


def alerted(events):
    """The events that raised an alert, as alerts.Alerts decides (one per unmasked episode; --alert-every 30)."""
    from facemask.alerts import ALERT_EVERY, alert_due

    alerting, last = set(), {}
    return [event for event in events if "person" in event
            and alert_due(event, event["time"], alerting, last, ALERT_EVERY)]


def person_of_track(truth, faces):
    """{track: the truth person whose face it overlaps (IoU 0.4 or more) on most of its frames}."""
    votes = {}
    for faces_in_view, found in zip(truth, faces):
        for face in found:
            if face["track_id"] is None:
                continue
            best = max(faces_in_view, key=lambda true: iou(true["box"], face["box"]), default=None)
            if best is not None and iou(best["box"], face["box"]) >= 0.4:
                votes.setdefault(face["track_id"], Counter())[best["id"]] += 1
    return {track: counts.most_common(1)[0][0] for track, counts in votes.items()}


def crowd_figures(truth, faces, events, min_size, frame_rate):
    """(the people without a mask, those alerted, the delays from first in view to the alert, and the alerts for
    people with a mask, for people whose face is never min_size pixels (don't-care), and for no one)."""
    labels = {face["id"]: face["label"] for faces_in_view in truth for face in faces_in_view}
    large = {face["id"] for faces_in_view in truth for face in faces_in_view if shorter_side(face["box"]) >= min_size}
    first_seen = {}
    for index, faces_in_view in enumerate(truth):
        for face in faces_in_view:
            if face["id"] in large:
                first_seen.setdefault(face["id"], index / frame_rate)
    person_of = person_of_track(truth, faces)
    unmasked = {person for person in large if labels[person] == "without_mask"}
    hits, delays, wrong, small, nobody = set(), [], 0, 0, 0
    for event in alerted(events):
        person = person_of.get(event["person"])
        if person is None:
            nobody += 1
        elif person not in large:
            small += 1
        elif labels[person] != "without_mask":
            wrong += 1
        elif person not in hits:
            hits.add(person)
            delays.append(event["time"] - first_seen[person])
    return unmasked, hits, delays, wrong, small, nobody


def first_unmasked_delays(faces, events, frame_rate):
    """demo.mp4: per alert, seconds from the track's face first classified without_mask to the alert."""
    first = {}
    for index, found in enumerate(faces):
        for face in found:
            if face["track_id"] is not None and face["label"] == "without_mask":
                first.setdefault(face["track_id"], index / frame_rate)
    return [event["time"] - first[event["person"]] for event in alerted(events) if event["person"] in first]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path("crowd"), help="folder for the crowd video and its truth")
    parser.add_argument("--photos", type=int, default=8, help="street photos panned over (default: 8)")
    parser.add_argument("--min-size", type=int, default=24, help="smaller faces are don't-care (default: 24)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each loop, for the frame rate (default: 3)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"error: this benchmark needs the development data in {SHARED}, which the toolkit does not ship")
    import cv2
    from crowd_video import FPS, compose

    args.output.mkdir(parents=True, exist_ok=True)
    crowd = args.output / "crowd.mp4"
    truth = compose(crowd, args.photos)
    detectors = load_detectors(DEFAULT_MODEL, face_detector=VIDEO_DETECTOR)
    demo = SHARED / "media" / "demo.mp4"
    demo_rate = cv2.VideoCapture(str(demo)).get(cv2.CAP_PROP_FPS)
    print(f"--detector {VIDEO_DETECTOR} (the video default); frame rates: the median of {args.runs} runs each, "
          "alternately, in this one process")
    with tempfile.TemporaryDirectory() as scratch:
        for name, video in (("demo.mp4", demo), ("crowd video", crowd)):
            rates = {False: [], True: []}
            for _ in range(args.runs):
                for watched in (False, True):
                    totals, faces, events = run(detectors, video, Path(scratch) / name, watched)
                    rates[watched].append(totals["fps"])
            plain, watched = statistics.median(rates[False]), statistics.median(rates[True])
            raised = len(alerted(events))
            print(f"  {name}: {raised} alerts; {plain:.1f} frames/s without events and alerts, {watched:.1f} with "
                  f"({watched / plain:.2f}x)")
            if video == crowd:
                unmasked, hits, delays, wrong, small, nobody = crowd_figures(truth, faces, events, args.min_size,
                                                                             FPS)
                print(f"    people without a mask (faces of {args.min_size} px or more): {len(unmasked)}, alerted "
                      f"{len(hits)}; other alerts: for people with a mask {wrong}, for faces under {args.min_size} "
                      f"px (don't-care) {small}, for no face {nobody}")
                if delays:
                    print(f"    delay from first in view to the alert: median {statistics.median(delays):.2f} s, "
                          f"max {max(delays):.2f} s")
            else:
                delays = first_unmasked_delays(faces, events, demo_rate)
                people = sum(1 for event in events if event["event"] == "left" and event["label"] == "without_mask")
                print(f"    people without a mask (the people file's verdict): {people}; delay from the face first "
                      f"classified unmasked to the alert: " + ", ".join(f"{delay:.2f} s" for delay in delays))


if __name__ == "__main__":
    main()
