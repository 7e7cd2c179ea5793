"""Shared test set-up: quiet TensorFlow, a fixed seed per test, backend markers."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if os.environ.get("KERAS_BACKEND") == "jax":
    # On a GPU the exactness checks (a resume equal to an uninterrupted run at 1e-5,
    # predictions equal to files made on a CPU at 1e-6) need XLA's deterministic GPU
    # ops and float32 without TF32: on an H200 without them 8 tests missed by 1e-4
    # to 4e-4 (docs/checkpointing.md, "On a GPU"). Fresh-process tests inherit both.
    # Neither changes anything on a CPU. Set before Keras imports JAX.
    if "xla_gpu_deterministic_ops" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + " --xla_gpu_deterministic_ops=true"
        ).strip()
    os.environ.setdefault("JAX_DEFAULT_MATMUL_PRECISION", "highest")

import keras  # noqa: E402
import pytest  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "tensorflow_only: needs the TensorFlow backend")


def pytest_collection_modifyitems(config, items):
    if keras.backend.backend() == "tensorflow":
        return
    skip = pytest.mark.skip(reason=f"needs the TensorFlow backend, running {keras.backend.backend()}")
    for item in items:
        if "tensorflow_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed_and_process_wide_keras_settings():
    """A fixed seed; the dtype policy and interactive logging as they were before the test.

    Keras's own learning_rate_scheduler_test (run by tests/conformance) turns
    interactive logging off and leaves it off: every progress bar after it
    went to absl logging instead of stdout, and a later test reading the bar
    from capsys failed only in that order.
    """
    keras.utils.set_random_seed(1234)
    policy = keras.config.dtype_policy()
    interactive = keras.config.is_interactive_logging_enabled()
    yield
    keras.config.set_dtype_policy(policy)
    if interactive:
        keras.config.enable_interactive_logging()
    else:
        keras.config.disable_interactive_logging()
