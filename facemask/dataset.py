"""A dataset folder: a folder per class, loaded into memory and split; what training and evaluation read.

Layout: `DIR/<class name>/<images>`; class names are the sorted sub-folder names, less hidden ones (.name) and
`__MACOSX`, which a Mac's zip adds. Several folders train together, their classes merged by name. A folder made by
one of our dataset makers lists what each image was made from (masks drawn on a photo in `masked_faces.json`,
cuts of a scene's face in `scene_faces.json`), so that the split keeps an image and its siblings together.
"""
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, train_test_split
from tqdm import tqdm

from facemask import UserError
from facemask.images import UnreadableImage, is_image_file, prepare_face, read_image

SHOW_SKIPPED = 5  # how many skipped file names to print
DRAWN_LIST = "masked_faces.json"  # what make_masked_faces.py writes beside the images it draws
SCENE_FACES_LIST = "scene_faces.json"  # what cut_scene_faces.py writes beside the faces it cuts
SOURCE_LISTS = (DRAWN_LIST, SCENE_FACES_LIST)


@dataclass
class Dataset:
    class_names: list
    images: np.ndarray  # (n, size, size, 3) uint8 RGB, as prepare_face makes them
    labels: np.ndarray  # (n,) int class indices
    skipped: list = field(default_factory=list)  # (path, reason) for files that could not be used
    faces_found: int = 0  # images replaced by the face the detector found in them (see load_dataset's crop)
    groups: np.ndarray = None  # (n,) per image, its source's path or its own; None without any SOURCE_LISTS file
    grouped: int = 0  # made images whose source photo is among the images

    def counts(self):
        return {name: int((self.labels == index).sum()) for index, name in enumerate(self.class_names)}


def is_hidden(path):
    """A name that is no class: hidden (.git, .DS_Store), or the __MACOSX folder that a zip made on a Mac holds."""
    return path.name.startswith(".") or path.name == "__MACOSX"


def as_folders(dataset_dirs):
    """One folder or a list of them, as a list of Paths."""
    return [Path(dataset_dirs)] if isinstance(dataset_dirs, (str, Path)) else [Path(d) for d in dataset_dirs]


