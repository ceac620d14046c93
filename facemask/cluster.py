"""Annotating an archive of photos and videos with Ray, on a cluster or on this machine: each Ray worker loads the
models once and runs the pipeline of detect_mask_image.py on batches of photos, and detect_mask_video.py's loop on
a video at a time; the results stream into one JSON-lines file as they come, so that a run stopped half way keeps
what it did, and the same command run again resumes: it skips what is done, and never writes a record twice.

Every machine of the cluster reads the archive and the models at the same paths (a shared or copied folder).
"""
import json
import logging
import os
import re
import socket
import sys
import tempfile
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path

from facemask import UserError
from facemask.files import check_output, write_atomically
from facemask.images import IMAGE_EXTENSIONS, read_image
from facemask.video import VIDEO_EXTENSIONS, stop_on_signals

RESULTS = "results.jsonl"  # one record per photo or video, in the output folder
FRAMES = "frames"  # the output folder's sub-folder of per-frame JSON lines, one file per video
PHOTO_BATCH = 8  # photos per batch sent to a worker
CONNECT_TIMEOUT = 10  # seconds to reach a cluster's address before giving up
WORKER_TIMEOUT = 300  # seconds to wait for a worker to start (a cluster without a free CPU would wait for ever)


def archive_inputs(paths):
    """(path, kind, name) of each photo and video ("photo" or "video"): a named file, the files inside a named folder
    and its sub-folders (sorted), or those listed in a .txt file, one path a line. `name` is the file's path inside
    the folder it was found in (a named or listed file's own name): its per-frame file is named after it."""
    kinds = {**{suffix: "photo" for suffix in IMAGE_EXTENSIONS}, **{suffix: "video" for suffix in VIDEO_EXTENSIONS}}
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += [(file, kinds[file.suffix.lower()], file.relative_to(path)) for file in sorted(path.rglob("*"))
                      if file.suffix.lower() in kinds and not file.is_dir()]
        elif path.suffix.lower() == ".txt" and path.is_file():
            listed = [Path(line.strip()) for line in path.read_text().splitlines() if line.strip()]
            found += [(file, kinds.get(file.suffix.lower(), "photo"), Path(file.name)) for file in listed]
        elif path.exists() or path.is_symlink():
            found.append((path, kinds.get(path.suffix.lower(), "photo"), Path(path.name)))
        else:
            raise UserError(f"input not found: {path}")
    return [(str(path), kind, name) for path, kind, name in found]


def frames_files(inputs, output):
    """{a video's path: where its frames go, inside the output folder}; UserError when two would go to one place."""
    frames_of, video_of = {}, {}
    for path, kind, name in inputs:
        if kind == "video":
            frames_of[path] = str(Path(FRAMES) / f"{name}.jsonl")
            if video_of.setdefault(frames_of[path], path) != path:
                raise UserError(f"{video_of[frames_of[path]]} and {path} would both write {output / frames_of[path]}: "
                                "annotate them in separate runs")
    return frames_of


def read_done(results_path):
    """{path: record} of the results file, which may end in a line cut short by a run that was killed: that line is
    cut off the file, and its file is done again."""
    if not results_path.exists():
        return {}
    data = results_path.read_bytes()
    whole = data[:data.rfind(b"\n") + 1]
    done = {}
    for number, line in enumerate(whole.decode(errors="replace").splitlines(), 1):
        try:
            record = json.loads(line)
            done[record["path"]] = record
        except (ValueError, TypeError, KeyError):
            raise UserError(f"{results_path}, line {number}: not a record of this script; give another --output, "
                            "or mend the line") from None
    if len(whole) != len(data):
        with open(results_path, "r+b") as file:
            file.truncate(len(whole))
    return done


