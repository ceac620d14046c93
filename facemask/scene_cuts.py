"""Where a video cuts from one shot to the next. Nobody seen before a cut is known to be in view after it, so the
people tracker starts afresh there (video.follow_people), rather than carry a person across the cut onto whoever
stands where they stood.

A frame starts a new shot when both its colours and its picture differ from the frame before's: the Bhattacharyya
distance between their hue-saturation-value histograms is over CUT_COLOURS, and their pixels, shrunk to 16×12,
differ by over CUT_PIXELS on average: a camera panning over a crowd changes the picture a lot but hardly the
colours, so both must change.
"""
import cv2
import numpy as np

# Measured (benchmarks' pan over 40 photos of scenes-street/train, and media/demo.mp4, a webcam): from one frame to
# the next within a shot, at most 0.08 and 13.3 over the pans and 0.12 and 6.9 on the webcam; across the 39 cuts
# between the pans, at least 0.41 and 46.5. Each threshold sits about midway.
CUT_COLOURS = 0.25
CUT_PIXELS = 30


def signature(frame):
    """What a frame is compared by: its colour histogram and its thumbnail."""
    small = cv2.resize(frame, (160, 120), interpolation=cv2.INTER_AREA)
    histogram = cv2.calcHist([cv2.cvtColor(small, cv2.COLOR_BGR2HSV)], [0, 1, 2], None, [8, 4, 4],
                             [0, 180, 0, 256, 0, 256])
    thumbnail = cv2.resize(small, (16, 12), interpolation=cv2.INTER_AREA).astype(np.float32)
    return cv2.normalize(histogram, histogram).flatten(), thumbnail


def is_cut(before, after):
    """Whether the frame of signature `after` starts a new shot after the frame of signature `before`."""
    colours = cv2.compareHist(before[0], after[0], cv2.HISTCMP_BHATTACHARYYA)
    pixels = float(np.abs(after[1] - before[1]).mean())
    return colours > CUT_COLOURS and pixels > CUT_PIXELS
