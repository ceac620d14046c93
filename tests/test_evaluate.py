"""evaluate_mask_detector.py, the PASCAL VOC matching, and the tutorial's Keras 2 models."""
import json
import subprocess
import sys

import cv2
import pytest
from conftest import ROOT, SHARED, face_photo, needs_shared, with_drawn_mask

from facemask.evaluate import average_precision, iou, judge_image, match_faces, summarize

LEGACY_MODEL = SHARED / "models" / "legacy" / "mask_detector.model"


def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "evaluate_mask_detector.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def write_voc(path, filename, size, faces):
    objects = "".join(f"<object><name>{label}</name><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>"
                      f"<ymax>{y2}</ymax></bndbox></object>" for label, (x1, y1, x2, y2) in faces)
    path.write_text(f"<annotation><filename>{filename}</filename><size><width>{size[1]}</width>"
                    f"<height>{size[0]}</height><depth>3</depth></size>{objects}</annotation>")


def test_iou_and_one_detection_per_face():
    assert iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1
    assert iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)
    assert iou([0, 0, 10, 10], [20, 20, 30, 30]) == 0
    # two faces side by side, one detection between them: it counts for one face only
    assert match_faces([[0, 0, 10, 10], [8, 0, 18, 10]], [[3, 0, 13, 10]], 0.3) == [(0, 0)]
    assert match_faces([[0, 0, 10, 10]], [[50, 50, 60, 60]], 0.4) == []


def face(box, label, confidence=0.9, face_confidence=0.8):
    return {"box": box, "label": label, "confidence": confidence, "face_confidence": face_confidence}


def test_precision_size_bands_dont_care_faces_and_ap_worked_out_by_hand():
    truths = [("with_mask", [0, 0, 40, 40]),               # A: medium (area 1,600), found
              ("without_mask", [100, 0, 110, 10]),         # B: 10 px, under --min-size 16: don't-care
              ("mask_weared_incorrect", [200, 0, 240, 40]),  # C: a class the model does not know: don't-care
              ("without_mask", [300, 0, 320, 20]),         # D: small (area 400), found with the wrong label
              ("with_mask", [0, 100, 100, 200])]           # E: large (area 10,000), missed
    detections = [face([0, 0, 40, 40], "with_mask"),                   # on A: right (score 0.9 × 0.8 = 0.72)
                  face([100, 0, 110, 10], "without_mask"),             # on B: neither found nor false
                  face([200, 0, 240, 40], "with_mask"),                # on C: neither found nor false
                  face([300, 0, 320, 20], "with_mask", 0.6, 0.5),      # on D: found, wrong label (score 0.3)
                  face([500, 500, 540, 540], "without_mask")]          # on nothing: false
    judged = judge_image(truths, detections, ["with_mask", "without_mask"], iou_threshold=0.4, min_size=16)
    figures = summarize([judged], ["with_mask", "without_mask"])
    assert (figures["faces"], figures["dont_care_faces"], figures["found"], figures["labelled_right"]) == (3, 2, 2, 1)
    assert (figures["detections"], figures["unmatched_detections"]) == (3, 1)  # 5, less the 2 on don't-care faces
    assert figures["precision"] == pytest.approx(2 / 3)
    assert figures["face_recall"] == pytest.approx(2 / 3)
    assert figures["end_to_end_accuracy"] == pytest.approx(1 / 3)
    assert {band: (size["faces"], size["found"]) for band, size in figures["recall_by_size"].items()} == {
        "small": (1, 1), "medium": (1, 1), "large": (1, 0)}
    # with_mask: faces A and E; its detections ranked: on A (hit, 0.72), on D (a without_mask face: miss, 0.3);
    # the one on C is ignored. Recall 1/2 at precision 1, so AP = 0.5.
    # without_mask: face D; its only counted detection hits nothing, so AP = 0.
    assert figures["ap50"] == pytest.approx({"with_mask": 0.5, "without_mask": 0.0})
    assert figures["map50"] == pytest.approx(0.25)


