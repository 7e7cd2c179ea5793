"""`keras-ext tune` on a project searched before: the same settings resume, others are refused.

In process, on the tiny 8x8 digits: one search of 2 trials x 1 epoch (run
with tensorboard made unimportable, as where TensorFlow is installed
without it), then the refused resumes and a rerun, each checked against the
bytes of every file the search wrote.
"""

import contextlib
import io
import json
import os
import sys

import pytest

from keras_ext.cli.main import main
from tests.file_snapshot import snapshot
from tests.tuning.tiny_data import write_tiny_npz

pytestmark = pytest.mark.tensorflow_only


def _args(directory, npz, *extra):
    return [
        "tune",
        "--dataset",
        npz,
        "--max-trials",
        "2",
        "--epochs",
        "1",
        "--hp",
        "num_blocks=1",
        "--hp",
        "filters=8",
        "--verbose",
        "0",
        "--directory",
        directory,
        *extra,
    ]


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """(directory, npz, exit code, stdout) of a first search, run without tensorboard."""
    root = tmp_path_factory.mktemp("tune")
    npz = write_tiny_npz(root / "tiny.npz")
    directory = str(root / "runs")
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        # Every tensorboard module unimportable, loaded before or not (None in sys.modules
        # makes `import` raise ModuleNotFoundError), as where it is not installed.
        for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
            mp.setitem(sys.modules, name, None)
        mp.setitem(sys.modules, "tensorboard", None)
        with pytest.raises(ImportError):
            from tensorboard.plugins.hparams import api  # noqa: F401
        with contextlib.redirect_stdout(out):
            code = main(_args(directory, npz))
    return directory, npz, code, out.getvalue()


def test_a_search_completes_every_trial_where_tensorboard_is_not_installed(searched):
    directory, _, code, stdout = searched
    assert code == 0, stdout[-3000:]
    project = os.path.join(directory, "simplecnn")
    with open(os.path.join(project, "trials.csv")) as f:
        rows = f.read().splitlines()[1:]
    assert len(rows) == 2 and all(",COMPLETED," in row for row in rows), rows
    assert os.path.exists(os.path.join(project, "best_model.keras"))
    with open(os.path.join(project, "search.json")) as f:
        assert json.load(f) == {"objective": "val_accuracy", "direction": "max", "epochs": 1}


@pytest.mark.parametrize("change", [["--objective", "val_loss"], ["--epochs", "2"]])
def test_a_resume_with_another_objective_or_epochs_exits_2_in_one_line_and_writes_nothing(
    searched, capsys, change
):
    directory, npz, code, _ = searched
    assert code == 0
    before = snapshot(directory)
    capsys.readouterr()
    assert main(_args(directory, npz, *change)) == 2
    captured = capsys.readouterr()
    project = os.path.join(directory, "simplecnn")
    assert captured.err.splitlines() == [
        f"keras-ext tune: error: the project {project} was searched with --objective val_accuracy "
        "--epochs 1; rerun with those, or use a new --directory or --project-name (--overwrite starts "
        "it afresh)"
    ]
    assert captured.out == ""
    assert snapshot(directory) == before  # best_model.keras included: byte for byte, not even touched


def test_a_rerun_with_no_better_trial_leaves_the_best_model_byte_identical(searched, capsys):
    directory, npz, code, _ = searched
    assert code == 0
    project = os.path.join(directory, "simplecnn")
    best = [os.path.join(project, name) for name in ("best_model.keras", "best_hyperparameters.json")]
    before = snapshot(directory)
    assert main(_args(directory, npz)) == 0  # all trials done: nothing trains
    after = snapshot(directory)
    assert [after[path] for path in best] == [before[path] for path in best]
    assert "kept best_model.keras and best_hyperparameters.json" in capsys.readouterr().out
