#!/usr/bin/env python3
"""Annotating a large folder: detect_mask_image.py with 1 worker against 2 (or --workers) on the same folder,
in one run. Prints images per second for each, the ratio, and whether the JSON reports are identical.

The folder: the photos of ../shared/data/scenes-dev/images when present, else copies of a face photo, repeated
to --images images.

    python benchmarks/photos_workers.py [--images 400] [--workers 2]
"""
import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCENES = ROOT.parent / "shared" / "data" / "scenes-dev" / "images"
sys.path.insert(0, str(ROOT / "tests"))

from conftest import face_photo  # noqa: E402


def make_folder(folder, count):
    sources = sorted(SCENES.iterdir()) if SCENES.is_dir() else []
    for index in range(count):
        if sources:
            source = sources[index % len(sources)]
            shutil.copy(source, folder / f"{index:04d}{source.suffix}")
        else:
            cv2.imwrite(str(folder / f"{index:04d}.jpg"), np.roll(face_photo(), index, axis=1))
    return "scenes-dev photos" if sources else "face photos"


def annotate(folder, workers, report):
    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "detect_mask_image.py"), "--image", str(folder), "--workers",
                    str(workers), "--json", str(report)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        photos = folder / "photos"
        photos.mkdir()
        kind = make_folder(photos, args.images)
        one = annotate(photos, 1, folder / "one.json")
        many = annotate(photos, args.workers, folder / "many.json")
        same = filecmp.cmp(folder / "one.json", folder / "many.json", shallow=False)
    print(f"{args.images} {kind}, whole runs of detect_mask_image.py (start-up included):")
    print(f"  1 worker:  {one:6.1f} s, {args.images / one:5.1f} images/s")
    print(f"  {args.workers} workers: {many:6.1f} s, {args.images / many:5.1f} images/s")
    print(f"  ratio {one / many:.2f}x; JSON reports identical: {same}")


if __name__ == "__main__":
    main()
