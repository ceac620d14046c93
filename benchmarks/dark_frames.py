#!/usr/bin/env python3
"""Photos a camera failed to expose: both sets of peer_accuracy.py darkened to 30% and to 12% of their light, and
the classic tutorial pipeline, AIZOO's face-mask detector and ours, with and without its exposure step
(facemask/exposure.py), on the same photos in one run.

Each photo's pixels are multiplied by the share of light and rounded to whole levels, then saved as JPEG at quality
75 (PNG photos as PNG), beside a copy of their annotations, in a temporary folder.

    python benchmarks/dark_frames.py
"""
import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from peer_accuracy import AIZOO_AT_03, SETS, SHARED, TUTORIAL, measure, table  # noqa: E402

from facemask.images import IMAGE_EXTENSIONS  # noqa: E402
from facemask.pipeline import DEFAULT_MODEL, MaskDetector  # noqa: E402

SHARES = (0.3, 0.12)
PIPELINES = [
    TUTORIAL,
    AIZOO_AT_03,
    ("ours, the default without the exposure step", lambda: MaskDetector(DEFAULT_MODEL, exposure=False)),
    ("ours, the default", lambda: MaskDetector(DEFAULT_MODEL)),
]


def darkened(image, share):
    """The BGR image with `share` of its light, rounded to whole levels."""
    return np.round(image * share).astype(np.uint8)


def darken_set(folder, share, output):
    """A copy of the scene set in `folder` (images/, annotations/) in `output`, every photo darkened."""
    shutil.copytree(folder / "annotations", output / "annotations")
    (output / "images").mkdir()
    for path in sorted((folder / "images").iterdir()):
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            quality = [cv2.IMWRITE_JPEG_QUALITY, 75] if path.suffix.lower() in (".jpg", ".jpeg") else []
            cv2.imwrite(str(output / "images" / path.name), darkened(cv2.imread(str(path)), share), quality)
    return output


def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    if not SHARED.is_dir():
        sys.exit(f"error: this benchmark needs the development data in {SHARED}, which the toolkit does not ship")
    with tempfile.TemporaryDirectory() as scratch:
        for set_name, folder, min_size in SETS[:2]:  # scenes-dev and street val, as docs/benchmarks.md reports
            for share in SHARES:
                dark = darken_set(folder, share, Path(scratch) / f"{folder.name}-{share}")
                results = measure(PIPELINES, dark, min_size)
                print(f"\n{set_name}, at {share:.0%} of its light: {results[0][1]['images']} photos, "
                      f"{results[0][1]['faces']} faces counted, IoU ≥ 0.4 (AP at IoU 0.5)\n")
                print(table(results), flush=True)


if __name__ == "__main__":
    main()