def test_a_model_of_three_classes_counts_masks_below_the_nose_and_has_each_class_recall_and_precision():
    three = ["mask_weared_incorrect", "with_mask", "without_mask"]
    truths = [("with_mask", [0, 0, 40, 40]),                # A: found, labelled right
              ("with_mask", [100, 0, 140, 40]),             # B: found, labelled mask below nose
              ("mask_weared_incorrect", [200, 0, 240, 40]),  # C: found, labelled right
              ("mask_weared_incorrect", [300, 0, 340, 40]),  # D: found, labelled no mask
              ("without_mask", [400, 0, 440, 40]),          # E: found, labelled right
              ("without_mask", [500, 0, 540, 40]),          # F: missed
              ("without_mask", [700, 0, 740, 40]),          # H: found, labelled right
              ("mask_weared_incorrect", [600, 0, 610, 10])]  # G: 10 px, under --min-size 16: don't-care
    detections = [face([0, 0, 40, 40], "with_mask"), face([100, 0, 140, 40], "mask_weared_incorrect"),
                  face([200, 0, 240, 40], "mask_weared_incorrect"), face([300, 0, 340, 40], "without_mask"),
                  face([400, 0, 440, 40], "without_mask"), face([700, 0, 740, 40], "without_mask"),
                  face([600, 0, 610, 10], "with_mask"),        # on G: left out
                  face([800, 800, 840, 840], "with_mask")]     # on nothing: only the overall precision counts it
    figures = summarize([judge_image(truths, detections, three, min_size=16)], three)
    assert (figures["faces"], figures["dont_care_faces"], figures["found"], figures["labelled_right"]) == (7, 1, 6, 4)
    # recall: of a class's faces, those found and labelled so; precision: of the detections labelled so (less those
    # on don't-care faces, so with_mask's on A and on nothing), those that are faces of the class
    assert {name: {key: value for key, value in figures.items() if key != "by_size"}
            for name, figures in figures["per_class"].items()} == {
        "mask_weared_incorrect": {"faces": 2, "labelled": 2, "labelled_right": 1, "recall": 0.5, "precision": 0.5,
                                  "f1": 0.5},
        "with_mask": {"faces": 2, "labelled": 2, "labelled_right": 1, "recall": 0.5, "precision": 0.5, "f1": 0.5},
        "without_mask": {"faces": 3, "labelled": 3, "labelled_right": 2, "recall": pytest.approx(2 / 3),
                         "precision": pytest.approx(2 / 3), "f1": pytest.approx(2 / 3)}}
    # a model of two classes: the masks below the nose are don't-care, as before
    two = ["with_mask", "without_mask"]
    figures = summarize([judge_image(truths, detections, two, min_size=16)], two)
    assert (figures["faces"], figures["dont_care_faces"]) == (5, 3)
    assert list(figures["per_class"]) == two and figures["per_class"]["without_mask"]["faces"] == 3


def test_each_class_by_size_says_whether_its_faces_were_missed_or_mislabelled():
    names = ["with_mask", "without_mask"]
    truths = [("without_mask", [0, 0, 20, 20]),       # 20 px: 16-24, missed
              ("without_mask", [100, 0, 120, 22]),    # 20 px (the shorter side): 16-24, found, called masked
              ("without_mask", [200, 0, 230, 30]),    # 30 px: 24-32, found and right
              ("without_mask", [300, 0, 340, 50]),    # 40 px: 32-64, found and right
              ("with_mask", [400, 0, 480, 80]),       # 80 px: 64+, found and right
              ("with_mask", [500, 0, 510, 10]),       # 10 px: under 16, found and right
              ("with_mask", [600, 0, 612, 12])]       # 12 px: under 16, missed
    detections = [face([100, 0, 120, 22], "with_mask"), face([200, 0, 230, 30], "without_mask"),
                  face([300, 0, 340, 50], "without_mask"), face([400, 0, 480, 80], "with_mask"),
                  face([500, 0, 510, 10], "with_mask")]
    figures = summarize([judge_image(truths, detections, names)], names)
    found_and_right = {name: {band: (size["faces"], size["found"], size["labelled_right"])
                              for band, size in figures["per_class"][name]["by_size"].items()} for name in names}
    assert found_and_right == {"without_mask": {"16-24": (2, 1, 0), "24-32": (1, 1, 1), "32-64": (1, 1, 1)},
                               "with_mask": {"under 16": (2, 1, 1), "64+": (1, 1, 1)}}
    assert figures["per_class"]["without_mask"]["by_size"]["16-24"]["detection_recall"] == 0.5
    assert figures["per_class"]["without_mask"]["by_size"]["16-24"]["label_accuracy"] == 0.0
    # without_mask: 2 of 4 right, and 2 of the 2 detections labelled so: F1 = 2 × 1/2 × 1 / (1/2 + 1) = 2/3
    # with_mask: 2 of 3 right, 2 of the 3 labelled so: F1 = 2/3
    assert figures["per_class"]["without_mask"]["f1"] == pytest.approx(2 / 3)
    assert figures["per_class"]["with_mask"]["f1"] == pytest.approx(2 / 3)
    # with --min-size 16 the faces under 16 pixels are don't-care: they have no band
    figures = summarize([judge_image(truths, detections, names, min_size=16)], names)
    assert list(figures["per_class"]["with_mask"]["by_size"]) == ["64+"]


