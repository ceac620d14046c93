#!/usr/bin/env python3
"""Train a mask / no-mask classifier (MobileNetV2 transfer learning) on folders of face images."""
import argparse
from pathlib import Path

from facemask import reported_as_exit


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    task = parser.add_argument_group("required, one of").add_mutually_exclusive_group(required=True)
    task.add_argument("--dataset", "-d", type=Path, nargs="+", metavar="DIR",
                      help="train on this folder with one sub-folder of images per class, e.g. with_mask/ and "
                           "without_mask/; several folders train together, their classes merged by name (one may "
                           "hold some classes only, e.g. the drawn masks of make_masked_faces.py)")
    task.add_argument("--export", type=Path, metavar="MODEL.keras",
                      help="no training: write the TFLite copy of an existing .keras model beside it")
    parser.add_argument("--output", "-o", type=Path, default=Path("mask_detector_model"),
                        help="folder for the model and its reports (default: mask_detector_model/)")
    parser.add_argument("--force", action="store_true",
                        help="replace the model already in --output (without it, such a folder is refused)")
    parser.add_argument("--recipe", choices=("shipped", "tutorial"), default="shipped",
                        help="what --grid, --align-faces and --fine-tune default to: the shipped model's recipe "
                             "(--grid 3 --align-faces --fine-tune 60, see models/README.md) or the tutorials' "
                             "(--grid 1 --no-align-faces --fine-tune 0); flags given still count (default: shipped)")
    parser.add_argument("--base-weights", default="imagenet",
                        help="MobileNetV2 weights: imagenet (Keras' cached copy, else the one shipped in "
                             "models/imagenet/: nothing is downloaded), none (random), or a local .h5 file "
                             "(default: imagenet)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs of training the head (default: 20)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default: 32)")
    parser.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (default: 1e-4)")
    parser.add_argument("--val-split", type=float, default=0.2,
                        help="share of each class held out for validation (default: 0.2)")
    parser.add_argument("--seed", type=int, default=42, help="seed for the split and augmentation (default: 42)")
    parser.add_argument("--views", type=int, default=1,
                        help="augmented copies of each training image whose base features are computed (default: 1)")
    parser.add_argument("--patience", type=int, default=5,
                        help="epochs without a better validation loss before stopping early (default: 5)")
    parser.add_argument("--fine-tune", type=int, metavar="N",
                        help="then unfreeze the top N layers of the base and go on training at lr/10; 0: off "
                             "(default: the recipe's, 60 shipped, 0 tutorial)")
    parser.add_argument("--fine-tune-epochs", type=int, default=5, help="epochs of fine-tuning (default: 5)")
    parser.add_argument("--grid", type=int, choices=(1, 3),
                        help="pool the base's 7×7 features into one average (1, the tutorials') or a 3×3 grid that "
                             "keeps where on the face each feature was seen (default: the recipe's, 3 shipped, "
                             "1 tutorial)")
    parser.add_argument("--align-faces", action=argparse.BooleanOptionalAction,
                        help="train on the face the face detector finds in each image, cropped as detection crops "
                             "it but with a margin drawn between 0 and 40%% (the whole image when it finds none) "
                             "(default: the recipe's, on shipped, off tutorial)")
    parser.add_argument("--camera-augment", action=argparse.BooleanOptionalAction, default=True,
                        help="add camera effects to the augmentation: blur of small faces, JPEG artefacts, "
                             "brightness and contrast (default: on)")
    parser.add_argument("--checkpoint-dir", type=Path, metavar="DIR",
                        help="save the training state here after each epoch, so that --resume can continue a "
                             "killed run (removed when the run completes)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run checkpointed in --checkpoint-dir from its last completed epoch")
    parser.add_argument("--strategy", choices=("default", "mirrored", "multiworker"), default="default",
                        help="tf.distribute strategy: default (one device), mirrored (all GPUs of this machine), "
                             "multiworker (several machines, set up by TF_CONFIG; the chief writes the outputs)")
    args = parser.parse_args()
    if args.resume and args.checkpoint_dir is None:
        parser.error("--resume needs --checkpoint-dir, the folder of the run to continue")
    for flag in ("epochs", "batch_size"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1")
    for flag in ("views", "fine_tune", "fine_tune_epochs", "patience"):
        if (getattr(args, flag) or 0) < 0:
            parser.error(f"--{flag.replace('_', '-')} cannot be negative")
    return args


def main():
    args = parse_args()
    from facemask.runtime import export_tflite
    from facemask.training.classifier import TrainingOptions, train

    with reported_as_exit(interrupted="interrupted: no model was written"):
        if args.export is not None:
            print(f"wrote {export_tflite(args.export)}")
            return
        del args.export
        train(TrainingOptions(**vars(args)))


if __name__ == "__main__":
    main()
