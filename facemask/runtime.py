"""The classifier runtime: export a Keras model to TFLite and run TFLite files.

The TFLite interpreter (XNNPACK) runs MobileNetV2 about four times faster than Keras on a CPU, so training uses
it to compute features of the frozen base, and detection uses it to classify faces. The standalone `ai-edge-litert`
interpreter is used when installed: it imports in milliseconds, where TensorFlow takes seconds.
"""
import contextlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from facemask import UserError
from facemask.files import input_problem


def to_tflite(keras_model):
    """The model as TFLite flatbuffer bytes (float32, same outputs as Keras within ~1e-5)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints every captured tensor
        return converter.convert()


def export_tflite(keras_path):
    """Write the TFLite copy of a .keras model beside it (mask_detector.keras → mask_detector.tflite)."""
    import keras

    from facemask.files import write_atomically

    keras_path = Path(keras_path)
    if keras_path.suffix != ".keras" or not keras_path.is_file():
        raise UserError(f"--export needs an existing .keras model: {keras_path}")
    keras_input_shape(keras_path)  # a damaged file is reported before TensorFlow is imported
    try:
        model = keras.models.load_model(keras_path, compile=False)
    except Exception as error:  # Keras raises many kinds for a damaged file
        raise UserError(f"cannot load model {keras_path}: {str(error).splitlines()[0]}") from None
    target = keras_path.with_suffix(".tflite")
    write_atomically(target, to_tflite(model))
    return target


@contextlib.contextmanager
def quiet_stderr():
    """Silence the C++ side's standard error: TFLite announces its XNNPACK delegate there on every start.
    Errors still arrive as Python exceptions."""
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_interpreter(model_content=None, model_path=None, threads=None, input_shape=None):
    """A LiteRT interpreter, its tensors allocated; `input_shape` first sets the shape of a model whose input
    takes any size."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # the interpreter that ships inside TensorFlow works the same, it only starts slower
        from tensorflow.lite.python.interpreter import Interpreter
    with quiet_stderr():
        interpreter = Interpreter(model_content=model_content, model_path=model_path,
                                  num_threads=threads or os.cpu_count())
        if input_shape is not None:
            interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], input_shape)
        interpreter.allocate_tensors()
    return interpreter


class TFLiteRunner:
    """Runs a single-input, single-output TFLite model on a batch of arrays, one item at a time.

    One item at a time is the fastest way here: XNNPACK runs MobileNetV2 at batch 1 faster per image than at
    batch 16 or 64 on a 2-core CPU, and it avoids re-allocating tensors when the batch size changes.
    """

    def __init__(self, model_content=None, model_path=None, threads=None):
        self.interpreter = load_interpreter(model_content, model_path, threads)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.input_shape = tuple(self.input["shape"][1:])
        self.output_size = int(self.output["shape"][-1])

    def signature(self):
        """(inputs, outputs), each a list of (shape without the batch, type name): see check_classifier."""
        return tuple([(tuple(int(size) for size in tensor["shape"][1:]), np.dtype(tensor["dtype"]).name)
                      for tensor in details()]
                     for details in (self.interpreter.get_input_details, self.interpreter.get_output_details))

    def __call__(self, batch, progress=None):
        outputs = np.empty((len(batch), self.output_size), dtype=np.float32)
        for index, item in enumerate(batch):
            self.interpreter.set_tensor(self.input["index"], np.asarray(item, dtype=np.float32)[np.newaxis])
            self.interpreter.invoke()
            outputs[index] = self.interpreter.get_tensor(self.output["index"])[0]
            if progress is not None:
                progress.update(1)
        return outputs


HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"  # Keras 2 saved the tutorials' models as HDF5, whatever their extension
DEFAULT_CLASS_NAMES = ["with_mask", "without_mask"]  # the tutorials' order, for models saved without labels


