"""CheckpointManager with `model.fit`: rotation, layout, exact resume, corruption, bad input.

Backend-agnostic tests feed unshuffled NumPy arrays (a data source whose
epoch order never changes, so it qualifies for exact resume on any backend);
the tf.data pipeline and SIGKILL runs are in test_sigkill_exactness.py.
"""

import itertools
import json
import os
import re
import threading
import time
import warnings

import keras
import numpy as np
import pytest

from keras_ext.callbacks import CheckpointManager
from keras_ext.callbacks import CheckpointMismatchError
from keras_ext.checkpoint import _checkpoint_files
from tests.callbacks import training_setup as setup

EPOCHS = 3


@pytest.fixture(scope="module")
def arrays():
    return setup.digits_arrays()


def _fit(model, arrays, callbacks=(), epochs=EPOCHS):
    x, y, xv, yv = arrays
    return model.fit(
        x,
        y,
        batch_size=setup.BATCH_SIZE,
        epochs=epochs,
        shuffle=False,
        validation_data=(xv, yv),
        callbacks=list(callbacks),
        verbose=0,
    )


@pytest.fixture(scope="module")
def reference(arrays):
    """One uninterrupted run: final weights, optimizer state and History."""
    model = setup.make_model(seed=0)
    history = _fit(model, arrays)
    return {
        "weights": setup.weights(model),
        "optimizer": setup.optimizer_state(model),
        "history": history.history,
    }


def _names(paths):
    return [os.path.basename(p) for p in paths]


def _crash(model, arrays, directory, step, **manager_kwargs):
    manager = CheckpointManager(directory, save_freq=4, **manager_kwargs)
    with pytest.raises(setup.CrashAtStep.Crash):
        _fit(model, arrays, [manager, setup.CrashAtStep(step)])
    return manager


def _assert_all_close(actual, expected, atol=1e-5):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, atol=atol, rtol=0)


