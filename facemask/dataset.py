"""The training data: a folder per class, loaded into memory, split, and augmented with Keras layers.

Layout: `DIR/<class name>/<images>`; class names are the sorted sub-folder names.
"""
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from tqdm import tqdm

from facemask import UserError
from facemask.images import is_image_file, prepare_face, read_image

SHOW_SKIPPED = 5  # how many skipped file names to print


@dataclass
class Dataset:
    class_names: list
    images: np.ndarray  # (n, size, size, 3) uint8 RGB, as prepare_face makes them
    labels: np.ndarray  # (n,) int class indices
    paths: list
    skipped: list = field(default_factory=list)  # (path, reason) for files that could not be used

    def counts(self):
        return {name: int((self.labels == index).sum()) for index, name in enumerate(self.class_names)}


def find_images(dataset_dir):
    """The class names and, per class, the image files; UserError when the layout cannot be trained on."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise UserError(f"dataset folder not found: {dataset_dir}")
    class_dirs = sorted(d for d in dataset_dir.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(class_dirs) < 2:
        found = ", ".join(d.name for d in class_dirs) or "none"
        raise UserError(f"dataset {dataset_dir} needs at least 2 class folders (found: {found})")
    files_per_class, not_images = {}, []
    for class_dir in class_dirs:
        files = sorted(p for p in class_dir.rglob("*") if p.is_file() and not p.name.startswith("."))
        files_per_class[class_dir.name] = [p for p in files if is_image_file(p)]
        not_images += [(p, "not an image extension") for p in files if not is_image_file(p)]
        if len(files_per_class[class_dir.name]) < 2:
            raise UserError(f"class folder {class_dir} needs at least 2 images "
                            f"(found {len(files_per_class[class_dir.name])})")
    return files_per_class, not_images


def load_dataset(dataset_dir, image_size=224):
    """Read every image of every class, as classifier input; unreadable files are skipped and reported."""
    files_per_class, skipped = find_images(dataset_dir)
    class_names = list(files_per_class)
    jobs = [(path, label) for label, name in enumerate(class_names) for path in files_per_class[name]]

    def load(job):
        try:
            return prepare_face(read_image(job[0]), image_size)
        except UserError as error:
            return str(error)

    images, labels, paths = [], [], []
    with ThreadPoolExecutor() as pool:  # OpenCV releases the GIL while decoding
        results = pool.map(load, jobs)
        for (path, label), result in tqdm(zip(jobs, results), total=len(jobs), desc="Loading images", unit="img"):
            if isinstance(result, str):
                skipped.append((path, "unreadable"))
                continue
            images.append(result)
            labels.append(label)
            paths.append(path)
    dataset = Dataset(class_names, np.stack(images), np.array(labels), paths, skipped)
    for name, count in dataset.counts().items():
        if count < 2:
            raise UserError(f"class {name} has {count} readable image(s) in {dataset_dir}, needs at least 2")
    return dataset


def report_skipped(skipped, dataset_dir):
    if not skipped:
        return
    print(f"warning: skipped {len(skipped)} file(s) in {dataset_dir}:")
    for path, reason in skipped[:SHOW_SKIPPED]:
        print(f"  {Path(path).relative_to(dataset_dir)}: {reason}")
    if len(skipped) > SHOW_SKIPPED:
        print(f"  ... and {len(skipped) - SHOW_SKIPPED} more")


def split(labels, val_split, seed):
    """Stratified train / validation indices."""
    indices = np.arange(len(labels))
    if not 0 < val_split < 1:
        raise UserError(f"--val-split must be between 0 and 1 (got {val_split})")
    try:
        return train_test_split(indices, test_size=val_split, stratify=labels, random_state=seed)
    except ValueError as error:  # too few images for a stratified split of this size
        raise UserError(f"cannot split the dataset with --val-split {val_split}: {error}") from None


def augmentation(seed=None):
    """The tutorials' augmentation (ImageDataGenerator's settings) as Keras preprocessing layers."""
    import keras

    return keras.Sequential([
        keras.layers.RandomRotation(20 / 360, fill_mode="nearest", seed=seed),
        keras.layers.RandomZoom(0.15, fill_mode="nearest", seed=seed),
        keras.layers.RandomTranslation(0.2, 0.2, fill_mode="nearest", seed=seed),
        keras.layers.RandomShear(x_factor=0.15, y_factor=0.15, fill_mode="nearest", seed=seed),
        keras.layers.RandomFlip("horizontal", seed=seed),
    ], name="augmentation")


def augmented_batches(images, labels, batch_size, seed=None, shuffle=False):
    """A tf.data stream of (augmented images as float32, labels) batches: each image once, freshly augmented."""
    import tensorflow as tf

    augment = augmentation(seed)
    stream = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        stream = stream.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    return (stream.batch(batch_size)
            .map(lambda batch, batch_labels: (augment(tf.cast(batch, tf.float32), training=True), batch_labels),
                 num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))
