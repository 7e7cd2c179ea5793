"""`environment()`: the machine, device and versions a benchmark ran on, recorded with its figures."""

import os
import platform

import keras
import numpy as np


def environment():
    """Backend, device, machine, CPU count and the versions of Python, Keras, NumPy and the backend."""
    backend = keras.backend.backend()
    env = {
        "backend": backend,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
    }
    if backend == "tensorflow":
        import tensorflow as tf

        env["tensorflow"] = tf.__version__
        gpus = tf.config.list_physical_devices("GPU")
        env["device"] = ", ".join(d.name for d in gpus) if gpus else f"CPU ({os.cpu_count()} cores)"
    elif backend == "jax":
        import jax

        env["jax"] = jax.__version__
        env["device"] = ", ".join(str(d.device_kind) for d in jax.devices())
    return env
