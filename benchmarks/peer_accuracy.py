#!/usr/bin/env python3
"""Accuracy beside the peer: the classic tutorial pipeline, AIZOO's face-mask detector and ours, on the same scene
photos in one run, every figure of evaluate_mask_detector.py --scenes side by side.

The sets: ../shared/data/scenes-dev (webcam and street photos, every face counts),
../shared/data/scenes-street/val (street crowds; faces under 16 pixels are don't-care) and
../shared/data/scenes-ilc-dev (web photos from a source no model was tuned on; every face counts; for measuring
only). Faces of a class a pipeline does not know (mask_weared_incorrect, for the two-class models and AIZOO's, which
has no such class) are don't-care too; for a model that knows it (--model, e.g. a three-class model), its figures
follow in a table of their own.

    python benchmarks/peer_accuracy.py
    python benchmarks/peer_accuracy.py --model three_class_model/mask_detector.keras --sets scenes-ilc-dev
"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

from aizoo import CLASS_NAMES as AIZOO_CLASS_NAMES  # noqa: E402
from aizoo import AizooDetector  # noqa: E402

from facemask.detectors import FACE_DETECTORS  # noqa: E402
from facemask.evaluate import CLASS_SIZE_BANDS, evaluate_scenes  # noqa: E402
from facemask.pipeline import DEFAULT_DETECTOR, DEFAULT_MODEL, MaskDetector  # noqa: E402

LEGACY_MODEL = SHARED / "models" / "legacy" / "mask_detector.model"
CLASSES = ("without_mask", "with_mask")  # the unmasked class first: it is the one a user looks for
THIRD_CLASS = "mask_weared_incorrect"
SETS = [("scenes-dev", SHARED / "data" / "scenes-dev", 0),
        ("scenes-street/val, faces ≥ 16 px", SHARED / "data" / "scenes-street" / "val", 16),
        ("scenes-ilc-dev", SHARED / "data" / "scenes-ilc-dev", 0)]
# (name, a function that makes the pipeline): the tutorials' pipeline as they ran it, and the peer
TUTORIAL = ("classic tutorial (legacy model, SSD at 0.5, no margin)",
            lambda: MaskDetector(LEGACY_MODEL, face_detector="ssd", confidence=0.5, margin=0.0, exposure=False))
AIZOO_AT_03 = ("AIZOO peer, confidence 0.3", lambda: AizooDetector(0.3))


class Timed:
    """A pipeline that adds up the seconds it spends on photos."""

    def __init__(self, pipeline):
        self.pipeline, self.seconds, self.photos = pipeline, 0.0, 0

    def __call__(self, image):
        started = time.perf_counter()
        faces = self.pipeline(image)
        self.seconds += time.perf_counter() - started
        self.photos += 1
        return faces


def pipelines(detector_names, model=DEFAULT_MODEL, peers=True):
    """(name, a function that makes the pipeline) for each pipeline compared: the peers' (with `peers`), then ours."""
    def ours(name):
        return lambda: MaskDetector(model, face_detector=name)

    rows = []
    if peers:
        rows = [TUTORIAL, AIZOO_AT_03, ("AIZOO peer, confidence 0.5 (its default)", lambda: AizooDetector(0.5))]
    for name in detector_names:
        default = " (the default, for photos and video)" if name == DEFAULT_DETECTOR else ""
        rows.append((f"ours, --detector {name}{default}" + (f", --model {model}" if model != DEFAULT_MODEL else ""),
                     ours(name)))
    return rows


def class_names_of(pipeline):
    return pipeline.classifier.class_names if isinstance(pipeline, MaskDetector) else AIZOO_CLASS_NAMES


def figure(value, places=3):
    return "–" if value is None else f"{value:.{places}f}"


def table(results):
    """A Markdown table of one set's figures, a row per pipeline: the unmasked class first, then the masked, then
    both together."""
    per_class = " | ".join(f"{short} recall | {short} precision | {short} F1 | {short} AP@0.5"
                           for short in ("no mask", "mask"))
    lines = [f"| pipeline | {per_class} | mAP@0.5 | end to end | precision | face recall | label accuracy on found "
             "| false faces | ms per photo |",
             "| --- " * 15 + "|"]
    for name, scenes, milliseconds in results:
        classes = " | ".join(f"{figure(scenes['per_class'][label]['recall'])} "
                             f"| {figure(scenes['per_class'][label]['precision'])} "
                             f"| {figure(scenes['per_class'][label]['f1'])} | {figure(scenes['ap50'].get(label))}"
                             for label in CLASSES)
        lines.append(f"| {name} | {classes} | {figure(scenes['map50'])} | {figure(scenes['end_to_end_accuracy'])} "
                     f"| {figure(scenes['precision'])} | {figure(scenes['face_recall'])} "
                     f"| {figure(scenes['label_accuracy_on_found'])} | {scenes['unmatched_detections']} "
                     f"| {milliseconds:.0f} |")
    return "\n".join(lines)


