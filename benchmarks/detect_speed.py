#!/usr/bin/env python3
"""Detection speed: the tutorial's loops against ours, on the same input and the same model, in one run.

1. Video, headless: the tutorial loop (each frame resized to 400 px wide, the SSD on a --tutorial-blob square
   blob, one model.predict per frame) against detect_mask_video.py's loop with its people tracking, on
   ../shared/media/demo.mp4. Prints the frames per second of each, the ratio, the share of frames on which both
   give the same labels, and how often a person's label changed; and ours detecting every frame, and ours
   without glances (every detected frame a full look).
   The tutorials' video scripts come with a 300×300 blob (the SSD's own size, which ours uses too) or, in
   chandrikadeb7/Face-Mask-Detection, a 224×224 one that is faster and finds a few faces fewer.
2. One photo as a fresh process: the tutorial's image script (TensorFlow, Keras model, one model.predict per
   face) against `detect_mask_image.py --json -`, wall time, median of --runs runs.

    python benchmarks/detect_speed.py
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

from facemask.detectors import FACE_DETECTORS  # noqa: E402
from facemask.detectors.caffe_ssd import find_detector_files  # noqa: E402
from facemask.pipeline import DEFAULT_MODEL, VIDEO_DETECTOR  # noqa: E402
from facemask.runtime import read_class_names  # noqa: E402

TUTORIAL_IMAGE_SCRIPT = '''
import sys, json
import cv2, numpy as np
from tensorflow.keras.models import load_model
prototxt, weights, model_path, image_path = sys.argv[1:5]
net = cv2.dnn.readNet(prototxt, weights)
model = load_model(model_path)
image = cv2.imread(image_path)
(h, w) = image.shape[:2]
blob = cv2.dnn.blobFromImage(image, 1.0, (300, 300), (104.0, 177.0, 123.0))
net.setInput(blob)
detections = net.forward()
faces = []
for i in range(0, detections.shape[2]):
    confidence = detections[0, 0, i, 2]
    if confidence > 0.5:
        box = detections[0, 0, i, 3:7] * np.array([w, h, w, h])
        (startX, startY, endX, endY) = box.astype("int")
        (startX, startY) = (max(0, startX), max(0, startY))
        (endX, endY) = (min(w - 1, endX), min(h - 1, endY))
        face = image[startY:endY, startX:endX]
        face = cv2.cvtColor(face, cv2.COLOR_BGR2RGB)
        face = cv2.resize(face, (224, 224))
        face = np.expand_dims(face.astype("float32"), axis=0)  # the model scales its input itself
        (mask, withoutMask) = model.predict(face)[0]
        label = "with_mask" if mask > withoutMask else "without_mask"
        cv2.rectangle(image, (startX, startY), (endX, endY), (0, 255, 0) if mask > withoutMask else (0, 0, 255), 2)
        faces.append({"box": [int(startX), int(startY), int(endX), int(endY)], "label": label,
                      "confidence": float(max(mask, withoutMask))})
print(json.dumps({image_path: faces}))
'''


def tutorial_video_loop(video, model_path, class_names, blob_size):
    """The tutorial's detect_mask_video.py loop, headless; returns (frames per second, labels per frame)."""
    import imutils
    import keras

    prototxt, weights = find_detector_files()
    face_net = cv2.dnn.readNet(str(prototxt), str(weights))
    model = keras.models.load_model(model_path)
    capture = cv2.VideoCapture(str(video))
    labels_per_frame = []
    started = time.perf_counter()
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frame = imutils.resize(frame, width=400)
        (h, w) = frame.shape[:2]
        blob = cv2.dnn.blobFromImage(frame, 1.0, (blob_size, blob_size), (104.0, 177.0, 123.0))
        face_net.setInput(blob)
        detections = face_net.forward()
        faces = []
        for i in range(detections.shape[2]):
            if detections[0, 0, i, 2] > 0.5:
                box = detections[0, 0, i, 3:7] * np.array([w, h, w, h])
                (start_x, start_y, end_x, end_y) = box.astype("int")
                (start_x, start_y) = (max(0, start_x), max(0, start_y))
                (end_x, end_y) = (min(w - 1, end_x), min(h - 1, end_y))
                face = frame[start_y:end_y, start_x:end_x]
                if face.size == 0:  # the tutorial crashes here; skip instead
                    continue
                faces.append(cv2.resize(cv2.cvtColor(face, cv2.COLOR_BGR2RGB), (224, 224)))
        labels = []
        if faces:
            predictions = model.predict(np.array(faces, dtype="float32"), batch_size=32, verbose=0)
            labels = [class_names[p.argmax()] for p in predictions]
        labels_per_frame.append(sorted(labels))
    return len(labels_per_frame) / (time.perf_counter() - started), labels_per_frame


def our_video_loop(video, model_path, every=None, **settings):
    """detect_mask_video.py's loop, headless, with its people tracking; returns (frames per second, labels per
    frame, how many times a person's label changed)."""
    from facemask.tracking import PeopleTracker
    from facemask.video import FrameReader, follow_people, load_detectors, open_capture

    detectors = load_detectors(model_path, **settings)
    capture, live = open_capture(video)
    frame_rate = capture.get(cv2.CAP_PROP_FPS) or 30.0
    tracker = PeopleTracker(detectors[0].classifier.class_names, frame_rate)
    labels_per_frame, person_labels = [], {}
    changes = 0
    started = time.perf_counter()
    for _, faces in follow_people(detectors, FrameReader(capture, live), tracker, every):
        labels_per_frame.append(sorted(face["label"] for face in faces))
        for face in faces:
            if face["track_id"] is not None:
                changes += person_labels.get(face["track_id"], face["person_label"]) != face["person_label"]
                person_labels[face["track_id"]] = face["person_label"]
    return len(labels_per_frame) / (time.perf_counter() - started), labels_per_frame, changes


