#!/usr/bin/env python3
"""Training time: the tutorial recipe against our fast path, on the same data, in one run.

The tutorial recipe sends every training image, freshly augmented, through the frozen MobileNetV2 base in every
epoch (and every validation image too), batch 32, 20 epochs. It is timed for --tutorial-epochs epochs and its
20-epoch time extrapolated from the fastest of them. Ours is timed whole: train_mask_detector.py's train(),
from reading the images to writing every output, with the same model and stages (`--recipe tutorial`: the
tutorials' head on whole images, no fine-tuning), so that the two differ only in how they train it. `--recipe
shipped` times ours with the shipped model's recipe instead (a 3×3 grid, aligned faces, fine-tuning: slower).

    python benchmarks/train_speed.py                    # ../shared/data/faces, ../shared ImageNet weights
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

from facemask.training.classifier import TrainingOptions, train  # noqa: E402


def tutorial_recipe(options, epochs_to_time):
    """Seconds for 20 tutorial epochs (extrapolated) and the validation accuracy after the timed epochs."""
    import keras
    import tensorflow as tf

    from facemask.dataset import load_dataset, split
    from facemask.images import IMAGE_SIZE
    from facemask.training.augmentation import augmented_batches
    from facemask.training.model import build_model

    started = time.perf_counter()
    keras.utils.set_random_seed(options.seed)
    data = load_dataset(options.dataset, IMAGE_SIZE)
    train_index, val_index = split(data.labels, options.val_split, options.seed)
    model, _, _ = build_model(len(data.class_names), options.base_weights)
    model.compile(optimizer=keras.optimizers.Adam(options.lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    setup_seconds = time.perf_counter() - started

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_seconds.append(time.perf_counter() - self.started)

    epoch_seconds = []
    history = model.fit(
        augmented_batches(data.images[train_index], data.labels[train_index], 32, options.seed, shuffle=True),
        validation_data=tf.data.Dataset.from_tensor_slices((data.images[val_index], data.labels[val_index])).batch(32),
        epochs=epochs_to_time, shuffle=False,  # the stream shuffles itself
        callbacks=[EpochTimer()], verbose=2)
    print(f"tutorial epochs took {', '.join(f'{s:.1f}' for s in epoch_seconds)} s")
    return setup_seconds + 20 * min(epoch_seconds), history.history["val_accuracy"][-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=SHARED / "data" / "faces")
    parser.add_argument("--base-weights", default=str(
        SHARED / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"))
    parser.add_argument("--tutorial-epochs", type=int, default=2, help="tutorial epochs actually run (default: 2)")
    parser.add_argument("--recipe", choices=("tutorial", "shipped"), default="tutorial",
                        help="train_mask_detector.py's --recipe for ours (default: tutorial, the same model)")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"error: this benchmark needs the development data in {SHARED}, which the toolkit does not ship")

    with tempfile.TemporaryDirectory() as output:
        options = TrainingOptions(dataset=args.dataset, output=Path(output), recipe=args.recipe,
                                  base_weights=args.base_weights)
        started = time.perf_counter()
        ours = train(options)
        our_seconds = time.perf_counter() - started
        tutorial_seconds, tutorial_accuracy = tutorial_recipe(options, args.tutorial_epochs)

    print()
    print(f"dataset: {args.dataset} ({ours['train_images']} training / {ours['val_images']} validation images)")
    print(f"tutorial recipe, 20 epochs: {tutorial_seconds:7.1f} s (extrapolated from {args.tutorial_epochs} "
          f"epochs), validation accuracy {tutorial_accuracy:.4f} after {args.tutorial_epochs} epochs")
    print(f"ours (--recipe {args.recipe}, {ours['epochs_run']} epochs, early stopping): {our_seconds:7.1f} s, "
          f"validation accuracy {ours['val_accuracy']:.4f}")
    print(f"ours takes {our_seconds / tutorial_seconds:.3f} of the tutorial's time "
          f"({tutorial_seconds / our_seconds:.1f}x faster)")


if __name__ == "__main__":
    main()
