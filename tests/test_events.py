"""Watching a door: the events of the people in a video, the alerts for those without a mask (a command, a URL, the
bell), and the rules behind them."""
import base64
import json
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest
from conftest import ROOT, face_photo, write_door

from facemask.alerts import alert_due
from facemask.events import EventWatcher
from facemask.tracking import PeopleTracker

NAMES = ["with_mask", "without_mask"]


@pytest.fixture(scope="module")
def door_video(tmp_path_factory):
    return write_door(tmp_path_factory.mktemp("door") / "door.mp4")


def run_video(*args):
    return subprocess.run([sys.executable, str(ROOT / "detect_mask_video.py"), "--no-display", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def by_person(events):
    people = {}
    for event in events:
        if "person" in event:
            people.setdefault(event["person"], []).append(event)
    return people


def read_events(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


class Recorder(BaseHTTPRequestHandler):
    """Keeps each POST's JSON body; answers with the server's `status`."""

    def do_POST(self):
        self.server.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    servers = []

    def start(status):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        server.posts, server.status = [], status
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_events_of_a_door_and_one_alert_per_unmasked_episode(door_video, tmp_path, http_server,
                                                                  monkeypatch):
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # a company proxy: the alert to loopback goes around it
    server = http_server(200)
    # The alert command waits, without holding the video, for the run to go on past the alert: until the events
    # file has the last person's departure, written after every frame. A command that held up the video would
    # wait in vain, be stopped after 30 s and counted as failed.
    alert = tmp_path / "alert.py"
    alert.write_text(f"""import json, os, sys, time
event = json.load(sys.stdin)
for _ in range(600):
    if '"left"' in open({str(tmp_path / 'events.jsonl')!r}).read():
        break
    time.sleep(0.1)
with open({str(tmp_path / 'alerts.jsonl')!r}, "a") as file:
    file.write(json.dumps({{**event, "env_snapshot": os.environ["FACEMASK_SNAPSHOT"],
                            "saw_the_rest": '"left"' in open({str(tmp_path / 'events.jsonl')!r}).read()}}) + "\\n")
""")
    result = run_video("--input", door_video, "--events", tmp_path / "events.jsonl", "--people", tmp_path / "people.json",
                       "--snapshots", tmp_path / "unmasked", "--alert-command", f"{sys.executable} {alert}",
                       "--alert-url", f"http://127.0.0.1:{server.server_port}/alert", "--alert-bell")
    assert result.returncode == 0, result.stderr
    events = read_events(tmp_path / "events.jsonl")
    assert events[0]["event"] == "started" and events[-1]["event"] == "ended"
    frames = [event["frame"] for event in events[1:-1]]
    assert frames == sorted(frames)
    people = by_person(events)
    assert len(people) == 2
    kinds = {person: [(event["event"], event["label"]) for event in their] for person, their in people.items()}
    episode, = [person for person, their in kinds.items() if ("changed", "without_mask") in their]
    other, = set(people) - {episode}
    assert kinds[episode] == [("appeared", "with_mask"), ("settled", "with_mask"), ("changed", "without_mask"),
                              ("changed", "with_mask"), ("left", "without_mask")]
    assert kinds[other] == [("appeared", "with_mask"), ("settled", "with_mask"), ("left", "with_mask")]
    took_off, put_on = people[episode][2], people[episode][3]
    assert 1.5 <= took_off["time"] <= 2.3 and 3.0 <= put_on["time"] <= 3.8  # seconds into the file
    assert took_off["from"] == "with_mask" and took_off["snapshot"] == str(tmp_path / "unmasked" / f"person_{episode}.png")
    assert "snapshot" not in put_on
    # the people file and the summary agree with the events
    rows = {row["person"]: row for row in json.loads((tmp_path / "people.json").read_text())}
    assert {person: their[-1]["label"] for person, their in people.items()} == {p: r["label"] for p, r in rows.items()}
    assert people[episode][-1]["seconds_without_mask"] == rows[episode]["seconds_without_mask"] > 1
    assert events[-1]["people"] == 2 and events[-1]["people_by_label"] == {"with_mask": 1, "without_mask": 1}
    assert "people 2 (1 mask, 1 no mask)" in result.stdout and "alerts 1\n" in result.stdout
    # one alert: the command had the event on its standard input, and the run went on while it waited
    alerted, = read_events(tmp_path / "alerts.jsonl")
    assert alerted["saw_the_rest"] and alerted["person"] == episode and alerted["event"] == "changed"
    assert alerted["env_snapshot"] == took_off["snapshot"] and cv2.imread(alerted["env_snapshot"]) is not None
    post, = server.posts
    assert post["person"] == episode and post["label"] == "without_mask"
    picture = cv2.imdecode(np.frombuffer(base64.b64decode(post["snapshot_jpeg"]), np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape[0] > 50
    assert result.stderr.count("\a") == 1 and f"alert: person {episode}, without_mask, at" in result.stderr


@pytest.mark.parametrize("status", [500, None])
def test_a_server_that_fails_or_is_not_there_costs_the_alert_not_the_video(door_video, tmp_path, http_server,
                                                                          status):
    if status is None:
        server = http_server(200)
        port = server.server_port
        server.shutdown()
        server.server_close()  # nobody answers on this port now
    else:
        server = http_server(status)
        port = server.server_port
    result = run_video("--input", door_video, "--events", tmp_path / "events.jsonl",
                       "--alert-url", f"http://127.0.0.1:{port}/alert")
    assert result.returncode == 0, result.stderr
    assert "alerts 1 (1 not delivered)" in result.stdout
    assert f"not delivered to http://127.0.0.1:{port}/alert: " in result.stderr
    if status is not None:
        assert len(server.posts) == 3  # tried three times
    events = read_events(tmp_path / "events.jsonl")
    assert events[-1]["event"] == "ended" and events[-1]["frames"] == 45


def test_a_failing_alert_command_is_said_in_one_line_and_the_next_alert_still_goes(tmp_path):
    from facemask.alerts import Alerts

    lines = []
    alerts = Alerts(command=f"{sys.executable} -c \"import sys, json; e = json.load(sys.stdin); "
                            f"sys.exit(3 if e['person'] == 1 else 0)\"", report=lines.append)
    for person in (1, 2):
        alerts.consider({"event": "settled", "time": 1.0, "frame": 10, "person": person, "label": "without_mask"},
                        second=1.0)
    alerts.close()
    assert alerts.raised == 2 and alerts.failed == 1
    assert "alert command for person 1 failed with exit 3" in lines


def test_an_alert_is_due_once_per_episode_and_no_more_often_than_asked():
    alerting, last = set(), {}

    def due(kind, label, second, person=1, every=10):
        return alert_due({"event": kind, "person": person, "label": label}, second, alerting, last, every)

    assert not due("appeared", "without_mask", 0)  # not settled yet
    assert due("settled", "without_mask", 0.5)
    assert not due("left", "without_mask", 1)
    assert not due("changed", "mask_weared_incorrect", 2)  # still not masked: the same episode
    assert not due("changed", "with_mask", 3)
    assert not due("changed", "without_mask", 4)  # a new episode, but within 10 s of the last alert
    assert not due("changed", "with_mask", 20)
    assert due("changed", "without_mask", 21)
    assert due("settled", "without_mask", 21, person=2)  # each person their own


def face(x, label, size=80):
    return {"box": [x, 50, x + size, 50 + size], "label": label, "confidence": 0.99, "face_confidence": 0.9}


def test_the_watcher_sees_one_odd_frame_settle_nothing_and_a_person_gone_for_a_second_leave():
    tracker = PeopleTracker(NAMES, frame_rate=10)
    watcher = EventWatcher(tracker, snapshot=lambda person: f"person_{person.track_id}.png")
    frames = [[face(10 + 4 * index, "without_mask" if index == 8 else "with_mask")] for index in range(20)]
    frames += [[] for _ in range(15)]  # gone
    events = []
    decided = [faces for step in frames for faces in tracker.add(step)] + tracker.finish()
    for index, faces in enumerate(decided):
        events += watcher.see(index, faces, index / 10)
    events += watcher.finish()
    assert [(event["event"], event["label"]) for event in events] == [
        ("appeared", "with_mask"), ("settled", "with_mask"), ("left", "with_mask")]
    left = events[-1]
    assert left["frame"] == 19 and left["time"] == 1.9 and "snapshot" not in left  # when last seen


class DroppingStream(BaseHTTPRequestHandler):
    """An MJPEG stream over HTTP, as IP cameras serve: 2 s of a face, then the connection closes and the camera
    answers 503 for 2 s; then it streams again until the test ends."""
    jpeg = cv2.imencode(".jpg", cv2.resize(face_photo(), (320, 376)))[1].tobytes()

    def do_GET(self):
        server = self.server
        if server.dropped_at is not None and time.monotonic() - server.dropped_at < 2:
            self.send_error(503)
            return
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        first = server.dropped_at is None
        for index in range(20 if first else 10 ** 6):
            if server.done.is_set():
                break
            try:
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                                 % len(self.jpeg) + self.jpeg + b"\r\n")
                self.wfile.flush()
            except OSError:  # the reader went away
                break
            time.sleep(0.1)
        if first:
            server.dropped_at = time.monotonic()

    def log_message(self, *args):
        pass


def test_a_stream_that_drops_is_opened_again_and_the_events_show_the_break(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), DroppingStream)
    server.dropped_at, server.done = None, threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    events_file = tmp_path / "events.jsonl"
    command = [sys.executable, str(ROOT / "detect_mask_video.py"), "--no-display", "--input",
               f"http://127.0.0.1:{server.server_port}/video.mjpg", "--events", events_file,
               "--people", tmp_path / "people.csv", "--read-timeout", "3"]  # a stream: reconnecting by default
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(1200):  # until someone appears after the break, or 2 minutes
            time.sleep(0.1)
            if process.poll() is not None:
                break
            kinds = [event["event"] for event in read_events(events_file)] if events_file.exists() else []
            if "stream_back" in kinds and "appeared" in kinds[kinds.index("stream_back"):]:
                break
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        server.done.set()
        server.shutdown()
    assert process.returncode == 130, stderr
    events = read_events(events_file)
    kinds = [event["event"] for event in events]
    lost = kinds.index("stream_lost")
    assert kinds[lost + 1] == "stream_back" and kinds[-1] == "ended"
    # the person in view when it dropped left then; whoever is seen after it is someone new
    before, after = by_person(events[:lost]), by_person(events[lost + 2:])
    assert len(before) == 1 and [event["event"] for event in next(iter(before.values()))][-1] == "left"
    assert after and not set(after) & set(before)
    assert events[lost]["time"] < events[lost + 1]["time"]  # wall-clock times, ISO 8601 in one time zone
    assert "lost: trying again in 1 s" in stderr and "is back after" in stderr
    assert events[-1]["people"] == len(before) + len(after)


@pytest.mark.parametrize("flag, value, message", [
    ("--alert-url", "ftp://example.org/alert", "cannot send alerts to --alert-url ftp://example.org/alert: give an "
                                               "http:// or https:// URL"),
    ("--events", ".", "cannot write --events .: it is a folder")])
def test_alert_and_event_flags_that_cannot_work_are_refused_before_the_video_is_read(tmp_path, flag, value, message):
    result = run_video("--input", tmp_path / "missing.mp4", flag, value)
    assert result.returncode == 2 and result.stderr == f"error: {message}\n"
