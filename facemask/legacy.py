"""The classic tutorial's models: Keras 2 HDF5 files (such as TF 2.2's `mask_detector.model`) opened in Keras 3.

Keras 3 refuses these files, so the tutorial's architecture is rebuilt (MobileNetV2 without top →
AveragePooling2D(7×7) → Flatten → Dense → Dropout → Dense softmax) and the weights are copied layer by layer,
by name. A Rescaling layer in front takes our input (RGB 0-255) to the [-1, 1] the tutorial's model expects.
"""
import h5py
import keras

from facemask import UserError
from facemask.images import IMAGE_SIZE

def load_tutorial_model(path):
    """A Keras 3 model with the weights of a Keras 2 tutorial model saved as HDF5."""
    try:
        with h5py.File(path, "r") as file:
            weights = file["model_weights"] if "model_weights" in file else file
            stored = {name.decode() if isinstance(name, bytes) else name for name in weights.attrs["layer_names"]}
            dense_names = sorted((name for name in stored if name.startswith("dense")), key=lambda name: (len(name), name))
            if len(dense_names) != 2:
                raise UserError(f"{path} is not a tutorial mask model (expected 2 dense layers in its head)")
            hidden, classes = (weights[name][name]["kernel:0"].shape[-1] for name in dense_names)
            model = tutorial_architecture(hidden, classes, dense_names)
            for layer in all_layers(model):
                if not layer.weights:
                    continue
                if layer.name not in stored:
                    raise UserError(f"{path} has no weights for layer {layer.name}")
                group = weights[layer.name]
                names = [name.decode() if isinstance(name, bytes) else name for name in group.attrs["weight_names"]]
                layer.set_weights([group[name][()] for name in names])
    except (OSError, KeyError, ValueError) as error:
        raise UserError(f"cannot load tutorial model {path}: {str(error).splitlines()[0]}") from None
    return model


def all_layers(model):
    """Every layer with weights, the base's own layers included."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from all_layers(layer)
        else:
            yield layer


def tutorial_architecture(hidden_units, classes, dense_names):
    images = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(images)
    base = keras.applications.MobileNetV2(include_top=False, weights=None, input_tensor=x)
    x = keras.layers.AveragePooling2D(pool_size=(7, 7))(base.output)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(hidden_units, activation="relu", name=dense_names[0])(x)
    x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name=dense_names[1])(x)
    return keras.Model(images, outputs, name="tutorial_mask_detector")
