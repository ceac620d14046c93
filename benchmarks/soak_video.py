#!/usr/bin/env python3
"""Soak test of the video loop: detect_mask_video.py over a long generated video (default 20,000 frames),
as users run it (annotated video and JSON-lines log written), while its resident memory and frame rate are
sampled. Prints memory at the 1,000th frame, the middle and the end, and the frame rate over each stretch.

Target: memory growth under 50 MB between the 1,000th and the last frame, and no slowdown beyond noise.

    python benchmarks/soak_video.py [--frames 20000]
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import face_photo, with_drawn_mask  # noqa: E402


def make_video(path, frames, size=(640, 480)):
    """A person drifting across the frame, with a mask for 500 frames, then without for 500, and so on."""
    width, height = size
    photo = cv2.resize(face_photo(), (height * 512 // 600, height))
    faces = [photo, with_drawn_mask(face_photo())]
    faces[1] = cv2.resize(faces[1], photo.shape[1::-1])
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, size)
    for index in range(frames):
        frame = np.full((height, width, 3), 90, np.uint8)
        x = int((width - photo.shape[1]) * (0.5 + 0.5 * np.sin(index / 60)))
        frame[:, x:x + photo.shape[1]] = faces[index // 500 % 2]
        writer.write(frame)
    writer.release()


def resident_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between samples (default: 1)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        started = time.perf_counter()
        make_video(folder / "soak.mp4", args.frames)
        print(f"made a {args.frames}-frame video in {time.perf_counter() - started:.0f} s")
        process = subprocess.Popen([sys.executable, str(ROOT / "detect_mask_video.py"), "--input",
                                    str(folder / "soak.mp4"), "--no-display", "--output", str(folder / "out.mp4"),
                                    "--json-lines", str(folder / "faces.jsonl")], stdout=subprocess.PIPE, text=True)
        log = folder / f".faces.partial-{process.pid}.jsonl"  # the log's name until the run ends
        samples = []  # (seconds, frames logged, resident MB)
        while process.poll() is None:
            time.sleep(args.every)
            try:
                frames, memory = log.read_bytes().count(b"\n"), resident_mb(process.pid)
            except FileNotFoundError:
                continue  # not started yet, or just finished
            samples.append((time.perf_counter(), frames, memory))
        print(process.stdout.read().strip())
    if process.returncode != 0 or not samples:
        sys.exit(f"the run failed (exit {process.returncode})")

    def at(frame):
        return next(sample for sample in samples if sample[1] >= frame)

    marks = [at(1000), at(args.frames // 2), samples[-1]]
    print("\n| frame | resident memory |")
    print("| --- | --- |")
    for _, frame, memory in marks:
        print(f"| {frame} | {memory:.0f} MB |")
    print(f"\ngrowth from the 1,000th frame to the last sampled: {marks[-1][2] - marks[0][2]:+.1f} MB")
    print("\n| frames | frames/s |")
    print("| --- | --- |")
    stretch = args.frames // 5
    for start in range(0, args.frames - stretch + 1, stretch):
        first, last = at(max(start, 1)), at(min(start + stretch, samples[-1][1]))
        if last[0] > first[0]:
            print(f"| {first[1]}-{last[1]} | {(last[1] - first[1]) / (last[0] - first[0]):.1f} |")


if __name__ == "__main__":
    main()
