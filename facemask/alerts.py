"""Alerts for people without a mask: one for each person whose label settles on not masked (again only after they
put the mask on and take it off again, and no more often than once in `every` seconds), sent to a program of the
user's, to a URL, or to the terminal's bell. Sending never holds up the video: each alert goes in a thread of its
own, and a slow or failing one is reported in one line.
"""
import base64
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm

from facemask import UserError
from facemask.events import MASKED

ALERT_EVERY = 30.0  # seconds: the least time between two alerts for the same person
COMMAND_TIMEOUT = 30.0  # seconds an alert command may run before it is stopped
URL_TIMEOUT = 5.0  # seconds for an answer from --alert-url
URL_ATTEMPTS = 3  # tries of a POST that fails for want of a server or with a server error, 1 s then 2 s apart
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SNAPSHOT_VARIABLE = "FACEMASK_SNAPSHOT"  # the alert command's environment: the path of the person's picture


def check_alert_url(url):
    """UserError unless `url` (None: none) is an http:// or https:// URL with a host."""
    if url is not None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UserError(f"cannot send alerts to --alert-url {url}: give an http:// or https:// URL")


def alert_due(event, second, alerting, last_alert, every):
    """Whether `event`, `second` seconds into the run, alerts: a person's label settling on, or changing to, not masked, for the first time since
    it was last masked, and `every` seconds or more after the person's last alert. `alerting` (the people whose
    label is not masked) and `last_alert` ({person: second of their last alert}) are updated."""
    if event["event"] not in ("settled", "changed"):
        return False
    person = event["person"]
    if event["label"] == MASKED:
        alerting.discard(person)
        return False
    if person in alerting:  # from one label without a mask to another: the same episode
        return False
    alerting.add(person)
    if person in last_alert and second - last_alert[person] < every:
        return False
    last_alert[person] = second
    return True


class Alerts:
    """Send an alert for each event that is due (see alert_due): `command` (a shell command line, the event as JSON
    on its standard input and the picture's path in FACEMASK_SNAPSHOT), `url` (an HTTP POST of the event as JSON,
    with the picture as base64 JPEG in "snapshot_jpeg"), and `bell`. Call close() at the end: it waits for the
    alerts still being sent."""

    def __init__(self, command=None, url=None, bell=False, every=ALERT_EVERY, report=None):
        self.command, self.url, self.bell, self.every = command, url, bell, every
        self.report = report or (lambda line: tqdm.write(line, file=sys.stderr))  # on a line of its own
        self.pool = ThreadPoolExecutor(4, thread_name_prefix="alert")
        self.alerting, self.last_alert = set(), {}
        self.lock = threading.Lock()
        self.raised = self.failed = 0  # alerts, and their deliveries (by command, URL) that failed

    def __bool__(self):
        return bool(self.command or self.url or self.bell)

    def consider(self, event, second, jpeg=lambda: None):
        """Alert for `event`, `second` seconds into the run, if it is due; `jpeg()`: the person's picture (JPEG
        bytes or None), asked for only when an alert goes to a URL."""
        if not alert_due(event, second, self.alerting, self.last_alert, self.every):
            return False
        self.raised += 1
        at = f"{event['time']} s" if isinstance(event["time"], (int, float)) else event["time"]
        self.report(f"alert: person {event['person']}, {event['label']}, at {at}")
        if self.bell:
            print("\a", end="", file=sys.stderr, flush=True)
        if self.command:
            self.pool.submit(self._run_command, event)
        if self.url:
            self.pool.submit(self._post, event, jpeg())
        return True

    def _failed(self, problem):
        with self.lock:
            self.failed += 1
        self.report(problem)

    def _run_command(self, event):
        environment = {**os.environ, SNAPSHOT_VARIABLE: event.get("snapshot") or ""}
        try:
            result = subprocess.run(self.command, shell=True, input=json.dumps(event).encode(), env=environment,
                                    capture_output=True, timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            return self._failed(f"alert command for person {event['person']} still running after "
                                f"{COMMAND_TIMEOUT:g} s: stopped")
        if result.returncode != 0:
            said = result.stderr.decode(errors="replace").strip().splitlines()
            return self._failed(f"alert command for person {event['person']} failed with exit "
                                f"{result.returncode}" + (f": {said[-1]}" if said else ""))

    def _post(self, event, jpeg):
        body = json.dumps({**event, "snapshot_jpeg": base64.b64encode(jpeg).decode() if jpeg else None}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"}, method="POST")
        # a proxy is for the world: this machine's own addresses are reached directly
        direct = urllib.parse.urlsplit(self.url).hostname in LOOPBACK
        opener = urllib.request.build_opener(*([urllib.request.ProxyHandler({})] if direct else []))
        problem = None
        for attempt in range(URL_ATTEMPTS):
            if attempt:
                time.sleep(attempt)
            try:
                with opener.open(request, timeout=URL_TIMEOUT):
                    return
            except urllib.error.HTTPError as error:
                problem = f"HTTP {error.code} {error.reason}"
                if error.code < 500:  # the server refuses it: asking again would not change its mind
                    break
            except (urllib.error.URLError, OSError) as error:
                problem = str(getattr(error, "reason", error))
        self._failed(f"alert for person {event['person']} not delivered to {self.url}: {problem}")

    def close(self, timeout=COMMAND_TIMEOUT + 5):
        """Wait for the alerts being sent, at most about `timeout` seconds."""
        done = threading.Event()
        threading.Thread(target=lambda: (self.pool.shutdown(wait=True), done.set()), daemon=True).start()
        done.wait(timeout)
