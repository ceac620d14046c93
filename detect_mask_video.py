#!/usr/bin/env python3
"""Detect face masks live in a webcam, a video file or a stream; optionally save the annotated video."""
import argparse
from pathlib import Path

from facemask import reported_as_exit
from facemask.cli import add_detector_arguments, positive_int
from facemask.pipeline import VIDEO_DETECTOR
from facemask.alerts import ALERT_EVERY
from facemask.video import DETECT_SECONDS, VIDEO_EXTENSIONS, detect_every


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", "-i", default="0",
                        help="webcam index, video file or stream URL (default: 0, the first webcam)")
    add_detector_arguments(parser, default_detector=VIDEO_DETECTOR)
    parser.add_argument("--output", "-o", type=Path,
                        help=f"write the annotated video here ({', '.join(VIDEO_EXTENSIONS)}), at the source's frame "
                             "rate")
    parser.add_argument("--json-lines", type=Path, metavar="PATH", help="write one JSON line of faces per frame")
    parser.add_argument("--people", type=Path, metavar="PATH",
                        help="write one row per person followed through the video (.csv, or .json): their number, "
                             "first and last frame and second, frames seen, label and confidence")
    parser.add_argument("--snapshots", type=Path, metavar="DIR",
                        help="write the clearest crop of each person without a mask into DIR (person_N.png)")
    parser.add_argument("--plot", type=Path, metavar="PATH.png", help="plot the people in view, by label, over time")
    parser.add_argument("--detect-every", type=positive_int, metavar="N",
                        help="while the same people stay in view, detect faces on every Nth frame and follow them "
                             f"between (default: once in {DETECT_SECONDS:g} s of video, {detect_every(30)} frames at "
                             "30 frames/s; 1: every frame)")
    parser.add_argument("--events", type=Path, metavar="PATH",
                        help="append what happens to people as JSON lines, each as it happens: a person appears, "
                             "their label settles, changes, they leave (see docs/events.md)")
    alerts = parser.add_argument_group("alerts, once for each person whose label settles on no mask")
    alerts.add_argument("--alert-command", metavar="CMD",
                        help="run this shell command, the event as JSON on its standard input and the picture's "
                             "path in FACEMASK_SNAPSHOT (with --snapshots)")
    alerts.add_argument("--alert-url", metavar="URL", help="POST the event as JSON, with the picture (base64 JPEG)")
    alerts.add_argument("--alert-bell", action="store_true", help="ring the terminal's bell")
    alerts.add_argument("--alert-every", type=float, default=ALERT_EVERY, metavar="SECONDS",
                        help=f"alert for the same person at most once in this long (default: {ALERT_EVERY:g})")
    parser.add_argument("--read-timeout", type=float, default=10, metavar="SECONDS",
                        help="stop when the source delivers no frame for this long (default: 10; 0: wait for ever)")
    parser.add_argument("--reconnect", action=argparse.BooleanOptionalAction,
                        help="when the camera or stream is lost, open it again, with a growing pause, and go on "
                             "(default: on for a stream URL)")
    parser.add_argument("--no-display", action="store_true",
                        help="no window (automatic when there is no display)")
    return parser.parse_args()


def main():
    args = parse_args()
    from facemask.alerts import Alerts, check_alert_url
    from facemask.video import check_outputs, load_detectors, run_video

    with reported_as_exit():
        check_outputs(args.output, args.json_lines, args.people, args.snapshots, args.plot, args.events)
        check_alert_url(args.alert_url)
        alerts = Alerts(args.alert_command, args.alert_url, args.alert_bell, args.alert_every)
        detectors = load_detectors(args.model, args.face, args.confidence, margin=args.margin,
                                   face_detector=args.detector)
        totals = run_video(detectors, args.input, args.output, args.json_lines, display=not args.no_display,
                           read_timeout=args.read_timeout, people=args.people, snapshots_dir=args.snapshots,
                           plot=args.plot, every=args.detect_every, events=args.events, alerts=alerts,
                           reconnect=args.reconnect)
        from facemask.drawing import caption

        class_names = detectors[0].classifier.class_names
        people = ", ".join(f"{totals['people_by_label'][name]} {caption(name).lower()}" for name in class_names)
        counts = ", ".join(f"{name} {totals[name]}" for name in class_names)
        print(f"{totals['frames']} frames, people {totals['people']} ({people}), {totals['faces']} faces ({counts}), "
              f"{totals['fps']:.1f} frames/s" + (f", alerts {totals['alerts']}" if alerts else "")
              + (f" ({totals['alerts_not_delivered']} not delivered)" if alerts and totals["alerts_not_delivered"]
                 else ""))
        if totals["stopped_by"]:  # the outputs are finished; a user's interrupt ends every script with 130
            raise KeyboardInterrupt


if __name__ == "__main__":
    main()
