"""Following people through a video: each face gets a track, the same id for the same person from frame to frame
(ByteTrack, from Roboflow's `trackers` package), and each person's label is decided over their own recent frames;
and what is written about them: the people file, the snapshots of the unmasked, the plot of people in view.

A person's label is the class whose probability, averaged over the person's last LABEL_SECONDS of classified frames,
is the highest: one odd frame does not flip it, and a mask taken off shows once it has been off for half that window.
At the end, each person's label over the whole track is the class of the highest mean probability. Each look counts
in these means by the face's size (its shorter side in pixels): a person coming nearer is seen better. But a person
seen without a mask, settled (their recent label unmasked in two detected frames in a row, not one odd frame), is
a person without a mask whatever the rest of their track says: for the counts, the people file (which says for how
long) and the snapshots, whose crop is the clearest of those moments.
After their first few faces, a person is classified only once in half that window (see MIN_CLASSIFIED), or once a
second while the face detector's own guess at the class agrees with their label (see SETTLED_SECONDS).

The faces need not be detected on every frame (see video.follow_people): on a frame not detected, each person is
placed between their boxes in the detected frames before and after it, with the label they had before.
At a cut to a new shot (see scene_cuts) the tracks end: whoever is in view after it is a new person.
"""
import csv
import io
import json
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from facemask.boxes import overlaps, shorter_side

LABEL_SECONDS = 0.4  # the window of frames a person's label is decided over
# After their first MIN_CLASSIFIED classified faces, a person is classified again once in half the window: two looks
# a window still show a mask taken off within it, and the frames between, of the same face a fraction of a second
# apart, would add little evidence at a crowd's cost.
MIN_CLASSIFIED = 3
# A face that comes with the face detector's own guess at its class (our detector's class output, see pipeline), and
# whose guess agrees with their person's label, is classified only once in SETTLED_SECONDS: the guess costs nothing,
# and a face whose guess disagrees is classified at once.
SETTLED_SECONDS = 1.0
# A scene is steady while each person's face is where the two detections before put it: where it was, or as far on
# as it moved between them, its centre and size within STEADY_ERROR of its size. A box drawn between two detections
# (see video.py) is then within about a tenth of its size of the face. Centres and sizes, not edges, and one error
# for any time between detections: a detector's edges jitter by a tenth of the face from frame to frame, which would
# make a still face look as if it moved, the more so the closer its detections.
STEADY_ERROR = 0.2


def probabilities(face, class_names):
    """The probability of each class for a face, from its label and confidence: exact for two classes;
    with more, the rest is shared evenly among the other classes."""
    others = (1 - face["confidence"]) / max(1, len(class_names) - 1)
    return np.array([face["confidence"] if name == face["label"] else others for name in class_names])


def centre_and_size(box):
    """[centre x, centre y, size] of a box: its size is its longer side."""
    x1, y1, x2, y2 = box
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1)], float)


def face_size(box):
    """How much a look at a face counts towards its person's label: its shorter side, in pixels."""
    return max(1, shorter_side(box))


@dataclass
class Person:
    """One track: where it was seen, and the sum of its faces' class probabilities, each weighed by the face's size."""
    track_id: int
    first_frame: int
    last_frame: int = 0
    frames: int = 0  # frames the person was in, detected or placed between detections
    classified: int = 0  # frames the person's face was classified in
    probability_sum: np.ndarray = None
    size_sum: float = 0.0  # the weights of probability_sum
    recent: deque = field(default_factory=deque)  # (frame, class probabilities, face size) of the last LABEL_SECONDS
    snapshot: np.ndarray = None  # the clearest crop of the face: the largest, scaled by the detector's confidence
    snapshot_score: float = 0.0
    last_detected: int = None  # the last detected frame the person was in
    recent_label: str = None  # their label over their recent frames, at the last detected frame
    label_looks: int = 0  # detected frames in a row with that recent label
    unmasked_frames: int = 0  # frames seen while settled without a mask (see `unmasked`)
    unmasked_sum: np.ndarray = None  # the class probabilities of the looks then, weighed by size, and their weights
    unmasked_size_sum: float = 0.0
    unmasked_snapshot: np.ndarray = None  # the clearest crop while settled without a mask
    unmasked_snapshot_score: float = 0.0

    @property
    def settled_label(self):
        """The person's label now, once settled: their recent label in two detected frames in a row (the second
        classified anew, or with the face detector's own guess agreeing: see _checked_lately); else None."""
        return self.recent_label if self.label_looks >= 2 else None

    @property
    def unmasked(self):
        """Whether the person is now settled without a mask."""
        return self.settled_label == "without_mask"

    def recent_probabilities(self):
        """The mean class probabilities of the person's recent classified faces, weighed by their size: the window
        their label is decided over."""
        _, recent, sizes = zip(*self.recent)
        return np.average(recent, axis=0, weights=sizes)

    def label(self, class_names):
        """(label, mean probability of it) over the whole track, each face weighed by its size."""
        mean = self.probability_sum / self.size_sum
        return class_names[int(mean.argmax())], float(mean.max())

    def verdict(self, class_names):
        """(label, mean probability of it) for the counts, the people file and the snapshots: without_mask and its
        mean over the moments seen so, for a person ever settled without a mask; else the label over the track."""
        if self.unmasked_frames and self.unmasked_size_sum:
            mean = self.unmasked_sum / self.unmasked_size_sum
            return "without_mask", float(mean[class_names.index("without_mask")])
        return self.label(class_names)


