import json
import os
import shutil
import subprocess
import sys

import pytest

from keras_ext.cli.main import main
from tests.subprocess_utils import run_fresh_python

pytestmark = pytest.mark.tensorflow_only


def _keras_ext_command():
    script = shutil.which("keras-ext")
    return [script] if script else [sys.executable, "-m", "keras_ext.cli.main"]


def test_train_reaches_090_in_6_epochs_and_its_model_loads_in_a_fresh_process(tmp_path):
    # The README's main job as a user runs it, with its defaults but 6 of the 20
    # epochs: the schedule is per step, so these are the default run's first 6.
    # With batchnorm_momentum 0.9 and the learning rate 1.2e-3, after 6 epochs seeds
    # 0, 1 and 2 scored 0.961, 0.975 and 0.964 (after 5: 0.956, 0.958, 0.958; after 8:
    # 0.964, 0.978, 0.981); after 20, 0.986, 0.992 and 0.989.
    proc = subprocess.run(
        [*_keras_ext_command(), "train", "--epochs", "6", "--output", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Epoch 6/6" in proc.stdout
    summary = json.load(open(tmp_path / "metrics.json"))
    accuracy = summary["validation"]["accuracy"]
    assert accuracy >= 0.90
    assert f"validation accuracy: {accuracy:.4f}" in proc.stdout
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]

    run_fresh_python(
        f"""
        import keras
        import keras_ext
        model = keras.saving.load_model({str(tmp_path / "model.keras")!r})
        assert type(model).__name__ == "SimpleCNN"
        results = model.evaluate(keras_ext.data.load("digits").validation, verbose=0, return_dict=True)
        assert abs(results["accuracy"] - {accuracy!r}) < 1e-6, results
        """
    )


def test_fashioncnn_option_trains_and_saves_reading_the_dataset_once(tmp_path, capsys, monkeypatch):
    import importlib

    load_module = importlib.import_module("keras_ext.data.load")
    original, reads = load_module.load_arrays, []

    def counted(*args, **kwargs):
        reads.append(args)
        return original(*args, **kwargs)

    # Both ways the command line could reach it: its checks' and `keras_ext.data.load`'s.
    monkeypatch.setattr("keras_ext.data.load_arrays", counted)
    monkeypatch.setattr(load_module, "load_arrays", counted, raising=True)
    assert (
        main(["train", "--model", "fashioncnn", "--epochs", "1", "--verbose", "0", "--output", str(tmp_path)])
        == 0
    )
    assert (tmp_path / "model.keras").exists()
    assert json.load(open(tmp_path / "metrics.json"))["model"] == "fashioncnn"
    assert "validation accuracy:" in capsys.readouterr().out
    assert reads == [("digits",)]  # checked, then trained on: one read


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--epochs", "0"], "--epochs"),
        (["train", "--batch-size", "-1"], "--batch-size"),
        (["train", "--model", "resnet"], "--model"),
        (["train", "--learning-rate", "0"], "--learning-rate"),
        (["train", "--learning-rate", "inf"], "got inf"),
        (["train", "--learning-rate", "-1"], "got -1"),
        (["train", "--learning-rate", "nan"], "got nan"),
        (["train", "--decay-rate", "inf"], "--decay-rate"),
        (["train", "--decay-rate", "0"], "--decay-rate"),
        (["train", "--dropout-rate", "1.5"], "--dropout-rate"),
        (["train", "--seed", "-1"], "--seed"),
        (["train", "--dataset", "nope"], "--dataset nope: no such file or directory"),
        (["train", "--dataset", "/no/such/dir/data.npz"], "/no/such/dir/data.npz: no such file"),
    ],
)
def test_bad_arguments_exit_2_with_a_message_and_write_nothing(tmp_path, capsys, argv, message):
    assert main([*argv, "--output", str(tmp_path / "out")]) == 2
    assert_one_error_line(capsys, message)
    assert not (tmp_path / "out").exists()


