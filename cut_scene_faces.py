#!/usr/bin/env python3
"""Cut the annotated faces of scene photos (PASCAL VOC) into a classifier's dataset, framed as detection frames
them, several cuts per face: street faces to train on beside the web photos."""
import argparse
from pathlib import Path

from facemask import reported_as_exit
from facemask.pipeline import MIN_FACE_SIZE


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenes", "-s", type=Path, nargs="+", required=True, metavar="DIR",
                        help="folder with images/ and PASCAL VOC annotations/; several are cut together")
    parser.add_argument("--output", "-o", type=Path, required=True, metavar="DIR",
                        help="dataset folder to write: one sub-folder per label, and scene_faces.json")
    parser.add_argument("--labels", nargs="+", metavar="LABEL",
                        help="cut only the faces of these labels, e.g. with_mask without_mask (default: every label)")
    parser.add_argument("--min-size", type=int, default=MIN_FACE_SIZE, metavar="PX",
                        help=f"cut faces whose shorter side is at least PX pixels (default: {MIN_FACE_SIZE}, the "
                             "smallest face detection classifies)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the cuts' random framing (default: 0)")
    parser.add_argument("--force", action="store_true",
                        help="replace an --output that an earlier run wrote (without it, a non-empty one is refused)")
    args = parser.parse_args()
    if args.min_size < 1:
        parser.error("--min-size must be at least 1")
    return args


def main():
    args = parse_args()
    from facemask.training.scene_faces import cut_scene_faces

    with reported_as_exit(interrupted=f"interrupted: {args.output} was not written"):
        record = cut_scene_faces(args.scenes, args.output, args.labels, args.seed, args.min_size, args.force)
    faces = ", ".join(f"{count} {label} ({record['cuts_per_face'][label]} cuts each)"
                      for label, count in sorted(record["faces"].items()))
    print(f"cut {len(record['images'])} images from {sum(record['faces'].values())} faces: {faces}")
    if record["skipped"]:
        print(f"warning: skipped {len(record['skipped'])} photo(s) that could not be read, e.g. "
              f"{record['skipped'][0]['source']}: {record['skipped'][0]['reason']}")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
