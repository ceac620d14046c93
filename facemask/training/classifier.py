"""Training: load the dataset, train the head on features of the frozen base, optionally fine-tune, and write
the model with its labels, TFLite copy, curves, confusion matrix and reports.

The fast path: the base is frozen, so each image's features are computed once per view (the image itself and
`views` augmented copies of it) and the small head is trained on those features for every epoch, instead of
sending every image through the base again in every epoch as the tutorials do.
"""
import json
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from facemask.dataset import (SOURCE_LISTS, as_folders, find_images_in, image_sources, load_dataset, report_skipped,
                              split)
from facemask.files import check_output, refuse_to_replace, staged_outputs
from facemask.images import IMAGE_SIZE
from facemask.pipeline import FaceCropper
from facemask.report import classification_summary, options_as_json, save_confusion_matrix, save_training_curves
from facemask.training.augmentation import augmented_batches

MODEL_NAME = "mask_detector"
# What --recipe sets, unless the flags are given: the shipped model's (models/README.md), or the tutorials' head on
# whole images without fine-tuning
RECIPES = {"shipped": {"grid": 3, "align_faces": True, "fine_tune": 60},
           "tutorial": {"grid": 1, "align_faces": False, "fine_tune": 0}}


@dataclass
class TrainingOptions:
    """The options of a run; grid, align_faces and fine_tune left at None take the recipe's values. `dataset` is
    one folder or a list of them."""
    dataset: list
    output: Path = Path("mask_detector_model")
    recipe: str = "shipped"
    base_weights: str = "imagenet"
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-4
    val_split: float = 0.2
    seed: int = 42
    views: int = 1
    patience: int = 5
    fine_tune: int = None
    fine_tune_epochs: int = 5
    align_faces: bool = None
    grid: int = None
    camera_augment: bool = True
    checkpoint_dir: Path = None
    resume: bool = False
    strategy: str = "default"
    force: bool = False  # replace the model already in `output`

    def __post_init__(self):
        self.dataset = as_folders(self.dataset)
        if self.recipe not in RECIPES:
            raise ValueError(f"recipe must be one of {', '.join(RECIPES)}, not {self.recipe!r}")
        for key, value in RECIPES[self.recipe].items():
            if getattr(self, key) is None:
                setattr(self, key, value)


def extract_features(runner, images, labels, views, seed, camera):
    """Features of the images themselves, then of `views` augmented copies; labels repeated to match."""
    features = []
    with tqdm(total=len(images) * (views + 1), desc="Extracting features", unit="img") as progress:
        features.append(runner(images, progress))
        for view in range(views):
            for batch, _ in augmented_batches(images, labels, batch_size=64, seed=seed + view, camera=camera):
                features.append(runner(batch.numpy(), progress))
    return np.concatenate(features), np.tile(labels, views + 1)


def early_stopping(patience):
    import keras

    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True,
                                         verbose=1)


def train_phase(name, model, strategy, train, validation, epochs, patience, checkpoints=None):
    """Train `model` until early stopping or the last epoch; returns its history. With checkpoints, saves each
    epoch and resumes where a killed run stopped."""
    from facemask.training.distribute import fit

    with strategy.scope():
        model.optimizer.build(model.trainable_variables)  # before a checkpoint restores the optimizer's state
    stopping = early_stopping(patience)
    if checkpoints is None:
        return fit(model, strategy, train, validation, epochs, [stopping])
    checkpoint = checkpoints.phase(name, stopping)
    checkpoint.set_model(model)
    if checkpoint.finished:
        print(f"{name}: finished before the run was stopped")
        checkpoint.restore_weights()
    else:
        fit(model, strategy, train, validation, epochs, [stopping, checkpoint], checkpoint.initial_epoch)
    return checkpoint.history


def what_the_run_trains_on(options, data):
    """What must not change between a run and its resumption."""
    keys = ("val_split", "seed", "views", "base_weights", "fine_tune", "align_faces", "grid", "camera_augment",
            "lr", "batch_size")
    return {"dataset": [str(folder.resolve()) for folder in options.dataset], "images": data.counts(),
            **{key: getattr(options, key) for key in keys}}