def assert_one_error_line(capsys, *fragments):
    """What every usage or input error prints: one line on stderr, naming the bad value."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-ext train: error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    assert "Epoch" not in captured.out  # nothing trained
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _train(tmp_path, output, *extra):
    return main(["train", "--verbose", "0", "--output", str(tmp_path / output), *extra])


def test_checkpoint_dir_resumes_exactly_and_keeps_the_whole_record_on_every_rerun(
    tmp_path, capsys, monkeypatch
):
    import numpy as np

    from keras_ext.callbacks import CheckpointManager

    ckpt = tmp_path / "ckpt"
    flags = ["--checkpoint-dir", str(ckpt), "--save-freq", "20", "--max-to-keep", "2"]
    assert _train(tmp_path, "first", "--epochs", "2", *flags) == 0
    first = json.load(open(tmp_path / "first" / "metrics.json"))
    steps = -(-1437 // 32)  # digits: 1,437 training images, batches of 32
    # Every 20 steps and at the end; the 2 newest kept.
    assert sorted(os.listdir(ckpt)) == [f"ckpt-{4 * 20}", f"ckpt-{2 * steps}"]
    # The default schedule, 1.2e-3 * 0.8 ** floor(step / 100), after each epoch.
    assert first["history"]["learning_rate"] == pytest.approx([1.2e-3, 1.2e-3], rel=1e-6)
    capsys.readouterr()

    assert _train(tmp_path, "second", "--epochs", "3", "--verbose", "2", *flags) == 0
    out = capsys.readouterr().out
    # Said before training, and the record covers the epochs before the resume too.
    resumed = out.index(f"resumed from {ckpt / f'ckpt-{2 * steps}'} at epoch 3, step {2 * steps}\n")
    assert resumed < out.index("Epoch 3/3") < out.index("trained epochs 3\n")
    second = json.load(open(tmp_path / "second" / "metrics.json"))
    assert second["history_epochs"] == [0, 1, 2]
    assert second["history"]["learning_rate"] == pytest.approx([1.2e-3, 1.2e-3, 1.2e-3 * 0.8], rel=1e-6)
    assert len(second["epoch_seconds"]) == 3
    assert sorted(os.listdir(ckpt)) == ["ckpt-120", f"ckpt-{3 * steps}"]

    # The same three epochs in one go, without checkpoints, end with the same model:
    # resuming is exact, and checkpointing changes nothing (the data order included).
    assert _train(tmp_path, "once", "--epochs", "3") == 0
    once = json.load(open(tmp_path / "once" / "metrics.json"))
    assert second["validation"] == pytest.approx(once["validation"], rel=1e-5)
    assert second["history_epochs"] == once["history_epochs"]
    for name, values in once["history"].items():
        assert second["history"][name] == pytest.approx(values, rel=1e-5), name
    import keras

    resumed = keras.saving.load_model(tmp_path / "second" / "model.keras")
    uninterrupted = keras.saving.load_model(tmp_path / "once" / "model.keras")
    for a, b in zip(resumed.weights, uninterrupted.weights, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-5)
    assert CheckpointManager(ckpt).latest.endswith(f"ckpt-{3 * steps}")

    # A rerun of the finished run trains nothing and blanks nothing.
    drawn = []
    monkeypatch.setattr("keras_ext.plots.plot_history", lambda history, path, epochs: drawn.append(epochs))
    assert _train(tmp_path, "second", "--epochs", "3", *flags) == 0
    assert "trained epochs none: the run was already done" in capsys.readouterr().out
    rerun = json.load(open(tmp_path / "second" / "metrics.json"))
    for key in ("history", "history_epochs", "epoch_seconds"):
        assert rerun[key] == second[key], key
    assert rerun["validation"] == pytest.approx(second["validation"], rel=1e-6)
    assert drawn == [[0, 1, 2]]  # history.png, drawn from that record


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--save-freq", "0"], "--save-freq"),
        (["--save-freq", "-3"], "--save-freq"),
        (["--save-freq", "sometimes"], "--save-freq"),
        (["--max-to-keep", "0"], "--max-to-keep"),
    ],
)
def test_bad_checkpoint_flags_exit_2_and_write_nothing(tmp_path, capsys, flags, message):
    assert _train(tmp_path, "out", "--checkpoint-dir", str(tmp_path / "ckpt"), *flags) == 2
    assert_one_error_line(capsys, message)
    assert not (tmp_path / "out").exists() and not (tmp_path / "ckpt").exists()


def test_checkpoint_dir_that_is_a_file_exits_2_and_is_left_alone(tmp_path, capsys):
    path = tmp_path / "ckpt"
    path.write_text("keep me")
    assert _train(tmp_path, "out", "--checkpoint-dir", str(path)) == 2
    assert_one_error_line(capsys, "--checkpoint-dir")
    assert path.read_text() == "keep me" and not (tmp_path / "out").exists()


def test_no_resume_on_a_directory_with_checkpoints_is_a_clear_error(tmp_path, capsys):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "ckpt-20").mkdir()
    assert _train(tmp_path, "out", "--checkpoint-dir", str(ckpt), "--no-resume") == 2
    assert_one_error_line(capsys, "already holds checkpoints")
    assert os.listdir(ckpt) == ["ckpt-20"] and not (tmp_path / "out").exists()
    assert _train(tmp_path, "out", "--save-freq", "10") == 2
    assert_one_error_line(capsys, "need --checkpoint-dir")
