"""One pipeline from a BGR frame to its faces: brighten a frame the camera failed to expose, detect, clip, skip
faces too small to judge, prepare each face exactly as training did, and classify all faces of the frame in one call.

A face is a dict: {"box": [x1, y1, x2, y2] in the frame's pixels, "label": class name, "confidence": the
probability of that class, "face_confidence": the face detector's confidence that it is a face}.

The probability is the classifier's; when the face detector is ours and the classifier's classes are with_mask and
without_mask, it is the mean of the classifier's and of our detector's class output, which sees the face in its
surroundings at the size it has in the frame (models/face_detector.md): the two are wrong on different faces.
"""
import threading
import zlib
from pathlib import Path

import numpy as np

from facemask.detectors import FACE_DETECTORS, GLANCE_DETECTORS, CaffeSSD
from facemask.detectors.mobilenet import MASK_CLASSES
from facemask.exposure import exposed
from facemask.images import prepare_face
from facemask.runtime import Classifier

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "mask_detector.keras"
MIN_FACE_SIZE = 16  # pixels; a smaller face holds too little to tell a mask from a chin
# The smallest detected box classified. Our detector's box sides vary by about ±10% around the annotators' (on
# scenes-street/train's 16-32 px faces, quartiles 0.96 and 1.06 of the annotated side), so a gate of 16 on the box
# dropped 13 of the 419 such faces it found; 14 drops 1.
MIN_BOX_SIZE = 14
# Share of the box's size added on each side before classifying: the SSD's boxes are tight, the training photos
# show the whole head. On ../shared's scene photos, 0.2 labels 94% of the found faces right, against 91% at 0.
FACE_MARGIN = 0.2
# The default, measured in the README's "Face detectors": the most accurate. Video runs the same on the frames it
# detects: it keeps its frame rate by detecting fewer frames while the scene is steady (video.follow_people).
DEFAULT_DETECTOR = "mobilenet+blazeface+yunet"
VIDEO_DETECTOR, VIDEO_INPUT_SIZE = DEFAULT_DETECTOR, None


def video_detector(model_path=DEFAULT_MODEL, face_dir=None, confidence=None, threads=None, margin=FACE_MARGIN,
                   face_detector=VIDEO_DETECTOR, input_size=VIDEO_INPUT_SIZE, glance_size=None):
    """A MaskDetector as detect_mask_video.py runs it on each frame it detects."""
    return MaskDetector(model_path, face_dir, confidence, threads, margin, face_detector, input_size, glance_size)


def large_enough(boxes, confidences):
    """The boxes whose sides are both at least MIN_BOX_SIZE pixels, and their confidences."""
    keep = (boxes[:, 2:] - boxes[:, :2] >= MIN_BOX_SIZE).all(axis=1)
    return boxes[keep], confidences[keep]


def class_output(face_detector):
    """The face detector, itself or one of a merged detector's, whose network also tells masks apart; or None."""
    return next((detector for detector in getattr(face_detector, "detectors", [face_detector])
                 if getattr(detector, "has_classes", False)), None)


def crop_face(frame, box, margin=FACE_MARGIN):
    """The face in `box` [x1, y1, x2, y2], grown by `margin` of its size on each side, within the frame."""
    x1, y1, x2, y2 = box
    grow_x, grow_y = round((x2 - x1) * margin), round((y2 - y1) * margin)
    height, width = frame.shape[:2]
    return frame[max(0, y1 - grow_y):min(height, y2 + grow_y), max(0, x1 - grow_x):min(width, x2 + grow_x)]


