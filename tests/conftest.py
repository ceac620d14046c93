"""Shared test helpers: small real images made on the fly, and the optional ../shared folder."""
import sys
from pathlib import Path

import cv2
import matplotlib.cbook
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
IMAGENET_WEIGHTS = ROOT / "models" / "imagenet" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
sys.path.insert(0, str(ROOT))

from facemask.examples import with_drawn_mask  # noqa: E402, F401  (re-exported for the tests)

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared (development data and models) is absent")


def face_photo():
    """Grace Hopper's portrait, as shipped with matplotlib: a real face photo, BGR."""
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file:
        data = np.frombuffer(file.read(), dtype=np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def make_dataset(folder, class_images, per_class=6):
    """Write `per_class` slightly varied copies of each class's image into folder/<class>/."""
    rng = np.random.default_rng(0)
    for name, image in class_images.items():
        (folder / name).mkdir(parents=True)
        for index in range(per_class):
            shift = rng.integers(0, 40, size=2)
            variant = cv2.convertScaleAbs(image[shift[0]:, shift[1]:], alpha=rng.uniform(0.8, 1.2))
            cv2.imwrite(str(folder / name / f"{index}.jpg"), variant)
    return folder


@pytest.fixture
def mask_dataset(tmp_path):
    photo = face_photo()
    return make_dataset(tmp_path / "dataset", {"with_mask": with_drawn_mask(photo), "without_mask": photo})