def test_seed_setting_keeps_exactly_the_three_newest_by_step(tmp_path, arrays):
    # The walkthrough's tf.train.CheckpointManager setting: every 20 steps, keep 3.
    from keras_ext import data

    full = data.load_arrays("digits")
    model = setup.make_model(seed=0)
    manager = CheckpointManager(tmp_path / "ckpt", save_freq=20, max_to_keep=3)
    model.fit(full.x_train, full.y_train, batch_size=32, epochs=3, callbacks=[manager], verbose=0)
    steps_per_epoch = -(-len(full.x_train) // 32)
    total = 3 * steps_per_epoch
    written = sorted(set(range(20, total + 1, 20)) | {total})  # every 20 steps, plus the end
    assert _names(manager.checkpoints) == [f"ckpt-{s}" for s in written[-3:]]
    assert sorted(os.listdir(tmp_path / "ckpt")) == sorted(f"ckpt-{s}" for s in written[-3:])
    assert manager.latest == manager.checkpoints[-1]
    for path in manager.checkpoints:
        _, state = _checkpoint_files.read_checkpoint(path)
        step = int(os.path.basename(path).split("-")[1])
        assert state["step"] == step
        if step == total:
            assert (state["epoch"], state["step_in_epoch"]) == (3, 0)
        else:  # a step save inside an epoch: where in the epoch it was taken
            assert (state["epoch"], state["step_in_epoch"]) == divmod(step, steps_per_epoch)


def test_each_checkpoint_holds_the_whole_training_state(tmp_path, arrays):
    model = setup.make_model(seed=0)
    manager = CheckpointManager(tmp_path, save_freq=4, max_to_keep=None)
    _fit(model, arrays, [manager], epochs=1)
    assert _names(manager.checkpoints) == ["ckpt-4", "ckpt-8", "ckpt-10"]
    loaded, state = _checkpoint_files.read_checkpoint(manager.latest)
    assert sorted(os.listdir(manager.latest)) == ["MANIFEST.json", "state.json", "state.npz"]
    groups = {k: len(v) for k, v in state["variables"].items()}
    assert groups == {
        "model": len(model.variables),
        "optimizer": len(model.optimizer.variables),
        "metrics": len(model.metrics_variables),
    }
    paths = [v["path"] for v in state["variables"]["model"]]
    assert any("moving_mean" in p for p in paths)  # BatchNorm statistics
    assert any("seed_generator_state" in p for p in paths)  # Dropout's random state
    assert int(loaded["optimizer/00000"]) == 10 == state["step"]  # iterations
    _assert_all_close(
        [loaded[f"model/{i:05d}"] for i in range(groups["model"])], setup.weights(model), atol=0
    )


def test_mid_epoch_resume_matches_an_uninterrupted_run(tmp_path, arrays, reference):
    _crash(setup.make_model(seed=0), arrays, tmp_path, step=14)
    assert _names(CheckpointManager(tmp_path).checkpoints) == ["ckpt-4", "ckpt-8", "ckpt-12"]

    # A different seed: every value that matters must come from the checkpoint.
    model = setup.make_model(seed=7)
    assert not model.optimizer.built  # the manager builds it before loading its state
    manager = CheckpointManager(tmp_path, save_freq=4)
    history = _fit(model, arrays, [manager])
    assert _names([manager.restored_from]) == ["ckpt-12"]  # epoch 1, after 2 of its 10 batches
    _assert_all_close(setup.weights(model), reference["weights"])
    _assert_all_close(setup.optimizer_state(model), reference["optimizer"])
    # Epoch 0 comes back from the checkpoint: the History covers the whole run.
    assert manager.resumed_epoch == 1 and history.epoch == [0, 1, 2]
    for key, values in history.history.items():
        np.testing.assert_allclose(values, reference["history"][key], rtol=1e-5, err_msg=key)
    assert model._initial_epoch is None  # not left behind for a later fit


def test_a_crash_before_the_first_save_leaves_nothing_listed_and_the_rerun_starts_afresh(tmp_path, arrays):
    # What a SIGKILL at step 2 leaves is the directory as it is at that step
    # (synchronous writes: nothing in flight), read here by a callback after the manager's.
    directory, seen = tmp_path / "ckpt", []

    class Look(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(sorted(os.listdir(directory)) if directory.exists() else [])

    manager = CheckpointManager(directory, save_freq=4)
    with pytest.raises(setup.CrashAtStep.Crash):
        _fit(setup.make_model(seed=0), arrays, [manager, Look(), setup.CrashAtStep(2)])
    assert seen == [[], []]
    rerun = CheckpointManager(directory, save_freq=4)
    assert rerun.checkpoints == [] and rerun.latest is None
    history = _fit(setup.make_model(seed=0), arrays, [rerun], epochs=1)
    assert rerun.restored_from is None and history.epoch == [0]


def test_truncated_newest_checkpoint_is_skipped_with_a_warning(tmp_path, arrays, reference):
    _crash(setup.make_model(seed=0), arrays, tmp_path, step=14)
    newest = tmp_path / "ckpt-12" / "state.npz"
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 2])

    model = setup.make_model(seed=7)
    manager = CheckpointManager(tmp_path, save_freq=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = _fit(model, arrays, [manager])
    messages = [str(w.message) for w in caught]
    assert any(re.search(r"skipping corrupt checkpoint .*ckpt-12: .*bytes", m) for m in messages), messages
    assert any("moved corrupt checkpoint" in m for m in messages), messages
    assert _names([manager.restored_from]) == ["ckpt-8"]
    assert history.epoch == [0, 1, 2]  # ckpt-8 is inside epoch 0
    _assert_all_close(setup.weights(model), reference["weights"])
    assert os.path.isdir(tmp_path / "ckpt-12.corrupt")  # set aside, never read again


def test_restore_for_inference_loads_the_newest_and_changes_nothing(tmp_path, arrays):
    trained = setup.make_model(seed=0)
    _fit(trained, arrays, [CheckpointManager(tmp_path, save_freq=4)], epochs=1)
    before = sorted(os.listdir(tmp_path))
    x = arrays[2][:8]

    from keras_ext.models import SimpleCNN

    fresh = SimpleCNN(num_classes=10, filters=(4, 8), dropout_rate=0.25)  # not built, not compiled
    path = CheckpointManager.restore(fresh, tmp_path)
    assert os.path.basename(path) == "ckpt-10"
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(fresh(x)), keras.ops.convert_to_numpy(trained(x)), atol=1e-6
    )
    # One checkpoint directory works too, and so does the optimizer state.
    other = setup.make_model(seed=3)
    CheckpointManager.restore(other, tmp_path / "ckpt-8", include_optimizer=True)
    _, state = _checkpoint_files.read_checkpoint(str(tmp_path / "ckpt-8"))
    assert int(keras.ops.convert_to_numpy(other.optimizer.iterations)) == 8 == state["step"]
    assert sorted(os.listdir(tmp_path)) == before


