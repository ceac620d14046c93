"""Command-line flags that the detection scripts, the evaluation and the app share."""
import argparse
import math
from pathlib import Path

from facemask.detectors import DEFAULT_CONFIDENCES, FACE_DETECTORS
from facemask.pipeline import DEFAULT_DETECTOR, DEFAULT_MODEL, FACE_MARGIN


def probability(text):
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return value


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text}")
    return value


def margin(text):
    value = float(text)
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def add_detector_arguments(parser, default_detector=DEFAULT_DETECTOR):
    """--model, --detector, --face, --confidence and --margin: which classifier and face detector, how sure a face
    must be, and how much around it the classifier sees. A `default_detector` of None leaves --detector None
    when not given, for a script whose default depends on another flag (evaluate_mask_detector.py's --video)."""
    shown_default = default_detector or DEFAULT_DETECTOR
    parser.add_argument("--model", "-m", type=Path, default=DEFAULT_MODEL,
                        help="classifier: .keras or .tflite (default: the shipped models/mask_detector.keras)")
    parser.add_argument("--detector", choices=list(FACE_DETECTORS), default=default_detector,
                        help=f"face detector (default: {shown_default}; the README compares them)")
    parser.add_argument("--face", "-f", type=Path, metavar="DIR",
                        help="folder with the face detector's files: the Caffe SSD's, BlazeFace's .tflite files, or "
                             "a face_detector.tflite of train_face_detector.py (default: the shipped or installed "
                             "ones)")
    parser.add_argument("--confidence", "-c", type=probability,
                        help="minimum face detection confidence (default: the detector's own: " + ", ".join(
                            f"{value:g} for {name}" for name, value in DEFAULT_CONFIDENCES.items()) + ")")
    parser.add_argument("--margin", type=margin, default=FACE_MARGIN,
                        help=f"share of the face box added on each side before classifying (default: {FACE_MARGIN}; "
                             "the tutorials used 0)")
