"""The classifier: a frozen MobileNetV2 base with the tutorials' head, and where the base's weights come from.

    RGB 224×224 (0-255) → Rescaling to [-1, 1] → MobileNetV2 (frozen) → AveragePooling2D → Flatten
        → Dense(128, relu) → Dropout(0.5) → Dense(N, softmax)

The tutorials pool the base's 7×7 grid of features into one average (grid 1: AveragePooling2D(7×7)), which throws
away where on the face each feature was seen. Grid 3 pools it into 3×3 overlapping windows (AveragePooling2D(3×3),
strides 2) and keeps that: on a face cropped the way detection crops it, a mask is in the lower third. The
rescaling lives inside the model, so a saved model carries its own preprocessing.
"""
import os
from pathlib import Path

import keras

from facemask import UserError
from facemask.images import IMAGE_SIZE

# --grid: how the base's 7×7 features are pooled, into one average or a 3×3 grid of overlapping windows
POOLING = {1: {"pool_size": (7, 7)}, 3: {"pool_size": (3, 3), "strides": (2, 2)}}
IMAGENET_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"  # what MobileNetV2 loads
# The same file, shipped, so that training needs no internet (models/imagenet/README.md)
SHIPPED_IMAGENET = Path(__file__).resolve().parents[2] / "models" / "imagenet" / IMAGENET_FILE


def check_base_weights(base_weights):
    """What MobileNetV2 is given for --base-weights, checked before the slow work starts: `imagenet` is Keras' own
    loading when its cache (~/.keras/models/, or $KERAS_HOME/models/) holds the file, else the shipped copy, so
    that nothing is downloaded; `none` is random weights; a path must be a file."""
    if base_weights == "none":
        return None
    if base_weights != "imagenet":
        if not Path(base_weights).is_file():
            raise UserError(f"--base-weights file not found: {base_weights}")
        return base_weights
    cache = Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "models"
    if (cache / IMAGENET_FILE).is_file():
        return "imagenet"
    if not SHIPPED_IMAGENET.is_file():
        raise UserError(f"the MobileNetV2 ImageNet weights are neither in {cache} nor at {SHIPPED_IMAGENET}: pass "
                        f"--base-weights PATH to a copy of {IMAGENET_FILE}, or --base-weights none")
    return str(SHIPPED_IMAGENET)


def load_base(base_weights="imagenet", input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3)):
    """MobileNetV2 without its top, with the weights check_base_weights finds: ImageNet's, random (`none`), or a
    local .h5 file. `input_shape` (None, None, 3) makes it take images of any size, as a detector's backbone."""
    weights = check_base_weights(base_weights)
    try:
        return keras.applications.MobileNetV2(input_shape=input_shape, include_top=False, weights=weights)
    except Exception as error:
        raise UserError(f"--base-weights {base_weights} is not MobileNetV2 (224, no top) weights: "
                        f"{str(error).splitlines()[0]}") from None


def build_model(num_classes, base_weights="imagenet", grid=1):
    """The full classifier, plus its two halves: the frozen `features` extractor and the trainable `head`."""
    base = load_base(base_weights)
    base.trainable = False
    images = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="image")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1, name="to_minus1_1")(images)
    x = base(x, training=False)  # batch norm stays in inference mode, also when fine-tuning
    x = keras.layers.AveragePooling2D(**POOLING[grid], name="pool")(x)
    features = keras.layers.Flatten(name="features")(x)

    head = keras.Sequential([
        keras.Input((features.shape[-1],)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(num_classes, activation="softmax"),
    ], name="head")
    model = keras.Model(images, head(features), name="mask_detector")
    return model, keras.Model(images, features, name="feature_extractor"), head


def unfreeze_top(model, layer_count):
    """Make the top `layer_count` layers of the base trainable (batch norm layers stay frozen)."""
    base = next(layer for layer in model.layers if isinstance(layer, keras.Model) and layer.name != "head")
    base.trainable = True
    for index, layer in enumerate(base.layers):
        top = index >= len(base.layers) - layer_count
        layer.trainable = top and not isinstance(layer, keras.layers.BatchNormalization)
