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


def test_default_train_reaches_090_and_its_model_loads_in_a_fresh_process(tmp_path):
    # The README's main job, with its defaults, as a user runs it.
    proc = subprocess.run(
        [*_keras_ext_command(), "train", "--output", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Epoch 20/20" in proc.stdout
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


def test_fashioncnn_option_trains_and_saves(tmp_path, capsys):
    assert main(["train", "--model", "fashioncnn", "--epochs", "1", "--verbose", "0",
                 "--output", str(tmp_path)]) == 0
    assert (tmp_path / "model.keras").exists()
    assert json.load(open(tmp_path / "metrics.json"))["model"] == "fashioncnn"
    assert "validation accuracy:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--epochs", "0"], "--epochs"),
        (["train", "--batch-size", "-1"], "--batch-size"),
        (["train", "--model", "resnet"], "--model"),
        (["train", "--learning-rate", "0"], "--learning-rate"),
    ],
)
def test_bad_arguments_exit_2_with_a_message_and_write_nothing(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--output", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_unknown_dataset_is_a_clear_error_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="Unknown dataset"):
        main(["train", "--dataset", "nope", "--output", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()
