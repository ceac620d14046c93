"""facemask: train a mask / no-mask classifier and detect masks in images and video.

Importing the package is cheap: TensorFlow is only imported by the modules that need it.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter, not errors
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own lines about a file it can't open: we say it
os.environ.setdefault("OPENCV_LOG_LEVEL", "FATAL")  # OpenCV's lines about a damaged image header: we say it too


class UserError(Exception):
    """A problem with the user's input (a file, a folder, a flag): the scripts print it on one line and exit 2."""
