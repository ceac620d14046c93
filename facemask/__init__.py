"""facemask: train a mask / no-mask classifier and detect masks in images and video.

Importing the package is cheap: TensorFlow is only imported by the modules that need it.
"""
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from contextlib import contextmanager

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own lines about a file it can't open: we say it
os.environ.setdefault("OPENCV_LOG_LEVEL", "FATAL")  # OpenCV's lines about a damaged image header: we say it too
# TensorFlow's C++ start-up chatter: oneDNN's notice, "Could not find cuda drivers" and "failed call to cuInit" on
# every run of a machine without a GPU. Errors in Python are raised as exceptions all the same.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # unless you set it: 0 shows everything
try:
    HIDDEN_SEVERITIES = "IWEF"[:max(0, int(os.environ["TF_CPP_MIN_LOG_LEVEL"]))]  # info, warning, error, fatal
except ValueError:
    HIDDEN_SEVERITIES = ""
# Lines of those severities that some of TensorFlow's libraries log on import whatever the level says
START_UP_LINE = HIDDEN_SEVERITIES and re.compile(
    rf"[{HIDDEN_SEVERITIES}]\d{{4}} [\d:. ]+ \S+:\d+\] "
    + ("|WARNING: All log messages before absl::InitializeLog" if "W" in HIDDEN_SEVERITIES else ""))


class UserError(Exception):
    """A problem with the user's input (a file, a folder, a flag): the scripts print it on one line and exit 2."""


@contextmanager
def reported_as_exit(interrupted=None):
    """A script's work: a UserError is printed as `error: …` on one line and the script exits 2; Ctrl-C ends it
    with exit 130, after the line `interrupted` (what was or was not written) when given."""
    try:
        yield
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        if interrupted:
            print(interrupted, file=sys.stderr)
        sys.exit(130)


@contextmanager
def start_up_lines_dropped():
    """Drop the lines of START_UP_LINE from what the C++ side writes to standard error in the block; the other
    lines are written after it."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            sys.stderr.writelines(line for line in captured.read().decode(errors="replace").splitlines(True)
                                  if not START_UP_LINE.match(line))
            sys.stderr.flush()


class QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Imports TensorFlow (also for Keras) with start_up_lines_dropped: the libraries it loads log their
    lines before TF_CPP_MIN_LOG_LEVEL applies to them."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once; and so that find_spec below finds the real one
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            execute = spec.loader.exec_module

            def exec_module(module):
                with start_up_lines_dropped():
                    execute(module)

            spec.loader.exec_module = exec_module
        return spec


if START_UP_LINE and "tensorflow" not in sys.modules:
    sys.meta_path.insert(0, QuietTensorFlowImport())
