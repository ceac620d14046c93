"""Cuts between shots: a new shot is found, a pan or a change of light within one is not."""
import cv2
import matplotlib.cbook
import numpy as np
from conftest import face_photo

from facemask.scene_cuts import is_cut, signature


def other_photo():
    """Matplotlib's other real photo, a boxed present, BGR and the size of the portrait."""
    with matplotlib.cbook.get_sample_data("Minduka_Present_Blue_Pack.png") as file:
        image = cv2.imdecode(np.frombuffer(file.read(), np.uint8), cv2.IMREAD_COLOR)
    return cv2.resize(image, face_photo().shape[1::-1])


def pan(photo, shift):
    """The middle of `photo`, `shift` pixels to the right: one frame of a camera panning over it."""
    height, width = photo.shape[:2]
    return photo[height // 4:height // 4 + 300, shift + width // 8:shift + width // 8 + 400]


def test_a_cut_to_another_photo_is_a_new_shot():
    assert is_cut(signature(pan(face_photo(), 0)), signature(pan(other_photo(), 0)))
    assert is_cut(signature(pan(other_photo(), 0)), signature(pan(face_photo(), 0)))


def test_a_pan_and_a_change_of_light_are_the_same_shot():
    portrait = face_photo()
    assert not is_cut(signature(pan(portrait, 0)), signature(pan(portrait, 12)))
    brighter = cv2.convertScaleAbs(pan(portrait, 12), alpha=1.15)
    assert not is_cut(signature(pan(portrait, 12)), signature(brighter))
    assert not is_cut(signature(pan(portrait, 0)), signature(pan(portrait, 0)))
