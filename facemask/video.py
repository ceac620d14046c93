"""The video loop: frames from a webcam, a file or a stream, through the pipeline and the people tracker, to a
window, a video file and a JSON-lines log.

Frames are read in a background thread, so capture never waits on inference. From a file every frame is kept,
in order; from a camera or stream only the newest one, so what is shown stays live.

Faces are then found two frames at a time, each by its own single-threaded face detector: on a 2-core CPU that gets
~50% more frames per second than one pipeline using both cores, as networks this small scale poorly across threads.
Results come back in frame order, and the loop's own thread classifies the faces the people tracker asks for. While
the same people stay in view and move slowly, only one frame in DETECT_SECONDS is detected, and the people tracker
places them in the others; and when their faces are all large, most of those frames get only a glance: the face
detector on an input of half the size, at a quarter of the cost.

A camera or stream that drops is opened again, with a growing pause, when told to reconnect (see FrameReader): the
first frame after the break starts a new shot, so the people in view before it have left. What happens to the
people goes to the events file and the alerts (see events.py and alerts.py) as each frame is decided.
"""
import itertools
import json
import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import cv2
from tqdm import tqdm

from facemask import UserError
from facemask.boxes import shorter_side
from facemask.detectors import RESIZABLE
from facemask.detectors.mobilenet import DEFAULT_INPUT_SIZE, input_scale
from facemask.drawing import draw_faces, draw_fps
from facemask.events import EventLog, EventWatcher, wall_clock
from facemask.files import (check_output, move_into_place, reported_as_user_error, staged_outputs, temporary_path,
                            write_atomically)
from facemask.pipeline import FACE_MARGIN, VIDEO_DETECTOR, VIDEO_INPUT_SIZE, count_labels, video_detector
from facemask.scene_cuts import is_cut, signature
from facemask.tracking import PeopleTracker, people_file, people_plot, person_snapshot, snapshots

QUIT_KEYS = {ord("q"), 27}  # q and Esc
# The annotated video is written with the MPEG-4 codec (mp4v); FFmpeg puts it in these containers, by extension
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".avi")
DEFAULT_READ_TIMEOUT = 10  # seconds without a frame before a camera or stream is given up (or opened again)
RECONNECT_PAUSES = (1, 2, 4, 8, 15, 30)  # seconds between tries to open a lost stream again; then the last, on
# While the scene is steady, faces are detected and classified once in this many seconds of video, and placed in
# between by the tracker: a mask taken off still shows within LABEL_SECONDS and this.
DETECT_SECONDS = 0.2
# A glance looks at the frame on an input GLANCE_SHARE of the full look's, and must see each face in view at
# GLANCE_FACE pixels or more: twice the detector's smallest anchor. On scenes-street/train's photos shrunk for the
# detector's input, the default detector found 0.89 of the faces of 20-32 pixels there, 0.95 of 32-40, and 185 of
# the 186 larger. A glance only has to find again the people the tracker follows, and one it misses makes the scene
# unsteady, so that the next frame gets a full look. A full look comes at least once in FULL_LOOK_SECONDS, for
# people who came into view too small for a glance to see.
GLANCE_SHARE = 0.5
GLANCE_FACE = 32
FULL_LOOK_SECONDS = 1.0
# Frames detected at a time, a pipeline each. Fixed, not the number of cores, so that which frames are detected
# (see follow_people) depends on the video alone.
IN_FLIGHT = 2


def is_stream(source):
    return "://" in str(source)


def source_name(source):
    if str(source).isdigit():
        return f"camera {source}"
    return f"stream {source}" if is_stream(source) else f"video file {source}"