def test_restoring_into_another_architecture_names_the_variables_and_changes_nothing(tmp_path, arrays):
    _fit(setup.make_model(seed=0), arrays, [CheckpointManager(tmp_path, save_freq=4)], epochs=1)
    before = sorted(os.listdir(tmp_path))
    other = setup.make_model(seed=1, filters=(4, 16))
    untouched = setup.weights(other)
    with pytest.raises(
        CheckpointMismatchError, match=r"block_1/conv/kernel.*\(3, 3, 4, 8\).*\(3, 3, 4, 16\)"
    ):
        _fit(other, arrays, [CheckpointManager(tmp_path, save_freq=4)])
    with pytest.raises(ValueError, match="does not fit this model"):
        CheckpointManager.restore(other, tmp_path)
    _assert_all_close(setup.weights(other), untouched, atol=0)
    assert sorted(os.listdir(tmp_path)) == before


def test_async_writes_never_overlap_and_finish_before_fit_returns(tmp_path, arrays, monkeypatch):
    intervals = []
    real_write = _checkpoint_files.write_checkpoint

    def slow_write(*args, **kwargs):
        start = time.monotonic()
        time.sleep(0.05)  # longer than a training step here: writes would pile up
        path = real_write(*args, **kwargs)
        intervals.append((start, time.monotonic(), threading.current_thread().name))
        return path

    monkeypatch.setattr(_checkpoint_files, "write_checkpoint", slow_write)
    model = setup.make_model(seed=0)
    manager = CheckpointManager(tmp_path, save_freq=2, max_to_keep=2, async_write=True)
    _fit(model, arrays, [manager], epochs=1)
    returned = time.monotonic()
    assert len(intervals) == 5  # steps 2, 4, 6, 8, 10
    assert all(name.startswith("keras_ext-checkpoint") for _, _, name in intervals)
    for (_, end, _), (start, _, _) in itertools.pairwise(intervals):
        assert end <= start  # one write at a time
    assert intervals[-1][1] <= returned
    assert _names(manager.checkpoints) == ["ckpt-8", "ckpt-10"]
    loaded, _ = _checkpoint_files.read_checkpoint(manager.latest)
    _assert_all_close(
        [loaded[f"model/{i:05d}"] for i in range(len(model.variables))], setup.weights(model), atol=0
    )


