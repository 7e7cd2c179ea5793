"""`keras-ext train --checkpoint-dir URL` (issue 20, item 1): a bucket on a real S3 server, and URLs refused.

In this process (`main(argv)`), so the server and the client environment
are this test's own: tests/s3_server.py.
"""

import os

import pytest

from keras_ext.cli.main import main
from tests.cli.small_data import write_small_npz
from tests.cli.test_train import assert_one_error_line
from tests.s3_server import forget_s3_clients
from tests.s3_server import free_port
from tests.s3_server import s3_filesystem
from tests.s3_server import serving_bucket

BUCKET = "cli-ckpts"


@pytest.fixture(scope="module")
def s3():
    with serving_bucket(BUCKET) as server:
        yield server


@pytest.fixture
def data(tmp_path):
    """64 train / 32 test 8x8x1 images of 3 classes: 2 steps an epoch at batch 32."""
    return write_small_npz(tmp_path / "data.npz")


def _train(data, output, checkpoint_dir, epochs):
    argv = ["train", "--dataset", str(data), "--epochs", str(epochs), "--verbose", "0"]
    return main([*argv, "--output", str(output), "--checkpoint-dir", checkpoint_dir, "--save-freq", "3"])


def test_checkpoints_go_to_the_bucket_and_a_rerun_resumes_from_it(s3, data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = f"s3://{BUCKET}/run"
    assert _train(data, tmp_path / "first", url, epochs=2) == 0
    stored = sorted({p.split("/")[2] for p in s3_filesystem().find(f"{BUCKET}/run")})
    assert stored == ["ckpt-3", "ckpt-4"]  # every 3 steps, and the end of training (2 epochs of 2 steps)
    assert not os.path.exists(tmp_path / "s3:")  # not a local folder named after the scheme
    capsys.readouterr()
    assert _train(data, tmp_path / "second", url, epochs=3) == 0
    assert f"resumed from {url}/ckpt-4 at epoch 3, step 4" in capsys.readouterr().out


def test_an_unknown_scheme_exits_2_with_one_line(data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _train(data, tmp_path / "out", "foo://bucket/run", epochs=1) == 2
    assert_one_error_line(capsys, "--checkpoint-dir", "fsspec knows no filesystem for foo://")
    assert os.listdir(tmp_path) == ["data.npz"]


def test_a_dead_endpoint_exits_2_with_one_line_before_training(s3, data, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    forget_s3_clients()
    try:
        assert _train(data, tmp_path / "out", f"s3://{BUCKET}/dead", epochs=1) == 2
    finally:
        monkeypatch.undo()
        forget_s3_clients()
    assert_one_error_line(capsys, f"--checkpoint-dir s3://{BUCKET}/dead", "Could not connect")
