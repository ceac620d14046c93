"""One meaning of Ctrl-C: SIGINT to each script, while it works, ends it with exit code 130 and no traceback (a
video's outputs finished first, as docs/troubleshooting.md says)."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest
from conftest import ROOT, face_photo, make_dataset, with_drawn_mask


def scenes(folder, count, faces_per_scene=12):
    """Scene photos, each with Grace Hopper's face pasted `faces_per_scene` times, bare and masked, with PASCAL VOC
    boxes."""
    (folder / "images").mkdir(parents=True)
    (folder / "annotations").mkdir()
    faces = [cv2.resize(photo[120:400, 150:360], (42, 56)) for photo in (face_photo(), with_drawn_mask(face_photo()))]
    for index in range(count):
        scene = np.full((240, 320, 3), 90, np.uint8)
        objects = ""
        for slot in range(faces_per_scene):
            x, y = 50 * (slot % 6) + 5, 80 * (slot // 6) + 10
            scene[y:y + 56, x:x + 42] = faces[slot % 2]
            objects += (f"<object><name>{('without_mask', 'with_mask')[slot % 2]}</name><bndbox><xmin>{x}</xmin>"
                        f"<ymin>{y}</ymin><xmax>{x + 42}</xmax><ymax>{y + 56}</ymax></bndbox></object>")
        cv2.imwrite(str(folder / "images" / f"{index}.jpg"), scene)
        (folder / "annotations" / f"{index}.xml").write_text(
            f"<annotation><filename>{index}.jpg</filename>{objects}</annotation>")
    return folder


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Inputs that keep each script busy for a while."""
    folder = tmp_path_factory.mktemp("work")
    (folder / "photos").mkdir()
    for index in range(60):
        cv2.imwrite(str(folder / "photos" / f"{index}.jpg"), face_photo())
    writer = cv2.VideoWriter(str(folder / "long.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (320, 376))
    still = cv2.resize(face_photo(), (320, 376))
    for index in range(1500):
        writer.write(np.roll(still, index % 50, axis=1))
    writer.release()
    small = cv2.resize(face_photo(), (96, 112))
    make_dataset(folder / "dataset", {"with_mask": with_drawn_mask(small), "without_mask": small}, per_class=300)
    scenes(folder / "scenes", 150)
    return folder


def interrupt(command, marker, cwd, timeout=300):
    """Run the command, send it SIGINT once `marker` shows in its output, wait a moment after; returns (exit code,
    standard output and error)."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output, seen = [], threading.Event()

    def read():
        for chunk in iter(lambda: os.read(process.stdout.fileno(), 4096), b""):
            output.append(chunk)
            if marker.encode() in b"".join(output):
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert seen.wait(timeout), f"never showed {marker!r}:\n" + b"".join(output).decode(errors="replace")[-2000:]
    time.sleep(0.5)
    assert process.poll() is None, "it ended before it could be interrupted:\n" + b"".join(output).decode()[-2000:]
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=120)
    reader.join(timeout=10)
    return code, b"".join(output).decode(errors="replace")


SCRIPTS = {
    "detect_mask_image.py": (["--image", "{work}/photos", "--output", "{tmp}/annotated"], "1 face"),
    "detect_mask_video.py": (["--input", "{work}/long.mp4", "--no-display", "--json-lines", "{tmp}/faces.jsonl"],
                             "/1500"),
    "evaluate_mask_detector.py": (["--dataset", "{work}/dataset"], "Loading images"),
    "train_mask_detector.py": (["--dataset", "{work}/dataset", "--output", "{tmp}/model", "--epochs", "50"],
                               "Extracting features"),
    "train_face_detector.py": (["--scenes", "{work}/scenes", "--output", "{tmp}/detector", "--steps", "3000",
                                "--batch-size", "2", "--crop-size", "128"], "Training the face detector"),
    "make_masked_faces.py": (["--input", "{work}/photos", "--output", "{tmp}/drawn"], "Drawing masks"),
    "cut_scene_faces.py": (["--scenes", "{work}/scenes", "--output", "{tmp}/cuts"], "Cutting faces"),
    "app.py": (["--port", "{port}"], "The demo is at"),
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_ctrl_c_ends_every_script_with_130_and_no_traceback(work, tmp_path, script):
    if script == "app.py":
        pytest.importorskip("gradio", reason="the browser demo's requirements are absent (requirements-app.txt)")
    arguments, marker = SCRIPTS[script]
    with socket.socket() as sock:  # a free port, for the app
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    arguments = [argument.format(work=work, tmp=tmp_path, port=port) for argument in arguments]
    code, output = interrupt([sys.executable, str(ROOT / script), *arguments], marker, tmp_path)
    assert code == 130 and "Traceback" not in output, output[-3000:]
