"""Frames a camera failed to expose (a dim room at night): what the networks see of them.

Neither network learnt faces in such frames: on the held-out training photos darkened to an eighth of their light,
the face detector found half as many faces (models/face_detector.md, "Dark frames"). Lifting the frame's light back
before detection and classification, as a camera's automatic exposure would, finds most of them again.
"""
import cv2
import numpy as np

# A frame is underexposed when even its brightest 2% of pixels are darker than BRIGHT (of 255): 1% of the street
# training photos and 2% of the face photos are, and no portrait on a dark background. It is then brightened by the
# gain that takes them to BRIGHT.
BRIGHT = 160
# The largest gain, two stops, as far as a camera's exposure compensation goes: an 8-bit frame that dark keeps few
# levels of light, and more gain lifts its compression blocks into faces.
MAX_GAIN = 4


def exposed(frame):
    """The BGR frame as the networks see it: the frame itself, or, underexposed, brightened by the gain that takes
    its brightest 2% to BRIGHT (at most MAX_GAIN)."""
    sample = cv2.cvtColor(np.ascontiguousarray(frame[::4, ::4]), cv2.COLOR_BGR2GRAY)  # every 16th pixel is enough
    brightest = float(np.percentile(sample, 98))
    if brightest >= BRIGHT:
        return frame
    return cv2.convertScaleAbs(frame, alpha=min(BRIGHT / max(brightest, 1.0), MAX_GAIN))
