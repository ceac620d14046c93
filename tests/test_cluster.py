"""Annotating an archive with Ray: on this machine, and on a real two-node cluster on loopback (two `ray start`
processes, as two machines would run them), one of which is killed in the middle of a run."""
import json
import shutil
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from conftest import ROOT, face_photo, with_drawn_mask

pytest.importorskip("ray", reason="the cluster's requirements are absent (requirements-cluster.txt)")
sys.path.insert(0, str(ROOT / "benchmarks"))
from loopback_cluster import free_port, loopback_cluster  # noqa: E402


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A folder of photos (masked and not, in two sub-folders), a damaged photo, a short video and a damaged one."""
    folder = tmp_path_factory.mktemp("archive")
    rng = np.random.default_rng(0)
    for index, photo in enumerate([face_photo(), with_drawn_mask(face_photo())] * 12):
        scale = rng.uniform(0.35, 0.6)
        small = cv2.resize(photo, None, fx=scale, fy=scale)
        (folder / ("street" if index % 2 else "door")).mkdir(exist_ok=True)
        cv2.imwrite(str(folder / ("street" if index % 2 else "door") / f"photo{index:02}.jpg"), small)
    (folder / "door" / "damaged.jpg").write_bytes(b"\xff\xd8\xff not a whole jpeg")
    (folder / "street" / "damaged.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 and then nothing")
    writer = cv2.VideoWriter(str(folder / "walk.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (480, 320))
    photo = cv2.resize(face_photo(), (160, 188))
    for index in range(20):
        frame = np.full((320, 480, 3), 90, np.uint8)
        frame[60:248, 10 + 8 * index:170 + 8 * index] = photo
        writer.write(frame)
    writer.release()
    return folder


def annotate(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, str(ROOT / "annotate_archive.py"), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def sorted_records(output):
    return sorted((output / "results.jsonl").read_text().splitlines())


@pytest.fixture(scope="module")
def one_machine_run(archive, tmp_path_factory):
    """The archive annotated with Ray started on this machine: the reference for the other runs."""
    output = tmp_path_factory.mktemp("embedded") / "out"
    result = annotate("--input", archive, "--output", output)
    assert result.returncode == 0, result.stderr
    return output, result


def test_on_this_machine_it_gives_what_the_detection_scripts_give(archive, one_machine_run, tmp_path):
    output, result = one_machine_run
    records = {json.loads(line)["path"]: json.loads(line) for line in sorted_records(output)}
    assert len(records) == 27  # 24 photos, a damaged one, a video, a damaged one
    assert "27 files: 24 photos, 1 video (20 frames), 2 not read" in result.stdout
    # nothing of Ray's to frighten a user for nothing: its harmless error-level line, its warning that bars are off
    assert "core_worker" not in result.stderr and "Progress bars disabled" not in result.stderr, result.stderr
    assert "Annotating: 100%" in result.stderr  # the command's own bar still shows
    assert "damaged.jpg" in records[str(archive / "door" / "damaged.jpg")]["error"]
    assert "damaged.mp4" in records[str(archive / "street" / "damaged.mp4")]["error"]
    # the photos: what detect_mask_image.py --workers 2 reports, face for face
    report = tmp_path / "report.json"
    photos = subprocess.run([sys.executable, str(ROOT / "detect_mask_image.py"), "--image", str(archive),
                             "--workers", "2", "--json", str(report)], capture_output=True, text=True, timeout=600)
    assert photos.returncode == 0, photos.stderr
    expected = json.loads(report.read_text())
    assert {path: record["faces"] for path, record in records.items() if "faces" in record
            and "frames" not in record} == expected
    assert sum(face["label"] == "with_mask" for faces in expected.values() for face in faces) >= 10
    # the video: what detect_mask_video.py --json-lines writes, line for line
    lines = tmp_path / "walk.jsonl"
    video = subprocess.run([sys.executable, str(ROOT / "detect_mask_video.py"), "--input", str(archive / "walk.mp4"),
                            "--no-display", "--json-lines", str(lines)], capture_output=True, text=True, timeout=600)
    assert video.returncode == 0, video.stderr
    walk = records[str(archive / "walk.mp4")]
    assert (output / walk["frames_file"]).read_text() == lines.read_text()
    assert walk["frames"] == 20 and walk["people"] == 1


def test_a_run_stopped_half_way_resumes_and_writes_each_file_once(archive, one_machine_run, tmp_path):
    reference, _ = one_machine_run
    output = tmp_path / "out"
    run = subprocess.Popen([sys.executable, str(ROOT / "annotate_archive.py"), "--input", str(archive), "--output",
                            str(output)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = output / "results.jsonl"
    deadline = time.monotonic() + 300
    while not (results.exists() and len(results.read_text().splitlines()) >= 4):
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.1)
    run.send_signal(signal.SIGINT)  # Ctrl-C
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 130 and "run the same command to go on" in stderr, stderr
    done = len(results.read_text().splitlines())
    assert 4 <= done < 27
    again = annotate("--input", archive, "--output", output)
    assert again.returncode == 0, again.stderr
    assert sorted_records(output) == sorted_records(reference)


def test_a_run_cut_off_in_a_line_resumes_and_writes_each_file_once(archive, one_machine_run, tmp_path):
    reference, _ = one_machine_run
    output = tmp_path / "out"
    output.mkdir()
    lines = (reference / "results.jsonl").read_bytes().splitlines(keepends=True)
    (output / "results.jsonl").write_bytes(b"".join(lines[:10]) + lines[10][:25])  # killed while writing a line
    result = annotate("--input", archive, "--output", output)
    assert result.returncode == 0, result.stderr
    assert sorted_records(output) == sorted_records(reference)
    again = annotate("--input", archive, "--output", output)  # nothing left to do
    assert again.returncode == 0 and "27 files" in again.stdout
    assert sorted_records(output) == sorted_records(reference)


@pytest.fixture
def cluster():
    with loopback_cluster() as started:
        yield started


def test_a_cluster_of_two_nodes_survives_losing_one(archive, one_machine_run, cluster, tmp_path):
    # more photos than the archive's, so that the run is still going when the second node dies
    big = tmp_path / "big"
    shutil.copytree(archive, big / "first")
    shutil.copytree(archive, big / "second")
    output = tmp_path / "out"
    run = subprocess.Popen([sys.executable, str(ROOT / "annotate_archive.py"), "--input", str(big), "--output",
                            str(output), "--cluster", cluster["address"]], env=cluster["env"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = output / "results.jsonl"
    deadline = time.monotonic() + 300
    # both nodes at work, and some results written
    while not (results.exists() and len(results.read_text().splitlines()) >= 6
               and list(cluster["second_folder"].rglob("python-core-worker-*"))):
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "no results from the cluster, or the second node ran no worker"
        time.sleep(0.2)
    assert run.poll() is None, "the run ended before the second node could be stopped"
    cluster["stop_second_node"]()  # the second machine dies
    stdout, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stderr
    paths = [json.loads(line)["path"] for line in sorted_records(output)]
    assert len(paths) == len(set(paths)) == 54  # every file once
    # what one machine makes of the same archive, byte for byte
    one_machine = annotate("--input", big, "--output", tmp_path / "one")
    assert one_machine.returncode == 0, one_machine.stderr
    assert sorted_records(output) == sorted_records(tmp_path / "one")
    for copy in ("first", "second"):
        frames = f"frames/{copy}/walk.mp4.jsonl"
        assert (output / frames).read_bytes() == (tmp_path / "one" / frames).read_bytes()


def test_an_address_nobody_listens_at_is_a_one_line_error(archive, tmp_path):
    result = annotate("--input", archive, "--output", tmp_path / "out", "--cluster", f"127.0.0.1:{free_port()}",
                      timeout=120)
    assert result.returncode == 2 and "cannot reach the Ray cluster at 127.0.0.1:" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_a_cluster_without_a_free_cpu_is_an_error_not_a_wait_for_ever(archive, tmp_path):
    with loopback_cluster(cpus=(0,)) as cluster:
        result = annotate("--input", archive, "--output", tmp_path / "out", "--cluster", cluster["address"],
                          "--worker-timeout", "5", env=cluster["env"], timeout=300)
    assert result.returncode == 2 and "no Ray worker started in 5 s" in result.stderr
    assert not (tmp_path / "out").exists()  # nothing left behind


def test_an_output_folder_whose_results_are_not_this_scripts_is_refused(archive, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.jsonl").write_text('{"path": "a.jpg", "faces": []}\nsomething else\n')
    result = annotate("--input", archive, "--output", tmp_path / "out", timeout=120)
    assert result.returncode == 2 and "results.jsonl, line 2: not a record of this script" in result.stderr
    assert result.stderr.strip().count("\n") == 0


@pytest.mark.parametrize("args, message", [(["--cluster", "nowhere"], "expected HOST:PORT"),
                                           (["--input", "/no/such/folder"], "input not found: /no/such/folder")])
def test_bad_flags_are_one_line_errors(archive, tmp_path, args, message):
    result = annotate("--input", archive, "--output", tmp_path / "out", *args, timeout=120)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
