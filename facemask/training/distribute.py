"""Training under a tf.distribute strategy: the default one (this machine's CPU or one GPU), several GPUs of one
machine (MirroredStrategy), or several machines (MultiWorkerMirroredStrategy, configured by TF_CONFIG).

Keras 3's Model.fit does not run under MultiWorkerMirroredStrategy (keras-team/keras#20585), so models are
trained here with the custom training loop of TensorFlow's distributed training guide, under every strategy, so
that the one loop is the one tested. It drives the usual Keras callbacks (early stopping, checkpoints) as
Model.fit does, and returns the same history.
"""
import os

import keras
import tensorflow as tf

from facemask import UserError

STRATEGIES = ("default", "mirrored", "multiworker")


def make_strategy(name):
    """The strategy named on the command line. MultiWorkerMirroredStrategy must be made before any other
    TensorFlow operation runs."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise UserError("--strategy multiworker needs the TF_CONFIG environment variable: the cluster's "
                            "workers and this worker's place among them (see docs/training.md)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy):
    """Whether this process writes the outputs: always, except on the non-chief workers of a cluster."""
    return strategy.extended.should_checkpoint


def batches(inputs, labels, batch_size, seed=None, shuffle=False):
    """A tf.data stream of (inputs, labels) batches; under several workers each trains on its share of it."""
    stream = tf.data.Dataset.from_tensor_slices((inputs, labels))
    if shuffle:
        stream = stream.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    return stream.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def fit(model, strategy, train, validation, epochs, callbacks=(), initial_epoch=0):
    """Train `model` (compiled under strategy.scope(), its optimizer built there) on the tf.data streams of
    batches `train` and `validation`, with a sparse categorical loss; returns the history of the epochs run."""
    loss_of = keras.losses.SparseCategoricalCrossentropy(reduction=None)
    sharding = tf.data.Options()
    sharding.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train = strategy.experimental_distribute_dataset(train.with_options(sharding))
    validation = strategy.experimental_distribute_dataset(validation.with_options(sharding))

    def totals(labels, probabilities):
        losses = loss_of(labels, probabilities)
        right = tf.cast(tf.equal(tf.argmax(probabilities, axis=1, output_type=labels.dtype), labels), tf.float32)
        return tf.reduce_sum(losses), tf.reduce_sum(right), tf.cast(tf.size(losses), tf.float32), losses

    def train_step(images, labels):
        with tf.GradientTape() as tape:
            loss_sum, right, count, losses = totals(labels, model(images, training=True))
            loss = tf.nn.compute_average_loss(losses)  # the mean over the global batch, for summed gradients
        gradients = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss_sum, right, count

    def validation_step(images, labels):
        return totals(labels, model(images, training=False))[:3]

    @tf.function
    def run(step, batch):
        return [strategy.reduce("SUM", total, axis=None) for total in strategy.run(step, args=batch)]

    def epoch_of(step, stream):
        loss_sum = right = count = 0.0
        for batch in stream:
            batch_loss, batch_right, batch_count = run(step, batch)
            loss_sum, right, count = loss_sum + batch_loss, right + batch_right, count + batch_count
        return float(loss_sum / count), float(right / count)

    callbacks = keras.callbacks.CallbackList(list(callbacks), model=model)
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    model.stop_training = False
    callbacks.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        callbacks.on_epoch_begin(epoch)
        loss, accuracy = epoch_of(train_step, train)
        val_loss, val_accuracy = epoch_of(validation_step, validation)
        logs = {"loss": loss, "accuracy": accuracy, "val_loss": val_loss, "val_accuracy": val_accuracy}
        print(f"Epoch {epoch + 1}/{epochs} - " + " - ".join(f"{key}: {value:.4f}" for key, value in logs.items()),
              flush=True)
        for key, value in logs.items():
            history[key].append(value)
        callbacks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callbacks.on_train_end()
    return history
