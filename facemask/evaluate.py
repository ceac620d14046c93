"""Measuring a model: its classifier on a folder of face crops, and the whole pipeline (face detector and
classifier, exactly as detect_mask_image.py runs them) on scene photos with PASCAL VOC face boxes.
"""
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

from facemask import UserError
from facemask.dataset import load_dataset
from facemask.images import is_image_file, read_image
from facemask.report import classification_summary, save_confusion_matrix


def evaluate_crops(classifier, dataset_dir, confusion_matrix_path=None):
    """Accuracy and per-class precision / recall / F1 of the classifier on DIR/<class name>/<face images>."""
    data = load_dataset(dataset_dir, classifier.input_size)
    unknown = set(data.class_names) - set(classifier.class_names)
    if unknown:
        raise UserError(f"dataset {dataset_dir} has classes the model does not know: {', '.join(sorted(unknown))}"
                        f" (the model's: {', '.join(classifier.class_names)})")
    true_labels = np.array([classifier.class_names.index(data.class_names[label]) for label in data.labels])
    predicted = classifier(data.images).argmax(axis=1)
    text, summary = classification_summary(true_labels, predicted, classifier.class_names)
    if confusion_matrix_path is not None:
        save_confusion_matrix(true_labels, predicted, classifier.class_names, confusion_matrix_path,
                              title=f"{Path(dataset_dir).name}")
    summary["images"] = len(true_labels)
    summary["skipped_files"] = [str(path) for path, _ in data.skipped]
    return text, summary


def read_voc(annotation_path):
    """The image file name and the [(label, [x1, y1, x2, y2])] boxes of a PASCAL VOC annotation."""
    root = ElementTree.parse(annotation_path).getroot()
    faces = []
    for item in root.iter("object"):
        box = item.find("bndbox")
        corners = [int(float(box.find(key).text)) for key in ("xmin", "ymin", "xmax", "ymax")]
        faces.append((item.find("name").text.strip(), corners))
    return root.find("filename").text.strip(), faces


def iou(a, b):
    """Intersection over union of two [x1, y1, x2, y2] boxes."""
    width = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    intersection = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - intersection
    return intersection / union if union > 0 else 0.0


def match_faces(true_boxes, detected_boxes, threshold):
    """Pairs (true index, detected index), at most one detection per face, best overlaps first."""
    overlaps = sorted(((iou(t, d), i, j) for i, t in enumerate(true_boxes) for j, d in enumerate(detected_boxes)),
                      reverse=True)
    used_true, used_detected, pairs = set(), set(), []
    for overlap, i, j in overlaps:
        if overlap < threshold:
            break
        if i not in used_true and j not in used_detected:
            used_true.add(i)
            used_detected.add(j)
            pairs.append((i, j))
    return pairs


def evaluate_scenes(detector, scenes_dir, iou_threshold=0.4):
    """Face recall, label accuracy on found faces, end-to-end accuracy and unmatched detections over
    scenes_dir/images + scenes_dir/annotations (PASCAL VOC)."""
    scenes_dir = Path(scenes_dir)
    annotations = sorted((scenes_dir / "annotations").glob("*.xml"))
    if not annotations:
        raise UserError(f"no PASCAL VOC annotations in {scenes_dir / 'annotations'}")
    faces = found = right = unmatched = 0
    per_image = {}
    for annotation in annotations:
        filename, truths = read_voc(annotation)
        image_path = scenes_dir / "images" / filename
        if not is_image_file(image_path) or not image_path.is_file():
            raise UserError(f"{annotation} names an image that is not in {scenes_dir / 'images'}: {filename}")
        detections = detector(read_image(image_path))
        pairs = match_faces([box for _, box in truths], [face["box"] for face in detections], iou_threshold)
        correct = sum(truths[i][0] == detections[j]["label"] for i, j in pairs)
        faces += len(truths)
        found += len(pairs)
        right += correct
        unmatched += len(detections) - len(pairs)
        per_image[filename] = {"faces": len(truths), "found": len(pairs), "labelled_right": correct,
                               "unmatched_detections": len(detections) - len(pairs)}
    return {
        "images": len(annotations), "faces": faces, "found": found, "labelled_right": right,
        "face_recall": found / faces if faces else 0.0,
        "label_accuracy_on_found": right / found if found else 0.0,
        "end_to_end_accuracy": right / faces if faces else 0.0,
        "unmatched_detections": unmatched,
        "iou_threshold": iou_threshold,
        "per_image": per_image,
    }
