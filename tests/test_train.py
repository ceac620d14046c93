"""Real training runs on tiny data made in the test (random base weights, so no download and no ../shared); most
with --recipe tutorial, the quick one, as the shipped recipe fine-tunes the base on images."""
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile

import h5py
import numpy as np
import pytest
from conftest import IMAGENET_WEIGHTS, ROOT

from facemask import UserError
from facemask.files import staged_outputs
from facemask.training.classifier import TrainingOptions, train

SCRIPT = str(ROOT / "train_mask_detector.py")


def run_script(*args, env=None):
    return subprocess.run([sys.executable, SCRIPT, *map(str, args)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from conftest import face_photo, make_dataset, with_drawn_mask

    folder = tmp_path_factory.mktemp("train")
    photo = face_photo()
    dataset = make_dataset(folder / "dataset", {"with_mask": with_drawn_mask(photo), "without_mask": photo})
    output = folder / "models"
    metadata = train(TrainingOptions(dataset=dataset, output=output, recipe="tutorial", base_weights="none",
                                     epochs=2, views=1, val_split=0.5))
    return output, metadata


def test_training_writes_every_output(trained):
    import keras

    output, metadata = trained
    assert keras.models.load_model(output / "mask_detector.keras").get_layer("pool").output.shape == (None, 1, 1, 1280)
    names = {path.name for path in output.iterdir()}
    assert names == {"mask_detector.keras", "mask_detector.tflite", "mask_detector.labels.txt", "plot.png",
                     "confusion_matrix.png", "classification_report.json", "training_metadata.json"}
    assert (output / "mask_detector.labels.txt").read_text().split() == ["with_mask", "without_mask"]
    report = json.loads((output / "classification_report.json").read_text())
    assert set(report["with_mask"]) >= {"precision", "recall", "f1-score"}
    assert 0 <= report["accuracy"] <= 1
    saved = json.loads((output / "training_metadata.json").read_text())
    assert saved["images"] == {"with_mask": 6, "without_mask": 6}
    assert saved["train_images"] + saved["val_images"] == 12
    assert set(saved["versions"]) >= {"tensorflow", "keras", "opencv"}
    assert saved == metadata
    options = saved["options"]  # numbers as numbers, flags as booleans, paths as strings
    assert options["epochs"] == 2 and options["val_split"] == 0.5 and options["lr"] == 1e-4
    assert options["resume"] is False and options["checkpoint_dir"] is None and options["base_weights"] == "none"
    assert options["output"] == str(output)
    assert options["recipe"] == "tutorial" and (options["grid"], options["align_faces"], options["fine_tune"]) == (
        1, False, 0)


def test_saved_model_and_tflite_copy_agree(trained):
    import keras

    from facemask.runtime import TFLiteRunner

    output, _ = trained
    model = keras.models.load_model(output / "mask_detector.keras")
    faces = np.random.default_rng(0).integers(0, 256, size=(3, 224, 224, 3)).astype(np.float32)
    probabilities = model.predict(faces, verbose=0)
    assert probabilities.shape == (3, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(TFLiteRunner(model_path=str(output / "mask_detector.tflite"))(faces), probabilities,
                               atol=1e-4)


def optimizer_variables(keras_path):
    """The names of the optimizer variables saved in a .keras file."""
    with zipfile.ZipFile(keras_path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as weights:
        names = []
        weights.visit(names.append)
    return [name for name in names if "optimizer" in name]


def test_the_saved_model_holds_no_optimizer_state(trained):
    output, _ = trained
    assert optimizer_variables(output / "mask_detector.keras") == []


def test_export_writes_the_tflite_copy_beside_a_keras_model(trained, tmp_path):
    from facemask.runtime import TFLiteRunner

    output, _ = trained
    shutil.copy(output / "mask_detector.keras", tmp_path / "exported.keras")
    result = run_script("--export", tmp_path / "exported.keras")
    assert result.returncode == 0, result.stderr
    faces = np.random.default_rng(1).integers(0, 256, size=(2, 224, 224, 3)).astype(np.float32)
    np.testing.assert_allclose(TFLiteRunner(model_path=str(tmp_path / "exported.tflite"))(faces),
                               TFLiteRunner(model_path=str(output / "mask_detector.tflite"))(faces), atol=1e-5)


def test_three_classes_a_3x3_grid_and_fine_tuning_from_the_command_line(mask_dataset, tmp_path):
    import keras

    shutil.copytree(mask_dataset / "with_mask", mask_dataset / "mask_on_chin")
    (tmp_path / "mask_detector.keras").write_bytes(b"an older model, replaced as --force asks")
    result = run_script("--dataset", mask_dataset, "--output", tmp_path, "--base-weights", "none", "--epochs", 1,
                        "--views", 1, "--val-split", 0.5, "--fine-tune", 10, "--fine-tune-epochs", 1,
                        "--align-faces", "--grid", 3, "--force")
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout
    assert "found the face in 18 images; 0 are used whole" in result.stdout
    model = keras.models.load_model(tmp_path / "mask_detector.keras")
    assert model.output_shape == (None, 3)  # the older model replaced
    assert model.get_layer("pool").output.shape == (None, 3, 3, 1280)  # --grid 3
    assert (tmp_path / "mask_detector.labels.txt").read_text().split() == ["mask_on_chin", "with_mask", "without_mask"]
    metadata = json.loads((tmp_path / "training_metadata.json").read_text())
    assert metadata["epochs_run"] == 2  # 1 head + 1 fine-tune
    assert metadata["options"]["recipe"] == "shipped" and metadata["options"]["fine_tune"] == 10  # the flag counts
    assert optimizer_variables(tmp_path / "mask_detector.keras") == []


def test_the_default_recipe_is_the_shipped_models_and_the_tutorials_is_one_flag_away(tmp_path):
    card = (ROOT / "models" / "README.md").read_text()
    assert "--grid 3 --align-faces --fine-tune 60" in card  # the shipped model's training command
    shipped = TrainingOptions(dataset=tmp_path)
    assert (shipped.recipe, shipped.grid, shipped.align_faces, shipped.fine_tune) == ("shipped", 3, True, 60)
    tutorial = TrainingOptions(dataset=tmp_path, recipe="tutorial")
    assert (tutorial.grid, tutorial.align_faces, tutorial.fine_tune) == (1, False, 0)
    mixed = TrainingOptions(dataset=tmp_path, recipe="tutorial", grid=3, fine_tune=30)
    assert (mixed.grid, mixed.align_faces, mixed.fine_tune) == (3, False, 30)
    assert TrainingOptions(dataset=tmp_path, align_faces=False).align_faces is False
    with pytest.raises(ValueError, match="shipped, tutorial"):
        TrainingOptions(dataset=tmp_path, recipe="mine")


@pytest.mark.parametrize("problem,message", [("one class", "at least 2 class folders"), ("missing", "not found")])
def test_dataset_mistakes_exit_2_with_one_line(mask_dataset, tmp_path, problem, message):
    if problem == "one class":
        shutil.rmtree(mask_dataset / "without_mask")
    dataset = mask_dataset if problem == "one class" else tmp_path / "missing"
    result = run_script("--dataset", dataset, "--output", tmp_path / "models")
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "models").exists()


def test_an_output_folder_that_cannot_be_made_is_reported_before_training(mask_dataset, tmp_path):
    (tmp_path / "models").write_text("a file where the folder should be")
    result = run_script("--dataset", mask_dataset, "--output", tmp_path / "models")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: cannot write")  # after the loading bar
    assert "Traceback" not in result.stderr and "Epoch" not in result.stdout


def test_training_offline_starts_from_the_shipped_imagenet_weights(mask_dataset, tmp_path):
    # An empty Keras cache, and https_proxy at a closed local port: a download fails as on a machine without
    # internet (Keras downloads through urllib, which honours it)
    offline = {"https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
               "KERAS_HOME": str(tmp_path / "keras_home")}
    result = run_script("--dataset", mask_dataset, "--output", tmp_path / "models", "--recipe", "tutorial",
                        "--epochs", 1, env=offline)
    assert result.returncode == 0, result.stderr[-2000:]
    import keras

    model = keras.saving.load_model(tmp_path / "models" / "mask_detector.keras")
    base = next(layer for layer in model.layers if isinstance(layer, keras.Model) and layer.name != "head")
    with h5py.File(IMAGENET_WEIGHTS) as weights:  # the tutorial recipe keeps the base frozen
        stored = weights["Conv1"]["Conv1"]["kernel:0"][()]
    np.testing.assert_array_equal(base.get_layer("Conv1").kernel.numpy(), stored)


def test_the_shipped_imagenet_weights_are_the_file_their_readme_names():
    readme = (IMAGENET_WEIGHTS.parent / "README.md").read_text()
    digest = hashlib.sha256(IMAGENET_WEIGHTS.read_bytes()).hexdigest()
    assert IMAGENET_WEIGHTS.name in readme and digest in readme.replace("\n", "")
    assert (IMAGENET_WEIGHTS.parent / "LICENSE").read_text().lstrip().startswith("Apache License")


def test_a_base_weights_file_that_is_not_mobilenet(mask_dataset, tmp_path):
    wrong = tmp_path / "wrong.h5"
    wrong.write_bytes(b"not weights")
    with pytest.raises(UserError, match="wrong.h5"):
        train(TrainingOptions(dataset=mask_dataset, output=tmp_path / "models", base_weights=str(wrong)))


def test_local_imagenet_weights_are_loaded():
    from facemask.training.model import load_base

    base = load_base(str(IMAGENET_WEIGHTS))
    with h5py.File(IMAGENET_WEIGHTS) as weights:
        stored = weights["Conv1"]["Conv1"]["kernel:0"][()]
    np.testing.assert_array_equal(base.get_layer("Conv1").kernel.numpy(), stored)


@pytest.mark.parametrize("output", ["default", "named"])
def test_a_folder_that_holds_a_model_is_refused_without_force(mask_dataset, tmp_path, output):
    folder = tmp_path / "mask_detector_model"  # the default --output, in the folder the command runs in
    folder.mkdir()
    (folder / "mask_detector.keras").write_bytes(b"the good model")
    (folder / "plot.png").write_bytes(b"its curves")
    args = ["--output", folder] if output == "named" else []
    result = subprocess.run([sys.executable, SCRIPT, "--dataset", mask_dataset, *args, "--base-weights", "none"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    shown = folder if output == "named" else "mask_detector_model"
    assert result.returncode == 2
    # one line, so before the images' loading bar
    assert result.stderr == (f"error: --output {shown} already holds a model (mask_detector.keras): pass --force to "
                             f"replace it, or choose another --output\n")
    assert result.stdout == ""
    assert sorted(path.name for path in folder.iterdir()) == ["mask_detector.keras", "plot.png"]
    assert (folder / "mask_detector.keras").read_bytes() == b"the good model"


def test_ctrl_c_leaves_the_old_model_in_place(mask_dataset, tmp_path):
    output = tmp_path / "models"
    output.mkdir()
    good_model = output / "mask_detector.keras"
    good_model.write_bytes(b"the good model")
    process = subprocess.Popen([sys.executable, SCRIPT, "--dataset", str(mask_dataset), "--output", str(output),
                                "--base-weights", "none", "--recipe", "tutorial", "--force"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"},
                               # Ctrl-C as in a terminal: pytest run in the background of a script inherits
                               # SIGINT ignored, and so would the run, which would then never be interrupted
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in process.stdout:
        if "for training" in line:  # images loaded; now the model is built and trained
            process.send_signal(signal.SIGINT)
            break
    process.wait(timeout=300)
    assert process.returncode == 130
    assert good_model.read_bytes() == b"the good model"
    assert [path.name for path in output.iterdir()] == ["mask_detector.keras"]


def test_a_failure_while_writing_keeps_the_old_files(tmp_path):
    (tmp_path / "mask_detector.keras").write_text("good")
    with pytest.raises(RuntimeError):
        with staged_outputs(tmp_path) as staging:
            (staging / "mask_detector.keras").write_text("half")
            raise RuntimeError("disk full")
    assert (tmp_path / "mask_detector.keras").read_text() == "good"
    assert [path.name for path in tmp_path.iterdir()] == ["mask_detector.keras"]


def test_a_run_killed_mid_training_resumes_from_its_last_epoch(mask_dataset, tmp_path):
    output, checkpoints = tmp_path / "models", tmp_path / "checkpoints"
    output.mkdir()
    good_model = output / "mask_detector.keras"
    good_model.write_bytes(b"the good model")
    command = [sys.executable, SCRIPT, "--dataset", str(mask_dataset), "--output", str(output), "--base-weights",
               "none", "--recipe", "tutorial", "--epochs", "300", "--patience", "300", "--checkpoint-dir",
               str(checkpoints), "--force"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        state = checkpoints / "head.json"
        while process.poll() is None and not (state.is_file() and len(json.loads(state.read_text())["history"]
                                                                      ["loss"]) >= 3):
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=300)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    epochs_done = len(json.loads(state.read_text())["history"]["loss"])
    assert good_model.read_bytes() == b"the good model"

    resumed = run_script(*command[2:], "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "using the features saved in" in resumed.stdout
    assert f"head: resuming after epoch {epochs_done}" in resumed.stdout
    assert f"Epoch {epochs_done}/300" not in resumed.stdout and f"Epoch {epochs_done + 1}/300" in resumed.stdout
    metadata = json.loads((output / "training_metadata.json").read_text())
    assert metadata["epochs_run"] == 300  # the epochs of both runs, once each
    assert not checkpoints.exists()  # the run is complete

    from conftest import face_photo

    from facemask.images import prepare_face
    from facemask.runtime import Classifier

    probabilities = Classifier(good_model)(np.array([prepare_face(face_photo(), 224)]))
    assert probabilities.shape == (1, 2) and np.isclose(probabilities.sum(), 1, atol=1e-4)


def test_resuming_with_other_options_is_refused(mask_dataset, tmp_path):
    checkpoints = tmp_path / "checkpoints"
    args = ["--dataset", mask_dataset, "--output", tmp_path / "models", "--base-weights", "none", "--recipe",
            "tutorial", "--epochs", 1, "--checkpoint-dir", checkpoints]
    checkpoints.mkdir()
    (checkpoints / "run.json").write_text(json.dumps({"seed": 7}))
    result = run_script(*args, "--resume")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: the checkpoint in {checkpoints} is of a run "
                                                             "with other")
    assert not (tmp_path / "models" / "mask_detector.keras").exists()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_workers_train_together_and_only_the_chief_writes(mask_dataset, tmp_path):
    workers = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        processes.append(subprocess.Popen(
            [sys.executable, SCRIPT, "--dataset", str(mask_dataset), "--output", str(tmp_path / f"models-{index}"),
             "--base-weights", "none", "--recipe", "tutorial", "--epochs", "3", "--strategy", "multiworker"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "TF_CONFIG": json.dumps(tf_config)}))
    try:
        outputs = [process.communicate(timeout=600)[0] for process in processes]
    finally:
        for process in processes:
            process.kill()
    assert [process.returncode for process in processes] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    # the workers ran every epoch in step, one all-reduce of gradients per batch
    assert [output.count("Epoch 3/3") for output in outputs] == [1, 1]
    assert "the chief worker writes the model" in outputs[1]
    assert not (tmp_path / "models-1").exists()  # the other worker writes nothing, not even its folder

    from conftest import face_photo

    from facemask.images import prepare_face
    from facemask.runtime import Classifier

    for model in ("mask_detector.keras", "mask_detector.tflite"):
        probabilities = Classifier(tmp_path / "models-0" / model)(np.array([prepare_face(face_photo(), 224)]))
        assert probabilities.shape == (1, 2) and np.isclose(probabilities.sum(), 1, atol=1e-4)


def test_multiworker_without_tf_config_says_what_is_missing(mask_dataset, tmp_path):
    environment = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    result = subprocess.run([sys.executable, SCRIPT, "--dataset", str(mask_dataset), "--output", str(tmp_path),
                             "--base-weights", "none", "--recipe", "tutorial", "--strategy", "multiworker"],
                            capture_output=True, text=True, timeout=600, env=environment)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: --strategy multiworker needs the TF_CONFIG")


def test_mirrored_strategy_trains(mask_dataset, tmp_path):
    metadata = train(TrainingOptions(dataset=mask_dataset, output=tmp_path, recipe="tutorial", base_weights="none",
                                     epochs=2, val_split=0.5, strategy="mirrored"))
    assert metadata["epochs_run"] == 2 and (tmp_path / "mask_detector.keras").is_file()


@pytest.fixture(scope="module")
def real_and_drawn_model(tmp_path_factory):
    """A model of three classes, trained from two folders: real/ holds faces without a mask and with a mask
    below the nose; drawn/ holds only with_mask/, masks drawn on the real unmasked faces, listed in
    masked_faces.json as make_masked_faces.py lists them."""
    import cv2
    from conftest import face_photo, make_dataset, with_drawn_mask

    folder = tmp_path_factory.mktemp("real_and_drawn")
    photo = face_photo()
    below_nose = photo.copy()
    cv2.fillPoly(below_nose, [np.array([[182, 290], [352, 290], [356, 365], [268, 392], [178, 365]], np.int32)],
                 (230, 200, 150))
    real = make_dataset(folder / "real", {"without_mask": photo, "mask_weared_incorrect": below_nose})
    drawn = make_dataset(folder / "drawn", {"with_mask": with_drawn_mask(photo)})
    entries = [{"image": f"with_mask/{index}.jpg", "source": str(real / "without_mask" / f"{index}.jpg"),
                "style": "surgical", "worn": "correct"} for index in range(6)]
    (drawn / "masked_faces.json").write_text(json.dumps({"images": entries, "skipped": [], "options": {}}))
    output = folder / "model"
    result = run_script("--dataset", real, drawn, "--output", output, "--recipe", "tutorial", "--base-weights",
                        "none", "--epochs", 1, "--val-split", 0.5)
    assert result.returncode == 0, result.stderr
    return real, drawn, output, result.stdout


def test_two_folders_train_together_their_classes_merged(real_and_drawn_model):
    real, drawn, output, stdout = real_and_drawn_model
    assert (output / "mask_detector.labels.txt").read_text().split() == [
        "mask_weared_incorrect", "with_mask", "without_mask"]
    metadata = json.loads((output / "training_metadata.json").read_text())
    assert metadata["options"]["dataset"] == [str(real), str(drawn)]
    assert metadata["images"] == {"mask_weared_incorrect": 6, "with_mask": 6, "without_mask": 6}
    assert metadata["drawn_images_grouped_with_their_source"] == 6
    assert "6 drawn images are kept on the side of the split of their source photo, 12 groups in all" in stdout
    assert metadata["train_images"] == metadata["val_images"] == 9  # 12 groups halved, 6 of them pairs


def test_a_model_of_three_classes_is_reported_by_detect_mask_image(real_and_drawn_model, tmp_path):
    import cv2
    from conftest import face_photo

    *_, output, _ = real_and_drawn_model
    cv2.imwrite(str(tmp_path / "grace.jpg"), face_photo())
    result = subprocess.run([sys.executable, str(ROOT / "detect_mask_image.py"), "--image", tmp_path / "grace.jpg",
                             "--model", output / "mask_detector.keras", "--json", "-", "--output",
                             tmp_path / "out.jpg"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    [face] = json.loads(result.stdout)[str(tmp_path / "grace.jpg")]
    assert face["label"] in {"mask_weared_incorrect", "with_mask", "without_mask"}
    # the summary counts every class of the model, the third by its caption
    counts = re.search(r"1 face \((\d) mask below nose, (\d) mask, (\d) no mask\)", result.stderr)
    assert counts and sum(map(int, counts.groups())) == 1, result.stderr
    assert cv2.imread(str(tmp_path / "out.jpg")) is not None


def test_the_three_class_option_is_the_file_its_card_names_and_labels_the_example_faces():
    import hashlib

    import numpy as np
    from conftest import face_photo
    from facemask.drawing import caption, draw_faces
    from facemask.drawn_masks.face_landmarks import FaceMesh
    from facemask.drawn_masks.mask_drawing import draw_mask

    folder = ROOT / "models" / "three_class"
    card = (folder / "README.md").read_text()
    digest = hashlib.sha256((folder / "mask_detector.tflite").read_bytes()).hexdigest()
    assert f"SHA-256 `{digest}`" in card
    assert (folder / "mask_detector.labels.txt").read_text().split() == [
        "mask_weared_incorrect", "with_mask", "without_mask"]
    from facemask.pipeline import MaskDetector

    detector = MaskDetector(folder / "mask_detector.tflite")
    photo = face_photo()
    landmarks, _ = FaceMesh()(photo)
    on_the_chin = draw_mask(photo, landmarks, "surgical", "chin", np.random.default_rng(0))
    [bare], [low] = detector(photo), detector(on_the_chin)
    assert (bare["label"], low["label"]) == ("without_mask", "mask_weared_incorrect")
    # its third class has a caption and a colour of its own where it is drawn
    third = {**bare, "label": "mask_weared_incorrect"}
    drawn = draw_faces(photo, [third])
    x1, y1, _, y2 = third["box"]
    assert tuple(int(c) for c in drawn[(y1 + y2) // 2, x1]) == (0, 165, 255)
    assert caption(third["label"]) == "Mask below nose"
