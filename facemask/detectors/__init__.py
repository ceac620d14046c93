"""The face detectors, each a class with `default_confidence` and `detect(frame, min_confidence)` returning
(boxes, confidences): the tutorials' Caffe SSD, MediaPipe's BlazeFace, our own MobileNetV2 SSD, YuNet, and several
merged into one. FACE_DETECTORS is the registry of the names that `--detector` takes.
"""
from facemask.detectors.blazeface import BlazeFace
from facemask.detectors.caffe_ssd import CaffeSSD
from facemask.detectors.merged import AGREEMENT_WITH_YUNET, YUNET_MIDPOINT, MergedDetector
from facemask.detectors.mobilenet import MobileNetDetector
from facemask.detectors.yunet import YuNet

# By name: functions of (the folder of their files or None, threads, input size) that make one. The input size is
# the longer side, in pixels, of our detector's input (None: its default, 640), or YuNet's square input (320 or
# 640); the SSD's and BlazeFace's inputs are fixed by their networks.
FACE_DETECTORS = {
    "ssd": lambda face_dir, threads, input_size: CaffeSSD(face_dir),
    "blazeface": lambda face_dir, threads, input_size: BlazeFace("short", threads, face_dir),
    "mobilenet": lambda face_dir, threads, input_size: MobileNetDetector(face_dir, threads, input_size),
    "yunet": lambda face_dir, threads, input_size: YuNet(face_dir, input_size),
    "mobilenet+blazeface": lambda face_dir, threads, input_size: MergedDetector([
        MobileNetDetector(face_dir, threads, input_size), BlazeFace("short", threads)]),
    "mobilenet+blazeface+yunet": lambda face_dir, threads, input_size: MergedDetector(
        [MobileNetDetector(face_dir, threads, input_size), BlazeFace("short", threads), YuNet(None, input_size)],
        AGREEMENT_WITH_YUNET, [MobileNetDetector.default_confidence, BlazeFace.default_confidence, YUNET_MIDPOINT]),
}
# The detector a video's glance (see video.py) runs, where it is not the full look's: a glance only finds again the
# people the tracker follows, all with large faces, which ours and BlazeFace see, and a glance that misses one is
# followed by a full look at the same frame. YuNet would cost a fifth of the frame rate on a webcam's close face.
GLANCE_DETECTORS = {"mobilenet+blazeface+yunet": "mobilenet+blazeface"}
# The detectors whose input size can be chosen
RESIZABLE = ("mobilenet", "yunet", "mobilenet+blazeface", "mobilenet+blazeface+yunet")
# Each detector's own --confidence, on its own scale of confidences
DEFAULT_CONFIDENCES = {"ssd": CaffeSSD.default_confidence, "blazeface": BlazeFace.default_confidence,
                       "mobilenet": MobileNetDetector.default_confidence, "yunet": YuNet.default_confidence,
                       "mobilenet+blazeface": MergedDetector.default_confidence,
                       "mobilenet+blazeface+yunet": MergedDetector.default_confidence}
