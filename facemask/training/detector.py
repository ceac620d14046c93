"""Training our face detector (train_face_detector.py): the network, the training crops, matching face boxes to
anchors, the loss, and the training loop.

The network is ImageNet's MobileNetV2 (the classifier's base) with a small feature pyramid on its stride-8, 16 and
32 features, two more levels below them, and one head shared by all five levels that gives, for each anchor of
detectors/mobilenet.py, a face logit and four box offsets; and a second head of the same shape that gives a class
logit, p(without_mask), learnt on the anchors of the faces whose class is known. The backbone's first blocks stay
frozen, and its batch norm in inference mode, as the batches are small.
"""
import json
import math
import platform
import queue
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from facemask.boxes import overlaps
from facemask.detectors.mobilenet import MODEL_NAME, SCALES, encode, input_scale, make_anchors
from facemask.files import check_output, refuse_to_replace, staged_outputs
from facemask.report import options_as_json, save_loss_curve
from facemask.training.scenes import find_face_boxes, read_scenes, scene_sampler

TAPS = ("block_6_expand_relu", "block_13_expand_relu", "out_relu")  # strides 8, 16, 32
# Frozen: strides 2 and 4 (generic edges), and blocks 10 to 16, as the shipped detector was trained. Training
# blocks 10 to 16 too makes a step twice as slow and is not measured yet (run 6 in models/face_detector.md).
FROZEN_BLOCKS = ("Conv1", "expanded_conv_", "block_1_", "block_2_", *(f"block_{n}_" for n in range(10, 17)))
WIDTH = 96  # channels of the pyramid and the head
PRIOR = 0.01  # the face probability the head starts from, as RetinaNet: the loss is not swamped at first
POSITIVE_IOU, NEGATIVE_IOU = 0.5, 0.4  # anchor-to-face overlaps: a face above the one, background below the other
MIN_TRAIN_FACE = 8  # pixels of the training crop: smaller faces are neither faces nor background to learn from


def build_detector(base_weights="imagenet"):
    """The detector as a Keras model: RGB images (0-255) of any size (sides multiples of 32) → the faces, (batch,
    anchors, 5), and the classes, (batch, anchors, 1), in make_anchors' order."""
    import keras
    from keras import layers

    from facemask.training.model import load_base

    base = load_base(base_weights, input_shape=(None, None, 3))
    for layer in base.layers:
        layer.trainable = not (layer.name.startswith(FROZEN_BLOCKS) or isinstance(layer, layers.BatchNormalization))
    backbone = keras.Model(base.inputs, [base.get_layer(name).output for name in TAPS], name="backbone")

    images = keras.Input((None, None, 3), name="image")
    c3, c4, c5 = backbone(layers.Rescaling(1 / 127.5, offset=-1)(images))

    def lateral(x, name):
        return layers.Conv2D(WIDTH, 1, name=name)(x)

    def smooth(x, name, strides=1):
        x = layers.SeparableConv2D(WIDTH, 3, strides=strides, padding="same", use_bias=False, name=name)(x)
        return layers.ReLU(6.0)(layers.BatchNormalization(name=name + "_bn")(x))

    p5 = lateral(c5, "lateral_32")
    p4 = layers.Add()([lateral(c4, "lateral_16"), layers.UpSampling2D(2)(p5)])
    p3 = layers.Add()([lateral(c3, "lateral_8"), layers.UpSampling2D(2)(p4)])
    levels = [smooth(p3, "level_8"), smooth(p4, "level_16"), smooth(p5, "level_32")]
    levels.append(smooth(levels[-1], "level_64", strides=2))
    levels.append(smooth(levels[-1], "level_128", strides=2))

    def head(outputs_per_anchor, name):
        return keras.Sequential([
            keras.Input((None, None, WIDTH)),
            layers.SeparableConv2D(WIDTH, 3, padding="same", activation="relu6"),
            layers.SeparableConv2D(WIDTH, 3, padding="same", activation="relu6"),
            layers.Conv2D(len(SCALES) * outputs_per_anchor, 3, padding="same"),
        ], name=name)

    face_head = head(5, "head")
    bias = np.zeros(len(SCALES) * 5, np.float32)
    bias[0::5] = -math.log((1 - PRIOR) / PRIOR)
    face_head.layers[-1].bias.assign(bias)
    class_head = head(1, "class_head")
    faces = layers.Concatenate(axis=1, name="faces")([layers.Reshape((-1, 5))(face_head(level)) for level in levels])
    classes = layers.Concatenate(axis=1, name="classes")(
        [layers.Reshape((-1, 1))(class_head(level)) for level in levels])
    return keras.Model(images, [faces, classes], name="face_detector")


