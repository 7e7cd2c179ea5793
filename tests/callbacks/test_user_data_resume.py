"""A user's own pipeline under `fit`, SIGKILLed mid-epoch and rerun: exact where its order can be put back.

Each run is tests/callbacks/user_data_job.py in a fresh interpreter: an
uninterrupted run with a CheckpointManager (which changes nothing, see
tests/data/test_training_order.py), a run SIGKILLed at step 5 (in epoch 2 of
3; the newest checkpoint is step 4) and a rerun in its directory.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(kind, directory, weights, kill_at=None):
    command = [sys.executable, "-m", "tests.callbacks.user_data_job", kind, str(directory), str(weights)]
    if kill_at is not None:
        command.append(str(kill_at))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _kill_and_rerun(kind, tmp_path):
    reference = _run(kind, tmp_path / "reference", tmp_path / "reference.npz")
    assert reference.returncode == 0, reference.stderr[-3000:]
    killed = _run(kind, tmp_path / "run", tmp_path / "killed.npz", kill_at=5)
    assert killed.returncode == -9, killed.stderr[-3000:]
    rerun = _run(kind, tmp_path / "run", tmp_path / "rerun.npz")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    # Resumed in epoch 2 of 3 (index 1), and on to the uninterrupted run's last step.
    expected = json.loads(reference.stdout.strip().splitlines()[-1])
    resumed = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert expected["epochs"] == [0, 1, 2]
    assert (resumed["epochs"], resumed["resumed_epoch"], resumed["step"]) == ([0, 1, 2], 1, expected["step"])
    if kind == "pydataset":  # told every epoch's number, the resumed one included
        assert (expected["told"], resumed["told"]) == ([0, 1, 2], [1, 2])
    return rerun, np.load(tmp_path / "reference.npz"), np.load(tmp_path / "rerun.npz")


@pytest.mark.parametrize("kind", ["pydataset", "grain"])
def test_a_users_pipeline_resumes_exactly(kind, tmp_path):
    if kind == "grain":
        pytest.importorskip("grain")
    rerun, reference, resumed = _kill_and_rerun(kind, tmp_path)
    assert "cannot be put back" not in rerun.stderr
    for key in reference.files:
        np.testing.assert_allclose(resumed[key], reference[key], atol=1e-5, rtol=0, err_msg=key)


def test_a_plain_shuffled_tf_data_pipeline_resumes_at_the_right_step_and_warns_once(tmp_path):
    # In one process (a crash, not a kill): what is checked is where training goes on and
    # the warning, not the weights, which this pipeline cannot give back.
    pytest.importorskip("tensorflow")
    import warnings

    import keras

    from keras_ext.callbacks import CheckpointManager
    from keras_ext.data import load_arrays
    from tests.callbacks.training_setup import CrashAtStep
    from tests.callbacks.user_data_job import user_pipeline

    arrays = load_arrays("digits")
    x, y = arrays.x_train[:96], arrays.y_train[:96].astype("int32")

    def fit(callbacks):
        data = user_pipeline("tf.data", x, y)
        model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
        model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        manager = CheckpointManager(tmp_path, save_freq=2, data=data)
        model.fit(data, epochs=3, shuffle=False, callbacks=[manager, *callbacks], verbose=0)
        return manager.resumed_epoch, int(keras.ops.convert_to_numpy(model.optimizer.iterations))

    with pytest.raises(CrashAtStep.Crash):
        fit([CrashAtStep(5)])  # the newest checkpoint is step 4, in epoch 2 of 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resumed_epoch, step = fit([])
    assert (resumed_epoch, step) == (1, 9)
    told = [w for w in caught if "cannot be put back where it was" in str(w.message)]
    assert len(told) == 1, [str(w.message) for w in caught]
