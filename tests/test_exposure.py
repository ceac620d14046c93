import numpy as np
import pytest
from conftest import face_photo

from facemask.exposure import BRIGHT, MAX_GAIN, exposed
from facemask.pipeline import DEFAULT_MODEL, MaskDetector


def test_a_frame_exposed_well_is_left_as_it_is():
    frame = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    assert exposed(frame) is frame


def test_a_portrait_on_a_dark_background_is_not_underexposed():
    photo = face_photo()  # half her photo is darker than 40 of 255; her face is not
    assert np.median(photo) < 50 and exposed(photo) is photo


def test_an_underexposed_frame_is_brightened_until_its_brightest_pixels_are_bright():
    dark = (face_photo() * 0.4).astype(np.uint8)  # her brightest 2% near 98: a gain of 1.6
    brightened = exposed(dark)
    assert np.percentile(dark, 98) < BRIGHT * 0.7
    assert abs(np.percentile(brightened, 98) - BRIGHT) <= 4
    assert np.corrcoef(dark.ravel(), brightened.ravel())[0, 1] > 0.99  # the same picture, only brighter


def test_the_gain_stops_at_two_stops():
    frame = np.full((40, 40, 3), 5, np.uint8)
    frame[:20] = 30
    assert (exposed(frame) == frame * MAX_GAIN).all()


@pytest.fixture(scope="module")
def detector():
    return MaskDetector(DEFAULT_MODEL)


def test_the_pipeline_finds_and_labels_a_face_in_a_frame_at_3_percent_of_its_light(detector):
    dark = (face_photo() * 0.03).astype(np.uint8)  # 7 levels of light on her face
    as_it_is = MaskDetector(DEFAULT_MODEL, exposure=False)(dark)  # as the tutorials' pipeline sees it
    faces = detector(dark)
    assert len(faces) == 1 and faces[0]["label"] == "without_mask"
    assert faces[0]["face_confidence"] > max([face["face_confidence"] for face in as_it_is], default=0) + 0.1