def size_table(results, label):
    """A Markdown table of where one class's faces are lost, by their shorter side: found by the face detector,
    and labelled right when found."""
    bands = [band for band, _ in CLASS_SIZE_BANDS if any(band in scenes["per_class"][label]["by_size"]
                                                         for _, scenes, _ in results)]
    lines = ["| pipeline | " + " | ".join(f"{band} px: found / right" for band in bands) + " |",
             "| --- " * (len(bands) + 1) + "|"]
    for name, scenes, _ in results:
        sizes = scenes["per_class"][label]["by_size"]
        cells = [f"{figure(sizes[band]['detection_recall'], 2)} / {figure(sizes[band]['label_accuracy'], 2)}"
                 if band in sizes else "–" for band in bands]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    first = results[0][1]["per_class"][label]["by_size"]  # every pipeline is judged on the same faces
    counts = ", ".join(f"{band} {first[band]['faces']}" for band in bands if band in first)
    return "\n".join(lines) + f"\n\n({label} faces per band: {counts})"


def third_class_table(results):
    """A Markdown table of the third class's figures, for the pipelines whose model knows it; None if none does."""
    knowing = [(name, scenes) for name, scenes, _ in results if THIRD_CLASS in scenes["per_class"]]
    if not knowing:
        return None
    lines = ["| pipeline | faces | recall | precision | F1 | AP@0.5 | labelled so (right) |", "| --- " * 7 + "|"]
    for name, scenes in knowing:
        figures = scenes["per_class"][THIRD_CLASS]
        lines.append(f"| {name} | {figures['faces']} | {figure(figures['recall'])} | {figure(figures['precision'])} "
                     f"| {figure(figures['f1'])} | {figure(scenes['ap50'][THIRD_CLASS])} "
                     f"| {figures['labelled']} ({figures['labelled_right']}) |")
    return "\n".join(lines)


def measure(rows, folder, min_size):
    """(name, evaluate_scenes' figures, milliseconds per photo) of each (name, function that makes the pipeline)
    on the scene set in `folder`."""
    results = []
    for name, make in rows:
        pipeline = make()
        timed = Timed(pipeline)
        scenes = evaluate_scenes(timed, folder, class_names_of(pipeline), min_size=min_size)
        results.append((name, scenes, 1000 * timed.seconds / timed.photos))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detectors", nargs="+", choices=sorted(FACE_DETECTORS), default=sorted(FACE_DETECTORS),
                        help="our face detectors to run (default: every one)")
    parser.add_argument("--sets", nargs="+", choices=[folder.relative_to(SHARED / "data").as_posix()
                                                      for _, folder, _ in SETS],
                        help="the scene sets to measure on (default: all three)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                        help="our classifier (default: the shipped one); a model with a third class "
                             f"({THIRD_CLASS}) is measured on it too")
    parser.add_argument("--no-peers", action="store_true", help="our pipelines only")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"error: this benchmark needs the development data in {SHARED}, which the toolkit does not ship")
    rows = pipelines(args.detectors, args.model, peers=not args.no_peers)
    for set_name, folder, min_size in SETS:
        if args.sets and folder.relative_to(SHARED / "data").as_posix() not in args.sets:
            continue
        results = measure(rows, folder, min_size)
        faces = results[0][1]["faces"]
        print(f"\n{set_name}: {results[0][1]['images']} photos, {faces} faces counted, IoU ≥ 0.4 "
              f"(AP at IoU 0.5)\n")
        print(table(results), flush=True)
        third = third_class_table(results)
        if third:
            print(f"\n{set_name}, {THIRD_CLASS} (the mask below the nose; AIZOO and the tutorial have no such class, "
                  "and their figures above leave these faces out):\n")
            print(third, flush=True)
        for label in CLASSES + ((THIRD_CLASS,) if third else ()):
            print(f"\n{set_name}, {label} by the face's shorter side:\n")
            print(size_table([row for row in results if label in row[1]["per_class"]], label), flush=True)


if __name__ == "__main__":
    main()
