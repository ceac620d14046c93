"""The classifier's augmentation: the tutorials' (as Keras preprocessing layers) and, for webcam faces, what
real cameras do to a face; applied afresh to each batch of a tf.data stream."""


def augmentation(seed=None):
    """The tutorials' augmentation (ImageDataGenerator's settings) as Keras preprocessing layers."""
    import keras

    return keras.Sequential([
        keras.layers.RandomRotation(20 / 360, fill_mode="nearest", seed=seed),
        keras.layers.RandomZoom(0.15, fill_mode="nearest", seed=seed),
        keras.layers.RandomTranslation(0.2, 0.2, fill_mode="nearest", seed=seed),
        keras.layers.RandomShear(x_factor=0.15, y_factor=0.15, fill_mode="nearest", seed=seed),
        keras.layers.RandomFlip("horizontal", seed=seed),
    ], name="augmentation")


def camera_effects(image, seed):
    """What real cameras do to a face (one float32 RGB image, 0-255): half the time the blur of a small face
    scaled up (down to 20-100% of its size and back), half the time JPEG artefacts (quality 20-90)."""
    import tensorflow as tf

    size = tf.shape(image)[:2]
    coin, scale, jpeg_coin, quality = tf.unstack(tf.random.stateless_uniform([4], seed, 0.0, 1.0))
    small = tf.maximum(tf.cast(tf.cast(size, tf.float32) * (0.2 + 0.8 * scale), tf.int32), 8)
    image = tf.cond(coin < 0.5, lambda: tf.image.resize(tf.image.resize(image, small), size), lambda: image)
    return tf.cond(jpeg_coin < 0.5,
                   lambda: tf.image.adjust_jpeg_quality(image / 255.0, tf.cast(20 + 70 * quality, tf.int32)) * 255.0,
                   lambda: image)


def augmented_batches(images, labels, batch_size, seed=None, shuffle=False, camera=False):
    """A tf.data stream of (augmented images as float32, labels) batches: each image once, freshly augmented
    with the tutorials' augmentation and, with `camera`, camera effects, brightness and contrast."""
    import keras
    import tensorflow as tf

    augment = augmentation(seed)
    light = keras.Sequential([  # webcams in dim rooms: darker more often than brighter, and flatter
        keras.layers.RandomBrightness((-0.6, 0.3), value_range=(0, 255), seed=seed),
        keras.layers.RandomContrast(0.5, seed=seed),
    ], name="light")

    def to_float(image, label):
        return tf.cast(image, tf.float32), label

    def add_camera_effects(index, item):
        image, label = item
        return camera_effects(image, tf.stack([seed or 0, tf.cast(index, tf.int32)])), label

    def augment_batch(batch, batch_labels):
        batch = augment(batch, training=True)
        if camera:
            batch = tf.clip_by_value(light(batch, training=True), 0, 255)
        return batch, batch_labels

    stream = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        stream = stream.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    stream = stream.map(to_float)
    if camera:
        stream = stream.enumerate().map(add_camera_effects, num_parallel_calls=tf.data.AUTOTUNE)
    return stream.batch(batch_size).map(augment_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
