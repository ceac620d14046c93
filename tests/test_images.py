import cv2
import numpy as np
import pytest
from conftest import face_photo

from facemask import UserError
from facemask.images import prepare_face, read_image, to_bgr8


def test_grayscale_becomes_three_channels():
    gray = np.full((5, 7), 100, dtype=np.uint8)
    assert to_bgr8(gray).shape == (5, 7, 3)
    assert (to_bgr8(gray) == 100).all()


def test_sixteen_bit_becomes_eight_bit():
    deep = np.full((4, 4, 3), 65535, dtype=np.uint16)
    converted = to_bgr8(deep)
    assert converted.dtype == np.uint8 and (converted == 255).all()


def test_transparent_pixels_become_white():
    bgra = np.zeros((2, 2, 4), dtype=np.uint8)
    bgra[0, 0] = (10, 20, 30, 255)  # opaque stays as it is
    converted = to_bgr8(bgra)
    assert converted.shape == (2, 2, 3)
    assert tuple(converted[0, 0]) == (10, 20, 30)
    assert tuple(converted[1, 1]) == (255, 255, 255)


@pytest.mark.parametrize("name,image", [
    ("gray.png", np.full((30, 20), 77, np.uint8)),
    ("deep.png", np.full((30, 20, 3), 40000, np.uint16)),
    ("alpha.png", np.dstack([np.full((30, 20, 3), 9, np.uint8), np.full((30, 20), 255, np.uint8)])),
    ("photo.webp", np.full((30, 20, 3), 128, np.uint8)),
    ("photo.bmp", np.full((30, 20, 3), 128, np.uint8)),
    ("visage à l'été.jpg", np.full((30, 20, 3), 128, np.uint8)),
])
def test_read_image_gives_bgr8(tmp_path, name, image):
    ok, encoded = cv2.imencode(".png" if name.endswith(".png") else name[name.rfind("."):], image)
    assert ok
    (tmp_path / name).write_bytes(encoded.tobytes())
    loaded = read_image(tmp_path / name)
    assert loaded.dtype == np.uint8 and loaded.shape == (30, 20, 3)


@pytest.mark.parametrize("content", [b"", b"this is not an image", b"\xff\xd8\xff\xe0 truncated jpeg"])
def test_unreadable_image_names_the_file(tmp_path, content):
    path = tmp_path / "broken.jpg"
    path.write_bytes(content)
    with pytest.raises(UserError, match="broken.jpg"):
        read_image(path)


def test_missing_image_names_the_file(tmp_path):
    with pytest.raises(UserError, match="nowhere.jpg"):
        read_image(tmp_path / "nowhere.jpg")


def test_prepare_face_resizes_and_turns_bgr_into_rgb():
    face = np.zeros((300, 200, 3), dtype=np.uint8)
    face[:, :, 0] = 255  # blue in BGR
    prepared = prepare_face(face, 224)
    assert prepared.shape == (224, 224, 3) and prepared.dtype == np.uint8
    assert (prepared[:, :, 2] == 255).all() and (prepared[:, :, 0] == 0).all()  # blue is last in RGB
    assert prepare_face(face_photo()[:50, :50], 224).shape == (224, 224, 3)  # small faces are enlarged
