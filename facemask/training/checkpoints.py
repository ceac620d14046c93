"""Checkpoints of a training run, written as it goes, so that a killed run can be resumed where it stopped.

A checkpoint folder holds:
    run.json                       what the run trains on and how; a resumed run must match it
    features.npz                   the frozen base's features of the images, the slow part of training
and, for each phase of training ("head", then "fine_tune"):
    <phase>.json                   the history of the completed epochs, and which weight files go with it
    <phase>-<epoch>.weights.h5     the weights and optimizer state after the last completed epoch
    <phase>-best-<epoch>.weights.h5    the best weights so far by validation loss, for early stopping
Each weight file has a new name and <phase>.json is replaced by an atomic rename after them, so a run killed at
any moment leaves the previous checkpoint whole.
"""
import io
import json
import shutil
from pathlib import Path

import keras
import numpy as np

from facemask import UserError
from facemask.files import make_folder, write_atomically


class Checkpoints:
    """The checkpoint folder of one run. `writer` is false on the workers of a cluster that are not its chief:
    they read checkpoints (from a folder all workers share) but never write them."""

    def __init__(self, folder, run, resume=False, writer=True):
        self.folder, self.writer = Path(folder), writer
        saved_run = self.folder / "run.json"
        self.resuming = resume and saved_run.is_file()
        if resume and not self.resuming:
            print(f"no checkpoint in {self.folder}: starting from the beginning")
        if self.resuming:
            saved = json.loads(saved_run.read_text())
            changed = sorted(key for key in run.keys() | saved.keys() if run.get(key) != saved.get(key))
            if changed:
                raise UserError(f"the checkpoint in {self.folder} is of a run with other {', '.join(changed)}: "
                                "resume with the same options, or start anew without --resume")
            print(f"resuming the run checkpointed in {self.folder}")
        elif writer:
            shutil.rmtree(self.folder, ignore_errors=True)  # an older run's checkpoint
            make_folder(self.folder)
            write_atomically(saved_run, json.dumps(run, indent=2).encode())

    def features(self, compute):
        """The features saved by the run being resumed, or else compute() them and save them."""
        path = self.folder / "features.npz"
        if self.resuming and path.is_file():
            print(f"using the features saved in {path}")
            with np.load(path) as saved:
                return saved["train"], saved["train_labels"], saved["val"]
        train, train_labels, val = compute()
        if self.writer:
            buffer = io.BytesIO()
            np.savez(buffer, train=train, train_labels=train_labels, val=val)
            write_atomically(path, buffer.getvalue())
        return train, train_labels, val

    def phase(self, name, early_stopping):
        """The callback that checkpoints one phase of training; see PhaseCheckpoint."""
        state_path = self.folder / f"{name}.json"
        state = json.loads(state_path.read_text()) if self.resuming and state_path.is_file() else None
        return PhaseCheckpoint(self, name, early_stopping, state)


class PhaseCheckpoint(keras.callbacks.Callback):
    """Saves the weights and history after each epoch. When resuming, training starts at `initial_epoch`, and
    on train begin the callback restores the weights and the early stopping's state (so list it after the
    EarlyStopping, whose own on_train_begin resets that state). A `finished` phase need not run again."""

    def __init__(self, checkpoints, name, early_stopping, state=None):
        super().__init__()
        self.checkpoints, self.name, self.early_stopping = checkpoints, name, early_stopping
        self.state = state or {"history": {}, "last": None, "best": None, "finished": False}
        self.initial_epoch = len(self.state["history"].get("loss", []))
        if self.initial_epoch:
            print(f"{name}: resuming after epoch {self.initial_epoch}")

    @property
    def history(self):
        return self.state["history"]

    @property
    def finished(self):
        return self.state["finished"]

    def restore_weights(self):
        """The weights of the last completed epoch (or, for a finished phase, its final weights)."""
        self.model.load_weights(self.checkpoints.folder / self.state["last"])

    def on_train_begin(self, logs=None):
        if not self.initial_epoch:
            return
        stopping, losses = self.early_stopping, self.history["val_loss"]
        self.model.load_weights(self.checkpoints.folder / self.state["best"])
        stopping.best_weights = self.model.get_weights()
        stopping.best = min(losses)
        stopping.best_epoch = losses.index(stopping.best)
        stopping.wait = len(losses) - 1 - stopping.best_epoch
        self.restore_weights()

    def on_epoch_end(self, epoch, logs=None):
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        self.state["last"] = self._save_weights(f"{self.name}-{epoch + 1}")
        if logs["val_loss"] <= min(self.history["val_loss"]):
            self.state["best"] = self._save_weights(f"{self.name}-best-{epoch + 1}")
        self._save_state()

    def on_train_end(self, logs=None):
        self.state["last"] = self._save_weights(f"{self.name}-final")  # after early stopping restored the best
        self.state["finished"] = True
        self._save_state()

    def _save_weights(self, stem):
        if self.checkpoints.writer:
            self.model.save_weights(self.checkpoints.folder / f"{stem}.weights.h5")
        return f"{stem}.weights.h5"

    def _save_state(self):
        if not self.checkpoints.writer:
            return
        folder = self.checkpoints.folder
        write_atomically(folder / f"{self.name}.json", json.dumps(self.state).encode())
        for old in folder.glob(f"{self.name}-*.weights.h5"):
            if old.name not in (self.state["last"], self.state["best"]):
                old.unlink()
