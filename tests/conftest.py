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


def write_door(video):
    """Two people crossing, 4.5 s at 10 frames/s: the upper one walks right masked, takes the mask off from 1.5 s
    to 3 s, and puts it on again; the lower one walks left masked."""
    photo = cv2.resize(face_photo(), (150, 176))
    masked = cv2.resize(with_drawn_mask(face_photo()), (150, 176))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (640, 400))
    for index in range(45):
        frame = np.full((400, 640, 3), 90, np.uint8)
        frame[20:196, 10 + 10 * index:160 + 10 * index] = photo if 15 <= index < 30 else masked
        frame[200:376, 480 - 10 * index:630 - 10 * index] = masked
        writer.write(frame)
    writer.release()
    return video
