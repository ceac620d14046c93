#!/usr/bin/env python3
"""Draw face masks on face photos: a dataset of masked faces (with_mask/, mask_weared_incorrect/) for training."""
import argparse
from pathlib import Path

from facemask import reported_as_exit
from facemask.drawn_masks.mask_drawing import STYLES, WORN
from facemask.drawn_masks.masked_faces import MIXED


def styles(text):
    chosen = [style for style in text.split(",") if style]
    unknown = [style for style in chosen if style not in STYLES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown style {', '.join(unknown) or text!r}; "
                                         f"choose from: {', '.join(STYLES)}")
    return chosen


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", "-i", type=Path, required=True, metavar="DIR",
                        help="folder of face photos, one face each (searched recursively)")
    parser.add_argument("--output", "-o", type=Path, required=True, metavar="DIR",
                        help="dataset folder to write: with_mask/, mask_weared_incorrect/ and masked_faces.json")
    parser.add_argument("--force", action="store_true",
                        help="replace an --output that an earlier run wrote (without it, a non-empty one is refused)")
    parser.add_argument("--styles", type=styles, nargs="+", default=[list(STYLES)], metavar="STYLE",
                        help=f"mask styles to draw from, comma- or space-separated (default: all: {','.join(STYLES)})")
    parser.add_argument("--worn", choices=(*WORN, MIXED), nargs="+", default=["correct"], metavar="WAY",
                        help="how the masks are worn: correct (→ with_mask/); under the nose, on the chin, the whole "
                             "mask pulled down below the nose, or hanging from one ear (nose, chin, pulled, "
                             "hanging → mask_weared_incorrect/); several: one of them at random per drawing; mixed: "
                             "correct, nose or chin (default: correct)")
    parser.add_argument("--per-face", type=int, default=1, metavar="N",
                        help="masked copies drawn of each photo (default: 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: 0)")
    parser.add_argument("--workers", type=int, default=1, help="processes drawing side by side (default: 1)")
    args = parser.parse_args()
    args.styles = list(dict.fromkeys(style for group in args.styles for style in group))
    for flag in ("per_face", "workers"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1")
    return args


def main():
    args = parse_args()
    from facemask.drawn_masks.masked_faces import make_masked_faces, summary

    with reported_as_exit(interrupted=f"interrupted: {args.output} was not written"):
        record = make_masked_faces(args.input, args.output, args.styles, args.worn, args.per_face, args.seed,
                                   args.workers, args.force)
    for line in summary(record):
        print(line)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
