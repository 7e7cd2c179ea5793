"""`keras-ext train --save-freq N` saves every N optimizer steps, whatever N is (not only the default 20)."""

import os

import pytest

from keras_ext.cli.main import main
from tests.tuning.tiny_data import write_tiny_npz

pytestmark = pytest.mark.tensorflow_only


def test_save_freq_7_checkpoints_at_multiples_of_7_and_at_the_end(tmp_path):
    npz = write_tiny_npz(tmp_path / "tiny.npz", n_train=120, n_val=24)  # 8x8 images
    ckpt = tmp_path / "ckpt"
    argv = ["train", "--dataset", npz, "--epochs", "2", "--batch-size", "8", "--verbose", "0"]
    flags = ["--checkpoint-dir", str(ckpt), "--save-freq", "7", "--max-to-keep", "all"]
    assert main([*argv, "--output", str(tmp_path / "out"), *flags]) == 0
    # 15 steps an epoch, 30 in all: every 7th step, then the last one when training ends.
    steps = sorted(int(name[len("ckpt-") :]) for name in os.listdir(ckpt))
    assert steps == [7, 14, 21, 28, 30]
