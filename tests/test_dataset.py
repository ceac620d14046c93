import json
import shutil

import cv2
import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from facemask import UserError
from facemask.dataset import find_images, find_images_in, load_dataset, split
from facemask.training.augmentation import augmented_batches


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


def write_tiny_images(folder, names, seed=0):
    """Small random images, fast to load: folder/<name> for each name."""
    rng = np.random.default_rng(seed)
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / name), rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))


@pytest.fixture
def real_and_drawn(tmp_path):
    """A real folder (12 masked, 24 unmasked photos) and a drawn one: two masks drawn on each of the first 18
    unmasked photos, and one worn below the nose on each of the first 10, listed in masked_faces.json."""
    real, drawn = tmp_path / "real", tmp_path / "drawn"
    write_tiny_images(real, [f"with_mask/m{i}.jpg" for i in range(12)] + [f"without_mask/u{i}.jpg" for i in range(24)])
    entries = [{"image": f"with_mask/u{i}_{copy}.jpg", "source": str(real / "without_mask" / f"u{i}.jpg"),
                "style": "surgical", "worn": "correct"} for i in range(18) for copy in range(2)]
    entries += [{"image": f"mask_weared_incorrect/u{i}_0.jpg", "source": str(real / "without_mask" / f"u{i}.jpg"),
                 "style": "surgical", "worn": "nose"} for i in range(10)]
    write_tiny_images(drawn, [entry["image"] for entry in entries], seed=1)
    (drawn / "masked_faces.json").write_text(json.dumps({"images": entries, "skipped": [], "options": {}}))
    return real, drawn


def test_several_folders_merge_their_classes_by_name(real_and_drawn):
    real, drawn = real_and_drawn
    data = load_dataset([real, drawn], image_size=16)
    assert data.class_names == ["mask_weared_incorrect", "with_mask", "without_mask"]
    assert data.counts() == {"mask_weared_incorrect": 10, "with_mask": 12 + 36, "without_mask": 24}
    assert data.grouped == 46  # every drawn image's source photo is in the real folder
    assert len(set(data.groups)) == 36  # one group per real photo


def test_the_folders_together_need_two_classes_and_each_folder_once(real_and_drawn, tmp_path):
    real, drawn = real_and_drawn
    shutil.rmtree(drawn / "mask_weared_incorrect")
    shutil.copytree(drawn, tmp_path / "more")
    with pytest.raises(UserError, match="need at least 2 classes between them \\(found: with_mask\\)"):
        find_images_in([drawn, tmp_path / "more"])  # both hold with_mask/ only
    with pytest.raises(UserError, match="dataset folder given twice: .*real/../real"):
        find_images_in([real, drawn, real / ".." / "real"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="empty needs at least 1 class folder "):
        find_images_in([real, tmp_path / "empty"])
    assert list(find_images_in([drawn, real])[0]) == ["with_mask", "without_mask"]  # sorted, whatever the order


def groups_of(indices, groups):
    return set(groups[indices])


@pytest.mark.parametrize("val_split", [0.1, 0.2, 0.25, 0.3, 0.5, 0.7])
def test_a_drawn_copy_and_its_source_never_land_on_both_sides(real_and_drawn, val_split):
    data = load_dataset(list(real_and_drawn), image_size=16)
    crossed_without_groups = 0
    for seed in range(20):
        train, val = split(data.labels, val_split, seed, data.groups)
        assert sorted(np.concatenate([train, val])) == list(range(len(data.labels)))
        assert groups_of(train, data.groups).isdisjoint(groups_of(val, data.groups))
        assert set(data.labels[train]) == {0, 1, 2}  # every class is trained on
        assert abs(len(val) / len(data.labels) - val_split) < 0.12
        assert (split(data.labels, val_split, seed, data.groups)[1] == val).all()  # the same seed, the same split
        train, val = split(data.labels, val_split, seed)
        crossed_without_groups += not groups_of(train, data.groups).isdisjoint(groups_of(val, data.groups))
    assert crossed_without_groups == 20  # what the groups prevent: an image-wise split tears them apart


def test_without_a_drawn_list_the_split_is_the_one_of_before(mask_dataset):
    data = load_dataset(mask_dataset, image_size=16)
    assert data.groups is None and data.grouped == 0
    for seed, val_split in [(42, 0.2), (1, 0.5), (7, 0.3)]:
        expected = train_test_split(np.arange(12), test_size=val_split, stratify=data.labels, random_state=seed)
        for got, wanted in zip(split(data.labels, val_split, seed, data.groups), expected):
            assert (got == wanted).all()


def test_drawn_copies_of_a_photo_that_is_not_trained_on_stay_together(real_and_drawn):
    real, drawn = real_and_drawn
    shutil.rmtree(real / "without_mask")
    data = load_dataset([real, drawn], image_size=16)
    assert data.grouped == 0
    assert len(set(data.groups)) == 12 + 18  # the real masked photos, and one group per source of drawn copies
    train, val = split(data.labels, 0.2, 3, data.groups)
    assert groups_of(train, data.groups).isdisjoint(groups_of(val, data.groups))


@pytest.mark.parametrize("content", ["{not json", '{"pictures": []}', '{"images": [{"image": "with_mask/u0_0.jpg"}]}',
                                     '{"images": "with_mask/u0_0.jpg"}', "[]"])
def test_a_malformed_drawn_list_is_one_line_naming_it(real_and_drawn, content):
    real, drawn = real_and_drawn
    (drawn / "masked_faces.json").write_text(content)
    with pytest.raises(UserError, match=f"^{drawn / 'masked_faces.json'} is not a list of drawn images") as error:
        load_dataset([real, drawn], image_size=16)
    assert "\n" not in str(error.value)