class PeopleTracker:
    """Call add(faces) with each frame's faces (None for a frame not detected), in order, then finish(); `people`
    holds everyone seen so far. With
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
        self.window = max(1, round(LABEL_SECONDS * frame_rate))  # in frames
        self.settled_frames = round(SETTLED_SECONDS * frame_rate)
        self.frame_rate = frame_rate
        self.keep_snapshots, self.keep_timeline = keep_snapshots, keep_timeline
        self.people = {}
        self.in_view = []  # per frame, the people in view by their label then
        self.frame_index = 0  # of the next frame added
        self.last = None  # (index, faces) of the last detected frame, not decided yet
        self.earlier = None  # (index, faces) of the detected frame before it
        self.steady = False  # whether the last detected frame's faces were where the two before put them
        self.numbered = 0  # people numbered before the last cut: the tracker numbers from 0 again after one

    def add(self, faces, frame=None, new_shot=False, classify=None):
        """Add the next frame: its faces, or None when it was not detected. Returns the faces of the frames decided
        now, oldest first: a list of faces per frame, each face with "track_id" (the person's number from 1; None
        for a face never confirmed as a person), "person_label" and "person_confidence" (the label over the
        person's recent frames, or the face's own for a face without a track).

        A frame is decided once the next detected frame is added (or at `finish`): a track is confirmed on its
        second detection, and then numbered from its first; and in the frames between two detected frames, each
        person's box is drawn between their boxes in the two. With `keep_snapshots`, `frame` is the BGR frame.
        `new_shot`: the frame starts a new shot, and must be detected; the frames before it hold their last faces.

        With `classify`, the faces come found but not classified, and `classify(faces)` returns them classified
        (see MaskDetector.classify): it is asked only for the faces without a person, of people with fewer than
        MIN_CLASSIFIED classified faces, and of people last classified half a window ago (SETTLED_SECONDS ago for a
        face whose "detector_without_mask" agrees with its person's label). Another face keeps the label and
        confidence its person's face had when last classified."""
        index = self.frame_index
        self.frame_index += 1
        decided = []
        if new_shot:
            if faces is None:
                raise ValueError("a frame that starts a new shot must be detected")
            decided = self._decide(index)
            self.last, self.earlier, self.steady = None, None, False
            self.tracker.reset()
            self.numbered = max(self.people, default=0)
        if faces is None:
            return decided
        faces = self._track(faces, index, frame, classify)
        decided += self._decide(index, {face["track_id"]: face["box"] for face in faces if face["track_id"]})
        self.steady = self.last is not None and self._as_expected(self.earlier, self.last, (index, faces))
        self.earlier, self.last = self.last, (index, faces)
        return decided

    @staticmethod
    def _as_expected(earlier, before, now):
        """Whether the last detected frames, (index, faces) each, show the same people in `before` and `now`, every
        face with its track, and each face now where it was in `before` or, moving on as it moved from `earlier`
        (None: not known) to `before`, where that puts it: its centre and size within STEADY_ERROR of its size."""
        def places(faces):
            return {face["track_id"]: centre_and_size(face["box"]) for face in faces}

        (index_before, faces_before), (index_now, faces_now) = before, now
        place_before, place_now = places(faces_before), places(faces_now)
        if None in place_now or place_now.keys() != place_before.keys():
            return False
        expected = [place_before]  # still
        place_earlier = places(earlier[1]) if earlier is not None else None
        if place_earlier is not None and place_now.keys() <= place_earlier.keys():  # moving on
            share = (index_now - index_before) / (index_before - earlier[0])
            expected.append({person: place + share * (place - place_earlier[person])
                             for person, place in place_before.items()})
        return any(all(np.abs(place - guess[person]).max() <= STEADY_ERROR * place[2]
                       for person, place in place_now.items()) for guess in expected)

    def finish(self):
        """The faces of the frames not decided yet: the last detected frame's, and those after it, held."""
        decided = self._decide(self.frame_index)
        self.last = self.earlier = None
        return decided

    def _track(self, faces, index, frame, classify=None):
        """The faces of a detected frame with their people, classified when `classify` is given and they need it;
        a person confirmed now also gets the face they were first seen with, in the last detected frame."""
        detections = self.detections(xyxy=np.array([face["box"] for face in faces], float).reshape(-1, 4),
                                   confidence=np.array([face["face_confidence"] for face in faces], float),
                                   data={"index": np.arange(len(faces))})
        # In seconds of the video: the Kalman filter and the lost tracks' time run on across frames not detected
        tracked = self.tracker.update(detections, timestamp=index / self.frame_rate)
        indices = tracked.data.get("index", [])  # an empty frame comes back without it
        track_of = {int(face): self.numbered + int(track) + 1
                    for face, track in zip(indices, tracked.tracker_id) if track >= 0}
        if self.last is not None:
            last_index, last_faces = self.last
            for face, track_id in track_of.items():
                if track_id not in self.people:
                    self._number_first_sight(track_id, faces[face]["box"], last_faces, last_index)
        classified = set(range(len(faces)))
        if classify is not None:
            classified = {number for number in classified
                          if not self._checked_lately(track_of.get(number), index, faces[number])}
            faces, chosen = list(faces), sorted(classified)
            if chosen:
                for number, face in zip(chosen, classify([faces[number] for number in chosen])):
                    faces[number] = face
        result = []
        for number, face in enumerate(faces):
            if number not in classified:  # the label and confidence of the person's face last classified
                last = self.people[track_of[number]].recent[-1][1]
                label, confidence = self.class_names[int(last.argmax())], round(float(last.max()), 6)
                face = {**face, "label": label, "confidence": confidence}
            face = {**face, "track_id": None, "person_label": face["label"], "person_confidence": face["confidence"],
                    "settled_label": None}
            if number in track_of:
                probability = probabilities(face, self.class_names) if number in classified else None
                face.update(self._see(track_of[number], probability, index, face_size(face["box"])))
                if self.keep_snapshots and frame is not None:
                    self._keep_snapshot(self.people[face["track_id"]], face, frame)
                    if self.people[face["track_id"]].unmasked:
                        self._keep_snapshot(self.people[face["track_id"]], face, frame, "unmasked_")
            result.append(face)
        return result

    def _number_first_sight(self, track_id, box, last_faces, last_index):
        """A track confirmed now was spawned by a face of the last detected frame that had no track: the one
        nearest its box."""
        unnumbered = [face for face in last_faces if face["track_id"] is None]
        if unnumbered:
            overlap = overlaps(np.array([face["box"] for face in unnumbered], float), np.array([box], float))[:, 0]
            first = unnumbered[int(overlap.argmax())]
            if overlap.max() > 0:
                first.update(self._see(track_id, probabilities(first, self.class_names), last_index,
                                       face_size(first["box"])))

    def _decide(self, index, boxes_then=None):
        """The last detected frame and the frames after it, up to `index`. With `boxes_then`, the boxes of the
        people in the detected frame `index`, by track: a person in both is placed between their two boxes, and a
        face not found again is kept for the first half of the frames between; without, every face is held."""
        if self.last is None:
            return []
        last_index, last_faces = self.last
        frames = [last_faces]
        for between in range(last_index + 1, index):
            share, faces = (between - last_index) / (index - last_index), []
            for face in last_faces:
                if boxes_then is not None and face["track_id"] in boxes_then:
                    box = (1 - share) * np.array(face["box"]) + share * np.array(boxes_then[face["track_id"]])
                    face = {**face, "box": [int(round(value)) for value in box]}
                elif boxes_then is not None and share > 0.5:
                    continue
                if face["track_id"] is not None:
                    person = self.people[face["track_id"]]
                    person.last_frame, person.frames = max(person.last_frame, between), person.frames + 1
                faces.append(face)
            frames.append(faces)
        if self.keep_timeline:
            self.in_view.extend({name: sum(f["track_id"] is not None and f["person_label"] == name for f in faces)
                                 for name in self.class_names} for faces in frames)
        return frames

    @staticmethod
    def _keep_snapshot(person, face, frame, kind=""):
        """Keep the face as the person's `kind` snapshot ("" or "unmasked_") if it is the clearest yet."""
        x1, y1, x2, y2 = face["box"]
        score = face["face_confidence"] * (x2 - x1) * (y2 - y1)
        if score > getattr(person, f"{kind}snapshot_score"):
            setattr(person, f"{kind}snapshot", frame[max(0, y1):y2, max(0, x1):x2].copy())
            setattr(person, f"{kind}snapshot_score", score)

    def _checked_lately(self, track_id, index, face):
        """Whether `face`, of person `track_id` (None: no person), may go unclassified on frame `index`."""
        person = self.people.get(track_id)
        if person is None or person.classified < MIN_CLASSIFIED:
            return False
        since = index - person.recent[-1][0]
        if since < max(1, self.window // 2):
            return True
        guess = face.get("detector_without_mask")
        if since >= self.settled_frames or guess is None or "without_mask" not in self.class_names:
            return False
        label = self.class_names[int(person.recent_probabilities().argmax())]
        return (guess >= 0.5) == (label == "without_mask")

    def _see(self, track_id, probability, index, size):
        """Person `track_id` seen on frame `index`, their face's class `probability` (None: not classified) and
        `size`; their label over their recent frames."""
        person = self.people.get(track_id)
        if person is None:
            person = self.people[track_id] = Person(track_id, index, probability_sum=np.zeros(len(self.class_names)),
                                                    unmasked_sum=np.zeros(len(self.class_names)))
        since = 1 if person.last_detected is None else index - person.last_detected
        person.last_frame = person.last_detected = index
        person.frames += 1
        if probability is not None:
            person.classified += 1
            person.probability_sum += size * probability
            person.size_sum += size
            person.recent.append((index, probability, size))
            while person.recent[0][0] <= index - self.window:  # the oldest falls out past the window
                person.recent.popleft()
        recent = person.recent_probabilities()
        label = self.class_names[int(recent.argmax())]
        person.label_looks = person.label_looks + 1 if label == person.recent_label else 1
        person.recent_label = label
        if person.unmasked:
            person.unmasked_frames += since
            person.unmasked_sum += size * recent
            person.unmasked_size_sum += size
        return {"track_id": track_id, "person_label": label, "person_confidence": round(float(recent.max()), 6),
                "settled_label": person.settled_label}

    def counts(self):
        """How many people of each label (their verdict: see Person.verdict)."""
        labels = [person.verdict(self.class_names)[0] for person in self.people.values()]
        return {name: labels.count(name) for name in self.class_names}

    def rows(self):
        """One dict per person, in the order they were first seen: the people file's rows."""
        rows = []
        for person in sorted(self.people.values(), key=lambda person: person.track_id):
            label, confidence = person.verdict(self.class_names)
            rows.append({"person": person.track_id, "first_frame": person.first_frame, "last_frame": person.last_frame,
                         "first_second": round(person.first_frame / self.frame_rate, 3),
                         "last_second": round(person.last_frame / self.frame_rate, 3), "frames": person.frames,
                         "label": label, "confidence": round(confidence, 6),
                         "seconds_without_mask": round(person.unmasked_frames / self.frame_rate, 3)})
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


def person_snapshot(person):
    """The clearest crop of a person's face (BGR) of the moments they were settled without a mask, if they were;
    None without one."""
    crop = person.unmasked_snapshot if person.unmasked_snapshot is not None else person.snapshot
    return crop if crop is not None and crop.size else None


def snapshots(tracker, label="without_mask"):
    """{file name: PNG bytes} of the clearest crop of each person whose verdict is `label` (see person_snapshot)."""
    images = {}
    for person in tracker.people.values():
        crop = person_snapshot(person)
        if crop is not None and person.verdict(tracker.class_names)[0] == label:
            images[f"person_{person.track_id}.png"] = cv2.imencode(".png", crop)[1].tobytes()
    return images


def people_plot(tracker):
    """PNG bytes of a plot: the people in view over time, one line per label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from facemask.drawing import caption

    seconds = np.arange(len(tracker.in_view)) / tracker.frame_rate
    figure, axes = plt.subplots(figsize=(8, 3))
    for name in tracker.class_names:
        axes.plot(seconds, [counts[name] for counts in tracker.in_view], label=caption(name), drawstyle="steps-post")
    axes.set_xlabel("seconds")
    axes.set_ylabel("people in view")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # 1 person, 2 people: never 1.5
    axes.legend()
    figure.tight_layout()
    data = io.BytesIO()
    figure.savefig(data, format="png")
    plt.close(figure)
    return data.getvalue()
