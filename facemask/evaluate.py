"""Measuring a model: its classifier on a folder of face crops, and the whole pipeline (face detector and
classifier, exactly as detect_mask_image.py runs them) on scene photos with PASCAL VOC face boxes.
"""
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

import numpy as np

from facemask import UserError
from facemask.boxes import shorter_side
from facemask.dataset import load_dataset
from facemask.images import is_image_file, read_image
from facemask.report import classification_summary, save_confusion_matrix

SIZE_BANDS = (("small", 32 ** 2), ("medium", 96 ** 2), ("large", float("inf")))  # COCO's, by box area in pixels
# Crowd sizes, by a face's shorter side in pixels: where a class's faces are lost, unfound or mislabelled
CLASS_SIZE_BANDS = (("under 16", 16), ("16-24", 24), ("24-32", 32), ("32-64", 64), ("64+", float("inf")))
AP_IOU = 0.5  # the overlap at which published results on these data sets count a detection for AP
PER_IMAGE_KEYS = ("faces", "dont_care", "found", "labelled_right", "detections", "unmatched_detections")


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


def voc_annotations(scenes_dir):
    """The sorted PASCAL VOC files of scenes_dir/annotations; UserError naming the folder that is missing, or saying
    there is none."""
    if not Path(scenes_dir).is_dir():
        raise UserError(f"scenes folder not found: {scenes_dir}")
    if not (Path(scenes_dir) / "annotations").is_dir():
        raise UserError(f"no PASCAL VOC annotations in {scenes_dir}: it has no annotations/ folder")
    annotations = sorted((Path(scenes_dir) / "annotations").glob("*.xml"))
    if not annotations:
        raise UserError(f"no PASCAL VOC annotations in {Path(scenes_dir) / 'annotations'}")
    return annotations


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


def size_band(box):
    """COCO's name for the size of a box: small (area under 32²), medium (under 96²) or large."""
    area = (box[2] - box[0]) * (box[3] - box[1])
    return next(name for name, limit in SIZE_BANDS if area < limit)


def side_band(box):
    """The name of the CLASS_SIZE_BANDS band of a box's shorter side."""
    return next(name for name, limit in CLASS_SIZE_BANDS if shorter_side(box) < limit)


def is_counted(label, box, class_names, min_size):
    """Whether an annotated face counts: a class the model knows, and a shorter side of at least min_size pixels.
    The others are don't-care: not counted, and a detection on them is not false."""
    return label in class_names and shorter_side(box) >= min_size


def judge_image(truths, detections, class_names, iou_threshold=0.4, min_size=0):
    """The figures of one photo: its annotated faces [(label, box)] against the detector's faces (dicts with
    "box", "label", "confidence" and "face_confidence").

    Faces are found by the one-to-one matching of match_faces at `iou_threshold`. Per class, `labelled_as` counts
    the detections labelled as that class, less those on don't-care faces (a false face labelled so counts), and
    `labelled_right_as` those that are a face of that class. For AP, each
    class's detections are matched at IoU 0.5 in the order of their score (face confidence × label confidence),
    each to the unmatched face of its class it overlaps most, as COCO does; `ap_hits[name]` lists (score, whether
    it hit a face)."""
    counted = [is_counted(label, box, class_names, min_size) for label, box in truths]
    pairs = match_faces([box for _, box in truths], [face["box"] for face in detections], iou_threshold)
    found = [(i, j) for i, j in pairs if counted[i]]
    on_dont_care_faces = {j for i, j in pairs if not counted[i]}
    judged = {
        "faces": sum(counted), "dont_care": len(truths) - sum(counted), "found": len(found),
        "labelled_right": sum(truths[i][0] == detections[j]["label"] for i, j in found),
        "detections": len(detections) - len(on_dont_care_faces), "unmatched_detections": len(detections) - len(pairs),
        "faces_by_size": Counter(size_band(box) for (_, box), care in zip(truths, counted) if care),
        "found_by_size": Counter(size_band(truths[i][1]) for i, _ in found),
        "ap_faces": Counter(label for (label, _), care in zip(truths, counted) if care),
        "class_faces_by_side": Counter((label, side_band(box)) for (label, box), care in zip(truths, counted) if care),
        "class_found_by_side": Counter((truths[i][0], side_band(truths[i][1])) for i, _ in found),
        "class_right_by_side": Counter((truths[i][0], side_band(truths[i][1])) for i, j in found
                                       if truths[i][0] == detections[j]["label"]),
        "labelled_as": Counter(face["label"] for j, face in enumerate(detections) if j not in on_dont_care_faces),
        "labelled_right_as": Counter(truths[i][0] for i, j in found if truths[i][0] == detections[j]["label"]),
        "ap_hits": {name: [] for name in class_names},
    }
    dont_care_boxes = [box for (_, box), care in zip(truths, counted) if not care]
    for name in class_names:
        unmatched = [box for (label, box), care in zip(truths, counted) if care and label == name]
        ranked = sorted((face for face in detections if face["label"] == name), key=score, reverse=True)
        for face in ranked:
            overlaps = [iou(face["box"], box) for box in unmatched]
            if overlaps and max(overlaps) >= AP_IOU:
                del unmatched[int(np.argmax(overlaps))]
                judged["ap_hits"][name].append((score(face), True))
            elif not any(iou(face["box"], box) >= AP_IOU for box in dont_care_boxes):
                judged["ap_hits"][name].append((score(face), False))
    return judged