def match_anchors(anchors, faces, labels=None, ignored=()):
    """Training targets for one crop: (n, 6) [label, 4 offsets, class] per anchor, label 1 for a face, 0 for
    background and -1 for neither (an overlap between the two thresholds, or on an ignored box); class the face's
    class label (1 without a mask, 0 with one) on its anchors, else -1.

    Each face gets every anchor it overlaps by POSITIVE_IOU or more, and at least its best anchor."""
    targets = np.zeros((len(anchors), 6), np.float32)
    targets[:, 5] = -1
    corners = np.concatenate([anchors[:, :2] - anchors[:, 2:] / 2, anchors[:, :2] + anchors[:, 2:] / 2], axis=1)
    if len(ignored):
        targets[overlaps(corners, np.asarray(ignored, float)).max(axis=1) >= NEGATIVE_IOU, 0] = -1
    if len(faces) == 0:
        return targets
    faces = np.asarray(faces, float)
    iou = overlaps(corners, faces)  # (anchors, faces)
    best_face = iou.argmax(axis=1)
    best_iou = iou[np.arange(len(anchors)), best_face]
    targets[(best_iou >= NEGATIVE_IOU) & (best_iou < POSITIVE_IOU), 0] = -1
    positive = best_iou >= POSITIVE_IOU
    best_anchor = iou.argmax(axis=0)
    best_face[best_anchor] = np.arange(len(faces))
    positive[best_anchor] = True
    targets[positive, 0] = 1
    targets[positive, 1:5] = encode(faces[best_face[positive]], anchors[positive])
    if labels is not None:
        targets[positive, 5] = np.asarray(labels)[best_face[positive]]
    return targets


def detection_loss(targets, outputs):
    """Focal loss on the face logits (RetinaNet's, α 0.25, γ 2), the Huber loss of the positive anchors' offsets,
    and the cross-entropy of the class logits of the anchors whose class is known, summed over the batch and
    divided by its number of positive anchors. `outputs`: the model's (faces, classes)."""
    import tensorflow as tf

    outputs, classes = outputs
    labels, logits = targets[..., 0], outputs[..., 0]
    valid = tf.cast(labels >= 0, tf.float32)
    positive = tf.cast(labels > 0, tf.float32)
    cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=positive, logits=logits)
    probability = tf.sigmoid(logits)
    p_true = positive * probability + (1 - positive) * (1 - probability)
    alpha = positive * 0.25 + (1 - positive) * 0.75
    focal = tf.reduce_sum(valid * alpha * (1 - p_true) ** 2 * cross_entropy)
    error = tf.abs(targets[..., 1:5] - outputs[..., 1:])
    huber = tf.where(error < 1, 0.5 * error ** 2, error - 0.5)
    box = tf.reduce_sum(positive[..., None] * huber)
    class_labels = targets[..., 5]
    class_entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.maximum(class_labels, 0.0),
                                                            logits=classes[..., 0])
    known = tf.reduce_sum(tf.cast(class_labels >= 0, tf.float32) * class_entropy)
    return (focal + box + known) / tf.maximum(tf.reduce_sum(positive), 1.0)