def test_average_precision_worked_out_by_hand():
    # 3 faces; ranked hits T, F, T: recall 1/3, 1/3, 2/3 at precision 1, 1/2, 2/3. Made non-increasing, the
    # precision at recall 1/3 is 1 and at 2/3 is 2/3: AP = 1/3 × 1 + 1/3 × 2/3 = 5/9.
    assert average_precision([(0.7, True), (0.9, True), (0.8, False)], 3) == pytest.approx(5 / 9)
    assert average_precision([], 2) == 0
    assert average_precision([(0.5, False)], 0) is None  # no face of the class: no AP


def test_a_second_detection_of_one_face_is_false():
    truths = [("with_mask", [0, 0, 40, 40])]
    detections = [face([0, 0, 40, 40], "with_mask"), face([2, 2, 42, 42], "with_mask", face_confidence=0.5)]
    figures = summarize([judge_image(truths, detections, ["with_mask", "without_mask"])], ["with_mask", "without_mask"])
    assert (figures["found"], figures["detections"], figures["precision"]) == (1, 2, 0.5)
    assert figures["ap50"]["with_mask"] == 1.0  # the duplicate ranks below the hit
    assert figures["ap50"]["without_mask"] is None and figures["map50"] == 1.0


def test_scenes_figures_worked_out_by_hand(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "annotations").mkdir()
    photo = face_photo()
    # Image 1: Grace Hopper without a mask (the detector finds her), and a face box on the flag that no detector
    # finds. Image 2: the same photo with a drawn mask, annotated with the wrong label on purpose.
    cv2.imwrite(str(tmp_path / "images" / "one.jpg"), photo)
    write_voc(tmp_path / "annotations" / "one.xml", "one.jpg", photo.shape,
              [("without_mask", (180, 120, 350, 335)), ("with_mask", (10, 20, 60, 80))])
    cv2.imwrite(str(tmp_path / "images" / "two.jpg"), with_drawn_mask(photo))
    write_voc(tmp_path / "annotations" / "two.xml", "two.jpg", photo.shape, [("without_mask", (180, 120, 350, 335))])
    result = run("--scenes", tmp_path, "--json", "-", "--confidence", 0.5)  # at 0.5 the flag holds no "face"
    assert result.returncode == 0, result.stderr
    scenes = json.loads(result.stdout)["scenes"]
    # 3 faces; 2 found; of those, 1 labelled as annotated (image 2's mask is seen, its label says otherwise)
    assert (scenes["faces"], scenes["found"], scenes["labelled_right"]) == (3, 2, 1)
    assert scenes["face_recall"] == pytest.approx(2 / 3)
    assert scenes["label_accuracy_on_found"] == pytest.approx(1 / 2)
    assert scenes["end_to_end_accuracy"] == pytest.approx(1 / 3)
    assert scenes["unmatched_detections"] == 0 and scenes["precision"] == 1
    # without_mask: 2 faces, 1 found and labelled so, the only found face labelled so; with_mask: the flag's face is
    # missed, and image 2's face, labelled with_mask, is not one
    assert {name: {key: value for key, value in figures.items() if key != "by_size"}
            for name, figures in scenes["per_class"].items()} == {
        "with_mask": {"faces": 1, "labelled": 1, "labelled_right": 0, "recall": 0.0, "precision": 0.0, "f1": 0.0},
        "without_mask": {"faces": 2, "labelled": 1, "labelled_right": 1, "recall": 0.5, "precision": 1.0,
                         "f1": pytest.approx(2 / 3)}}
    # by the faces' shorter sides: the flag's 50-pixel face is in 32-64, the two 170-pixel ones in 64+
    assert scenes["per_class"]["with_mask"]["by_size"] == {
        "32-64": {"faces": 1, "found": 0, "labelled_right": 0, "detection_recall": 0.0, "label_accuracy": None}}
    assert scenes["per_class"]["without_mask"]["by_size"] == {
        "64+": {"faces": 2, "found": 2, "labelled_right": 1, "detection_recall": 1.0, "label_accuracy": 0.5}}
    assert "without_mask: recall 0.5000, precision 1.0000, F1 0.6667" in result.stderr
    assert "64+ 1.0000 / 0.5000 (2)" in result.stderr
    # With --min-size 60, the 50×60 box on the flag is don't-care: two faces, both found.
    result = run("--scenes", tmp_path, "--json", "-", "--confidence", 0.5, "--min-size", 60)
    scenes = json.loads(result.stdout)["scenes"]
    assert (scenes["faces"], scenes["dont_care_faces"], scenes["found"], scenes["face_recall"]) == (2, 1, 2, 1)