def open_capture(source, read_timeout=DEFAULT_READ_TIMEOUT):
    """A cv2.VideoCapture for a webcam index ("0"), a video file or a stream URL; UserError if it won't open, or
    is a file without one frame that can be decoded. A stream gives up opening, or a read, after `read_timeout`
    seconds (0: FFmpeg's own, which may be never)."""
    from facemask.files import input_problem

    name = source_name(source)
    if str(source).isdigit():
        capture, live = cv2.VideoCapture(int(source)), True
    elif is_stream(source):
        waits = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(read_timeout * 1000),
                 cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout * 1000)] if read_timeout else []
        capture, live = cv2.VideoCapture(str(source), cv2.CAP_FFMPEG, waits), True
    else:
        problem = input_problem(source)
        if problem is not None:
            raise UserError(f"cannot open video file {source}: {problem}")
        capture, live = cv2.VideoCapture(str(source)), False
        if not capture.isOpened():
            with open(source, "rb") as file:
                is_mp4 = file.read(8)[4:] == b"ftyp"
            raise UserError(f"cannot open {name}: " + ("an MP4 whose index (the moov box) is missing or damaged, "
                                                       "as when a recording is cut off before its end" if is_mp4
                                                       else "not a video, or a damaged one"))
        if not capture.read()[0]:
            raise UserError(f"{name} has no frame that can be decoded")
        capture.release()
        capture = cv2.VideoCapture(str(source))  # from the first frame again, which seeking may not reach
    if not capture.isOpened():
        hint = ": no such camera here (for a video file, give its path: --input clip.mp4)" if name.startswith(
            "camera") else ""
        raise UserError(f"cannot open {name}{hint}")
    return capture, live


class FrameReader:
    """Reads frames from a capture in a thread; iterate over it for the frames, in order. The frames end with the
    video, when the event `stopped` is set, after `read_timeout` seconds without a frame (then `timed_out` is
    true), or when a camera or stream fails (then `lost` is). `read_times` gets the time.time() each frame yielded
    was read at, in order.

    With `reopen` (a function returning a new capture, or raising UserError), a source that fails is opened again,
    after each pause of RECONNECT_PAUSES, until it gives a frame or the reader is stopped; each try is said in one
    line to `report`. `breaks` then maps the index of the first frame after each break to (the time.time() it
    was lost at, the time it came back)."""

    def __init__(self, capture, live, read_timeout=None, reopen=None, name="the source", report=None):
        self.capture, self.live, self.read_timeout = capture, live, read_timeout
        self.reopen, self.name = reopen, name
        self.report = report or (lambda line: tqdm.write(line, file=sys.stderr))
        self.timed_out = self.lost = False
        self.read_times, self.yielded = deque(), 0
        self.breaks, self.pending_break = {}, None
        self.frames = queue.Queue(maxsize=1 if live else 32)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.stopped.is_set():
            ok, frame = self.capture.read()
            if not ok and (self.reopen is None or not self._reconnect()):
                self.lost = self.live and not self.stopped.is_set()
                break
            if not ok:
                continue
            if self.live and self.frames.full():
                try:
                    self.frames.get_nowait()  # drop the frame nobody looked at in time
                except queue.Empty:
                    pass
            self._put((time.time(), frame))
        self._put(None)

    def _reconnect(self):
        """Open the source again until it opens or the reader is stopped; whether it opened."""
        lost = time.time()
        self.capture.release()
        for attempt in itertools.count():
            pause = RECONNECT_PAUSES[min(attempt, len(RECONNECT_PAUSES) - 1)]
            self.report(f"{self.name} lost: trying again in {pause} s")
            if self.stopped.wait(pause):
                return False
            try:
                capture = self.reopen()
            except UserError:
                continue
            if self.stopped.is_set():
                capture.release()
                return False
            self.capture = capture
            self.pending_break = (lost, time.time())
            self.report(f"{self.name} is back after {time.time() - lost:.1f} s")
            return True

    def _put(self, item):
        while not self.stopped.is_set():
            try:
                self.frames.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self):
        last_frame = time.monotonic()
        while not self.stopped.is_set():
            try:
                frame = self.frames.get(timeout=0.1)
            except queue.Empty:
                if self.read_timeout and self.reopen is None and time.monotonic() - last_frame > self.read_timeout:
                    self.timed_out = True
                    return
                continue
            if frame is None:
                return
            last_frame = time.monotonic()
            read_time, frame = frame
            if self.pending_break is not None and read_time >= self.pending_break[1]:
                self.breaks[self.yielded], self.pending_break = self.pending_break, None
            self.read_times.append(read_time)
            self.yielded += 1
            yield frame

    def stop(self):
        self.stopped.set()
        self.thread.join(timeout=2)
        if not self.thread.is_alive():  # releasing a capture that a read still waits on can crash the process
            self.capture.release()