def check_reachable(address):
    """UserError unless something listens at a cluster's "host:port", within CONNECT_TIMEOUT seconds: ray.init
    would otherwise retry for minutes."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--cluster {address}: expected HOST:PORT, the address `ray start --head` printed")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:
        raise UserError(f"cannot reach the Ray cluster at {address}: {error.strerror or error}") from None


class Annotator:
    """A Ray worker's pipeline: made once per worker, then called with batches of {"path", "kind"}; returns per
    item its result record (JSON) and, for a video, its JSON lines."""

    def __init__(self, settings):
        from facemask.video import load_detectors

        # One single-threaded pipeline, as detect_mask_image.py's --workers make it, with detect_mask_video.py's
        # glance for video (photos never take one)
        self.detector, = load_detectors(count=1, **settings)

    def __call__(self, batch):
        records, lines = [], []
        for path, kind in zip(batch["path"], batch["kind"]):
            record, frames = self.video(path) if kind == "video" else (self.photo(path), "")
            records.append(json.dumps({"path": path, **record}))
            lines.append(frames)
        return {"record": records, "lines": lines}

    def photo(self, path):
        try:
            return {"faces": self.detector(read_image(path))}
        except UserError as error:
            return {"error": str(error)}

    def video(self, path):
        from facemask.video import run_video

        with tempfile.TemporaryDirectory() as folder:
            log = Path(folder) / "frames.jsonl"
            try:
                totals = run_video([self.detector], path, json_lines=log, display=False, read_timeout=0)
            except UserError as error:
                return {"error": str(error)}, ""
            names = self.detector.classifier.class_names
            return ({"frames": totals["frames"], "faces": totals["faces"], **{name: totals[name] for name in names},
                     "people": totals["people"], "people_by_label": totals["people_by_label"]}, log.read_text())


def require_ray():
    """The ray module; UserError naming what to install when it is not installed (requirements.txt leaves it out)."""
    try:
        import ray
    except ImportError:
        raise UserError("annotating an archive needs Ray, which is not installed: "
                        "pip install -r requirements-cluster.txt") from None
    return ray


# Ray Data's own error-level line at each run: the tracker it hands its workers is never lost (Ray's issue 57733)
HARMLESS_RAY_LINE = re.compile(r"core_worker\.cc:\d+: Actor with class name: .* has constructor arguments in the "
                               r"object store and max_restarts > 0")


@contextmanager
def lines_dropped(pattern):
    """In the block, the lines that C++ code (Ray's core worker) writes to the standard error's file descriptor are
    passed on as they come, but for those that match `pattern`; Python's own writes to sys.stderr go straight on,
    so that a progress bar can redraw its line. Processes started in the block would inherit the filter's pipe:
    start none."""
    sys.stderr.flush()
    terminal = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward():
        with open(read_end, "rb") as pipe:
            for line in pipe:
                if not pattern.search(line.decode(errors="replace")):
                    os.write(terminal, line)

    forwarder = threading.Thread(target=forward, daemon=True)
    forwarder.start()
    python_stderr = sys.stderr
    sys.stderr = open(terminal, "w", buffering=1, closefd=False, errors="replace")
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr = python_stderr
        os.dup2(terminal, 2)  # the pipe's last write end closes: the forwarder reads to its end
        forwarder.join(timeout=5)
        os.close(terminal)


def start_ray(address=None):
    """Connect to the cluster at `address`, or start Ray on this machine: its object store small, as photos and
    results are small, and no dashboard."""
    ray = require_ray()

    # The workers import this package from where this machine has it
    settings = {"runtime_env": {"env_vars": {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)}},
                "logging_level": "ERROR", "log_to_driver": False}
    if address is not None:
        ray.init(address=address, **settings)
    else:
        ray.init(object_store_memory=256 * 2 ** 20, include_dashboard=False, **settings)
    import ray.data

    ray.data.DataContext.get_current().enable_progress_bars = False  # the caller's bar counts files
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # not a line per dataset run
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # nor a warning that they are off
    return ray


def annotate_archive(paths, output, settings, address=None, workers=None, progress=None,
                     worker_timeout=WORKER_TIMEOUT):
    """Annotate every photo and video of `paths` (see archive_inputs) into the folder `output`: RESULTS, a record per
    file, and FRAMES/, a video's JSON lines; the files already in RESULTS are skipped. `settings` are MaskDetector's
    (model_path, face_dir, confidence, margin, face_detector); `workers` Ray workers (default: one per CPU of the
    cluster), given up when none starts in `worker_timeout` seconds; `progress(total=files to do)` makes the bar
    (tqdm) advanced with each. Returns ({path: record} for every
    file, done now or before; the model's class names)."""
    from facemask.pipeline import MaskDetector

    require_ray()  # before any work
    class_names = MaskDetector(threads=1, **settings).classifier.class_names  # a bad model is said before Ray starts
    inputs = archive_inputs(paths)
    if not inputs:
        raise UserError(f"no photos or videos found in {', '.join(map(str, paths))}")
    output = Path(output)
    check_output(output, "--output", folder=True)
    if address is not None:
        check_reachable(address)
    frames_of = frames_files(inputs, output)
    results_path = output / RESULTS
    done = read_done(results_path)
    todo = list({path: kind for path, kind, _ in inputs if path not in done}.items())  # each file once
    counts = {"photos": 0, "frames": 0}
    if todo:
        ray = start_ray(address)
        ray.data.DataContext.get_current().wait_for_min_actors_s = worker_timeout
        results = rows = None
        stopped = threading.Event()
        try:
            size = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            rows = stream(ray, todo, settings, size)
            # Ctrl-C stops at the next result: Ray's streaming would take it in. The bar is made in the filter, so
            # that it draws on the terminal itself.
            with stop_on_signals(stopped), lines_dropped(HARMLESS_RAY_LINE), \
                    (progress(total=len(todo)) if progress is not None else nullcontext()) as bar:
                for row in rows:
                    record = json.loads(row["record"])
                    if record["path"] in done:  # a retried task's second answer
                        continue
                    if results is None:  # made with the first result: a run that fails before leaves nothing
                        output.mkdir(parents=True, exist_ok=True)
                        results = open(results_path, "a", buffering=1)  # line by line: whole lines on disk
                    if row["lines"]:
                        record["frames_file"] = frames_of[record["path"]]
                        write_atomically(output / record["frames_file"], row["lines"].encode())
                    results.write(json.dumps(record) + "\n")
                    done[record["path"]] = record
                    if bar is not None:
                        advance(bar, counts, record)
                    if stopped.is_set():
                        raise KeyboardInterrupt
        except ray.exceptions.GetTimeoutError:
            raise UserError(f"no Ray worker started in {worker_timeout:g} s: the cluster has no free CPU for one "
                            "(`ray status` shows its resources)") from None
        finally:
            if rows is not None:  # Ray Data's streaming stops before Ray does: its thread would find Ray shut
                rows.close()      # down, and the process end with exit code 1 (a Ctrl-C in CI did, once in a while)
            if results is not None:
                results.close()
            ray.shutdown()
    return done, class_names


def advance(progress, counts, record):
    """One more file on the bar, which shows photos and video frames per second so far ({"photos", "frames"} in
    `counts`)."""
    counts["frames" if "frames" in record else "photos"] += record.get("frames", 1)
    seconds = max(1e-9, progress.format_dict["elapsed"])
    progress.set_postfix_str(f"{counts['photos'] / seconds:.1f} photos/s, {counts['frames'] / seconds:.1f} frames/s",
                             refresh=False)
    progress.update(1)


def summary(records, class_names):
    """The end of a run in a few lines: files, faces by class, people in the videos, and the files not read."""
    photos = [record for record in records.values() if "faces" in record and "frames" not in record]
    videos = [record for record in records.values() if "frames" in record]
    failed = [record for record in records.values() if "error" in record]
    faces = {name: sum(face["label"] == name for record in photos for face in record["faces"])
             + sum(record[name] for record in videos) for name in class_names}
    people = {name: sum(record["people_by_label"][name] for record in videos) for name in class_names}
    lines = [f"{len(records)} files: {len(photos)} photos, {len(videos)} video{'' if len(videos) == 1 else 's'} "
             f"({sum(record['frames'] for record in videos)} frames), {len(failed)} not read",
             "faces: " + ", ".join(f"{name} {count}" for name, count in faces.items())]
    if videos:
        lines.append("people in the videos: " + ", ".join(f"{name} {count}" for name, count in people.items()))
    lines += [f"warning: {record['error']}; skipped" for record in failed]
    return "\n".join(lines)


def stream(ray, todo, settings, size):
    """The rows of the annotated photos, then of the videos, as workers finish them."""
    photos = [{"path": path, "kind": kind} for path, kind in todo if kind == "photo"]
    videos = [{"path": path, "kind": kind} for path, kind in todo if kind == "video"]
    for items, batch_size in ((photos, PHOTO_BATCH), (videos, 1)):
        if items:
            dataset = ray.data.from_items(items).map_batches(
                Annotator, fn_constructor_args=(settings,), batch_size=batch_size, num_cpus=1,
                compute=ray.data.ActorPoolStrategy(min_size=1, max_size=min(size, len(items))))
            yield from dataset.iter_rows()
