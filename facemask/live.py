"""The live page behind `app.py --camera`: one camera, a video file or a stream followed as detect_mask_video.py
follows it, in a thread, and a page (Gradio) that shows it: the annotated frames with each person's number and
label, the people in view and since the start, with and without a mask, and the last people without a mask, with
their pictures and times.

LiveView holds what the page shows, updated by the video loop (`on_frame`) and read by the page (`state`), so it is
tested without a browser. A camera or stream is followed from the start, seen or not; a video file from when the
page is first opened, at its own frame rate, as a camera would deliver it.
"""
import threading
import time
from collections import OrderedDict

import cv2

from facemask import UserError
from facemask.drawing import caption
from facemask.events import MASKED
from facemask.tracking import person_snapshot
from facemask.web import shrink

SHOWN_PEOPLE = 8  # the last people without a mask the page shows
SHOWN_SIZE = 960  # longest side, in pixels, of the frames sent to the page
REFRESH_SECONDS = 0.2  # how often the page asks for the newest frame


class LiveView:
    """What the live page shows of one source, from the video loop's frames and events."""

    def __init__(self, source, class_names, pace=False, frame_rate=30.0):
        self.source, self.class_names = source, list(class_names)
        self.pace, self.frame_rate = pace, frame_rate
        self.lock = threading.Lock()
        self.frame = None  # the newest annotated frame, RGB, shrunk
        self.in_view = {name: 0 for name in self.class_names}
        self.since_start = {name: 0 for name in self.class_names}
        self.unmasked = OrderedDict()  # person: (their picture, RGB; when), the newest last
        self.status = f"Starting {source}…"
        self.frames, self.started = 0, None
        self.following = False  # whether the video loop has been started

    def on_frame(self, annotated, faces, events, tracker):
        """The video loop's callback: a frame as it comes out, its faces, the events of then, the tracker."""
        if self.started is None:
            self.started = time.monotonic()
        if self.pace:  # a file: no faster than it would play
            time.sleep(max(0.0, self.started + self.frames / self.frame_rate - time.monotonic()))
        shown = cv2.cvtColor(shrink(annotated, SHOWN_SIZE), cv2.COLOR_BGR2RGB)
        in_view = {name: 0 for name in self.class_names}
        for face in faces:
            if face["track_id"] is not None:
                in_view[face["person_label"]] += 1
        with self.lock:
            self.frame, self.in_view, self.since_start = shown, in_view, tracker.counts()
            self.frames += 1
            self.status = f"Live: {self.source}"
            for event in events:
                if event["event"] == "stream_lost":
                    self.status = f"{self.source} was lost at {event['time']}; back at the next frame"
                if event["event"] in ("settled", "changed") and event["label"] != MASKED:
                    crop = person_snapshot(tracker.people[event["person"]])
                    if crop is not None:
                        self.unmasked.pop(event["person"], None)
                        self.unmasked[event["person"]] = (cv2.cvtColor(crop, cv2.COLOR_BGR2RGB), event["time"],
                                                          event["label"])
                        while len(self.unmasked) > SHOWN_PEOPLE:
                            self.unmasked.popitem(last=False)

    def ended(self, problem=None):
        with self.lock:
            self.status = f"Stopped: {problem}" if problem else f"{self.source} has ended."

    def counts_text(self):
        def say(counts):
            return ", ".join(f"{counts[name]} {caption(name).lower()}" for name in self.class_names)

        with self.lock:
            in_view, since_start, status = self.in_view, self.since_start, self.status
        return (f"### In view: {sum(in_view.values())} ({say(in_view)})\n"
                f"### Since the start: {sum(since_start.values())} ({say(since_start)})\n{status}")

    def state(self):
        """(the newest frame or None, the counts as Markdown, the last people without a mask as (picture,
        caption) pairs, newest first)."""
        with self.lock:
            frame, people = self.frame, list(self.unmasked.items())[::-1]
        at = (lambda time: f"{time} s" if isinstance(time, (int, float)) else time.split("T")[-1].split(".")[0])
        return frame, self.counts_text(), [(picture, f"#{person} {caption(label)}, {at(when)}")
                                           for person, (picture, when, label) in people]


def follow(view, detectors, source, **run_options):
    """Run the video loop on `source` for `view`, in a daemon thread, once: at the first call."""
    from facemask.video import run_video

    with view.lock:
        if view.following:
            return
        view.following = True

    def loop():
        try:
            run_video(detectors, source, display=False, on_frame=view.on_frame, **run_options)
            view.ended()
        except UserError as error:
            view.ended(str(error))

    threading.Thread(target=loop, daemon=True, name="live-video").start()


def build_live_page(view, start):
    """The Gradio page of a LiveView: the frame, the counts and the last people without a mask, refreshed every
    REFRESH_SECONDS. `start()` is called when a page is opened (a camera's is already running by then: see
    follow)."""
    import gradio as gr

    with gr.Blocks(title="Face-mask detector: live", delete_cache=(600, 600)) as page:
        gr.Markdown(f"# Face-mask detector: live\n`{view.source}`, followed as `detect_mask_video.py` follows it: "
                    "each person boxed with their number and label.")
        with gr.Row():
            with gr.Column(scale=3):
                frame = gr.Image(label="Live", type="numpy", interactive=False, format="jpeg", elem_id="live")
            with gr.Column(scale=2):
                counts = gr.Markdown(view.counts_text(), elem_id="counts")
                people = gr.Gallery(label="The last people without a mask", columns=4, height=320, object_fit="contain",
                            elem_id="unmasked")
        timer = gr.Timer(REFRESH_SECONDS)
        timer.tick(view.state, outputs=[frame, counts, people], show_progress="hidden")
        page.load(lambda: start())
    return page
