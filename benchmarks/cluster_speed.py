#!/usr/bin/env python3
"""Photos per second on this machine, the same photos three ways in one run: detect_mask_image.py --workers 2, and
annotate_archive.py with Ray on this machine and on a cluster of two nodes on loopback (one CPU each, as two
one-core machines). Each is timed as a user runs it, from the command to its end, on --photos photos and on a tenth
of them: the difference gives the rate once started, and the start-up apart. The results of all three ways are
checked to be the same faces.

The photos: the first --photos of ../shared/data/faces (half masked, half not).

    pip install -r requirements-cluster.txt
    python benchmarks/cluster_speed.py
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

from loopback_cluster import loopback_cluster  # noqa: E402


def timed(command, env=None):
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(map(str, command))} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def faces_of(results):
    return {json.loads(line)["path"]: json.loads(line).get("faces") for line in results.read_text().splitlines()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=500, help="how many photos (default: 500)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"error: this benchmark needs the development data in {SHARED}, which the toolkit does not ship")
    half = args.photos // 2
    photos = [path for label in ("with_mask", "without_mask")
              for path in sorted((SHARED / "data" / "faces" / label).glob("*.jp*g"))[:half]]
    ways = ["detect_mask_image.py --workers 2", "annotate_archive.py, Ray on this machine",
            "annotate_archive.py, a cluster of two nodes"]
    seconds, same = {}, True
    with tempfile.TemporaryDirectory() as folder, loopback_cluster() as cluster:
        for count in (len(photos) // 10, len(photos)):
            run = Path(folder) / str(count)
            links = run / "photos"  # detect_mask_image.py takes folders, not lists: the same files, linked
            links.mkdir(parents=True)
            for index, path in enumerate(photos[:count]):
                (links / f"{index:05}{path.suffix}").symlink_to(path)
            listed = run / "photos.txt"
            listed.write_text("".join(f"{path}\n" for path in photos[:count]))
            archive = [sys.executable, str(ROOT / "annotate_archive.py"), "--input", str(listed)]
            seconds[count] = [
                timed([sys.executable, str(ROOT / "detect_mask_image.py"), "--image", str(links), "--workers", "2",
                       "--json", str(run / "report.json")]),
                timed(archive + ["--output", str(run / "one")]),
                timed(archive + ["--output", str(run / "two"), "--cluster", cluster["address"]], env=cluster["env"])]
            by_link = json.loads((run / "report.json").read_text())
            same &= (faces_of(run / "one" / "results.jsonl") == faces_of(run / "two" / "results.jsonl")
                     == {str(photos[int(Path(link).stem)]): faces for link, faces in by_link.items()})
    few, many = sorted(seconds)
    print(f"{many} photos of ../shared/data/faces (and {few} of them), each way from the command to its end:")
    for index, name in enumerate(ways):
        rate = (many - few) / (seconds[many][index] - seconds[few][index])
        start_up = seconds[few][index] - few / rate
        print(f"  {name:45} {seconds[many][index]:6.1f} s ({many / seconds[many][index]:5.1f} photos/s); once "
              f"started {rate:5.1f} photos/s, after {start_up:4.1f} s of start-up")
    overhead = 1000 * ((seconds[many][1] - seconds[few][1]) - (seconds[many][0] - seconds[few][0])) / (many - few)
    print(f"  once started, Ray on this machine takes {overhead:.1f} ms a photo more than --workers 2; the same faces "
          f"all three ways: {same}")


if __name__ == "__main__":
    main()
