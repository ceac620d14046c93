"""What the face detector learns from: scene photos with PASCAL VOC face boxes, and scenes composed from face
photos (a classifier's dataset) where the scene photos have too few of a kind.

Street photos hold many small faces but few large ones and few of the dark masks that webcams see close up. Two
kinds of composed scene add them: a close-up, one face photo filling much of a webcam-like frame; and a crowd, face
photos pasted small and blended softly into a scene photo. A face photo's face box is found by BlazeFace, then
moved to the way the scene photos' annotators drew boxes (see FACE_BOX_SHIFT).

Each face also has a label for the detector's class output (see class_label): the scene photos' own, and a face
photo's from its folder (with_mask/, without_mask/), so that the composed scenes hold as many faces of each.
"""
import os
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from facemask import UserError
from facemask.detectors.mobilenet import MASK_CLASSES
from facemask.evaluate import read_voc, voc_annotations
from facemask.images import is_image_file, read_image

# BlazeFace's boxes against the annotated boxes of the same faces in ../shared/data/scenes-street/train (435
# faces of 24 pixels or more; medians): the annotated box's centre is 8% of the height lower, and the box 5%
# taller; the widths agree.
FACE_BOX_SHIFT, FACE_BOX_STRETCH = 0.08, 1.05
LONGEST_FACE_PHOTO = 400  # pixels: face photos are kept no larger, a close-up needs no more


def class_label(name):
    """A face's label for the detector's class output: 1 without a mask, 0 with one, -1 for any other name (a face
    all the same, whose class the output is not taught)."""
    return MASK_CLASSES.index(name) if name in MASK_CLASSES else -1


def read_scenes(folder):
    """The photos of folder/images with their boxes in folder/annotations (PASCAL VOC), every box a face whatever
    its label: a list of (BGR image, (n, 4) float boxes, (n,) class labels)."""
    scenes = []
    for annotation in voc_annotations(folder):
        filename, faces = read_voc(annotation)
        image = read_image(folder / "images" / filename)
        scenes.append((image, np.array([box for _, box in faces], float).reshape(-1, 4),
                       np.array([class_label(name) for name, _ in faces], int)))
    return scenes


def find_face_boxes(folder, face_finder):
    """The face photos under `folder` (searched recursively) with the boxes of their faces: a list of (BGR image
    no larger than LONGEST_FACE_PHOTO, (n, 4) boxes, the photo's subject first, (n,) class labels: the subject's
    by the folder under `folder` it is in, the others' -1), and the number of photos skipped (unreadable, or no
    face found). `face_finder` is a BlazeFace."""
    # os.walk, not rglob: it follows class folders that are symbolic links, as the classifier's dataset does
    paths = sorted(Path(parent) / name for parent, _, names in os.walk(folder, followlinks=True) for name in names
                   if is_image_file(Path(name)) and (Path(parent) / name).is_file())
    if not paths:
        raise UserError(f"no face photos in {folder}")
    found, skipped = [], 0
    for path in tqdm(paths, desc="Finding the faces in the face photos", unit="photo"):
        try:
            image = read_image(path)
        except UserError:
            skipped += 1
            continue
        scale = min(1.0, LONGEST_FACE_PHOTO / max(image.shape[:2]))
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
        boxes = face_boxes(image, face_finder)
        if len(boxes) == 0:
            skipped += 1
        else:
            labels = np.full(len(boxes), -1)
            labels[0] = class_label(path.relative_to(folder).parts[0])
            found.append((image, boxes, labels))
    return found, skipped


def face_boxes(image, face_finder, confidence=0.5):
    """The boxes of the faces BlazeFace finds in a face photo, most confident first, drawn the annotators' way:
    an (n, 4) array. The photo is framed by a grey border first: BlazeFace misses faces that fill the frame."""
    border = round(0.25 * max(image.shape[:2]))
    framed = cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_CONSTANT, value=(127, 127, 127))
    boxes = face_finder.detect(framed, confidence)[0].astype(float).reshape(-1, 4) - border
    heights = (boxes[:, 3] - boxes[:, 1]) * FACE_BOX_STRETCH
    centres = (boxes[:, 1] + boxes[:, 3]) / 2 + FACE_BOX_SHIFT * (boxes[:, 3] - boxes[:, 1])
    boxes[:, 1], boxes[:, 3] = centres - heights / 2, centres + heights / 2
    return boxes


def soft_oval(height, width, box, grow):
    """An alpha mask (height, width, 1): 1 on the oval around `box` grown by `grow` of its size, fading to 0
    outside it, so that a pasted face has no hard edges."""
    x1, y1, x2, y2 = box
    rows, columns = np.mgrid[0:height, 0:width]
    radius_x, radius_y = max(1.0, (x2 - x1) / 2 * (1 + grow)), max(1.0, (y2 - y1) / 2 * (1 + grow))
    distance = ((columns - (x1 + x2) / 2) / radius_x) ** 2 + ((rows - (y1 + y2) / 2) / radius_y) ** 2
    return np.clip((1.6 - distance) / 0.6, 0, 1).astype(np.float32)[..., np.newaxis]


