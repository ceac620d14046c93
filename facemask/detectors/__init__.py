"""The face detectors, each a class with `default_confidence` and `detect(frame, min_confidence)` returning
(boxes, confidences): the tutorials' Caffe SSD, MediaPipe's BlazeFace, our own MobileNetV2 SSD, and several merged
into one. FACE_DETECTORS is the registry of the names that `--detector` takes.
"""
from facemask.detectors.blazeface import BlazeFace
from facemask.detectors.caffe_ssd import CaffeSSD
from facemask.detectors.merged import MergedDetector
from facemask.detectors.mobilenet import MobileNetDetector

# By name: functions of (the folder of their files or None, threads, input size) that make one. The input size is
# the longer side, in pixels, of our detector's input (None: its default, 640); the SSD's and BlazeFace's inputs
# are fixed by their networks.
FACE_DETECTORS = {
    "ssd": lambda face_dir, threads, input_size: CaffeSSD(face_dir),
    "blazeface": lambda face_dir, threads, input_size: BlazeFace("short", threads, face_dir),
    "mobilenet": lambda face_dir, threads, input_size: MobileNetDetector(face_dir, threads, input_size),
    "mobilenet+blazeface": lambda face_dir, threads, input_size: MergedDetector([
        MobileNetDetector(face_dir, threads, input_size), BlazeFace("short", threads)]),
}
# The detectors whose input size can be chosen
RESIZABLE = ("mobilenet", "mobilenet+blazeface")
# Each detector's own --confidence, on its own scale of confidences
DEFAULT_CONFIDENCES = {"ssd": CaffeSSD.default_confidence, "blazeface": BlazeFace.default_confidence,
                       "mobilenet": MobileNetDetector.default_confidence,
                       "mobilenet+blazeface": MergedDetector.default_confidence}