@contextmanager
def stop_on_signals(stop):
    """While in the block, Ctrl-C (SIGINT) and SIGTERM set the event `stop` instead of ending the process, so
    the video loop finishes its output files at a frame's end. A second signal ends the process at once. Yields the
    list of the signals received, by name."""
    received = []

    def request_stop(number, frame):
        # on a line of its own: the progress bar's line on standard error has no end yet
        print(f"\n{signal.Signals(number).name}: finishing the output files", file=sys.stderr, flush=True)
        received.append(signal.Signals(number).name)
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield received
        return
    previous = {number: signal.signal(number, request_stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


PEOPLE_EXTENSIONS = (".csv", ".json")


def check_outputs(output=None, json_lines=None, people=None, snapshots_dir=None, plot=None, events=None):
    """UserError naming the flag when an output (the video, the JSON-lines log, the people file, the snapshots'
    folder, the plot, the events file) cannot be written, before the models are loaded and the source is opened."""
    if events is not None:
        check_output(events, "--events")
    if people is not None:
        if Path(people).suffix.lower() not in PEOPLE_EXTENSIONS:
            raise UserError(f"cannot write --people {people}: end it in .csv or .json")
        check_output(people, "--people")
    if plot is not None:
        if Path(plot).suffix.lower() != ".png":
            raise UserError(f"cannot write --plot {plot}: end it in .png")
        check_output(plot, "--plot")
    if snapshots_dir is not None:
        check_output(snapshots_dir, "--snapshots", folder=True)
    if output is not None:
        if Path(output).suffix.lower() not in VIDEO_EXTENSIONS:
            raise UserError(f"cannot write --output {output}: not a video file name: end it in .mp4 (or "
                            f"{', '.join(VIDEO_EXTENSIONS[1:])})")
        check_output(output, "--output")
    if json_lines is not None:
        check_output(json_lines, "--json-lines")


def has_display():
    return os.name == "nt" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def detect_in_order(detectors, frames, wanted):
    """Yield (frame, faces) for each frame, in order: the faces of the frames that `wanted(index, frame)` says to
    detect, and None for the others. `wanted` returns None for a frame not to detect, else how to look at it,
    which the detector is given with the frame: `detectors` are callables, (frame, look) → faces. Two frames are
    detected at a time, on two detectors if given two.
    `wanted` is asked about a frame once every frame before it is yielded but the last one detected and those
    after it: so what it decides depends on the video alone, not on the detectors or on which finished first."""
    idle = queue.SimpleQueue()
    for detector in detectors:
        idle.put(detector)

    def detect(frame, look):
        detector = idle.get()  # a cv2.dnn network and a TFLite interpreter serve one thread at a time
        try:
            return detector(frame, look)
        finally:
            idle.put(detector)

    def result(waiting):
        frame, faces = waiting.popleft()
        return frame, None if faces is None else faces.result()

    with ThreadPoolExecutor(len(detectors)) as pool:
        waiting = deque()  # (frame, the future of its faces, or None)
        for index, frame in enumerate(frames):
            while sum(faces is not None for _, faces in waiting) == IN_FLIGHT:
                yield result(waiting)
            look = wanted(index, frame)
            waiting.append((frame, None if look is None else pool.submit(detect, frame, look)))
        while waiting:
            yield result(waiting)


def follow_people(detectors, frames, tracker, every=None):
    """Yield (frame, faces) for each frame, in order, the faces with their people (see PeopleTracker.add). While
    the scene is steady (PeopleTracker.steady) the detectors find faces on every `every`-th frame (default: once
    in DETECT_SECONDS at the tracker's frame rate) and the tracker places the people in the frames between; else on
    every frame. The first frame of a new shot (scene_cuts, or after a break of a FrameReader's source) is always
    detected, and its people are new. A frame comes out once the next detected one is in.

    A frame detected while the scene is steady gets a glance (see GLANCE_FACE) when the detectors have one and it
    would see every face in the frame detected before, unless the last full look was FULL_LOOK_SECONDS ago. A
    glance that finds fewer faces than that frame had is followed by a full look at the same frame.

    The faces are found two frames at a time, each by its detector, and classified in this thread, by the first
    detector's classifier, which no other thread uses: only those the tracker asks for (see PeopleTracker.add)."""
    every = every or detect_every(tracker.frame_rate)
    full_every = detect_every(tracker.frame_rate, FULL_LOOK_SECONDS)
    glance_size = detectors[0].glance_size
    last, last_full, previous, new_shots = -every, -full_every, None, set()

    def look(index, frame):
        """None: not detected; else ("full" or "glance", how many faces a glance must find again)."""
        nonlocal last, last_full, previous
        shown, previous = previous, signature(frame)
        if shown is not None and is_cut(shown, previous) or index in getattr(frames, "breaks", {}):
            new_shots.add(index)
        if index not in new_shots and index - last < (every if tracker.steady else 1):
            return None
        last = index
        if (glance_size and tracker.steady and index not in new_shots and index - last_full < full_every
                and glance_sees(tracker.last[1], frame.shape, glance_size)):
            return "glance", len(tracker.last[1])
        last_full = index
        return "full", 0

    def find_faces(detector, frame, look):
        kind, people = look
        faces = detector.find_faces(frame, kind)
        if len(faces) < people:  # the glance lost someone: a full look at the same frame
            faces = detector.find_faces(frame)
        return faces

    waiting = deque()
    finders = [partial(find_faces, detector) for detector in detectors]
    for index, (frame, faces) in enumerate(detect_in_order(finders, frames, look)):
        waiting.append(frame)
        for decided in tracker.add(faces, frame, index in new_shots, partial(detectors[0].classify, frame)):
            yield waiting.popleft(), decided
    for decided in tracker.finish():
        yield waiting.popleft(), decided


def glance_sees(faces, frame_shape, glance_size):
    """Whether a glance on an input of `glance_size` pixels sees each face, in a frame of `frame_shape`, at
    GLANCE_FACE pixels or more; False without faces, as a glance cannot be trusted to find newcomers."""
    if not faces:
        return False
    smallest = min(shorter_side(face["box"]) for face in faces)
    return smallest * input_scale(*frame_shape[:2], glance_size) >= GLANCE_FACE


def detect_every(frame_rate, seconds=DETECT_SECONDS):
    """Every how many frames the faces are detected, at a frame rate: once in `seconds` of video."""
    return max(1, round(seconds * frame_rate))


def run_video(detectors, source, output=None, json_lines=None, display=True, read_timeout=DEFAULT_READ_TIMEOUT,
              people=None, snapshots_dir=None, plot=None, every=None, events=None, alerts=None, on_frame=None,
              reconnect=None):
    """Process a video until it ends, `q`/Esc is pressed, Ctrl-C or SIGTERM; returns the run's summary dict, with
    the people followed through it (`people`, and `people_by_label`), the alerts sent, and the signal that stopped
    it, if one did (`stopped_by`: "SIGINT", "SIGTERM" or None).
    Progress goes to stderr: a bar to the frame count for a file, a running count of frames for a camera or stream.
    The output files hold every frame processed until then. A source that delivers no frame for `read_timeout`
    seconds (0: wait for ever) ends the run the same way, and then raises UserError; with `reconnect` (default:
    for a stream URL) it is opened again instead, for as long as it takes.

    `detectors`: one or more MaskDetector, all of the same model; see load_detectors. `people` (.csv or .json),
    `snapshots_dir` and `plot` (.png) are written when the run ends, however it ends but a crash: one row per
    person, the clearest crop of each person without a mask, and the people in view over time. While the scene is
    steady, faces are detected on every `every`-th frame (default: once in DETECT_SECONDS of the video) and
    tracked in between; see follow_people. `events`: the events file (see events.py), appended to as they happen;
    `alerts`: an alerts.Alerts, told each event; `on_frame(annotated, faces, events, tracker)`: called with each
    frame, annotated, as it comes out (the live page's)."""
    class_names = detectors[0].classifier.class_names
    capture, live = open_capture(source, read_timeout)
    fps_of_source = capture.get(cv2.CAP_PROP_FPS) or 30.0
    display = display and has_display()
    frame_count = 0 if live else int(capture.get(cv2.CAP_PROP_FRAME_COUNT))  # 0 or less: not known
    reconnect = is_stream(source) if reconnect is None else reconnect
    reader = FrameReader(capture, live, read_timeout, (lambda: open_capture(source, read_timeout)[0]) if reconnect
                         else None, source_name(source))
    watching = events is not None or bool(alerts) or on_frame is not None
    tracker = PeopleTracker(class_names, fps_of_source, keep_snapshots=snapshots_dir is not None or watching,
                            keep_timeline=plot is not None)
    watcher = EventWatcher(tracker, partial(write_snapshot, snapshots_dir)) if watching else None
    progress = tqdm(total=frame_count if frame_count > 0 else None, desc="Detecting", unit=" frames")
    writer = log = event_log = None
    staged = []  # (temporary path, final path), renamed into place at the end
    totals = {"frames": 0, "faces": 0, **{name: 0 for name in class_names}}
    started, started_at = time.perf_counter(), time.time()

    def when(index, read_time):
        """The time of a frame, for the events: its wall-clock time for a camera, seconds into a file."""
        return wall_clock(read_time) if live else round(index / fps_of_source, 3)

    def tell(new_events, second):
        if event_log is not None:
            event_log.write(new_events)
        for event in new_events:
            if alerts and "person" in event:
                alerts.consider(event, second, partial(snapshot_jpeg, tracker.people[event["person"]]))
        return new_events

    finished = False  # the outputs replace older files only when the run ends as it should
    try:
        if json_lines is not None:
            temporary = stage(json_lines, staged)
            with reported_as_user_error(json_lines):
                log = open(temporary, "w", buffering=1)  # line by line: whole lines on disk, whatever happens
        if events is not None:
            event_log = EventLog(events)
            event_log.write([{"event": "started", "time": wall_clock(started_at), "source": str(source)}])
        with stop_on_signals(reader.stopped) as received:
            for frame, faces in follow_people(detectors, reader, tracker, every):
                index, read_time = totals["frames"], reader.read_times.popleft()
                second = read_time - started_at if live else index / fps_of_source
                new_events = []
                if watcher is not None:
                    if index in reader.breaks:
                        lost, back = reader.breaks[index]
                        new_events += tell(watcher.leave() + [
                            {"event": "stream_lost", "time": wall_clock(lost), "frame": index},
                            {"event": "stream_back", "time": wall_clock(back), "frame": index}], second)
                    new_events += tell(watcher.see(index, faces, when(index, read_time)), second)
                if output is not None or display or on_frame is not None:
                    annotated = draw_faces(frame, faces)
                if output is not None:
                    if writer is None:
                        height, width = frame.shape[:2]
                        writer = cv2.VideoWriter(str(stage(output, staged)), cv2.VideoWriter_fourcc(*"mp4v"),
                                                 fps_of_source, (width, height))
                        if not writer.isOpened():
                            raise UserError(f"cannot write the video {output}")
                    writer.write(annotated)
                if log is not None:
                    log.write(json.dumps({"frame": index, "faces": faces}) + "\n")
                if on_frame is not None:
                    on_frame(annotated, faces, new_events, tracker)
                totals["frames"] += 1
                progress.update(1)
                totals["faces"] += len(faces)
                for name, count in count_labels(faces, class_names).items():
                    totals[name] += count
                if display:
                    draw_fps(annotated, totals["frames"] / (time.perf_counter() - started))
                    cv2.imshow("Face mask detector", annotated)
                    if cv2.waitKey(1) & 0xFF in QUIT_KEYS:
                        break
        finished = True
    except KeyboardInterrupt:
        print("\ninterrupted: finishing the output files", file=sys.stderr, flush=True)
        received = ["SIGINT"]
        finished = True
    finally:
        progress.close()  # its last line ended, before any message that follows
        reader.stop()
        if writer is not None:
            writer.release()
        if log is not None:
            log.close()
        for temporary, final in staged:
            if finished:
                move_into_place(temporary, final)
            else:
                temporary.unlink(missing_ok=True)
        if watcher is not None and finished:
            tell(watcher.finish(), time.time() - started_at if live else totals["frames"] / fps_of_source)
        if alerts:
            alerts.close()
        if finished:
            write_people(tracker, people, snapshots_dir, plot)
        if event_log is not None:
            if finished:
                event_log.write([{"event": "ended", "time": wall_clock(time.time()), "frames": totals["frames"],
                                  "people": len(tracker.people), "people_by_label": tracker.counts()}])
            event_log.close()
        if display:
            cv2.destroyAllWindows()
    if reader.timed_out or reader.lost:
        why = f"no frame from {source} for {read_timeout:g} s" if reader.timed_out else f"lost {source_name(source)}"
        raise UserError(f"{why}: stopped, with the outputs of the {totals['frames']} frames before (--reconnect "
                        "opens it again)")
    seconds = time.perf_counter() - started
    totals["fps"] = round(totals["frames"] / seconds, 2) if seconds > 0 else 0.0
    totals["people"], totals["people_by_label"] = len(tracker.people), tracker.counts()
    if alerts:
        totals["alerts"], totals["alerts_not_delivered"] = alerts.raised, alerts.failed
    totals["stopped_by"] = received[0] if received else None
    return totals


def write_snapshot(snapshots_dir, person):
    """Write the picture of a person (tracking.Person) into `snapshots_dir` now, for an event; its path, or None."""
    crop = person_snapshot(person)
    if snapshots_dir is None or crop is None:
        return None
    path = Path(snapshots_dir) / f"person_{person.track_id}.png"
    write_atomically(path, cv2.imencode(".png", crop)[1].tobytes())
    return str(path)


def snapshot_jpeg(person):
    """The picture of a person (tracking.Person) as JPEG bytes, or None."""
    crop = person_snapshot(person)
    return None if crop is None else cv2.imencode(".jpg", crop)[1].tobytes()


def write_people(tracker, people=None, snapshots_dir=None, plot=None):
    """The people file, the snapshots of the people without a mask and the plot, each written whole or not at all."""
    if people is not None:
        write_atomically(people, people_file(tracker.rows(), Path(people).suffix))
    if plot is not None:
        write_atomically(plot, people_plot(tracker))
    if snapshots_dir is not None:
        with staged_outputs(snapshots_dir) as staging:
            for name, data in snapshots(tracker).items():
                (staging / name).write_bytes(data)


def load_detectors(model_path, face_dir=None, confidence=None, margin=FACE_MARGIN, count=IN_FLIGHT,
                   face_detector=VIDEO_DETECTOR, input_size=VIDEO_INPUT_SIZE, glance=True):
    """`count` single-threaded MaskDetectors, one for each frame detect_in_order has in flight, each on the video's
    input size unless told otherwise, with a glance (see GLANCE_SHARE) if `glance` and the face detector's input
    size can be chosen."""
    cv2.setNumThreads(1)
    glance_size = None
    if glance and face_detector in RESIZABLE:
        glance_size = round(GLANCE_SHARE * (input_size or DEFAULT_INPUT_SIZE))
    detectors = [video_detector(model_path, face_dir, confidence, 1, margin, face_detector, input_size, glance_size)
                 for _ in range(count)]
    for detector in detectors:
        detector.warm_up()
    return detectors


def stage(path, staged):
    """The temporary name to write `path` under until the run ends; remembered in `staged`."""
    temporary = temporary_path(path)
    staged.append((temporary, Path(path)))
    return temporary
