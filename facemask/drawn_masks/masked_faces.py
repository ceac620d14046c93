"""Making a dataset of masked faces from face photos: plan the drawings, draw them in worker processes, and write
the dataset folder with its record, masked_faces.json.

Layout of the output: `with_mask/` (masks worn correctly) and `mask_weared_incorrect/` (under the nose or on
the chin), each image named `<source stem>_<n>.jpg`. masked_faces.json lists every image written, relative to
the output, with its source photo (absolute path), style and way of wearing, so that training can keep each
drawn copy on the same side of the validation split as its source; and every photo skipped, with the reason.
"""
import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from facemask import UserError
from facemask.dataset import is_hidden
from facemask.drawn_masks.face_landmarks import FaceMesh
from facemask.drawn_masks.mask_drawing import STYLES, draw_mask, visible_share
from facemask.files import check_made_dataset, replaced_folder
from facemask.images import UnreadableImage, is_image_file, read_image
from facemask.workers import map_in_workers

RECORD = "masked_faces.json"
CLASS_OF_WORN = {"correct": "with_mask", "nose": "mask_weared_incorrect", "chin": "mask_weared_incorrect",
                 "pulled": "mask_weared_incorrect", "hanging": "mask_weared_incorrect"}
MIXED = "mixed"  # --worn mixed: each drawing worn one of MIXED_WAYS, drawn at random
MIXED_WAYS = ("correct", "nose", "chin")
UNREADABLE = "unreadable"
OUT_OF_FRAME = "mask out of frame"  # a drawing left out: its mask would fall mostly outside the photo
MIN_VISIBLE = 0.6
JPEG_QUALITY = 95


def find_photos(folder):
    """The image files under `folder`, searched recursively, sorted, less hidden ones and __MACOSX's."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"--input {folder} is not a folder")
    photos = sorted(path for path in folder.rglob("*") if is_image_file(path) and not path.is_dir()
                    and not any(is_hidden(Path(part)) for part in path.relative_to(folder).parts))
    if not photos:
        raise UserError(f"no face photos (.jpg, .png, .webp, .bmp) in --input {folder}")
    return photos


def ways_of_wearing(worn):
    """The ways of wearing to draw from, for `worn`: one of WORN, MIXED, or a list of them."""
    ways = []
    for way in [worn] if isinstance(worn, str) else worn:
        ways += MIXED_WAYS if way == MIXED else [way]
    return list(dict.fromkeys(ways))


def plan(photos, styles, worn, per_face, seed):
    """What to draw on each photo: per photo, a list of (image path relative to the output, style, worn). Styles
    and, when `worn` names more than one way (see ways_of_wearing), the ways of wearing are drawn at random; names
    are `<stem>_<n>` with n counted per stem, so that two photos of the same stem in different folders never share
    a name."""
    rng = np.random.default_rng(seed)
    ways = ways_of_wearing(worn)
    used = Counter()
    drawings = []
    for photo in photos:
        of_photo = []
        for _ in range(per_face):
            style = styles[rng.integers(len(styles))]
            way = ways[rng.integers(len(ways))] if len(ways) > 1 else ways[0]
            name = f"{photo.stem}_{used[photo.stem]}.jpg"
            used[photo.stem] += 1
            of_photo.append((f"{CLASS_OF_WORN[way]}/{name}", style, way))
        drawings.append(of_photo)
    return drawings


def draw_photo(face_mesh, photo, drawings, seed, index, staging):
    """Draw one photo's masks into `staging`: (records of the images written, []), or ([], [(reason, detail)])
    for a photo that is skipped; a drawing whose mask would fall mostly outside the photo is left out, and said
    as (OUT_OF_FRAME, its way of wearing). Each drawing's random choices are seeded by (seed, photo index,
    drawing number), so a photo is drawn the same whichever worker draws it."""
    try:
        image = read_image(photo)
    except UnreadableImage as error:
        return [], [(UNREADABLE, error.reason)]
    landmarks, reason = face_mesh(image)
    if landmarks is None:
        return [], [(reason, None)]
    records, left_out = [], []
    for number, (relative, style, worn) in enumerate(drawings):
        if visible_share(image.shape, landmarks, worn) < MIN_VISIBLE:
            left_out.append((OUT_OF_FRAME, worn))
            continue
        drawn = draw_mask(image, landmarks, style, worn, np.random.default_rng([seed, index, number]))
        ok, encoded = cv2.imencode(".jpg", drawn, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise UserError(f"cannot encode {relative} as JPEG")
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(encoded.tobytes())
        records.append({"image": relative, "source": str(photo.resolve()), "style": style, "worn": worn})
    return records, left_out


def make_masked_faces(input_folder, output, styles=STYLES, worn="correct", per_face=1, seed=0, workers=1,
                      force=False):
    """Draw masks on every face photo under `input_folder` into the dataset folder `output`; returns the record
    written to output/masked_faces.json."""
    photos = find_photos(input_folder)
    check_made_dataset(output, [input_folder], force, RECORD)
    drawings = plan(photos, list(styles), worn, per_face, seed)
    face_mesh = FaceMesh(threads=1 if workers > 1 else None)  # in the main process too: a missing model says so now
    record = {"images": [], "skipped": [],
              "options": {"input": str(Path(input_folder).resolve()), "styles": list(styles),
                          "worn": worn if isinstance(worn, str) or len(worn) > 1 else worn[0],
                          "per_face": per_face, "seed": seed}}
    jobs = [(photo, of_photo, seed, index) for index, (photo, of_photo) in enumerate(zip(photos, drawings))]
    with replaced_folder(output) as staging:
        pool = None
        if workers > 1:
            pool, outcomes = map_in_workers(workers, FaceMesh, draw_photo, [job + (staging,) for job in jobs],
                                            chunksize=8)
        else:
            outcomes = (draw_photo(face_mesh, *job, staging) for job in jobs)
        try:
            for (photo, *_), (records, skipped) in tqdm(zip(jobs, outcomes), total=len(jobs), unit="photo",
                                                        desc="Drawing masks"):
                record["images"] += records
                for reason, detail in skipped:
                    key = "worn" if reason == OUT_OF_FRAME else "detail"
                    record["skipped"].append({"source": str(photo.resolve()), "reason": reason,
                                              **({key: detail} if detail else {})})
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        (staging / RECORD).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return record


def summary(record):
    """Lines to print: what was written, and what was skipped and why."""
    photos_skipped = [skipped for skipped in record["skipped"] if skipped["reason"] != OUT_OF_FRAME]
    left_out = Counter(skipped["worn"] for skipped in record["skipped"] if skipped["reason"] == OUT_OF_FRAME)
    photos = len({image["source"] for image in record["images"]} | {skipped["source"] for skipped in record["skipped"]})
    classes = Counter(image["image"].split("/")[0] for image in record["images"])
    lines = [f"drew {len(record['images'])} masked faces"
             + "".join(f", {count} in {name}/" for name, count in sorted(classes.items()))]
    if photos_skipped:
        reasons = Counter(skipped["reason"] for skipped in photos_skipped)
        lines.append(f"skipped {len(photos_skipped)} of {photos} photos: "
                     + ", ".join(f"{count} {reason}" for reason, count in reasons.most_common()))
    if left_out:
        lines.append(f"left out {sum(left_out.values())} drawings whose mask would fall mostly outside the photo "
                     "(worn " + ", ".join(f"{worn}: {count}" for worn, count in left_out.most_common()) + ")")
    return lines
