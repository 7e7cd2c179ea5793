"""`keras-ext tune --hypermodel MODULE:NAME` searches the user's space, and every trial leaves its
TensorBoard hparams (issue 18, items 3 and 4)."""

import csv
import glob
import os
import sys
import textwrap

import pytest

from keras_ext.cli import tune
from keras_ext.cli.errors import UsageError
from keras_ext.cli.main import main
from tests.subprocess_utils import run_fresh_python
from tests.tuning.tiny_data import write_tiny_npz

pytestmark = pytest.mark.tensorflow_only

# A user's module: a build(hp) function (keras-tuner's convention), a HyperModel subclass and an
# instance, a layer of the user's own in the model, and the mistakes the command line must refuse.
MODULE = textwrap.dedent(
    """
    import keras
    import keras_tuner


    @keras.saving.register_keras_serializable(package="mymodule")
    class Double(keras.layers.Layer):
        def call(self, x):
            return x * 2.0


    def _compiled(hp, input_shape, classes=10):
        inputs = keras.Input(input_shape)
        x = keras.layers.Flatten()(Double()(inputs))
        x = keras.layers.Dense(hp.Int("units", 4, 16, step=4), activation="relu")(x)
        model = keras.Model(inputs, keras.layers.Dense(classes)(x))
        model.compile(
            keras.optimizers.Adam(hp.Float("learning_rate", 1e-3, 1e-2, sampling="log")),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        return model


    def build_hp(hp):
        return _compiled(hp, (8, 8, 1))


    def build_for_28x28(hp):
        return _compiled(hp, (28, 28, 1))


    def build_uncompiled(hp):
        return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])


    class MyHyperModel(keras_tuner.HyperModel):
        def build(self, hp):
            return _compiled(hp, (8, 8, 1))


    class NeedsArguments(keras_tuner.HyperModel):
        def __init__(self, input_shape):
            super().__init__()


    instance = MyHyperModel()
    notcallable = 42
    """
)


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    """tmp_path holding mymodule.py (on sys.path) and data.npz: 64 train / 32 test 8x8x1 digits."""
    (tmp_path / "mymodule.py").write_text(MODULE)
    write_tiny_npz(tmp_path / "data.npz", n_train=64, n_val=32)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mymodule", raising=False)
    yield tmp_path
    sys.modules.pop("mymodule", None)


def _args(user_dir, hypermodel, *extra):
    return [
        "tune",
        "--hypermodel",
        hypermodel,
        "--dataset",
        str(user_dir / "data.npz"),
        "--max-trials",
        "2",
        "--epochs",
        "1",
        "--verbose",
        "0",
        "--directory",
        str(user_dir / "runs"),
        *extra,
    ]


def _rows(project):
    with open(os.path.join(project, "trials.csv")) as f:
        return list(csv.DictReader(f))


def _assert_the_user_s_space_was_searched(project, trials=2):
    rows = _rows(project)
    assert [row["status"] for row in rows] == ["COMPLETED"] * trials, rows
    # The user's hyperparameters, not SimpleCNN's.
    assert {"units", "learning_rate"} <= set(rows[0]) and "num_blocks" not in rows[0], list(rows[0])
    return rows