def blend(scene, patch, alpha):
    return (patch * alpha + scene * (1 - alpha)).astype(np.uint8)


def close_up(face_photo, boxes, labels, background, background_faces, background_labels, rng):
    """A webcam-like frame: the photo's subject (boxes[0]) filling 35 to 100% of its height, in front of a
    background photo squeezed to the frame; half the time only the subject's face is kept, fading into the
    background. Returns (frame, boxes, labels): every face that shows, the background's too."""
    subject = boxes[0]
    face_width, face_height = subject[2] - subject[0], subject[3] - subject[1]
    frame_height = max(face_height, face_width) / rng.uniform(0.35, 1.0)
    frame_width = frame_height * rng.uniform(0.8, 1.35)
    left = (subject[0] + subject[2] - frame_width) / 2 + rng.uniform(-0.3, 0.3) * (frame_width - face_width)
    top = (subject[1] + subject[3] - frame_height) / 2 + rng.uniform(-0.3, 0.3) * (frame_height - face_height)
    size = (round(frame_width), round(frame_height))
    move = np.float32([[1, 0, -left], [0, 1, -top]])
    face = cv2.warpAffine(face_photo, move, size, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(np.ones(face_photo.shape[:2], np.float32), move, size)[..., np.newaxis]
    moved, moved_labels = boxes - [left, top, left, top], np.asarray(labels)
    cover = np.array([-left, -top, face_photo.shape[1] - left, face_photo.shape[0] - top])  # the photo's place
    if rng.random() < 0.5:
        alpha = alpha * soft_oval(size[1], size[0], moved[0], grow=0.6)
        moved, moved_labels = moved[:1], moved_labels[:1]
        width, height = moved[0, 2:] - moved[0, :2]
        cover = moved[0] + 0.4 * np.array([-width, -height, width, height])  # where the photo shows at least half
    scale = np.array([size[0] / background.shape[1], size[1] / background.shape[0]] * 2)
    background_faces = np.asarray(background_faces, float).reshape(-1, 4) * scale
    behind = np.array([hidden_share(face, cover) < 0.3 for face in background_faces], bool)
    frame = blend(cv2.resize(background, size), face, alpha)
    return (frame, np.concatenate([moved, background_faces[behind]]),
            np.concatenate([moved_labels, np.asarray(background_labels, int)[behind]]))


def crowd(scene, scene_faces, scene_labels, face_photos, rng, count):
    """`count` face photos' subjects pasted into a scene photo, each face 12 pixels to a third of the photo's
    shorter side wide, fading into it; the scene's own faces mostly hidden by one are dropped. Returns (scene,
    boxes, labels)."""
    scene = scene.copy()
    height, width = scene.shape[:2]
    faces = list(zip(scene_faces, scene_labels))
    for index in rng.integers(0, len(face_photos), count):
        photo, photo_faces, photo_labels = face_photos[index]
        scale = rng.uniform(12, max(13, min(height, width) / 3)) / (photo_faces[0, 2] - photo_faces[0, 0])
        small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        small_box = photo_faces[0] * scale
        x = rng.uniform(-small_box[0], width - small_box[2])
        y = rng.uniform(-small_box[1], height - small_box[3])
        move = np.float32([[1, 0, x], [0, 1, y]])
        alpha = soft_oval(*small.shape[:2], small_box, grow=0.3)[..., 0]
        scene = blend(scene, cv2.warpAffine(small, move, (width, height)),
                      cv2.warpAffine(alpha, move, (width, height))[..., np.newaxis])
        pasted = small_box + [x, y, x, y]
        faces = [(box, label) for box, label in faces if hidden_share(box, pasted) < 0.3] + [(pasted, photo_labels[0])]
    return (scene, np.array([box for box, _ in faces], float).reshape(-1, 4),
            np.array([label for _, label in faces], int))


def hidden_share(box, cover):
    """The share of `box`'s area that `cover` hides."""
    width = max(0.0, min(box[2], cover[2]) - max(box[0], cover[0]))
    height = max(0.0, min(box[3], cover[3]) - max(box[1], cover[1]))
    return width * height / max((box[2] - box[0]) * (box[3] - box[1]), 1e-9)


def scene_sampler(scenes, face_photos, composed_share=0.5):
    """A function of a random generator that draws a training scene, (BGR image, boxes, class labels): a scene
    photo, or (composed_share of the time, when there are face photos) a close-up or a crowd, as often as each
    other."""
    def sample(rng):
        draw = rng.random()
        if not face_photos or draw >= composed_share:
            return scenes[rng.integers(len(scenes))]
        background, background_faces, background_labels = scenes[rng.integers(len(scenes))]
        if draw < composed_share / 2:
            photo, boxes, labels = face_photos[rng.integers(len(face_photos))]
            return close_up(photo, boxes, labels, background, background_faces, background_labels, rng)
        return crowd(background, background_faces, background_labels, face_photos, rng, count=rng.integers(1, 6))
    return sample
