#!/usr/bin/env python3
"""Find faces in photos and tell whether each wears a mask; annotate the photos and report as JSON."""
import argparse
from pathlib import Path

from facemask import reported_as_exit
from facemask.cli import add_detector_arguments
from facemask.images import IMAGE_EXTENSIONS


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", "-i", action="append", required=True, metavar="PATH",
                        help="an image file or a folder of images, searched with its sub-folders; repeat for more")
    add_detector_arguments(parser)
    parser.add_argument("--output", "-o", type=Path,
                        help=f"annotated image file ({', '.join(sorted(IMAGE_EXTENSIONS))}), or a folder for several "
                             "images, where sub-folders mirror the input's")
    parser.add_argument("--json", metavar="PATH", help="write the faces found as JSON to PATH, or - for stdout")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes annotating images side by side, for large folders (default: 1)")
    parser.add_argument("--show", action="store_true", help="show each annotated image in a window")
    args = parser.parse_args()
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.show and args.workers > 1:
        parser.error("--show shows images one by one: use it without --workers")
    return args


def main():
    args = parse_args()
    from functools import partial

    from facemask.photos import annotate_photos
    from facemask.pipeline import MaskDetector

    with reported_as_exit():
        make_detector = partial(MaskDetector, args.model, args.face, args.confidence, margin=args.margin,
                                face_detector=args.detector)
        annotate_photos(make_detector, args.image, args.output, args.json, args.show, args.workers)


if __name__ == "__main__":
    main()