def random_crop(image, faces, labels, crop_size, rng, scale_range=(0.6, 1.6)):
    """A training crop: the image scaled as detection would scale it, times a random factor, cut at a random
    place to crop_size², flipped half the time, with camera effects; and the face boxes in it, as (faces, their
    labels, ignored): boxes cut by more than half or under MIN_TRAIN_FACE are ignored."""
    height, width = image.shape[:2]
    scale = input_scale(height, width) * math.exp(rng.uniform(*np.log(scale_range)))
    resized = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    boxes = np.asarray(faces, float).reshape(-1, 4) * scale
    canvas = np.zeros((crop_size, crop_size, 3), np.uint8)
    top = rng.integers(min(0, resized.shape[0] - crop_size), max(0, resized.shape[0] - crop_size) + 1)
    left = rng.integers(min(0, resized.shape[1] - crop_size), max(0, resized.shape[1] - crop_size) + 1)
    source = resized[max(0, top):top + crop_size, max(0, left):left + crop_size]
    canvas[max(0, -top):max(0, -top) + source.shape[0], max(0, -left):max(0, -left) + source.shape[1]] = source
    boxes -= [left, top, left, top]
    clipped = np.clip(boxes, 0, crop_size)
    kept_share = np.prod(clipped[:, 2:] - clipped[:, :2], axis=1) / np.maximum(
        np.prod(boxes[:, 2:] - boxes[:, :2], axis=1), 1e-9)
    sides = (clipped[:, 2:] - clipped[:, :2]).min(axis=1)
    good = (kept_share >= 0.5) & (sides >= MIN_TRAIN_FACE)
    visible = (kept_share > 0) & (sides > 0)
    if rng.random() < 0.5:
        canvas = canvas[:, ::-1]
        clipped = np.stack([crop_size - clipped[:, 2], clipped[:, 1], crop_size - clipped[:, 0], clipped[:, 3]],
                           axis=1)
    return (camera_effects(np.ascontiguousarray(canvas), rng), clipped[good], np.asarray(labels)[good],
            clipped[visible & ~good])


def camera_effects(image, rng):
    """What cameras and light do to a frame, at random: brightness, contrast and colour always; a quarter of the
    time a low resolution (a cheap webcam's frame enlarged), a third a gamma (dim rooms, backlight), a fifth blur
    or sensor noise, a third JPEG artefacts."""
    if rng.random() < 0.25:
        height, width = image.shape[:2]
        factor = rng.uniform(1.5, 3)
        small = cv2.resize(image, (round(width / factor), round(height / factor)), interpolation=cv2.INTER_AREA)
        image = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    image = image.astype(np.float32)
    image = (image - 128) * rng.uniform(0.7, 1.3) + 128 + rng.uniform(-30, 30)
    gray = image.mean(axis=2, keepdims=True)
    image = gray + (image - gray) * (0.0 if rng.random() < 0.1 else rng.uniform(0.6, 1.4))
    image = np.clip(image, 0, 255)
    if rng.random() < 1 / 3:
        image = 255 * (image / 255) ** rng.uniform(0.6, 2.2)
    if rng.random() < 0.2:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.5))
    if rng.random() < 0.2:
        image = image + rng.normal(0, rng.uniform(2, 8), image.shape)
    image = np.clip(image, 0, 255).astype(np.uint8)
    if rng.random() < 1 / 3:
        _, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 90))])
        image = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    return image


