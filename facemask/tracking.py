"""Following people through a video: each face gets a track, the same id for the same person from frame to frame
(ByteTrack, from Roboflow's `trackers` package), and each person's label is decided over their own recent frames.

A person's label is the class whose probability, averaged over the person's last LABEL_SECONDS of frames, is the
highest: one odd frame does not flip it, and a mask taken off shows once it has been off for half that window. At
the end, each person's label over the whole track is the class of the highest mean probability.
"""
from collections import deque
from dataclasses import dataclass, field

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
    recent: deque = field(default_factory=deque)

    def label(self, class_names):
        """(label, mean probability of it) over the whole track."""
        mean = self.probability_sum / self.frames
        return class_names[int(mean.argmax())], float(mean.max())


class PeopleTracker:
    """Call update(faces) with each frame's faces, in order; `people` holds everyone seen so far."""

    def __init__(self, class_names, frame_rate):
        from trackers import ByteTrackTracker  # imported only by the video path

        # Every face the pipeline reports has passed its detector's own threshold, so any may start a track.
        self.tracker = ByteTrackTracker(frame_rate=frame_rate, track_activation_threshold=0.0,
                                        high_conf_det_threshold=0.0)
        self.class_names = list(class_names)
        self.window = max(1, round(LABEL_SECONDS * frame_rate))
        self.people = {}
        self.frame_index = 0

    def update(self, faces):
        """The faces, each with "track_id" (the person's number from 1; None while a new track is unconfirmed),
        "person_label" and "person_confidence" (the label over the person's recent frames, or the face's own
        while unconfirmed)."""
        import supervision as sv

        detections = sv.Detections(xyxy=np.array([face["box"] for face in faces], float).reshape(-1, 4),
                                   confidence=np.array([face["face_confidence"] for face in faces], float),
                                   data={"index": np.arange(len(faces))})
        tracked = self.tracker.update(detections)
        track_of = {int(index): int(track) for index, track in zip(tracked.data["index"], tracked.tracker_id)}
        result = []
        for index, face in enumerate(faces):
            track = track_of.get(index, -1)
            face = {**face, "track_id": None, "person_label": face["label"], "person_confidence": face["confidence"]}
            if track >= 0:
                face.update(self._see(track + 1, probabilities(face, self.class_names)))
            result.append(face)
        self.frame_index += 1
        return result

    def _see(self, track_id, probability):
        person = self.people.get(track_id)
        if person is None:
            person = self.people[track_id] = Person(track_id, self.frame_index,
                                                    probability_sum=np.zeros(len(self.class_names)))
        person.last_frame = self.frame_index
        person.frames += 1
        person.probability_sum += probability
        person.recent.append(probability)
        if len(person.recent) > self.window:
            person.recent.popleft()
        recent = np.mean(person.recent, axis=0)
        return {"track_id": track_id, "person_label": self.class_names[int(recent.argmax())],
                "person_confidence": round(float(recent.max()), 6)}

    def counts(self):
        """How many people of each label (over their whole track)."""
        labels = [person.label(self.class_names)[0] for person in self.people.values()]
        return {name: labels.count(name) for name in self.class_names}
