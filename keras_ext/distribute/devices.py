"""Split the CPU into logical devices, to try tf.distribute on a machine without GPUs."""


def split_cpu(count):
    """Configure `count` logical CPU devices; call before TensorFlow runs any op.

    With them, `MirroredStrategy(["/cpu:0", "/cpu:1"])` runs real replicas
    on one machine (no speed-up: it is for testing distributed code).

    Raises:
        ValueError: for a count below 1.
        RuntimeError: when TensorFlow has already initialised its devices.
    """
    import tensorflow as tf

    from keras_ext._validation import check_positive_int

    count = check_positive_int("count", count)
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    except RuntimeError as error:
        raise RuntimeError(
            "split_cpu must run before TensorFlow initialises its devices (before any model, "
            f"tensor or op is created in this process): {error}"
        ) from None
    return [d.name for d in tf.config.list_logical_devices("CPU")]