def labels_path(model_path):
    """Where a model's class names are kept: mask_detector.keras → mask_detector.labels.txt."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + ".labels.txt")


class Classifier:
    """A trained mask classifier and its class names, from a .tflite or .keras file.

    For a .keras model with a .tflite copy beside it, the copy is run, and TensorFlow is never imported.
    Input: a batch of faces from images.prepare_face; output: (n, classes) probabilities.
    """

    def __init__(self, model_path, threads=None):
        model_path = Path(model_path)
        problem = input_problem(model_path)
        if problem is not None:
            raise UserError(f"cannot read model {model_path}: {problem}")
        keras_path = model_path if model_path.suffix == ".keras" else None
        keras_input = keras_input_shape(keras_path) if keras_path else None
        tflite_copy = model_path.with_suffix(".tflite")
        if keras_path and tflite_copy.is_file():  # training and --export write both
            model_path = tflite_copy
        try:
            if model_path.suffix == ".tflite":
                self.runtime = "tflite"
                self.run = TFLiteRunner(model_path=str(model_path), threads=threads)
                inputs, outputs = self.run.signature()
            elif model_path.suffix == ".keras":
                self.runtime = "keras"
                self.run, inputs, outputs = keras_runner(load_keras_model(model_path))
            elif is_hdf5(model_path):
                from facemask.legacy import load_tutorial_model

                self.runtime = "keras (tutorial HDF5)"
                self.run, inputs, outputs = keras_runner(load_tutorial_model(model_path))
            else:
                raise UserError(f"model {model_path} is neither .keras, .tflite nor a tutorial's Keras 2 HDF5 file")
        except UserError:
            raise
        except Exception as error:  # each runtime raises its own kinds for a damaged file
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise UserError(f"cannot load model {model_path}: {first_line}") from None
        check_classifier(model_path, inputs, outputs)
        if model_path != keras_path and keras_input not in (None, inputs[0][0]):
            raise UserError(f"{model_path} is not a copy of {keras_path}: it takes {shape_text(inputs[0][0])} "
                            f"images, the .keras model takes {shape_text(keras_input)}; delete it, or write a new "
                            f"copy with train_mask_detector.py --export {keras_path}")
        self.input_size = inputs[0][0][0]
        self.class_names = read_class_names(model_path, outputs[0][0][0])

    def __call__(self, faces):
        if len(faces) == 0:
            return np.empty((0, len(self.class_names)), dtype=np.float32)
        return self.run(faces)


def load_keras_model(model_path):
    import keras

    return keras.models.load_model(model_path, compile=False)


def keras_runner(model, batch_size=64):
    """A Keras model as (function on a batch, inputs, outputs) with inputs and outputs as check_classifier takes
    them. The model is called directly: model.predict costs ~100 ms of overhead per call, too much for one call per
    video frame."""

    def run(faces):
        faces = np.asarray(faces, dtype=np.float32)
        return np.concatenate([model(faces[start:start + batch_size], training=False).numpy()
                               for start in range(0, len(faces), batch_size)])

    inputs, outputs = ([(tuple(tensor.shape[1:]), str(tensor.dtype)) for tensor in tensors]
                       for tensors in (model.inputs, model.outputs))
    return run, inputs, outputs


def keras_input_shape(keras_path):
    """The input shape (without the batch) that a .keras file's config names, read without TensorFlow, or None
    when the config does not say it plainly; UserError when the file is not a whole .keras archive."""
    try:
        with zipfile.ZipFile(keras_path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):  # a truncated file loses the index at its end
        raise UserError(f"cannot load model {keras_path}: not a .keras model, or a damaged or truncated one") from None
    try:
        shapes = [layer["config"]["batch_shape"] for layer in config["config"]["layers"]
                  if layer["class_name"] == "InputLayer"]
        return tuple(shapes[0][1:]) if len(shapes) == 1 else None
    except (KeyError, TypeError, IndexError):
        return None


def check_classifier(model_path, inputs, outputs):
    """UserError unless the model takes one batch of square RGB images (float32, 0-255) and gives one row of class
    probabilities per image. `inputs`, `outputs`: lists of (shape without the batch, type name)."""
    if len(inputs) != 1 or len(outputs) != 1:
        raise UserError(f"model {model_path} is not an image classifier: it has {len(inputs)} inputs and "
                        f"{len(outputs)} outputs, where one of each is expected")
    (shape, dtype), (output_shape, _) = inputs[0], outputs[0]
    if len(shape) != 3 or shape[0] != shape[1] or shape[2] != 3 or not shape[0] or dtype != "float32":
        raise UserError(f"model {model_path} is not an image classifier: it takes {shape_text(shape)} {dtype} "
                        f"input, where square RGB images (size×size×3 float32) are expected")
    if len(output_shape) != 1 or not output_shape[0]:
        raise UserError(f"model {model_path} is not a classifier: it gives {shape_text(output_shape)} outputs per "
                        f"image, where one probability per class is expected")


def shape_text(shape):
    return "×".join(str(size) for size in shape) or "scalar"


def is_hdf5(path):
    with open(path, "rb") as file:
        return file.read(len(HDF5_MAGIC)) == HDF5_MAGIC


def read_class_names(model_path, output_count):
    path = labels_path(model_path)
    try:
        names = path.read_text(encoding="utf-8").split() if path.is_file() else DEFAULT_CLASS_NAMES
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"cannot read the class names in {path}: {getattr(error, 'strerror', None) or error}") from None
    if len(names) != output_count:
        raise UserError(f"model {model_path} has {output_count} outputs but {len(names)} class names"
                        f"{' in ' + str(path) if path.is_file() else ''}")
    return names
