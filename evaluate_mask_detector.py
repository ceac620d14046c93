#!/usr/bin/env python3
"""Measure a mask model: on a folder of face crops (--dataset) and on scene photos with PASCAL VOC face boxes
(--scenes), running the same pipeline as detect_mask_image.py."""
import argparse
import json
import sys
from pathlib import Path

from facemask import reported_as_exit
from facemask.cli import add_detector_arguments, probability
from facemask.pipeline import DEFAULT_DETECTOR, VIDEO_DETECTOR


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", "-d", type=Path, help="face crops, one sub-folder per class")
    parser.add_argument("--scenes", "-s", type=Path, help="a folder with images/ and PASCAL VOC annotations/")
    add_detector_arguments(parser, default_detector=None)
    parser.add_argument("--video", action="store_true",
                        help="run the pipeline as detect_mask_video.py runs it on each frame it detects (today the "
                             "same as without --video)")
    parser.add_argument("--iou", type=probability, default=0.4,
                        help="overlap for a detection to count as finding a face (default: 0.4)")
    parser.add_argument("--min-size", type=int, default=0, metavar="PX",
                        help="annotated faces whose shorter side is under PX pixels are don't-care: not counted, and "
                             "a detection on them is not false (default: 0, every face counts)")
    parser.add_argument("--output", "-o", type=Path,
                        help="folder for the confusion-matrix PNG and report.json (default: none)")
    parser.add_argument("--json", metavar="PATH", help="write the whole report as JSON to PATH, or - for stdout")
    args = parser.parse_args()
    if args.dataset is None and args.scenes is None:
        parser.error("give --dataset, --scenes or both")
    if args.detector is None:
        args.detector = VIDEO_DETECTOR if args.video else DEFAULT_DETECTOR
    return args


def scenes_summary(scenes_dir, scenes):
    """evaluate_scenes' figures as a few lines of text."""
    def figure(value):
        return "-" if value is None else f"{value:.4f}"

    dont_care = f" and {scenes['dont_care_faces']} don't-care" if scenes["dont_care_faces"] else ""
    bands = ", ".join(f"{band} {figure(size['recall'])} ({size['found']} of {size['faces']})"
                      for band, size in scenes["recall_by_size"].items())
    ap = ", ".join(f"{name} {figure(value)}" for name, value in scenes["ap50"].items())
    per_class = ""
    for name, figures in scenes["per_class"].items():
        sizes = ", ".join(f"{band} {figure(size['detection_recall'])} / {figure(size['label_accuracy'])} "
                          f"({size['faces']})" for band, size in figures["by_size"].items())
        per_class += (f"\n  {name}: recall {figure(figures['recall'])}, precision {figure(figures['precision'])}, "
                      f"F1 {figure(figures['f1'])}, AP@0.5 {figure(scenes['ap50'][name])}\n"
                      f"    by shorter side, found / labelled right when found (faces): {sizes}")
    return (f"{scenes_dir}: {scenes['images']} images, {scenes['faces']} faces{dont_care}\n"
            f"  face recall {figure(scenes['face_recall'])}, precision {figure(scenes['precision'])} "
            f"({scenes['unmatched_detections']} detections matching no face), label accuracy on found faces "
            f"{figure(scenes['label_accuracy_on_found'])}, end to end {figure(scenes['end_to_end_accuracy'])}\n"
            f"  recall by size: {bands}\n"
            f"  AP@0.5: {ap}; mAP@0.5 {figure(scenes['map50'])}"
            f"{per_class}")


def main():
    args = parse_args()
    from facemask.evaluate import evaluate_crops, evaluate_scenes
    from facemask.files import check_output, write_atomically
    from facemask.pipeline import MaskDetector, video_detector

    log = sys.stderr if args.json == "-" else sys.stdout
    report = {"model": str(args.model), "detector": args.detector, "video": args.video}
    with reported_as_exit():
        if args.output:  # before the evaluation, not after it
            check_output(args.output, "--output", folder=True)
        if args.json not in (None, "-"):
            check_output(args.json, "--json")
        make = video_detector if args.video else MaskDetector
        detector = make(args.model, args.face, args.confidence, margin=args.margin, face_detector=args.detector)
        if args.dataset is not None:
            matrix = args.output / "confusion_matrix.png" if args.output else None
            text, report["dataset"] = evaluate_crops(detector.classifier, args.dataset, matrix)
            print(f"{args.dataset}: {report['dataset']['images']} faces, accuracy "
                  f"{report['dataset']['accuracy']:.4f}\n{text}", file=log)
        if args.scenes is not None:
            scenes = report["scenes"] = evaluate_scenes(detector, args.scenes, detector.classifier.class_names,
                                                        args.iou, args.min_size)
            print(scenes_summary(args.scenes, scenes), file=log)
        text = json.dumps(report, indent=2) + "\n"
        if args.output:
            write_atomically(args.output / "report.json", text.encode())
        if args.json == "-":
            print(text, end="")
        elif args.json:
            write_atomically(args.json, text.encode())


if __name__ == "__main__":
    main()
