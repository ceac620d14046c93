"""What happens to the people in a video, as events: a person appears, their label settles (see
tracking.Person.settled_label), changes, and they leave; a stream drops and comes back; the run starts and ends.
EventWatcher turns the faces the tracker decides, frame by frame, into events; EventLog appends them to a
JSON-lines file, each flushed as it happens, so that another program can follow it.

Each event has "event", "time" (seconds into a video file; for a camera or stream, the wall-clock time the frame
was read, ISO 8601) and "frame"; a person's event also "person" (their number, as in the people file), "label" and
"confidence"; an event of a person not masked, "snapshot" (the path of their picture, when snapshots are written).
"""
import json
from datetime import datetime

from facemask.files import reported_as_user_error

MASKED = "with_mask"
# A person not in view for this long has left. It is as long as the tracker keeps a lost track (ByteTrack's 30
# frames at 30 frames/s), so that no one who left comes back under the same number.
LEAVE_SECONDS = 1.0


def wall_clock(timestamp):
    """A time.time() as ISO 8601 in the machine's time zone, to the millisecond."""
    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="milliseconds")


class EventWatcher:
    """Call see(index, faces, time) with each decided frame, in order, then finish(); each returns the events of
    then. `snapshot(person)`: the path (a str) of the picture of a person (tracking.Person) who is not masked, or
    None."""

    def __init__(self, tracker, snapshot=lambda person: None, leave_seconds=LEAVE_SECONDS):
        self.tracker, self.snapshot = tracker, snapshot
        self.leave_frames = max(1, round(leave_seconds * tracker.frame_rate))
        self.last_seen = {}  # person in view: (frame, time) they were last seen
        self.settled = {}  # person: their label when it last settled

    def see(self, index, faces, time):
        events = []
        for face in faces:
            person = face["track_id"]
            if person is None:
                continue
            if person not in self.last_seen:
                events.append(self.event("appeared", index, time, person, face["person_label"],
                                         face["person_confidence"]))
            self.last_seen[person] = (index, time)
            settled = face["settled_label"]
            if settled is not None and settled != self.settled.get(person):
                kind = "changed" if person in self.settled else "settled"
                events.append(self.event(kind, index, time, person, settled, face["person_confidence"],
                                         **({"from": self.settled[person]} if kind == "changed" else {})))
                self.settled[person] = settled
        events += self.leave([person for person, (last, _) in self.last_seen.items()
                              if index - last >= self.leave_frames])
        return events

    def leave(self, people=None):
        """The people given (default: all in view) have left: their last sight, with their label for the people
        file (tracking.Person.verdict) and how long they were without a mask."""
        events = []
        for person in sorted(self.last_seen if people is None else people):
            index, time = self.last_seen.pop(person)
            label, confidence = self.tracker.people[person].verdict(self.tracker.class_names)
            seconds = round(self.tracker.people[person].unmasked_frames / self.tracker.frame_rate, 3)
            events.append(self.event("left", index, time, person, label, confidence, seconds_without_mask=seconds))
        return events

    def finish(self):
        return self.leave()

    def event(self, kind, index, time, person, label, confidence, **more):
        event = {"event": kind, "time": time, "frame": index, "person": person, "label": label,
                 "confidence": round(float(confidence), 6), **more}
        if label != MASKED:
            event["snapshot"] = self.snapshot(self.tracker.people[person])
        return event


class EventLog:
    """Events appended to a JSON-lines file, a line each, flushed at once: an earlier run's events are kept."""

    def __init__(self, path):
        self.path = path
        with reported_as_user_error(path):
            self.file = open(path, "a", buffering=1)

    def write(self, events):
        for event in events:
            self.file.write(json.dumps(event) + "\n")

    def close(self):
        self.file.close()
