"""The README's commands run as written, in a fresh folder, on the shipped examples; the examples are what
facemask.examples makes from the example photo."""
import shlex
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import cv2
import numpy as np
import pytest

from conftest import ROOT

# Commands that need what a test cannot give: a webcam, a cluster's head, a browser (test_app.py starts the app)
NOT_RUN_HERE = ("detect_mask_video.py", "--cluster", "app.py")


def readme_commands():
    """The README's `.venv/bin/python` commands, in order, comments dropped (the first: the install line's last)."""
    commands = []
    for block in (ROOT / "README.md").read_text().split("```bash")[1:]:
        for line in block.split("```")[0].splitlines():
            for part in line.split(" && "):
                part = part.split("#")[0].strip()
                if part.startswith(".venv/bin/python ") and " -m " not in part:
                    commands.append(shlex.split(part)[1:])
    return commands


def test_the_readme_names_the_example_commands():
    scripts = [command[0] for command in readme_commands()]
    for script in ("detect_mask_image.py", "train_mask_detector.py", "train_face_detector.py",
                   "evaluate_mask_detector.py", "annotate_archive.py"):
        assert script in scripts


def test_every_readme_command_runs_as_written_on_the_examples(tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    ran = 0
    for command in readme_commands():
        if command[0] == "detect_mask_video.py" and "--input" in command:
            pass  # a video file: runs here
        elif any(word in command for word in NOT_RUN_HERE):
            continue
        result = subprocess.run([sys.executable, ROOT / command[0], *command[1:]], cwd=tmp_path,
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"{shlex.join(command)}:\n{result.stderr[-3000:]}"
        ran += 1
    assert ran >= 10
    # what they wrote, where the README says
    for written in ("annotated.jpg", "out.mp4", "faces.jsonl", "people.csv", "people.png", "events.jsonl",
                    "alerts.jsonl",
                    "mask_detector_model/mask_detector.tflite", "face_detector_model/face_detector.tflite",
                    "results/results.jsonl"):
        assert (tmp_path / written).stat().st_size > 0, written
    assert list((tmp_path / "unmasked").glob("*.png"))
    assert list((tmp_path / "evaluation").iterdir())


def test_the_shipped_example_sets_are_what_the_example_photo_makes(tmp_path):
    from facemask.examples import EXAMPLE_FACES, EXAMPLE_SCENES, write_example_sets

    write_example_sets(tmp_path / "faces", tmp_path / "scenes")
    shipped = sorted(path.relative_to(ROOT / "examples") for path in [*EXAMPLE_FACES.rglob("*.*"),
                                                                      *EXAMPLE_SCENES.rglob("*.*")])
    made = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*.*"))
    assert shipped == made
    for path in made:
        if path.suffix == ".jpg":
            difference = cv2.imread(str(tmp_path / path)).astype(int) - cv2.imread(str(ROOT / "examples" / path))
            assert np.abs(difference).mean() < 2, path
        elif path.suffix == ".xml":
            assert (tmp_path / path).read_text() == (ROOT / "examples" / path).read_text()


def test_the_example_scenes_box_each_face_that_is_drawn(tmp_path):
    from facemask.examples import EXAMPLE_SCENES
    from facemask.evaluate import read_voc

    labels = []
    for annotation in sorted((EXAMPLE_SCENES / "annotations").glob("*.xml")):
        file_name, faces = read_voc(annotation)
        frame = cv2.imread(str(EXAMPLE_SCENES / "images" / file_name))
        background = np.median(frame[:5, :5])
        for label, (x1, y1, x2, y2) in faces:
            labels.append(label)
            assert 0 <= x1 < x2 <= frame.shape[1] and 0 <= y1 < y2 <= frame.shape[0]
            face = frame[y1:y2, x1:x2]
            # a face, not the grey frame: hardly a pixel of the frame's grey, and light blue where a mask is drawn
            assert (np.abs(face.astype(int) - background).max(axis=2) < 4).mean() < 0.05
            lower_middle = face[face.shape[0] * 2 // 3, face.shape[1] // 2].astype(int)
            assert (lower_middle[0] - lower_middle[2] > 40) == (label == "with_mask"), (annotation.name, label)
        assert ElementTree.parse(annotation).getroot().find("size/width").text == str(frame.shape[1])
    assert sorted(set(labels)) == ["with_mask", "without_mask"]