def batches(sample_scene, batch_size, crop_size, seed):
    """An endless stream of (images (b, s, s, 3) float32, targets (b, anchors, 6)) of crops of the scenes that
    `sample_scene(rng)` draws, each a (BGR image, face boxes, class labels); made in a background thread."""
    anchors = make_anchors(crop_size, crop_size)
    made = queue.Queue(maxsize=4)

    def produce():
        rng = np.random.default_rng(seed)
        while True:
            images, targets = [], []
            for _ in range(batch_size):
                crop, good, labels, ignored = random_crop(*sample_scene(rng), crop_size, rng)
                images.append(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
                targets.append(match_anchors(anchors, good, labels, ignored))
            made.put((np.asarray(images, np.float32), np.asarray(targets)))

    threading.Thread(target=produce, daemon=True).start()
    while True:
        yield made.get()


@dataclass
class DetectorOptions:
    scenes: list
    faces: Path = None
    output: Path = Path("face_detector_model")
    base_weights: str = "imagenet"
    steps: int = 5000
    batch_size: int = 8
    lr: float = 1e-3
    crop_size: int = 384
    val_split: float = 0.15
    composed_share: float = 0.5
    seed: int = 42
    force: bool = False  # replace the detector already in `output`


def split_scenes(scenes, val_split, seed):
    """(training scenes, validation scenes): a random val_split of the photos held out."""
    order = np.random.default_rng(seed).permutation(len(scenes))
    held_out = round(len(scenes) * val_split)
    return [scenes[i] for i in order[held_out:]], [scenes[i] for i in order[:held_out]]


def validate(detector, scenes):
    """Face recall, precision and AP@0.5 of a face detector on held-out scenes, faces of MIN_FACE_SIZE or more
    counted, as evaluate_mask_detector.py counts them."""
    from facemask.evaluate import judge_image, summarize
    from facemask.pipeline import MIN_FACE_SIZE

    judged = []
    for image, boxes, _ in scenes:
        found, confidences = detector.detect(image, 0.05)  # low, so that AP sees the whole ranking
        ranked = [{"box": box.tolist(), "label": "face", "confidence": 1.0, "face_confidence": confidence}
                  for box, confidence in zip(found, confidences)]
        at_default = [face for face in ranked if face["face_confidence"] >= detector.default_confidence]
        truths = [("face", box.tolist()) for box in boxes]
        judged_image = judge_image(truths, at_default, ["face"], min_size=MIN_FACE_SIZE)
        judged_image["ap_hits"] = judge_image(truths, ranked, ["face"], min_size=MIN_FACE_SIZE)["ap_hits"]
        judged.append(judged_image)
    figures = summarize(judged, ["face"])
    return {"photos": len(scenes), "faces": figures["faces"], "face_recall": figures["face_recall"],
            "precision": figures["precision"], "ap50": figures["ap50"]["face"]}


def train_detector(options):
    """Train, validate and write the detector; returns the metadata written beside it."""
    started = time.perf_counter()
    # before the scenes are read, and creating nothing: a failed run leaves no empty output folder behind
    check_output(options.output, "--output", folder=True)
    refuse_to_replace(options.output, MODEL_NAME, options.force)
    from facemask.training.model import check_base_weights

    check_base_weights(options.base_weights)
    scenes = [scene for folder in options.scenes for scene in read_scenes(Path(folder))]
    train_scenes, val_scenes = split_scenes(scenes, options.val_split, options.seed)
    face_photos, skipped = [], 0
    if options.faces is not None:
        from facemask.detectors.blazeface import BlazeFace

        face_photos, skipped = find_face_boxes(Path(options.faces), BlazeFace("short"))
        print(f"faces found in {len(face_photos)} face photos; {skipped} skipped (unreadable, or no face found)")
    print(f"{len(scenes)} scene photos: {len(train_scenes)} for training, {len(val_scenes)} for validation")

    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(options.seed)
    model = build_detector(options.base_weights)
    schedule = keras.optimizers.schedules.CosineDecay(0.0, options.steps, warmup_target=options.lr,
                                                      warmup_steps=min(300, options.steps // 10))
    optimizer = keras.optimizers.Adam(schedule, clipnorm=10.0)

    @tf.function
    def train_step(images, targets):
        with tf.GradientTape() as tape:
            loss = detection_loss(targets, model(images, training=True))
        optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        return loss

    stream = batches(scene_sampler(train_scenes, face_photos, options.composed_share), options.batch_size,
                     options.crop_size, options.seed)
    losses = []
    with tqdm(total=options.steps, desc="Training the face detector", unit="step") as progress:
        for _ in range(options.steps):
            losses.append(float(train_step(*next(stream))))
            progress.update(1)
            progress.set_postfix(loss=f"{np.mean(losses[-100:]):.3f}")

    metadata = {
        "command": " ".join(sys.argv),
        "options": options_as_json(options),
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__, "opencv": cv2.__version__},
        "scene_photos": len(scenes), "train_photos": len(train_scenes), "val_photos": len(val_scenes),
        "face_photos": len(face_photos), "face_photos_skipped": skipped,
    }
    write_detector(options.output, model, losses, val_scenes, metadata, started)
    return metadata


def write_detector(output_dir, model, losses, val_scenes, metadata, started):
    """The model (.keras and .tflite), its loss curve and its metadata, with the validation figures of the
    .tflite file as detection runs it, written into output_dir together."""
    from facemask.detectors.mobilenet import MobileNetDetector
    from facemask.runtime import to_tflite

    with staged_outputs(output_dir) as staging:
        model.save(staging / Path(MODEL_NAME).with_suffix(".keras"))
        (staging / MODEL_NAME).write_bytes(to_tflite(model))
        if val_scenes:
            metadata["validation"] = validate(MobileNetDetector(staging), val_scenes)
            figures = metadata["validation"]
            print(f"validation, {figures['photos']} photos, {figures['faces']} faces: face recall "
                  f"{figures['face_recall']:.4f}, precision {figures['precision']:.4f}, AP@0.5 {figures['ap50']:.4f}")
        metadata["final_loss"] = round(float(np.mean(losses[-100:])), 4)
        metadata["training_seconds"] = round(time.perf_counter() - started, 1)
        save_loss_curve(losses, staging / "loss.png")
        (staging / "training_metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    print(f"trained in {metadata['training_seconds']} s; detector written to {output_dir / MODEL_NAME}")
