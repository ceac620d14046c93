"""Figures and reports of training: the classification report, the confusion matrix, training curves, the options
as the metadata file records them."""
import io
import textwrap

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import ConfusionMatrixDisplay, classification_report

from facemask.files import write_atomically


def classification_summary(true_labels, predicted_labels, class_names):
    """The report as text (to print) and as a dict (per-class precision, recall, F1, support; accuracy)."""
    labels = list(range(len(class_names)))
    kwargs = dict(labels=labels, target_names=class_names, digits=4, zero_division=0)
    text = classification_report(true_labels, predicted_labels, **kwargs)
    summary = classification_report(true_labels, predicted_labels, output_dict=True, **kwargs)
    summary["accuracy"] = float(np.mean(np.asarray(true_labels) == np.asarray(predicted_labels)))
    return text, summary


def wrapped(class_name, width=12):
    """`mask_weared_incorrect` on two lines, so that long names side by side do not run into each other."""
    return "\n".join(textwrap.wrap(class_name.replace("_", " "), width))


def save_confusion_matrix(true_labels, predicted_labels, class_names, path, title="Confusion matrix"):
    figure, axes = plt.subplots(figsize=(5, 4.5))
    ConfusionMatrixDisplay.from_predictions(true_labels, predicted_labels, labels=list(range(len(class_names))),
                                            display_labels=[wrapped(name) for name in class_names], cmap="Blues",
                                            colorbar=False, ax=axes)
    axes.set_title(title)
    save_figure(figure, path)


def save_training_curves(history, path):
    """Loss and accuracy per epoch, training and validation; `history` is Keras' History.history dict."""
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for axes, metric in ((loss_axes, "loss"), (accuracy_axes, "accuracy")):
        # with points: a run of one epoch has no line to draw
        axes.plot(epochs, history[metric], marker="o", label=f"train {metric}")
        axes.plot(epochs, history[f"val_{metric}"], marker="o", label=f"validation {metric}")
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs 1, 2, 3, not 1.25
        axes.set_title(metric.capitalize())
        axes.legend()
    save_figure(figure, path)


def save_loss_curve(losses, path, window=100):
    """A training loss per step, with its mean over the last `window` steps."""
    figure, axes = plt.subplots(figsize=(6, 4))
    steps = np.arange(1, len(losses) + 1)
    axes.plot(steps, losses, alpha=0.3, label="loss per step")
    running = np.convolve(losses, np.ones(window) / window, mode="valid") if len(losses) >= window else losses
    axes.plot(steps[len(steps) - len(running):], running, label=f"mean of {min(window, len(losses))} steps")
    axes.set_xlabel("step")
    axes.set_yscale("log")
    axes.set_title("Training loss")
    axes.legend()
    save_figure(figure, path)


def save_figure(figure, path):
    """The figure as a PNG at `path`, written to a temporary name and renamed, like every output."""
    figure.tight_layout()
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=100, bbox_inches="tight")  # what tight_layout leaves out: long names
    plt.close(figure)
    write_atomically(path, png.getvalue())


def options_as_json(options):
    """A training run's options as JSON holds them: numbers, booleans and None as they are, paths as strings, lists
    of them as lists."""
    def plain(value):
        if isinstance(value, (list, tuple)):
            return [plain(item) for item in value]
        return value if value is None or isinstance(value, (bool, int, float)) else str(value)

    return {key: plain(value) for key, value in vars(options).items()}
