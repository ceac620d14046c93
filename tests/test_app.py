"""The browser demo: its request handler with the shipped model, and the real app driven in headless Chromium."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import ROOT, face_photo, with_drawn_mask, write_door

from facemask.detectors import FACE_DETECTORS
from facemask.pipeline import DEFAULT_DETECTOR, MaskDetector
from facemask.web import MAX_PIXELS, SHOWN_SIZE, annotate, labels_text, make_examples

CHROMIUM = Path(os.environ.get("FACEMASK_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "tests" / "artifacts"
# Without the networking flags Chromium waits on connections to Google's services, which fail here.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RED, GREEN = (255, 0, 0), (0, 255, 0)  # RGB colours of the No Mask and Mask boxes
DEFAULT = FACE_DETECTORS[DEFAULT_DETECTOR](None, None, None).default_confidence  # where the app's slider starts


@pytest.fixture(scope="module")
def detector():
    return MaskDetector()


@pytest.fixture
def two_faces(tmp_path):
    """A photo of two people, the right one masked."""
    path = tmp_path / "two_faces.jpg"
    photo = face_photo()
    cv2.imwrite(str(path), np.hstack([photo, with_drawn_mask(photo)]))
    return path


def test_annotate_draws_lists_and_counts_the_faces(detector, two_faces):
    image, rows, message = annotate(detector, two_faces, DEFAULT)
    assert image.shape == (600, 1024, 3)
    assert sorted(row[1] for row in rows) == ["Mask", "No Mask"]  # most confident first: here both are sure
    assert message == "2 faces: 1 mask, 1 no mask"
    for row in rows:
        x1, y1, _, y2 = map(int, row[3].split(", "))
        assert x1 > 512 if row[1] == "Mask" else x1 < 512  # the masked face is on the right
        assert tuple(image[(y1 + y2) // 2, x1]) == (GREEN if row[1] == "Mask" else RED)  # the box's left edge


def test_annotate_finds_what_detect_mask_image_finds(detector, two_faces):
    script = subprocess.run([sys.executable, str(ROOT / "detect_mask_image.py"), "--image", str(two_faces),
                             "--json", "-"], capture_output=True, text=True, check=True, timeout=300)
    faces = json.loads(script.stdout)[str(two_faces)]
    _, rows, _ = annotate(detector, two_faces, DEFAULT)
    assert [[row[1], row[2], row[3]] for row in rows] == [
        ["Mask" if face["label"] == "with_mask" else "No Mask", f"{face['confidence']:.2%}",
         ", ".join(map(str, face["box"]))] for face in faces]


def test_the_confidence_slider_decides_which_faces_count(two_faces):
    # one detector, whose confidences in the two faces differ (the default's vote makes both 1.0 here)
    detector = MaskDetector(face_detector="mobilenet")
    faces = detector(cv2.imread(str(two_faces)))
    assert len(annotate(detector, two_faces, detector.confidence)[1]) == len(faces) == 2
    # between the two faces' detection confidences, only the surer face counts
    surer, other = sorted(faces, key=lambda face: face["face_confidence"], reverse=True)
    _, rows, message = annotate(detector, two_faces, (surer["face_confidence"] + other["face_confidence"]) / 2)
    assert [row[3] for row in rows] == [", ".join(map(str, surer["box"]))]
    assert message.startswith("1 face: ")


def test_the_example_gallery_shows_one_face_two_faces_and_none(detector, tmp_path):
    results = [annotate(detector, path, DEFAULT) for path in make_examples(tmp_path)]
    assert [message for _, _, message in results] == [
        "1 face: 0 mask, 1 no mask", "2 faces: 1 mask, 1 no mask",
        "No face found. Try a lower face-detector confidence, or a photo where faces are larger."]
    image, rows, _ = results[2]
    assert image.shape == (400, 600, 3) and rows == []  # a photo without faces is still shown


@pytest.mark.parametrize("content", [b"", b"meeting notes\n", b"\xff\xd8\xff\xe0 truncated"])
def test_a_file_that_is_not_an_image_gets_a_message_naming_it(detector, tmp_path, content):
    path = tmp_path / "photo.jpg"
    path.write_bytes(content)
    image, rows, message = annotate(detector, path, DEFAULT)
    assert (image, rows) == (None, [])
    assert message.startswith("Cannot read image photo.jpg: ")  # read_image's reason, without the server's folder
    assert str(tmp_path) not in message


def test_a_very_large_photo_is_annotated_and_shown_smaller(detector, two_faces, tmp_path):
    path = tmp_path / "large.jpg"
    cv2.imwrite(str(path), cv2.resize(cv2.imread(str(two_faces)), (10000, 8000)))
    image, rows, message = annotate(detector, path, DEFAULT)
    assert image.shape == (SHOWN_SIZE * 8 // 10, SHOWN_SIZE, 3)
    assert message == "2 faces: 1 mask, 1 no mask"
    assert max(int(row[3].split(", ")[2]) for row in rows) > 8000  # the boxes are in the photo's own pixels


@pytest.mark.parametrize("size", [(12500, 12100), (20000, 10000)])  # over ours, over Pillow's limit too
def test_a_photo_over_the_pixel_limit_is_refused_before_decoding(detector, tmp_path, size):
    assert size[0] * size[1] > MAX_PIXELS
    path = tmp_path / "panorama.png"
    cv2.imwrite(str(path), np.zeros(size[::-1], np.uint8))
    assert annotate(detector, path, DEFAULT) == (
        None, [], "panorama.png is too large: the demo takes photos of up to 150 megapixels.")


def test_the_page_names_the_classes_of_the_loaded_model(detector):
    assert labels_text(detector.classifier.class_names) == "**Mask** or **No Mask**"  # the shipped model
    assert labels_text(["mask_weared_incorrect", "with_mask", "without_mask"]) == (
        "**Mask below nose**, **Mask** or **No Mask**")


def test_nothing_uploaded_asks_for_a_photo(detector):
    assert annotate(detector, None, DEFAULT) == (None, [], "Upload a photo or take a webcam snapshot.")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Fetches on loopback, whatever proxy the test's own environment names
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """app.py serving on 127.0.0.1, as a user behind a company proxy starts it (every proxy variable points at a
    port where nothing listens, and none says to bypass it); stopped after the tests."""
    yield from serve_app(tmp_path_factory.mktemp("app"))


@pytest.fixture(scope="module")
def live_url(tmp_path_factory):
    """app.py --camera on a video made here: two people crossing, one who takes the mask off for 1.5 s."""
    folder = tmp_path_factory.mktemp("live")
    yield from serve_app(folder, "--camera", write_door(folder / "door.mp4"))


def serve_app(folder, *args):
    pytest.importorskip("gradio", reason="the browser demo's requirements are absent (requirements-app.txt)")
    port = free_port()
    log = (folder / "app.log").open("w")
    environment = {name: value for name, value in os.environ.items() if name.lower() != "no_proxy"}
    closed = f"http://127.0.0.1:{free_port()}"
    environment.update({name: closed for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                                                  "all_proxy", "ALL_PROXY")})
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port),
                               *map(str, args)],
                              cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                              env={**environment, "GRADIO_ANALYTICS_ENABLED": "False"})
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180  # slow when the machine is busy: Gradio's import alone takes seconds
        while True:
            assert server.poll() is None, f"app.py exited:\n{(folder / 'app.log').read_text()}"
            try:
                with DIRECT.open(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "app.py did not serve its page within 180 s"
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_the_app_starts_behind_a_proxy_and_serves_its_page_on_loopback(app_url):
    with DIRECT.open(app_url, timeout=30) as response:
        assert response.status == 200 and "gradio" in response.read().decode().lower()


def write_y4m(path, image):
    """A one-frame Y4M video, which Chromium plays as its fake webcam."""
    height, width = image.shape[:2]
    header = f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\nFRAME\n".encode()
    path.write_bytes(header + cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).tobytes())


@pytest.fixture
def page(tmp_path):
    """A page in Debian's headless Chromium with an empty profile, driven by Playwright; its webcam films Grace
    Hopper's portrait. Requests that leave this machine are listed in page.outside."""
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set FACEMASK_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright is absent (requirements-app-test.txt)")
    write_y4m(tmp_path / "webcam.y4m", face_photo())
    webcam = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={tmp_path / 'webcam.y4m'}"]
    with sync_api.sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        browser = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS + webcam,
            viewport={"width": 1280, "height": 900})
        browser.set_default_timeout(120_000)
        try:
            page = browser.new_page()
            page.outside = []
            page.on("request", lambda request: page.outside.append(request.url)
                    if not request.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
            yield page
        finally:
            browser.close()


def table_rows(page):
    return page.eval_on_selector_all("#faces [role=row][data-index]",
                                     "rows => rows.map(row => row.innerText.split('\\n'))")


def box_pixels(page):
    """How many pixels of the annotated image, as the browser decoded it, have each box colour exactly."""
    return page.eval_on_selector("#annotated img", """img => {
        const canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        const context = canvas.getContext('2d');
        context.drawImage(img, 0, 0);
        const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
        let red = 0, green = 0;
        for (let i = 0; i < data.length; i += 4) {
            if (data[i] === 255 && data[i + 1] === 0 && data[i + 2] === 0) red++;
            if (data[i] === 0 && data[i + 1] === 255 && data[i + 2] === 0) green++;
        }
        return {size: [img.naturalWidth, img.naturalHeight], red, green};
    }""")


def wait_for_summary(page, text):
    page.wait_for_function("text => document.querySelector('#summary').innerText.includes(text)", arg=text)


def test_the_page_annotates_an_uploaded_photo_in_a_real_browser(app_url, page, two_faces, tmp_path):
    page.goto(app_url)
    upload = page.locator("#photo input[type=file]")

    (tmp_path / "broken.jpg").write_text("meeting notes\n")
    upload.set_input_files(tmp_path / "broken.jpg")  # looks like a photo, reaches the server
    wait_for_summary(page, "Cannot read image broken.jpg: ")
    assert table_rows(page) == []

    upload.set_input_files(two_faces)  # the app still serves
    wait_for_summary(page, "2 faces: 1 mask, 1 no mask")
    page.wait_for_function("() => document.querySelector('#annotated img')?.complete")
    rows = table_rows(page)
    assert [row[0] for row in rows] == ["1", "2"] and sorted(row[1] for row in rows) == ["Mask", "No Mask"]
    assert all(row[2].endswith("%") and len(row[3].split(", ")) == 4 for row in rows)
    pixels = box_pixels(page)
    assert pixels["size"] == [1024, 600]
    assert pixels["red"] > 300 and pixels["green"] > 300, pixels
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_function("() => !document.querySelector('.pending')")  # Gradio fades outputs while it works
    page.screenshot(path=ARTIFACTS / "app.png", full_page=True)

    (tmp_path / "notes.txt").write_text("meeting notes\n")
    upload.set_input_files(tmp_path / "notes.txt")  # turned away by the page itself
    page.get_by_text("Invalid file type: notes.txt").wait_for()

    slider_box = page.get_by_label("number input for Face-detector confidence")
    page.locator("#detector input").click()  # another face detector: the photo again, at its own default
    page.get_by_role("option", name="blazeface", exact=True).click()
    from playwright.sync_api import expect  # the page fixture has found Playwright

    expect(slider_box).to_have_value("0.5")  # waits for the change
    wait_for_summary(page, "2 faces: 1 mask, 1 no mask")
    slider_box.fill("0.88")  # between BlazeFace's confidences in the two faces: about 0.93 bare, 0.83 masked
    wait_for_summary(page, "1 face: 0 mask, 1 no mask")

    page.locator("button.gallery-item").nth(2).click()  # the example without a face
    wait_for_summary(page, "No face found.")
    assert table_rows(page) == []
    assert page.outside == []


def test_the_page_annotates_a_webcam_snapshot_in_a_real_browser(app_url, page):
    page.goto(app_url)
    page.get_by_label("Capture from camera").click()
    page.get_by_text("Click to Access Webcam").click()
    page.get_by_label("capture photo").click()
    wait_for_summary(page, "1 face: 0 mask, 1 no mask")
    assert [row[1] for row in table_rows(page)] == ["No Mask"]
    assert page.outside == []


def test_the_live_page_shows_the_people_their_counts_and_the_one_without_a_mask(live_url, page):
    page.goto(live_url)  # a video file starts when its page is first opened, and plays at its own pace
    # at its last frame both people are in view, masked; one of them had taken the mask off
    page.wait_for_function("() => document.querySelector('#counts')?.innerText.includes('has ended')",
                           timeout=120_000)
    counts = page.locator("#counts").inner_text()
    assert "In view: 2 (2 mask, 0 no mask)" in counts and "Since the start: 2 (1 mask, 1 no mask)" in counts
    captions = page.eval_on_selector_all("#unmasked img", "images => images.map(image => image.alt)")
    pictures = page.eval_on_selector_all("#unmasked img", "images => images.map(image => image.naturalWidth)")
    assert len(pictures) == 1 and pictures[0] > 50, (captions, pictures)
    assert page.locator("#unmasked").inner_text().count("No Mask, 1.") == 1  # when: seconds into the file
    assert page.eval_on_selector("#live img", "image => image.naturalWidth") == 640
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "live.png", full_page=True)
    assert page.outside == []