def detector_at_size(text):
    detector, _, size = text.partition("@")
    if detector not in FACE_DETECTORS or not size.isdigit():
        raise argparse.ArgumentTypeError(f"expected DETECTOR@SIZE with a detector of {', '.join(FACE_DETECTORS)}, "
                                         f"not {text}")
    return detector, int(size)


def wall_time(command, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=SHARED / "media" / "demo.mp4")
    parser.add_argument("--photo", type=Path, default=SHARED / "media" / "pic1.jpeg")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="a .keras model with its .tflite copy")
    parser.add_argument("--runs", type=int, default=3, help="fresh-process runs per photo script (default: 3)")
    parser.add_argument("--tutorial-blob", type=int, default=300, choices=[224, 300],
                        help="the tutorial loop's SSD input size (default: 300, as ours)")
    parser.add_argument("--detector", choices=list(FACE_DETECTORS), default=VIDEO_DETECTOR,
                        help=f"our face detector in the video loop (default: {VIDEO_DETECTOR}, the video script's)")
    parser.add_argument("--also", nargs="+", default=[], metavar="DETECTOR@SIZE", type=detector_at_size,
                        help="more video loops to time with default settings in the same run, e.g. "
                             "mobilenet+blazeface@640 (a detector on an input of SIZE pixels)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"error: this benchmark needs the development data in {SHARED}, which the toolkit does not ship")
    class_names = read_class_names(args.model, 2)

    # Ours twice: with the tutorial's face settings (confidence 0.5, the box as it is), so that the labels can be
    # compared frame by frame, and with our defaults (a lower confidence and a margin, for real-world photos).
    our_fps, our_labels, _ = our_video_loop(args.video, args.model, confidence=0.5, margin=0.0,
                                            face_detector=args.detector)
    default_fps, _, changes = our_video_loop(args.video, args.model, face_detector=args.detector)
    every_frame_fps, _, every_frame_changes = our_video_loop(args.video, args.model, every=1,
                                                             face_detector=args.detector)
    full_looks_fps, _, full_looks_changes = our_video_loop(args.video, args.model, face_detector=args.detector,
                                                           glance=False)
    cv2.setNumThreads(-1)  # ours runs OpenCV single-threaded per pipeline; the tutorial gets all cores back
    tutorial_fps, tutorial_labels = tutorial_video_loop(args.video, args.model, class_names, args.tutorial_blob)
    same = np.mean([a == b for a, b in zip(tutorial_labels, our_labels)])
    print(f"video {args.video.name}, {len(our_labels)} frames, headless:")
    print(f"  tutorial loop (SSD {args.tutorial_blob}x{args.tutorial_blob} + model.predict per frame): "
          f"{tutorial_fps:6.1f} frames/s")
    print(f"  ours (--detector {args.detector}), the tutorial's face settings:  {our_fps:6.1f} frames/s")
    print(f"  ratio {our_fps / tutorial_fps:.1f}x; same labels on {same:.1%} of frames")
    print(f"  ours (--detector {args.detector}), default settings:              {default_fps:6.1f} frames/s "
          f"({default_fps / tutorial_fps:.1f}x); a person's label changed {changes} times")
    print(f"  ours, default settings but --detect-every 1:        {every_frame_fps:6.1f} frames/s "
          f"({every_frame_fps / tutorial_fps:.1f}x); a person's label changed {every_frame_changes} times")
    print(f"  ours, default settings but no glances (full looks only): {full_looks_fps:6.1f} frames/s "
          f"({full_looks_fps / tutorial_fps:.1f}x); a person's label changed {full_looks_changes} times")
    for detector, input_size in args.also:
        fps, _, _ = our_video_loop(args.video, args.model, face_detector=detector, input_size=input_size)
        print(f"  ours, {detector} on a {input_size}-pixel input, default settings: {fps:6.1f} frames/s "
              f"({fps / tutorial_fps:.1f}x)")

    with tempfile.NamedTemporaryFile("w", suffix=".py") as script:
        script.write(TUTORIAL_IMAGE_SCRIPT)
        script.flush()
        prototxt, weights = find_detector_files()
        tutorial_seconds = wall_time([sys.executable, script.name, str(prototxt), str(weights), str(args.model),
                                      str(args.photo)], args.runs)
    our_seconds = wall_time([sys.executable, str(ROOT / "detect_mask_image.py"), "--image", str(args.photo),
                             "--model", str(args.model), "--json", "-"], args.runs)
    print(f"photo {args.photo.name}, fresh process, median of {args.runs}:")
    print(f"  tutorial image script:            {tutorial_seconds:5.2f} s")
    print(f"  detect_mask_image.py --json -:    {our_seconds:5.2f} s")
    print(f"  ours takes {our_seconds / tutorial_seconds:.2f} of the tutorial's wall time")


if __name__ == "__main__":
    main()