def test_dataset_report_and_confusion_matrix(tmp_path, mask_dataset):
    result = run("--dataset", mask_dataset, "--output", tmp_path / "evaluation")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "evaluation" / "report.json").read_text())["dataset"]
    assert report["images"] == 12 and set(report["with_mask"]) >= {"precision", "recall", "f1-score"}
    assert 0 <= report["accuracy"] <= 1
    assert cv2.imread(str(tmp_path / "evaluation" / "confusion_matrix.png")) is not None


def test_a_file_that_is_no_model(tmp_path, mask_dataset):
    fake = tmp_path / "mask_detector.model"
    fake.write_bytes(b"neither HDF5 nor anything else")
    result = run("--dataset", mask_dataset, "--model", fake)
    assert result.returncode == 2
    assert "mask_detector.model" in result.stderr and "Traceback" not in result.stderr


@needs_shared
def test_video_evaluates_what_the_video_script_runs(tmp_path):
    from facemask.pipeline import VIDEO_DETECTOR
    from facemask.video import load_detectors

    (tmp_path / "images").mkdir()
    (tmp_path / "annotations").mkdir()
    photo = face_photo()
    cv2.imwrite(str(tmp_path / "images" / "one.png"), photo)
    write_voc(tmp_path / "annotations" / "one.xml", "one.png", photo.shape, [("without_mask", (180, 120, 350, 335))])
    result = run("--scenes", tmp_path, "--video", "--json", "-")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["detector"], report["video"]) == (VIDEO_DETECTOR, True)
    # the faces it judged are those that detect_mask_video.py's detectors find in the same frame
    evaluated = report["scenes"]["per_image"]["one.png"]["detected"]
    in_the_video_loop = load_detectors(ROOT / "models" / "mask_detector.keras", count=1)[0](photo)
    assert [(f["box"], f["label"]) for f in evaluated] == [(f["box"], f["label"]) for f in in_the_video_loop]
    assert [f["face_confidence"] for f in evaluated] == pytest.approx(
        [f["face_confidence"] for f in in_the_video_loop], abs=1e-4)
    # --detector still chooses the detector, run at the video's input size as detect_mask_video.py runs it
    result = run("--scenes", tmp_path, "--video", "--detector", "blazeface", "--json", "-")
    assert json.loads(result.stdout)["detector"] == "blazeface"


def test_the_legacy_tutorial_model_scores_as_measured_on_scene_crops(tmp_path):
    result = run("--dataset", SHARED / "data" / "scenes-dev" / "crops", "--model", LEGACY_MODEL, "--json", "-")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["dataset"]["accuracy"] == pytest.approx(0.89, abs=0.02)


@needs_shared
def test_the_legacy_model_works_in_the_detection_scripts():
    from facemask.images import read_image
    from facemask.pipeline import MaskDetector

    faces = MaskDetector(LEGACY_MODEL)(read_image(SHARED / "media" / "pic1.jpeg"))
    assert [face["label"] for face in faces] == ["with_mask", "with_mask"]
