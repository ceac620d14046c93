import shutil

import numpy as np
import pytest

from facemask import UserError
from facemask.dataset import augmented_batches, find_images, load_dataset, split


def test_loads_every_class_in_sorted_order(mask_dataset):
    data = load_dataset(mask_dataset, image_size=32)
    assert data.class_names == ["with_mask", "without_mask"]
    assert data.counts() == {"with_mask": 6, "without_mask": 6}
    assert data.images.shape == (12, 32, 32, 3)


def test_any_letter_case_of_the_extensions(mask_dataset):
    for index, suffix in enumerate([".JPG", ".Jpeg", ".PNG"]):
        shutil.copy(mask_dataset / "with_mask" / f"{index}.jpg", mask_dataset / "with_mask" / f"upper{index}{suffix}")
    assert load_dataset(mask_dataset, image_size=32).counts()["with_mask"] == 9


def test_unreadable_and_foreign_files_are_skipped_and_counted(mask_dataset):
    (mask_dataset / "with_mask" / "corrupt.jpg").write_bytes(b"not a jpeg")
    (mask_dataset / "with_mask" / "notes.txt").write_text("hello")
    data = load_dataset(mask_dataset, image_size=32)
    assert data.counts()["with_mask"] == 6
    assert sorted(path.name for path, _ in data.skipped) == ["corrupt.jpg", "notes.txt"]


def test_a_third_class_is_just_another_class(mask_dataset):
    shutil.copytree(mask_dataset / "with_mask", mask_dataset / "mask_on_chin")
    assert load_dataset(mask_dataset, image_size=32).class_names == ["mask_on_chin", "with_mask", "without_mask"]


def test_missing_folder(tmp_path):
    with pytest.raises(UserError, match="not found"):
        find_images(tmp_path / "nowhere")


def test_one_class_is_not_enough(mask_dataset):
    shutil.rmtree(mask_dataset / "without_mask")
    with pytest.raises(UserError, match="at least 2 class folders"):
        find_images(mask_dataset)


def test_a_class_with_one_image_is_not_enough(mask_dataset):
    for path in sorted((mask_dataset / "without_mask").iterdir())[1:]:
        path.unlink()
    with pytest.raises(UserError, match="without_mask needs at least 2 images"):
        find_images(mask_dataset)


def test_split_is_stratified_and_seeded():
    labels = np.array([0] * 80 + [1] * 20)
    train, val = split(labels, 0.2, seed=1)
    assert len(val) == 20 and (labels[val] == 1).sum() == 4
    assert set(train).isdisjoint(val)
    assert (split(labels, 0.2, seed=1)[1] == val).all()


def test_camera_augmentation_keeps_shapes_and_range(mask_dataset):
    data = load_dataset(mask_dataset, image_size=64)
    batches = list(augmented_batches(data.images, data.labels, batch_size=5, seed=1, camera=True))
    images = np.concatenate([batch.numpy() for batch, _ in batches])
    assert images.shape == (12, 64, 64, 3)
    assert images.min() >= 0 and images.max() <= 255
    assert not np.allclose(images, data.images)
    assert (np.concatenate([labels.numpy() for _, labels in batches]) == data.labels).all()  # order is kept