def test_the_live_view_counts_people_in_view_and_keeps_the_last_without_a_mask():
    from facemask.live import SHOWN_PEOPLE, LiveView
    from facemask.tracking import PeopleTracker

    names = ["with_mask", "without_mask"]
    tracker = PeopleTracker(names, frame_rate=10, keep_snapshots=True)
    frame = np.full((200, 300, 3), 90, np.uint8)
    for index in range(4):
        tracker.add([{"box": [10, 10, 90, 90], "label": "without_mask", "confidence": 0.99, "face_confidence": 0.9}],
                    frame)
    faces = tracker.finish()[-1]
    view = LiveView("camera 0", names)
    for person in range(1, SHOWN_PEOPLE + 3):
        tracker.people[person] = tracker.people[1]
        view.on_frame(frame, faces, [{"event": "settled", "time": f"2026-12-06T10:00:{person:02d}.000+00:00",
                                      "person": person, "label": "without_mask"}], tracker)
    shown, counts, people = view.state()
    assert shown.shape == (200, 300, 3) and "In view: 1 (0 mask, 1 no mask)" in counts
    assert [caption for _, caption in people][:2] == [f"#{SHOWN_PEOPLE + 2} No Mask, 10:00:{SHOWN_PEOPLE + 2:02d}",
                                                      f"#{SHOWN_PEOPLE + 1} No Mask, 10:00:{SHOWN_PEOPLE + 1:02d}"]
    assert len(people) == SHOWN_PEOPLE  # the oldest gone