def test_best_checkpoint_by_monitor_is_kept_beside_the_newest(tmp_path, arrays):
    scores = [3.0, 1.0, 2.0, 4.0]

    class Score(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["score"] = scores[epoch]

    model = setup.make_model(seed=0)
    manager = CheckpointManager(tmp_path, save_freq=4, max_to_keep=2, monitor="score", mode="min")
    _fit(model, arrays, [Score(), manager], epochs=4)
    # Newest two by step, plus the epoch-2 end (score 1.0) that newer ones never rotate out.
    assert _names(manager.checkpoints) == ["ckpt-20", "ckpt-36", "ckpt-40"]
    assert os.path.basename(manager.best) == "ckpt-20"
    # The scores live in the checkpoints: a new manager finds the same best.
    assert os.path.basename(CheckpointManager(tmp_path, monitor="score", mode="min").best) == "ckpt-20"
    state = json.loads((tmp_path / "ckpt-20" / "state.json").read_text())
    assert (state["score"], state["epoch"], state["step_in_epoch"]) == (1.0, 2, 0)


def test_epoch_save_freq_resumes_at_the_next_epoch(tmp_path, arrays, reference):
    first = setup.make_model(seed=0)
    _fit(first, arrays, [CheckpointManager(tmp_path, save_freq="epoch")], epochs=2)
    assert _names(CheckpointManager(tmp_path).checkpoints) == ["ckpt-10", "ckpt-20"]
    model = setup.make_model(seed=5)
    history = _fit(model, arrays, [manager := CheckpointManager(tmp_path, save_freq="epoch")])
    assert manager.resumed_epoch == 2 and history.epoch == [0, 1, 2]
    _assert_all_close(setup.weights(model), reference["weights"])
    # Training already finished: another run restores and trains nothing.
    again = setup.make_model(seed=5)
    rerun = _fit(again, arrays, [manager := CheckpointManager(tmp_path, save_freq="epoch")])
    assert manager.resumed_epoch == 3 and rerun.epoch == [0, 1, 2]
    assert rerun.history == history.history
    _assert_all_close(setup.weights(again), reference["weights"])


def test_leftovers_of_a_killed_write_are_ignored_and_removed(tmp_path, arrays):
    (tmp_path / ".tmp-ckpt-99-123-abcd").mkdir()
    (tmp_path / ".tmp-ckpt-99-123-abcd" / "state.npz").write_bytes(b"half")
    manager = CheckpointManager(tmp_path, save_freq=5)
    assert manager.checkpoints == [] and manager.latest is None
    _fit(setup.make_model(seed=0), arrays, [manager], epochs=1)
    assert sorted(os.listdir(tmp_path)) == ["ckpt-10", "ckpt-5"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"save_freq": 0}, "save_freq=0"),
        ({"save_freq": -5}, "save_freq=-5"),
        ({"save_freq": False}, "save_freq=False"),
        ({"save_freq": "sometimes"}, "save_freq='sometimes'"),
        ({"save_freq": 2.5}, "save_freq=2.5"),
        ({"max_to_keep": 0}, "max_to_keep=0"),
        ({"keep_best": 0}, "keep_best=0"),
        ({"mode": "up"}, "mode='up'"),
        ({"async_write": "yes"}, "async_write='yes'"),
        ({"restore": "/no/such/checkpoint"}, "restore='/no/such/checkpoint'"),
    ],
)
def test_bad_arguments_raise_clearly_and_write_nothing(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        CheckpointManager(tmp_path / "ckpt", **kwargs)
    assert not (tmp_path / "ckpt").exists()


def test_directory_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "ckpt"
    path.write_text("not a directory")
    with pytest.raises(ValueError, match="existing file"):
        CheckpointManager(path)
    assert path.read_text() == "not a directory"


def test_restore_none_on_a_directory_with_checkpoints_is_refused(tmp_path, arrays):
    _fit(setup.make_model(seed=0), arrays, [CheckpointManager(tmp_path, save_freq=5)], epochs=1)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(ValueError, match="already holds checkpoints.*restore='latest'"):
        CheckpointManager(tmp_path, restore=None)
    assert sorted(os.listdir(tmp_path)) == before


def test_get_config_lists_every_argument(tmp_path):
    import inspect

    # In tmp_path: a manager takes its directory's lock, a file beside it (not in the working directory).
    directory = str(tmp_path / "unused_dir")
    manager = CheckpointManager(directory, save_freq="epoch", max_to_keep=None, monitor="val_loss")
    config = manager.get_config()
    params = [p for p in inspect.signature(CheckpointManager.__init__).parameters if p != "self"]
    # `data` is the live pipeline fit iterates, like the model: never part of a config.
    assert sorted(config) == sorted(p for p in params if p != "data")
    assert CheckpointManager.from_config(config).get_config() == config


def test_a_directory_of_only_corrupt_checkpoints_is_refused_and_left_as_it_is(tmp_path, arrays):
    _fit(setup.make_model(seed=0), arrays, [CheckpointManager(tmp_path, save_freq=5)], epochs=1)
    for name in os.listdir(tmp_path):
        (tmp_path / name / "MANIFEST.json").write_text("{")
    before = sorted(os.listdir(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="Every checkpoint .* is corrupt"):
            _fit(setup.make_model(seed=0), arrays, [CheckpointManager(tmp_path, save_freq=5)])
    assert sorted(os.listdir(tmp_path)) == before