def train(options):
    """Train and write every output; returns the summary dict written to the metadata file."""
    started = time.perf_counter()
    # Mistakes in the datasets' layout and drawn-image lists, the output folder and the base weights, and an output
    # folder that already holds a model, are reported before the minutes of loading the images, and create nothing:
    # a failed run leaves no empty output folder behind.
    find_images_in(options.dataset)
    for folder in options.dataset:
        image_sources(folder)
    check_output(options.output, "--output", folder=True)
    refuse_to_replace(options.output, f"{MODEL_NAME}.keras", options.force)
    from facemask.training.model import check_base_weights

    check_base_weights(options.base_weights)
    print(f"recipe {options.recipe}: --grid {options.grid} {'--' if options.align_faces else '--no-'}align-faces "
          f"--fine-tune {options.fine_tune}")
    data = load_dataset(options.dataset, IMAGE_SIZE, FaceCropper() if options.align_faces else None)
    report_skipped(data.skipped, options.dataset)
    if options.align_faces:
        print(f"the face detector found the face in {data.faces_found} images; "
              f"{len(data.labels) - data.faces_found} are used whole")
    if data.groups is not None:
        drawn = f"{data.grouped} drawn images are kept on the side of the split of their source photo, " if (
            data.grouped) else ""
        print(f"{drawn}{len(set(data.groups))} groups in all, each on one side of the split "
              f"({' and '.join(SOURCE_LISTS)} list what each image was made from)")
    train_index, val_index = split(data.labels, options.val_split, options.seed, data.groups)

    import keras
    import tensorflow as tf

    from facemask.runtime import TFLiteRunner, to_tflite
    from facemask.training.checkpoints import Checkpoints
    from facemask.training.distribute import batches, is_chief, make_strategy
    from facemask.training.model import build_model, unfreeze_top

    strategy = make_strategy(options.strategy)
    chief = is_chief(strategy)
    checkpoints = None
    if options.checkpoint_dir is not None:
        checkpoints = Checkpoints(options.checkpoint_dir, what_the_run_trains_on(options, data), options.resume,
                                  writer=chief)
    keras.utils.set_random_seed(options.seed)
    x_train, y_train = data.images[train_index], data.labels[train_index]
    x_val, y_val = data.images[val_index], data.labels[val_index]
    print(f"{len(data.labels)} images in {len(data.class_names)} classes {data.counts()}: "
          f"{len(y_train)} for training, {len(y_val)} for validation")

    with strategy.scope():
        model, feature_extractor, head = build_model(len(data.class_names), options.base_weights, options.grid)
        head.compile(optimizer=keras.optimizers.Adam(options.lr), loss="sparse_categorical_crossentropy",
                     metrics=["accuracy"])

    def features():
        runner = TFLiteRunner(model_content=to_tflite(feature_extractor))
        train_features, train_labels = extract_features(runner, x_train, y_train, options.views, options.seed,
                                                        options.camera_augment)
        return train_features, train_labels, runner(x_val)

    train_features, train_labels, val_features = checkpoints.features(features) if checkpoints else features()
    history = train_phase("head", head, strategy,
                          batches(train_features, train_labels, options.batch_size, options.seed, shuffle=True),
                          batches(val_features, y_val, options.batch_size), options.epochs, options.patience,
                          checkpoints)
    val_probabilities = head.predict(val_features, verbose=0)

    if options.fine_tune:
        print(f"Fine-tuning the top {options.fine_tune} layers of the base at lr {options.lr / 10:g}")
        with strategy.scope():
            unfreeze_top(model, options.fine_tune)
            model.compile(optimizer=keras.optimizers.Adam(options.lr / 10), loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
        stream = augmented_batches(x_train, y_train, options.batch_size, options.seed, shuffle=True,
                                   camera=options.camera_augment)
        fine_history = train_phase("fine_tune", model, strategy, stream,
                                   batches(x_val, y_val, options.batch_size), options.fine_tune_epochs,
                                   options.patience, checkpoints)
        history = {key: history[key] + fine_history[key] for key in history}
        val_probabilities = model.predict(x_val, batch_size=64, verbose=0)

    predicted = val_probabilities.argmax(axis=1)
    report_text, summary = classification_summary(y_val, predicted, data.class_names)
    print(report_text)
    metadata = {
        "command": " ".join(sys.argv),
        "options": options_as_json(options),
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__, "opencv": cv2.__version__},
        "class_names": data.class_names,
        "images": data.counts(), "train_images": len(y_train), "val_images": len(y_val),
        "faces_found_by_detector": data.faces_found if options.align_faces else None,
        "drawn_images_grouped_with_their_source": data.grouped if data.groups is not None else None,
        "skipped_files": [str(path) for path, _ in data.skipped],
        "epochs_run": len(history["loss"]),
        "val_accuracy": summary["accuracy"],
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    if not chief:
        print(f"validation accuracy {summary['accuracy']:.4f}; the chief worker writes the model")
        return metadata
    write_outputs(options.output, model, data.class_names, history, y_val, predicted, summary, metadata)
    if checkpoints is not None:
        shutil.rmtree(options.checkpoint_dir, ignore_errors=True)  # the run is complete: nothing to resume
    print(f"validation accuracy {summary['accuracy']:.4f}; trained in {metadata['training_seconds']} s; "
          f"model written to {options.output / (MODEL_NAME + '.keras')}")
    return metadata


def forget_optimizers(model):
    """Drop the optimizers of the model and of its head, so that the saved file holds only what inference needs:
    Adam's two moments per weight would double the size of the file."""
    for part in [model, *model.layers]:
        if getattr(part, "compiled", False):
            part.optimizer = None
            part.compiled = False


def write_outputs(output_dir, model, class_names, history, true_labels, predicted, summary, metadata):
    from facemask.runtime import labels_path, to_tflite

    forget_optimizers(model)
    with staged_outputs(output_dir) as staging:
        model.save(staging / f"{MODEL_NAME}.keras")
        (staging / f"{MODEL_NAME}.tflite").write_bytes(to_tflite(model))
        labels_path(staging / f"{MODEL_NAME}.keras").write_text("\n".join(class_names) + "\n")
        save_training_curves(history, staging / "plot.png")
        save_confusion_matrix(true_labels, predicted, class_names, staging / "confusion_matrix.png",
                              title="Validation split")
        (staging / "classification_report.json").write_text(json.dumps(summary, indent=2) + "\n")
        (staging / "training_metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
