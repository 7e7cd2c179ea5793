"""`keras-ext train --dataset DIR` on a folder of class subfolders of PNG images, and a SIGKILL there.

The SIGKILL test keeps its checkpoints in a bucket of a real S3 server on
127.0.0.1 (tests/s3_server.py): one killed run covers both the image
folder's resume and `--checkpoint-dir s3://...` from the command line.

Three classes of 8x8 grayscale images whose brightness tells them apart.
The reference for the resume is the same command run once without
checkpoints (checkpointing changes nothing, tests/cli/test_train_checkpoints_change_nothing.py).
"""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from PIL import Image

from keras_ext._io import read_keras_ext_metadata
from keras_ext.checkpoint import _checkpoint_files as files
from keras_ext.cli.main import main
from tests.s3_server import client_environment
from tests.s3_server import serving_bucket
from tests.subprocess_utils import start_until

pytestmark = pytest.mark.tensorflow_only

CLASSES = ["bright", "dark", "middle"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_DETERMINISTIC_OPS": "1", "PYTHONPATH": ROOT}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for name, level in zip(CLASSES, (220, 30, 120), strict=True):
        (root / name).mkdir()
        for i in range(20):
            pixels = np.clip(rng.normal(level, 25, (8, 8)), 0, 255).astype("uint8")
            Image.fromarray(pixels, "L").save(root / name / f"{i:02d}.png")
    return root


def _command(folder, output, *extra):
    return [
        *("--dataset", str(folder), "--image-size", "6", "6", "--batch-size", "8", "--seed", "0"),
        *("--output", str(output), "--logdir", "", "--verbose", "0", *extra),
    ]


def test_an_image_folder_trains_and_its_class_names_travel_with_the_model(folder, tmp_path):
    assert main(["train", *_command(folder, tmp_path, "--epochs", "2")]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["class_names"] == CLASSES
    assert read_keras_ext_metadata(tmp_path / "model.keras") == {"class_names": CLASSES}
    model = keras.saving.load_model(tmp_path / "model.keras")
    assert model.predict(np.zeros((1, 6, 6, 1), "float32"), verbose=0).shape == (1, 3)


def test_image_size_is_refused_for_another_kind_of_dataset(tmp_path, capsys):
    assert main(["train", "--image-size", "6", "6", "--output", str(tmp_path / "out")]) == 2
    assert "--image-size applies to a folder of class subfolders of images" in capsys.readouterr().err


def test_sigkill_mid_epoch_with_checkpoints_in_a_bucket_then_a_rerun_ends_as_one_run(folder, tmp_path):
    """The image folder's (seed, epoch) order, and `--checkpoint-dir s3://...` on a real S3 server."""
    epochs, save_freq = 20, 3  # 48 training images: 6 batches an epoch, checkpoints mid-epoch

    def command(output, *extra):  # a fresh process, deterministic ops, as the reference's
        return [sys.executable, "-m", "keras_ext.cli.main", "train", *_command(folder, output, *extra)]

    once = subprocess.run(
        command(tmp_path / "once", "--epochs", str(epochs)),
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        timeout=300,
    )
    assert once.returncode == 0, once.stderr[-3000:]

    with serving_bucket("cli-sigkill") as server:
        env = {**ENV, **client_environment(server.endpoint)}
        url = "s3://cli-sigkill/run"
        command = command(
            tmp_path / "resumed",
            *("--epochs", str(epochs), "--checkpoint-dir", url, "--save-freq", str(save_freq)),
        )

        def mid_run():  # a checkpoint of epoch 2 or later is committed
            time.sleep(0.2)  # each look is a listing of the bucket
            return any(step >= 9 for step, _ in files.list_checkpoints(url))

        proc = start_until(command, mid_run, "no checkpoint of step 9 or later", cwd=ROOT, env=env)
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
        proc.stderr.close()
        assert not (tmp_path / "resumed" / "model.keras").exists()

        rerun = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert f"resumed from {url}/ckpt-" in rerun.stdout
        assert not os.path.exists(ROOT + "/s3:")  # not a local folder named after the scheme
    resumed = keras.saving.load_model(tmp_path / "resumed" / "model.keras")
    once = keras.saving.load_model(tmp_path / "once" / "model.keras")
    for a, b in zip(resumed.weights, once.weights, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-5)
