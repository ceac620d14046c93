"""The example photo shipped in examples/, and the masked face drawn from it for demos, tests and benchmarks."""
from pathlib import Path

import cv2
import numpy as np

EXAMPLE_PHOTO = Path(__file__).resolve().parent.parent / "examples" / "grace_hopper.jpg"


def with_drawn_mask(photo):
    """Grace Hopper's portrait (512×600, as in examples/ and matplotlib's sample data) with a light-blue surgical
    mask drawn over the lower face."""
    masked = photo.copy()
    mouth_area = np.array([[188, 240], [345, 240], [352, 315], [268, 348], [182, 315]], dtype=np.int32)
    cv2.fillPoly(masked, [mouth_area], (230, 200, 150))
    return masked
