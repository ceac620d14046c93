"""The examples shipped in examples/: a photo, and a short video made from it (write_example_video); the masked
face drawn from the photo for demos, tests and benchmarks."""
from pathlib import Path

import cv2
import numpy as np

EXAMPLE_PHOTO = Path(__file__).resolve().parent.parent / "examples" / "grace_hopper.jpg"
EXAMPLE_VIDEO = EXAMPLE_PHOTO.with_name("walk.mp4")


def with_drawn_mask(photo):
    """Grace Hopper's portrait (512×600, as in examples/ and matplotlib's sample data) with a light-blue surgical
    mask drawn over the lower face."""
    masked = photo.copy()
    mouth_area = np.array([[188, 240], [345, 240], [352, 315], [268, 348], [182, 315]], dtype=np.int32)
    cv2.fillPoly(masked, [mouth_area], (230, 200, 150))
    return masked


def example_frames(photo, frame_rate=15, seconds=6, size=(640, 360)):
    """The frames of the example video: Grace Hopper's portrait (BGR, 512×600) walking across a grey frame of `size`
    (width, height), masked for the first third, without the mask for the second, masked again for the last."""
    width, height = size
    face_height = int(height * 0.7)
    face_width = face_height * 210 // 280
    bare = cv2.resize(photo[120:400, 150:360], (face_width, face_height))
    masked = cv2.resize(with_drawn_mask(photo)[120:400, 150:360], (face_width, face_height))
    count = frame_rate * seconds
    for index in range(count):
        frame = np.full((height, width, 3), 90, np.uint8)
        x = round(index * (width - face_width) / (count - 1))
        frame[(height - face_height) // 2:(height + face_height) // 2, x:x + face_width] = (
            bare if count // 3 <= index < 2 * count // 3 else masked)
        yield frame


def write_example_video(path=EXAMPLE_VIDEO, frame_rate=15):
    """Write examples/walk.mp4 from the example photo: the video the README's commands run on."""
    frames = list(example_frames(cv2.imread(str(EXAMPLE_PHOTO)), frame_rate))
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), frame_rate, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
