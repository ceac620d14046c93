"""Faces cut from annotated scene photos into a classifier's dataset, framed as detection frames them.

Web photos of faces are large and posed; the faces a camera over a street sees are small, blurred and turned.
Each face of a PASCAL VOC scene folder, of at least MIN_FACE_SIZE pixels, is cut several times, each cut moved,
scaled and given a margin as a face detector's box and crop_face's margin would vary, and written at its own
resolution, so that training enlarges it exactly as detection enlarges a small face. A class with fewer faces
gets more cuts per face, up to MAX_CUTS, so that the rarer class (in street photos the unmasked faces, five times
fewer) is not drowned.

The output is a dataset folder (`<label>/<photo stem>_<face>_<cut>.png`) with scene_faces.json, which lists each
cut with the face it was cut from, so that training keeps every cut of one face on one side of the split.
"""
import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from facemask import UserError
from facemask.boxes import shorter_side
from facemask.dataset import SCENE_FACES_LIST
from facemask.evaluate import read_voc, voc_annotations
from facemask.files import check_made_dataset, replaced_folder
from facemask.images import UnreadableImage, read_image
from facemask.pipeline import MIN_FACE_SIZE

CUTS, MAX_CUTS = 2, 4  # cuts of a face of the most common class; at most, of a rarer one
SHIFT = 0.08  # the cut's centre moves up to this share of the face's size
SCALE = (0.9, 1.15)  # the box's size, times
MARGIN = (0.1, 0.35)  # added on each side, as crop_face adds FACE_MARGIN (0.2)


def cuts_per_class(counts):
    """How many times each face of a class is cut: CUTS for the most common class, more for a rarer one, so that
    the classes' cuts are as balanced as MAX_CUTS allows."""
    most = max(counts.values())
    return {name: int(min(MAX_CUTS, max(CUTS, round(CUTS * most / count)))) for name, count in counts.items()}


def cut_face(image, box, rng):
    """One cut of the face in `box` [x1, y1, x2, y2]: moved, scaled and framed at random, within the image."""
    x1, y1, x2, y2 = box
    width, height = x2 - x1, y2 - y1
    centre_x = (x1 + x2) / 2 + rng.uniform(-SHIFT, SHIFT) * width
    centre_y = (y1 + y2) / 2 + rng.uniform(-SHIFT, SHIFT) * height
    grow = rng.uniform(*SCALE) * (1 + 2 * rng.uniform(*MARGIN)) / 2
    rows, columns = image.shape[:2]
    left, top = int(max(0, centre_x - width * grow)), int(max(0, centre_y - height * grow))
    right, bottom = int(min(columns, centre_x + width * grow)), int(min(rows, centre_y + height * grow))
    return image[top:bottom, left:right]


def find_scene_faces(scenes_dir, labels=None, min_size=MIN_FACE_SIZE):
    """[(image path, face index, label, box)] of every annotated face of at least `min_size` pixels (shorter side)
    in scenes_dir/annotations, of the `labels` given (default: all); UserError naming what is missing."""
    scenes_dir = Path(scenes_dir)
    faces = []
    for annotation in voc_annotations(scenes_dir):
        filename, boxes = read_voc(annotation)
        for index, (label, box) in enumerate(boxes):
            if shorter_side(box) >= min_size and (labels is None or label in labels):
                faces.append((scenes_dir / "images" / filename, index, label, box))
    if not faces:
        of = f" labelled {' or '.join(labels)}" if labels else ""
        raise UserError(f"no face{of} of {min_size} pixels or more annotated in {scenes_dir / 'annotations'}")
    return faces


def cut_scene_faces(scenes_dirs, output, labels=None, seed=0, min_size=MIN_FACE_SIZE, force=False):
    """Cut the faces (of the `labels` given, default all) of every scene folder into the dataset folder `output`;
    returns the record written to output/scene_faces.json: the cuts, the faces per class, the cuts per face, and
    the photos skipped."""
    faces = [face for folder in scenes_dirs for face in find_scene_faces(folder, labels, min_size)]
    check_made_dataset(output, scenes_dirs, force, SCENE_FACES_LIST)
    counts = Counter(label for _, _, label, _ in faces)
    cuts = cuts_per_class(counts)
    rng = np.random.default_rng(seed)
    record = {"images": [], "skipped": [], "faces": dict(counts), "cuts_per_face": cuts,
              "options": {"scenes": [str(Path(folder).resolve()) for folder in scenes_dirs], "labels": labels,
                          "seed": seed, "min_size": min_size}}
    with replaced_folder(output) as staging:
        image, image_path = None, None
        for path, index, label, box in tqdm(faces, desc="Cutting faces", unit="face"):
            if path != image_path:
                image_path = path
                try:
                    image = read_image(path)
                except UnreadableImage as error:
                    image = None
                    record["skipped"].append({"source": str(path), "reason": error.reason})
            if image is None:
                continue
            (staging / label).mkdir(exist_ok=True)
            for number in range(cuts[label]):
                relative = f"{label}/{path.stem}_{index}_{number}.png"
                cv2.imwrite(str(staging / relative), cut_face(image, box, rng))
                record["images"].append({"image": relative, "source": f"{path.resolve()}#{index}"})
        (staging / SCENE_FACES_LIST).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record
