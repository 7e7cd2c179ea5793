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

# JAX's persistent compilation cache, shared by every process of one test run (the xdist
# workers and the processes the tests start inherit it): the tests build the same small
# models again and again, and XLA compiles each program once instead of once per test
# (tests/callbacks/test_checkpoint_manager.py on JAX: 68 s without, 22 s with, on a
# 2-core CPU). Only compilation is cached: tracing, and so every retrace a test counts,
# still happens. A directory set by the caller is kept.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    import tempfile

    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or str(os.getpid())
    os.environ["JAX_COMPILATION_CACHE_DIR"] = os.path.join(
        tempfile.gettempdir(), f"keras_ext-jax-cache-{run}"
    )
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import keras  # noqa: E402
import pytest  # noqa: E402

# The slowest test files, slowest first (CPU seconds each, measured alone with
# tools/run_each_test_file.sh). Under the README's `-n 2 --dist loadfile` a file
# runs whole on one worker, in collection order: started last, one of these would
# keep one worker busy for minutes after the other has run out of work.
SLOWEST_FILES = (
    "tests/callbacks/test_sigkill_exactness.py",  # 245 s
    "tests/cli/test_tune.py",  # 244 s
    "tests/distribute/test_train_jax_distribution.py",  # 242 s
    "tests/distribute/test_train_multiworker.py",  # 145 s
    "tests/callbacks/test_preemption.py",  # 140 s
    "tests/cli/test_train.py",  # 106 s
    "tests/checkpoint/test_own_loop.py",  # 97 s
    "tests/callbacks/test_cross_backend_restore.py",  # 97 s
    "tests/callbacks/test_user_data_resume.py",  # 93 s
    "tests/test_docs.py",  # 73 s, and some examples now run twice
    "tests/distribute/test_mirrored_resume.py",  # 87 s
    "tests/training/test_trainer_fit_arguments.py",  # 81 s
    "tests/callbacks/test_checkpoint_manager.py",  # 80 s
    "tests/cli/test_train_checkpoints_change_nothing.py",  # 73 s
    "tests/cli/test_train_one_writer.py",  # about 70 s
    "tests/cli/test_train_image_folder.py",  # about 60 s
    "tests/cli/test_train_model_forms.py",  # about 50 s
    "tests/cli/test_tune_hypermodel.py",  # about 50 s
)


def pytest_configure(config):
    config.addinivalue_line("markers", "tensorflow_only: needs the TensorFlow backend")
    if hasattr(config.option, "loadscopereorder"):
        # pytest-xdist would order files by their number of tests (few, long tests last):
        # keep the collection order below instead.
        config.option.loadscopereorder = False


def _slowest_first(item):
    path = item.nodeid.split("::")[0]
    return SLOWEST_FILES.index(path) if path in SLOWEST_FILES else len(SLOWEST_FILES)


def pytest_collection_modifyitems(config, items):
    items.sort(key=_slowest_first)  # stable: the other files keep their order
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
