"""Following people through a video: each face gets a track, the same id for the same person from frame to frame
(ByteTrack, from Roboflow's `trackers` package), and each person's label is decided over their own recent frames;
and what is written about them: the people file, the snapshots of the unmasked, the plot of people in view.

A person's label is the class whose probability, averaged over the person's last LABEL_SECONDS of frames, is the
highest: one odd frame does not flip it, and a mask taken off shows once it has been off for half that window. At
the end, each person's label over the whole track is the class of the highest mean probability.
"""
import csv
import io
import json
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

LABEL_SECONDS = 0.4  # the window of frames a person's label is decided over


def probabilities(face, class_names):
    """The classifier's probability of each class for a face, from its label and confidence: exact for two classes;
    with more, the rest is shared evenly among the other classes."""
    others = (1 - face["confidence"]) / max(1, len(class_names) - 1)
    return np.array([face["confidence"] if name == face["label"] else others for name in class_names])


@dataclass
class Person:
    """One track: where it was seen and the sum of its faces' class probabilities."""
    track_id: int
    first_frame: int
    last_frame: int = 0
    frames: int = 0
    probability_sum: np.ndarray = None
    recent: deque = field(default_factory=deque)  # the class probabilities of the last frames
    snapshot: np.ndarray = None  # the clearest crop of the face: the largest, scaled by the detector's confidence
    snapshot_score: float = 0.0

    def label(self, class_names):
        """(label, mean probability of it) over the whole track."""
        mean = self.probability_sum / self.frames
        return class_names[int(mean.argmax())], float(mean.max())


class PeopleTracker:
    """Call update(faces) with each frame's faces, in order; `people` holds everyone seen so far. With
    `keep_snapshots` each person keeps their clearest crop; with `keep_timeline`, `in_view` counts the people in
    view in each frame (for the plot: a camera left running for days would otherwise grow it for nothing)."""

    def __init__(self, class_names, frame_rate, keep_snapshots=False, keep_timeline=False):
        import supervision
        from trackers import ByteTrackTracker  # both imported only by the video path

        # Every face the pipeline reports has passed its detector's own threshold, so any may start a track.
        self.tracker = ByteTrackTracker(frame_rate=frame_rate, track_activation_threshold=0.0,
                                        high_conf_det_threshold=0.0)
        self.detections = supervision.Detections
        self.class_names = list(class_names)
        self.window = max(1, round(LABEL_SECONDS * frame_rate))
        self.frame_rate = frame_rate
        self.keep_snapshots, self.keep_timeline = keep_snapshots, keep_timeline
        self.people = {}
        self.in_view = []  # per frame, the people in view by their label then
        self.frame_index = 0

    def update(self, faces, frame=None):
        """The faces, each with "track_id" (the person's number from 1; None while a new track is unconfirmed),
        "person_label" and "person_confidence" (the label over the person's recent frames, or the face's own
        while unconfirmed). With `keep_snapshots`, `frame` is the BGR frame the faces are in."""
        detections = self.detections(xyxy=np.array([face["box"] for face in faces], float).reshape(-1, 4),
                                   confidence=np.array([face["face_confidence"] for face in faces], float),
                                   data={"index": np.arange(len(faces))})
        tracked = self.tracker.update(detections)
        indices = tracked.data.get("index", [])  # an empty frame comes back without it
        track_of = {int(index): int(track) for index, track in zip(indices, tracked.tracker_id)}
        result = []
        for index, face in enumerate(faces):
            track = track_of.get(index, -1)
            face = {**face, "track_id": None, "person_label": face["label"], "person_confidence": face["confidence"]}
            if track >= 0:
                face.update(self._see(track + 1, probabilities(face, self.class_names)))
                if self.keep_snapshots and frame is not None:
                    self._keep_snapshot(self.people[track + 1], face, frame)
            result.append(face)
        if self.keep_timeline:
            self.in_view.append({name: sum(f["track_id"] is not None and f["person_label"] == name for f in result)
                                 for name in self.class_names})
        self.frame_index += 1
        return result

    @staticmethod
    def _keep_snapshot(person, face, frame):
        x1, y1, x2, y2 = face["box"]
        score = face["face_confidence"] * (x2 - x1) * (y2 - y1)
        if score > person.snapshot_score:
            person.snapshot, person.snapshot_score = frame[max(0, y1):y2, max(0, x1):x2].copy(), score

    def _see(self, track_id, probability):
        person = self.people.get(track_id)
        if person is None:
            person = self.people[track_id] = Person(track_id, self.frame_index,
                                                    probability_sum=np.zeros(len(self.class_names)),
                                                    recent=deque(maxlen=self.window))
        person.last_frame = self.frame_index
        person.frames += 1
        person.probability_sum += probability
        person.recent.append(probability)  # the oldest falls out past the window
        recent = np.mean(person.recent, axis=0)
        return {"track_id": track_id, "person_label": self.class_names[int(recent.argmax())],
                "person_confidence": round(float(recent.max()), 6)}

    def counts(self):
        """How many people of each label (over their whole track)."""
        labels = [person.label(self.class_names)[0] for person in self.people.values()]
        return {name: labels.count(name) for name in self.class_names}

    def rows(self):
        """One dict per person, in the order they were first seen: the people file's rows."""
        rows = []
        for person in sorted(self.people.values(), key=lambda person: person.track_id):
            label, confidence = person.label(self.class_names)
            rows.append({"person": person.track_id, "first_frame": person.first_frame, "last_frame": person.last_frame,
                         "first_second": round(person.first_frame / self.frame_rate, 3),
                         "last_second": round(person.last_frame / self.frame_rate, 3), "frames": person.frames,
                         "label": label, "confidence": round(confidence, 6)})
        return rows


def people_file(rows, suffix):
    """The people file's bytes: CSV (a header, then a row per person) or, for .json, a JSON list."""
    if suffix.lower() == ".json":
        return (json.dumps(rows, indent=1) + "\n").encode()
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]) if rows else ["person"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode()


def snapshots(tracker, label="without_mask"):
    """{file name: PNG bytes} of the clearest crop of each person labelled `label` over their track."""
    images = {}
    for person in tracker.people.values():
        if person.snapshot is not None and person.snapshot.size and person.label(tracker.class_names)[0] == label:
            images[f"person_{person.track_id}.png"] = cv2.imencode(".png", person.snapshot)[1].tobytes()
    return images


def people_plot(tracker):
    """PNG bytes of a plot: the people in view over time, one line per label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from facemask.drawing import caption

    seconds = np.arange(len(tracker.in_view)) / tracker.frame_rate
    figure, axes = plt.subplots(figsize=(8, 3))
    for name in tracker.class_names:
        axes.plot(seconds, [counts[name] for counts in tracker.in_view], label=caption(name), drawstyle="steps-post")
    axes.set_xlabel("seconds")
    axes.set_ylabel("people in view")
    axes.legend()
    figure.tight_layout()
    data = io.BytesIO()
    figure.savefig(data, format="png")
    plt.close(figure)
    return data.getvalue()
