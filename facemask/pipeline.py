"""One pipeline from a BGR frame to its faces: detect, clip, skip faces too small to judge, prepare each face
exactly as training did, and classify all faces of the frame in one call.

A face is a dict: {"box": [x1, y1, x2, y2] in the frame's pixels, "label": class name, "confidence": 0-1}.
"""
from pathlib import Path

import numpy as np

from facemask.face_detector import FaceDetector
from facemask.images import prepare_face
from facemask.runtime import Classifier

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "mask_detector.keras"
MIN_FACE_SIZE = 16  # pixels; a smaller face holds too little to tell a mask from a chin


class MaskDetector:
    """Callable on a BGR frame; returns its faces. `threads` caps the classifier's threads (default: all cores)."""

    def __init__(self, model_path=DEFAULT_MODEL, face_dir=None, confidence=0.5, threads=None):
        self.face_detector = FaceDetector(face_dir)
        self.classifier = Classifier(model_path, threads)
        self.confidence = confidence

    def warm_up(self):
        """Run both networks once, so that their one-off set-up does not land on the first real frame."""
        size = self.classifier.input_size
        self.face_detector.detect(np.zeros((size, size, 3), np.uint8))
        self.classifier(np.zeros((1, size, size, 3), np.uint8))

    def __call__(self, frame):
        boxes, _ = self.face_detector.detect(frame, self.confidence)
        sizes = boxes[:, 2:] - boxes[:, :2]
        boxes = boxes[(sizes >= MIN_FACE_SIZE).all(axis=1)]
        faces = [prepare_face(frame[y1:y2, x1:x2], self.classifier.input_size) for x1, y1, x2, y2 in boxes]
        probabilities = self.classifier(np.array(faces))
        names = self.classifier.class_names
        return [{"box": box.tolist(), "label": names[p.argmax()], "confidence": round(float(p.max()), 6)}
                for box, p in zip(boxes, probabilities)]


def count_labels(faces, class_names):
    """How many faces of each class: {"with_mask": 2, "without_mask": 0}."""
    return {name: sum(face["label"] == name for face in faces) for name in class_names}