class MaskDetector:
    """Callable on a BGR frame; returns its faces. `threads` caps the classifier's threads (default: all cores).
    `exposure`: brighten a frame the camera failed to expose before both networks see it (facemask.exposure); the
    tutorials' pipeline did not, and False runs it as they did."""

    def __init__(self, model_path=DEFAULT_MODEL, face_dir=None, confidence=None, threads=None, margin=FACE_MARGIN,
                 face_detector=DEFAULT_DETECTOR, input_size=None, glance_size=None, exposure=True):
        self.face_detector = FACE_DETECTORS[face_detector](face_dir, threads, input_size)
        # A second, cheaper look at a smaller input, for the video frames whose faces are all large (see video.py)
        self.glance_size = glance_size
        self.glance_detector = None
        if glance_size:
            glance = GLANCE_DETECTORS.get(face_detector, face_detector)
            self.glance_detector = FACE_DETECTORS[glance](face_dir, threads, glance_size)
        self.classifier = Classifier(model_path, threads)
        # our detector's class output is weighed in only for a classifier of the same two classes
        self.mask_classes = sorted(self.classifier.class_names) == list(MASK_CLASSES)
        self.confidence = self.face_detector.default_confidence if confidence is None else confidence
        self.margin, self.exposure = margin, exposure

    def warm_up(self):
        """Run both networks once, so that their one-off set-up does not land on the first real frame."""
        size = self.classifier.input_size
        for face_detector in filter(None, (self.face_detector, self.glance_detector)):
            face_detector.detect(np.zeros((size, size, 3), np.uint8))
        self.classifier(np.zeros((1, size, size, 3), np.uint8))

    def __call__(self, frame):
        return self.classify(frame, self.find_faces(frame))

    def seen(self, frame):
        """The frame as both networks see it."""
        return exposed(frame) if self.exposure else frame

    def find_faces(self, frame, look="full"):
        """The frame's faces, large enough to classify, not classified yet: {"box", "face_confidence"} each.
        `look`: "full", or "glance" for the glance detector's, if there is one."""
        face_detector = self.glance_detector if look == "glance" and self.glance_detector else self.face_detector
        boxes, face_confidences = large_enough(*face_detector.detect(self.seen(frame), self.confidence))
        faces = [{"box": box.tolist(), "face_confidence": round(float(face_confidence), 6)}
                 for box, face_confidence in zip(boxes, face_confidences)]
        classes = class_output(face_detector) if self.mask_classes else None
        if classes is not None:
            for face, without_mask in zip(faces, classes.without_mask_probabilities(boxes)):
                if not np.isnan(without_mask):  # until classify, where it is weighed with the classifier's
                    face["detector_without_mask"] = float(without_mask)
        return faces

    def classify(self, frame, faces):
        """The faces found in the frame, each with its "label" and "confidence"."""
        frame = self.seen(frame)  # the frame the faces were found in
        crops = [prepare_face(crop_face(frame, face["box"], self.margin), self.classifier.input_size)
                 for face in faces]
        probabilities = self.classifier(np.array(crops))
        names = self.classifier.class_names
        for face, p in zip(faces, probabilities):
            if "detector_without_mask" in face:
                without_mask = (p[names.index("without_mask")] + face["detector_without_mask"]) / 2
                p[names.index("without_mask")], p[names.index("with_mask")] = without_mask, 1 - without_mask
        return [{"box": face["box"], "label": names[p.argmax()], "confidence": round(float(p.max()), 6),
                 "face_confidence": face["face_confidence"]} for face, p in zip(faces, probabilities)]


def count_labels(faces, class_names):
    """How many faces of each class: {"with_mask": 2, "without_mask": 0}."""
    return {name: sum(face["label"] == name for face in faces) for name in class_names}


class FaceCropper:
    """For training: the most confident face the detector finds in an image, cropped as detection crops it, or
    the whole image when it finds none. Callable from several threads: each gets its own face detector.

    The margin around each face is drawn between `margins` (by default 0 to twice detection's), so that the model
    knows faces framed tighter and looser than detection's default frames them, as `--margin` allows: trained at
    one margin only, it takes a masked face cropped tight, mask filling the lower half, for an unmasked one.
    """

    def __init__(self, confidence=CaffeSSD.default_confidence, margins=(0.0, 2 * FACE_MARGIN)):
        self.confidence = confidence
        self.margins = margins
        self.local = threading.local()

    def __call__(self, image):
        """(the face crop or the whole image, whether a face was found)"""
        if not hasattr(self.local, "detector"):
            self.local.detector = CaffeSSD()
        boxes, _ = large_enough(*self.local.detector.detect(image, self.confidence))
        if len(boxes) == 0:
            return image, False
        low, high = self.margins
        draw = zlib.crc32(image.tobytes()) / 2 ** 32  # a number in [0, 1) that the same image always gets
        return crop_face(image, boxes[0], low + (high - low) * draw), True