def score(face):
    """How sure the pipeline is that this is a face of this class: the face detector's confidence times the
    classifier's."""
    return face["face_confidence"] * face["confidence"]


def average_precision(hits, faces):
    """PASCAL VOC's all-point average precision: the area under the precision-recall curve of the detections
    (score, hit) ranked by score, with precision made non-increasing; None when there are no faces."""
    if faces == 0:
        return None
    ranked = np.array([hit for _, hit in sorted(hits, key=lambda item: -item[0])], dtype=bool)
    true_positives, false_positives = np.cumsum(ranked), np.cumsum(~ranked)
    recall = np.concatenate([[0.0], true_positives / faces])
    precision = np.concatenate([[1.0], true_positives / np.maximum(true_positives + false_positives, 1)])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum(np.diff(recall) * precision[1:]))


def f1(recall, precision):
    """The harmonic mean of recall and precision; None when either is unknown, 0 when both are 0."""
    if recall is None or precision is None:
        return None
    return 2 * recall * precision / (recall + precision) if recall + precision else 0.0


def class_by_size(judged_images, name):
    """Per CLASS_SIZE_BANDS band, a class's faces, how many the detector found (`detection_recall`) and how many
    of those were labelled as that class (`label_accuracy`): the two ways a face is lost."""
    bands = {}
    for band, _ in CLASS_SIZE_BANDS:
        faces, found, right = (sum(judged[key][(name, band)] for judged in judged_images)
                               for key in ("class_faces_by_side", "class_found_by_side", "class_right_by_side"))
        if faces:
            bands[band] = {"faces": faces, "found": found, "labelled_right": right,
                           "detection_recall": found / faces, "label_accuracy": right / found if found else None}
    return bands


def summarize(judged_images, class_names):
    """The figures of a set of photos, from judge_image's figures of each."""
    total = Counter()
    for judged in judged_images:
        total.update({key: value for key, value in judged.items() if isinstance(value, int)})
    faces, found, detections = total["faces"], total["found"], total["detections"]
    by_size = {}
    for band, _ in SIZE_BANDS:
        band_faces = sum(judged["faces_by_size"][band] for judged in judged_images)
        band_found = sum(judged["found_by_size"][band] for judged in judged_images)
        by_size[band] = {"faces": band_faces, "found": band_found,
                         "recall": band_found / band_faces if band_faces else None}
    ap = {name: average_precision([hit for judged in judged_images for hit in judged["ap_hits"][name]],
                                  sum(judged["ap_faces"][name] for judged in judged_images))
          for name in class_names}
    known = [value for value in ap.values() if value is not None]
    per_class = {}
    for name in class_names:
        class_faces = sum(judged["ap_faces"][name] for judged in judged_images)
        labelled = sum(judged["labelled_as"][name] for judged in judged_images)
        right = sum(judged["labelled_right_as"][name] for judged in judged_images)
        recall = right / class_faces if class_faces else None
        precision = right / labelled if labelled else None
        per_class[name] = {"faces": class_faces, "labelled": labelled, "labelled_right": right,
                           "recall": recall, "precision": precision, "f1": f1(recall, precision),
                           "by_size": class_by_size(judged_images, name)}
    return {
        "images": len(judged_images), "faces": faces, "dont_care_faces": total["dont_care"], "found": found,
        "labelled_right": total["labelled_right"], "detections": detections,
        "face_recall": found / faces if faces else 0.0,
        "precision": found / detections if detections else 0.0,
        "label_accuracy_on_found": total["labelled_right"] / found if found else 0.0,
        "end_to_end_accuracy": total["labelled_right"] / faces if faces else 0.0,
        "unmatched_detections": total["unmatched_detections"],
        "recall_by_size": by_size,
        "ap50": ap, "map50": sum(known) / len(known) if known else None,
        "per_class": per_class,
    }


def evaluate_scenes(detector, scenes_dir, class_names, iou_threshold=0.4, min_size=0):
    """The pipeline's figures on scenes_dir/images + scenes_dir/annotations (PASCAL VOC): face recall (overall
    and by size), precision, label accuracy on found faces, end-to-end accuracy, AP@0.5 per class and their mean;
    per class its recall (its faces found and labelled so), precision (its detections that are its faces: of the
    found faces labelled so, those that truly are; a detection that matches no face is left out, the overall
    precision counts it), F1, and by the faces' shorter side how many were found and how many of those labelled
    right; per image its figures and the faces detected.
    `detector` is callable on a BGR image and returns faces as MaskDetector does; faces of a class not in
    `class_names` or smaller than `min_size` are don't-care (see is_counted)."""
    scenes_dir = Path(scenes_dir)
    judged_images, per_image = [], {}
    for annotation in voc_annotations(scenes_dir):
        filename, truths = read_voc(annotation)
        image_path = scenes_dir / "images" / filename
        if not is_image_file(image_path) or not image_path.is_file():
            raise UserError(f"{annotation} names an image that is not in {scenes_dir / 'images'}: {filename}")
        detected = detector(read_image(image_path))
        judged = judge_image(truths, detected, class_names, iou_threshold, min_size)
        judged_images.append(judged)
        per_image[filename] = {**{key: judged[key] for key in PER_IMAGE_KEYS}, "detected": detected}
    return {**summarize(judged_images, class_names), "iou_threshold": iou_threshold, "min_size": min_size,
            "per_image": per_image}
