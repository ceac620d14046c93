#!/usr/bin/env python3
"""Annotate an archive of photos and videos with Ray, on a cluster or on this machine: one record per file in
OUTPUT/results.jsonl, each video's frames in OUTPUT/frames/. Run it again to resume where it stopped."""
import argparse
from pathlib import Path

from facemask import reported_as_exit
from facemask.cli import add_detector_arguments, positive_int
from facemask.cluster import WORKER_TIMEOUT, annotate_archive, summary


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", "-i", action="append", required=True, metavar="PATH",
                        help="a photo, a video, a folder of them (searched recursively) or a .txt list of their paths, "
                             "one a line; repeat for more")
    parser.add_argument("--output", "-o", type=Path, required=True, metavar="DIR",
                        help="folder for results.jsonl and frames/; files already in its results.jsonl are skipped")
    parser.add_argument("--cluster", metavar="HOST:PORT",
                        help="the Ray cluster's address, as `ray start --head` printed it (default: start Ray on "
                             "this machine)")
    parser.add_argument("--workers", type=positive_int, metavar="N",
                        help="Ray workers, each with its own models on one CPU (default: one per CPU of the cluster)")
    parser.add_argument("--worker-timeout", type=float, default=WORKER_TIMEOUT, metavar="SECONDS",
                        help=f"give up when no worker has started after this long (default: {WORKER_TIMEOUT})")
    add_detector_arguments(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    from functools import partial

    from tqdm import tqdm

    settings = {"model_path": args.model, "face_dir": args.face, "confidence": args.confidence,
                "margin": args.margin, "face_detector": args.detector}
    stopped = f"stopped: the files done are in {args.output / 'results.jsonl'}; run the same command to go on"
    with reported_as_exit(interrupted=stopped):
        records, class_names = annotate_archive(args.input, args.output, settings, args.cluster, args.workers,
                                                partial(tqdm, desc="Annotating", unit=" files"), args.worker_timeout)
    print(summary(records, class_names))


if __name__ == "__main__":
    main()