def find_images(dataset_dir, min_classes=2):
    """The class names and, per class, the image files; UserError when the layout cannot be trained on.
    `min_classes` is 1 for one of several folders: a folder of drawn masks may hold only with_mask/."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise UserError(f"dataset folder not found: {dataset_dir}")
    class_dirs = sorted(d for d in dataset_dir.iterdir() if d.is_dir() and not is_hidden(d))
    if len(class_dirs) < min_classes:
        found = ", ".join(d.name for d in class_dirs) or "none"
        plural = "s" if min_classes > 1 else ""
        raise UserError(f"dataset {dataset_dir} needs at least {min_classes} class folder{plural} (found: {found})")
    files_per_class, not_images = {}, []
    for class_dir in class_dirs:
        # everything but folders: a link to a missing file is reported as skipped, not silently left out
        files = sorted(p for p in class_dir.rglob("*") if not p.is_dir() and not p.name.startswith("."))
        files_per_class[class_dir.name] = [p for p in files if is_image_file(p)]
        not_images += [(p, "not an image extension") for p in files if not is_image_file(p)]
        if len(files_per_class[class_dir.name]) < 2:
            raise UserError(f"class folder {class_dir} needs at least 2 images "
                            f"(found {len(files_per_class[class_dir.name])})")
    return files_per_class, not_images


def find_images_in(dataset_dirs):
    """find_images of one or several folders, their classes merged by name: (sorted class names → image files of
    every folder, in the order the folders are given), and the files that are not images."""
    folders = as_folders(dataset_dirs)
    if len(folders) == 1:
        return find_images(folders[0])
    resolved = [folder.resolve() for folder in folders]
    for index, folder in enumerate(resolved):
        if folder in resolved[:index]:
            raise UserError(f"dataset folder given twice: {folders[index]}")
    merged, not_images = {}, []
    for folder in folders:
        files_per_class, skipped = find_images(folder, min_classes=1)
        for name, files in files_per_class.items():
            merged.setdefault(name, []).extend(files)
        not_images += skipped
    if len(merged) < 2:
        raise UserError(f"the datasets {', '.join(map(str, folders))} need at least 2 classes between them "
                        f"(found: {', '.join(merged)})")
    return dict(sorted(merged.items())), not_images


def image_sources(dataset_dir):
    """{resolved path of a made image: what it was made from (a photo's resolved path, or a scene face's)}, from
    the SOURCE_LISTS files in the folder ({} when there is none); UserError naming a file that cannot be read as
    one."""
    sources = {}
    for list_path in (Path(dataset_dir) / name for name in SOURCE_LISTS):
        if not list_path.is_file():
            continue
        try:
            entries = json.loads(list_path.read_text(encoding="utf-8"))["images"]
            sources.update({(Path(dataset_dir) / entry["image"]).resolve(): str(Path(entry["source"]).resolve())
                            for entry in entries})
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
            raise UserError(f"{list_path} is not a list of drawn images as make_masked_faces.py writes it: "
                            f"{type(error).__name__}: {error}") from None
    return sources


def image_groups(paths, dataset_dirs):
    """Per image, the group that must stay on one side of the split: for a made image, what it was made from;
    for any other, its own resolved path. None when no folder lists made images. Also returns how many made
    images have their source photo among `paths`."""
    sources = {}
    for folder in as_folders(dataset_dirs):
        sources.update(image_sources(folder))
    if not sources:
        return None, 0
    own = [Path(path).resolve() for path in paths]
    groups = [sources.get(path, str(path)) for path in own]
    present = set(map(str, own))
    grouped = sum(path in sources and sources[path] in present for path in own)
    return np.array(groups), grouped


def load_dataset(dataset_dirs, image_size=224, crop=None):
    """Read every image of every class of one folder or several, as classifier input; unreadable files are
    skipped and reported.

    `crop`, if given, is called (from several threads) on each whole image and returns (the part to keep,
    whether it is a face found in it): see pipeline.FaceCropper."""
    files_per_class, skipped = find_images_in(dataset_dirs)
    class_names = list(files_per_class)
    jobs = [(path, label) for label, name in enumerate(class_names) for path in files_per_class[name]]

    def load(job):
        try:
            image = read_image(job[0])
        except UnreadableImage as error:
            return error.reason, False
        found = False
        if crop is not None:
            image, found = crop(image)
        return prepare_face(image, image_size), found

    images, labels, paths, faces_found = [], [], [], 0
    with ThreadPoolExecutor() as pool:  # OpenCV releases the GIL while decoding
        results = pool.map(load, jobs)
        for (path, label), (result, found) in tqdm(zip(jobs, results), total=len(jobs), desc="Loading images",
                                                   unit="img"):
            if isinstance(result, str):
                skipped.append((path, result))
                continue
            images.append(result)
            labels.append(label)
            paths.append(path)
            faces_found += found
    shown = ", ".join(map(str, as_folders(dataset_dirs)))
    for index, name in enumerate(class_names):
        count = labels.count(index)
        if count < 2:
            raise UserError(f"class {name} has {count} readable image(s) in {shown}, needs at least 2")
    groups, grouped = image_groups(paths, dataset_dirs)
    return Dataset(class_names, np.stack(images), np.array(labels), skipped, faces_found, groups, grouped)


def report_skipped(skipped, dataset_dirs):
    if not skipped:
        return
    folders = as_folders(dataset_dirs)
    print(f"warning: skipped {len(skipped)} file(s) in {', '.join(map(str, folders))}:")
    for path, reason in skipped[:SHOW_SKIPPED]:
        folder = next(folder for folder in folders if Path(path).is_relative_to(folder))
        print(f"  {Path(path).relative_to(folder) if len(folders) == 1 else path}: {reason}")
    if len(skipped) > SHOW_SKIPPED:
        print(f"  ... and {len(skipped) - SHOW_SKIPPED} more")


def split(labels, val_split, seed, groups=None):
    """Train / validation indices, stratified by label. With `groups`, the images of a group all land on one
    side: StratifiedGroupKFold's folds of about val_split each (one fold is the validation set, or for a
    val_split over 0.5 the training set), so the validation share is near val_split, not exactly it."""
    indices = np.arange(len(labels))
    if not 0 < val_split < 1:
        raise UserError(f"--val-split must be between 0 and 1 (got {val_split})")
    try:
        if groups is None:
            return train_test_split(indices, test_size=val_split, stratify=labels, random_state=seed)
        folds = StratifiedGroupKFold(round(1 / min(val_split, 1 - val_split)), shuffle=True, random_state=seed)
        rest, fold = next(folds.split(indices, labels, groups))
    except ValueError as error:  # too few images (or groups) for a stratified split of this size
        raise UserError(f"cannot split the dataset with --val-split {val_split}: {error}") from None
    train, val = (fold, rest) if val_split > 0.5 else (rest, fold)
    if len(set(labels[train])) < len(set(labels)):
        raise UserError(f"cannot split the dataset with --val-split {val_split}: a class has too few source photos "
                        "to leave one for training")
    return train, val
