"""`keras-ext train` writes TensorBoard logs, stops early (resumably) and shows progress by the terminal
(issue 18, item 4).

Every run is in-process, on a tiny .npz (64 train / 32 validation random 8x8x1 images, 3 classes):
with a learning rate of 3e-3 and batches of 16, SimpleCNN's validation loss is lowest after epoch 2
and worse after epochs 3 and 4, so `--early-stopping 2` stops after epoch 4.
"""

import argparse
import contextlib
import glob
import io
import json
import sys

import keras
import numpy as np
import pytest

from keras_ext.cli.main import main
from keras_ext_cli import arg_types
from keras_ext_cli.main import build_parser
from tests.cli.small_data import write_small_npz


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return str(write_small_npz(tmp_path_factory.mktemp("data") / "data.npz"))


def _train(data, output, *extra):
    argv = ["train", "--dataset", data, "--batch-size", "16", "--learning-rate", "3e-3", "--verbose", "0"]
    assert main([*argv, "--output", str(output), *extra]) == 0
    with open(output / "metrics.json") as f:
        return json.load(f)


def _scalars(logdir, subdir):
    """{tag: {step: value}} of the TensorBoard event files in logdir/subdir, read with TensorFlow's reader."""
    tf = pytest.importorskip("tensorflow")
    scalars = {}
    for path in sorted(glob.glob(f"{logdir}/{subdir}/events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                number = tf.make_ndarray(value.tensor) if value.HasField("tensor") else value.simple_value
                scalars.setdefault(value.tag, {})[event.step] = float(number)
    return scalars


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="reads the logs with TensorFlow")
def test_train_writes_loss_and_learning_rate_of_every_epoch_to_output_logs(data, tmp_path, capsys):
    metrics = _train(data, tmp_path / "out", "--epochs", "3", "--decay-steps", "4")
    logdir = tmp_path / "out" / "logs"
    assert f"TensorBoard logs in {logdir}\n" in capsys.readouterr().out
    assert metrics["logdir"] == str(logdir)
    train, validation = _scalars(logdir, "train"), _scalars(logdir, "validation")
    history = metrics["history"]
    assert train["epoch_loss"] == pytest.approx(dict(enumerate(history["loss"])), rel=1e-5)
    assert validation["epoch_loss"] == pytest.approx(dict(enumerate(history["val_loss"])), rel=1e-5)
    # The decaying rate (4 steps a decay, 4 steps an epoch), as LearningRateLogger logs it.
    assert train["epoch_learning_rate"] == pytest.approx(dict(enumerate(history["learning_rate"])), rel=1e-6)
    assert len(set(history["learning_rate"])) == 3


def test_logdir_empty_writes_no_logs_and_a_logdir_that_is_a_file_is_refused(data, tmp_path, capsys):
    metrics = _train(data, tmp_path / "out", "--epochs", "1", "--logdir", "")
    assert metrics["logdir"] is None and not (tmp_path / "out" / "logs").exists()
    assert "TensorBoard" not in capsys.readouterr().out
    (tmp_path / "file").write_text("")
    argv = ["train", "--dataset", data, "--output", str(tmp_path / "x"), "--logdir", str(tmp_path / "file")]
    assert main(argv) == 2
    assert f"--logdir {tmp_path / 'file'}: is an existing file" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_without_tensorflow_summary_train_says_logs_are_off_and_trains_on(
    data, tmp_path, capsys, monkeypatch
):
    # As on the JAX-only install, where `import tensorflow.summary` fails.
    monkeypatch.setitem(sys.modules, "tensorflow.summary", None)
    metrics = _train(data, tmp_path / "out", "--epochs", "1")
    out = capsys.readouterr().out
    assert out.count("TensorBoard logs off: they need TensorFlow, which does not import here (") == 1
    assert metrics["logdir"] is None and not (tmp_path / "out" / "logs").exists()
    assert (tmp_path / "out" / "model.keras").exists()


def _final_val_loss(output, data):
    """The saved model's validation loss, evaluated afresh."""
    arrays = np.load(data)
    model = keras.saving.load_model(output / "model.keras")
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = arrays["x_test"].astype("float32") / 255.0, arrays["y_test"]
    return model.evaluate(x, y, verbose=0, return_dict=True)["loss"]


@pytest.fixture(scope="module")
def stopped_run(data, tmp_path_factory):
    """An uninterrupted `--epochs 12 --early-stopping 2` run: (OUTPUT, metrics.json, stdout)."""
    output = tmp_path_factory.mktemp("stopped") / "out"
    with contextlib.redirect_stdout(io.StringIO()) as out:
        metrics = _train(data, output, "--epochs", "12", "--early-stopping", "2")
    return output, metrics, out.getvalue()


def test_early_stopping_stops_after_patience_epochs_and_keeps_the_best_weights(data, stopped_run):
    output, metrics, out = stopped_run
    val_loss = metrics["history"]["val_loss"]
    best = int(np.argmin(val_loss))
    # No improvement for 2 epochs after the best one: stopped there, not at epoch 12.
    assert metrics["history_epochs"] == list(range(best + 3))
    assert best + 3 < 12 and min(val_loss[best + 1 :]) > val_loss[best]
    assert f"Epoch {best + 3}: early stopping" in out
    assert f"Restoring model weights from the end of the best epoch: {best + 1}." in out
    # The model evaluated at the end and the one saved are the best epoch's.
    assert metrics["validation"]["loss"] == pytest.approx(val_loss[best], rel=1e-5)
    assert _final_val_loss(output, data) == pytest.approx(val_loss[best], rel=1e-4)


def test_a_resumed_run_keeps_the_patience_counter_and_the_best_weights(data, stopped_run, tmp_path, capsys):
    once_output, once, _ = stopped_run
    stopped = once["history_epochs"][-1]  # 0-based; the best epoch is 2 before it
    assert stopped + 1 < 12
    flags = ["--early-stopping", "2", "--checkpoint-dir", str(tmp_path / "ckpt"), "--save-freq", "epoch"]
    # Interrupted one epoch after the best (the counter at 1 of 2), then resumed.
    _train(data, tmp_path / "first", "--epochs", str(stopped), *flags)
    capsys.readouterr()
    resumed = _train(data, tmp_path / "resumed", "--epochs", "12", *flags)
    assert f"trained epochs {stopped + 1}\n" in capsys.readouterr().out  # one more epoch, then the stop
    assert resumed["history_epochs"] == once["history_epochs"]
    assert resumed["validation"] == pytest.approx(once["validation"], rel=1e-5)
    for a, b in zip(
        keras.saving.load_model(tmp_path / "resumed" / "model.keras").get_weights(),
        keras.saving.load_model(once_output / "model.keras").get_weights(),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The run stopped: a rerun trains nothing and keeps the best weights.
    again = _train(data, tmp_path / "again", "--epochs", "12", *flags)
    assert "trained epochs none: the run was already done" in capsys.readouterr().out
    assert again["history_epochs"] == once["history_epochs"]
    assert again["validation"] == pytest.approx(once["validation"], rel=1e-5)


def _parsed_verbose(*argv):
    return build_parser().parse_args(["train", *argv]).verbose


def test_verbose_auto_is_the_default_a_progress_bar_on_a_terminal_one_line_per_epoch_in_a_pipe(monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert _parsed_verbose() == 1 and _parsed_verbose("--verbose", "auto") == 1
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert _parsed_verbose() == 2
    assert [_parsed_verbose("--verbose", v) for v in "012"] == [0, 1, 2]
    assert build_parser().parse_args(["tune"]).verbose == 2  # one option, shared by tune
    with pytest.raises(argparse.ArgumentTypeError, match="must be auto, 0, 1 or 2, got 3"):
        arg_types.verbosity("3")