def _hparams_by_trial(logdir):
    """{trial id: the hyperparameter names its TensorBoard hparams session start records}."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.plugins.hparams import plugin_data_pb2

    found = {}
    for path in glob.glob(os.path.join(logdir, "*", "execution0", "events.out.tfevents.*")):
        trial_id = os.path.relpath(path, logdir).split(os.sep)[0]
        for event in EventFileLoader(path).Load():
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name != "hparams":
                    continue
                data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
                if data.HasField("session_start_info"):
                    found[trial_id] = set(data.session_start_info.hparams)
    return found


def test_a_build_function_is_searched_with_hparams_logs_and_its_best_model_loads_elsewhere(
    user_dir, capsys, monkeypatch
):
    # In process, as `keras-ext tune` runs it (the console script's own PYTHONPATH lookup is
    # tests/cli/test_train_model_forms.py's), but with --isolate-trials: each trial's process
    # imports the user's module from the search's path and writes the trial's TensorBoard logs.
    from keras_ext.tuning import _trial_process

    sent = []
    build_and_fit = _trial_process.build_and_fit
    monkeypatch.setattr(
        _trial_process, "build_and_fit", lambda *a: sent.append(a[1].trial_id) or build_and_fit(*a)
    )
    monkeypatch.chdir(user_dir)
    argv = ["tune", "--hypermodel", "mymodule:build_hp", "--dataset", "data.npz", "--max-trials", "2"]
    assert main([*argv, "--epochs", "1", "--verbose", "0", "--directory", "runs", "--isolate-trials"]) == 0
    assert sent == ["0", "1"]
    project = user_dir / "runs" / "mymodule.build_hp"  # the default project name
    assert "keras-ext tune: random search of mymodule:build_hp on data.npz" in capsys.readouterr().out
    rows = _assert_the_user_s_space_was_searched(project)
    assert (project / "trials.png").exists()
    # Every trial's TensorBoard logs hold its hyperparameters (keras-tuner's hparams callback).
    assert _hparams_by_trial(project / "logs") == {
        "0": {"units", "learning_rate"},
        "1": {"units", "learning_rate"},
    }
    best = rows[0]
    run_fresh_python(
        f"""
        import keras
        import keras_ext
        import mymodule
        model = keras.saving.load_model({str(project / "best_model.keras")!r})
        assert any(isinstance(layer, mymodule.Double) for layer in model.layers), model.layers
        assert model.layers[-2].units == {int(best["units"])}, model.layers
        data = keras_ext.data.load_arrays({str(user_dir / "data.npz")!r})
        results = model.evaluate(data.x_val, data.y_val, verbose=0, return_dict=True)
        assert abs(results["accuracy"] - {float(best["score"])!r}) < 1e-6, results
        """,
        env={"PYTHONPATH": os.pathsep.join([str(user_dir), os.environ.get("PYTHONPATH", "")])},
    )


def test_a_hypermodel_subclass_is_made_and_searched_without_tensorboard_logs(user_dir, capsys):
    assert main(_args(user_dir, "mymodule:MyHyperModel", "--logdir", "", "--max-trials", "1")) == 0
    project = user_dir / "runs" / "mymodule.MyHyperModel"
    _assert_the_user_s_space_was_searched(project, trials=1)
    assert (project / "best_model.keras").exists() and not (project / "logs").exists()
    assert "TensorBoard" not in capsys.readouterr().out


def test_an_instance_is_taken_as_it_is_and_a_function_as_keras_tuner_takes_it(user_dir):
    import mymodule

    assert tune._user_hypermodel("mymodule:instance") is mymodule.instance
    assert tune._user_hypermodel("mymodule:build_hp") is mymodule.build_hp
    assert type(tune._user_hypermodel("mymodule:MyHyperModel")) is mymodule.MyHyperModel


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--hypermodel", "nosuchmodule:build"],
            "--hypermodel nosuchmodule:build: cannot import nosuchmodule",
        ),
        (["--hypermodel", "mymodule:missing"], "--hypermodel mymodule:missing: module mymodule ("),
        (["--hypermodel", "mymodule:notcallable"], "notcallable is a int; expected a function build(hp)"),
        (["--hypermodel", "mymodule:Double"], "Double is a class that is not a keras_tuner.HyperModel"),
        (["--hypermodel", "mymodule:NeedsArguments"], "cannot make a NeedsArguments with no arguments"),
        (["--hypermodel", "mymodule"], "--hypermodel: must be MODULE:NAME"),
        (
            ["--hypermodel", "mymodule:build_for_28x28"],
            "--hypermodel mymodule:build_for_28x28: the model of the default hyperparameters cannot be "
            "evaluated on the data (images of shape (8, 8, 1)",
        ),
        (["--hypermodel", "mymodule:build_uncompiled"], "returned a model that is not compiled"),
        (
            ["--hypermodel", "mymodule:build_hp", "--objective", "val_f1"],
            "Objective 'val_f1' is not a metric",
        ),
        (["--hypermodel", "mymodule:build_hp", "--hp", "units=4"], "--hp narrows SimpleCNN's space only"),
    ],
)
def test_a_bad_hypermodel_is_one_line_and_exit_2_with_nothing_written(user_dir, capsys, argv, message):
    argv = ["tune", *argv, "--dataset", str(user_dir / "data.npz"), "--directory", str(user_dir / "runs")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-ext tune: error: ") and message in lines[0], lines
    assert "Running Trial" not in captured.out and "Traceback" not in captured.err
    assert not (user_dir / "runs").exists()


def test_without_tensorboard_the_default_says_so_and_an_explicit_logdir_is_refused(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    args = tune_args("--directory", str(tmp_path))
    logdir, note = tune._tensorboard_logdir(args)
    assert logdir is None and note.startswith(
        "TensorBoard logs are off: the tensorboard package is not installed"
    )
    with pytest.raises(UsageError, match="--logdir tb: the tensorboard package is not installed"):
        tune._tensorboard_logdir(tune_args("--logdir", "tb"))
    assert tune._tensorboard_logdir(tune_args("--logdir", "")) == (None, None)


def test_the_default_logdir_is_in_the_project_where_tensorboard_is_installed(tmp_path):
    pytest.importorskip("tensorboard.plugins.hparams")
    args = tune_args("--directory", str(tmp_path))
    assert tune._tensorboard_logdir(args) == (os.path.join(str(tmp_path), "simplecnn", "logs"), None)


def tune_args(*argv):
    from keras_ext_cli.main import build_parser

    args = build_parser().parse_args(["tune", *argv])
    args.project_name = tune.project_name(args)
    return args
