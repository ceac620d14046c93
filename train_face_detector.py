#!/usr/bin/env python3
"""Train the face detector (an SSD-style head on MobileNetV2) on scene photos with PASCAL VOC face boxes, and on
scenes composed from face photos."""
import argparse
from pathlib import Path

from facemask import reported_as_exit


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenes", "-s", type=Path, action="append", required=True, metavar="DIR",
                        help="photos in DIR/images/ with face boxes in DIR/annotations/ (every label is a face); "
                             "repeat for more")
    parser.add_argument("--faces", type=Path, metavar="DIR",
                        help="face photos (searched recursively, e.g. a classifier's dataset) to compose close-ups "
                             "and crowds from (default: none)")
    parser.add_argument("--output", "-o", type=Path, default=Path("face_detector_model"),
                        help="folder for face_detector.tflite, .keras and the reports (default: face_detector_model/)")
    parser.add_argument("--force", action="store_true",
                        help="replace the detector already in --output (without it, such a folder is refused)")
    parser.add_argument("--base-weights", default="imagenet",
                        help="MobileNetV2 weights: imagenet (Keras' cached copy, else the one shipped in "
                             "models/imagenet/: nothing is downloaded), none (random), or a local .h5 file "
                             "(default: imagenet)")
    parser.add_argument("--steps", type=int, default=5000, help="training steps (default: 5000)")
    parser.add_argument("--batch-size", type=int, default=8, help="crops per step (default: 8)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's peak learning rate (default: 1e-3)")
    parser.add_argument("--crop-size", type=int, default=384,
                        help="side of the square training crops, a multiple of 128 (default: 384)")
    parser.add_argument("--val-split", type=float, default=0.15,
                        help="share of the scene photos held out to validate the detector (default: 0.15)")
    parser.add_argument("--composed-share", type=float, default=0.5,
                        help="share of the training scenes composed from --faces (default: 0.5)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the split and the crops (default: 42)")
    args = parser.parse_args()
    for flag in ("steps", "batch_size"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1")
    if args.crop_size < 128 or args.crop_size % 128:
        parser.error("--crop-size must be a multiple of 128")
    for flag in ("val_split", "composed_share"):
        if not 0 <= getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 0 and below 1")
    return args


def main():
    args = parse_args()
    from facemask.training.detector import DetectorOptions, train_detector

    with reported_as_exit(interrupted="interrupted: no detector was written"):
        train_detector(DetectorOptions(**vars(args)))


if __name__ == "__main__":
    main()
