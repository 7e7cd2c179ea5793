"""`keras-ext tune` as users run it: a real process, killed and resumed, distributed, and fed bad input."""

import csv
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from keras_ext.cli.main import main
from tests.cli.test_train import _keras_ext_command
from tests.subprocess_utils import kill_group
from tests.subprocess_utils import run_fresh_python
from tests.subprocess_utils import start_until
from tests.tuning.tiny_data import write_tiny_npz

pytestmark = pytest.mark.tensorflow_only

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
# One thread per TensorFlow process where a test runs three at once on 2 cores.
ONE_THREAD_ENV = {**ENV, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}


def _tune(*args):
    return [*_keras_ext_command(), "tune", *args]


def _rows(project):
    with open(os.path.join(project, "trials.csv")) as f:
        return list(csv.DictReader(f))


def _record(project, trial_id):
    with open(os.path.join(project, f"trial_{trial_id}", "epochs.json")) as f:
        return json.load(f)


def test_three_trials_finish_offline_and_the_best_model_scores_what_the_leaderboard_says(tmp_path):
    proc = subprocess.run(
        _tune("--max-trials", "3", "--epochs", "2", "--directory", str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    project = tmp_path / "simplecnn"
    assert "Search: Running Trial #3" in proc.stdout  # keras-tuner's progress is shown
    assert "Leaderboard (val_accuracy, max, best first):" in proc.stdout
    rows = _rows(project)
    assert sorted(r["trial_id"] for r in rows) == ["0", "1", "2"]
    assert all(r["status"] == "COMPLETED" and r["epochs_trained"] == "2" for r in rows)
    # Numbered as keras-tuner prints them ("Trial #3" is the trial of id "2"), everywhere.
    assert all(int(r["trial"]) == int(r["trial_id"]) + 1 for r in rows)
    best = rows[0]
    assert float(best["score"]) == max(float(r["score"]) for r in rows)
    printed = proc.stdout.split(
        f"best trial #{best['trial']} (trial_{best['trial_id']}, epoch {best['best_epoch']}): val_accuracy = "
    )[1].split()[0]
    saved = json.load(open(project / "best_hyperparameters.json"))
    assert saved["trial_id"] == best["trial_id"] and saved["score"] == float(best["score"])
    assert saved["trial"] == int(best["trial"]) and saved["best_epoch"] == int(best["best_epoch"])
    # best_epoch counts from 1, as Keras's "Epoch 2/2" and the plots do.
    epochs = _record(project, best["trial_id"])["executions"][0]
    assert epochs[saved["best_epoch"] - 1]["val_accuracy"] == max(e["val_accuracy"] for e in epochs)
    assert not [f for f in os.listdir(project) if f.startswith(".tmp")]

    out = run_fresh_python(
        f"""
        import json, keras
        import keras_ext
        model = keras.saving.load_model({str(project / "best_model.keras")!r})
        arrays = keras_ext.data.load_arrays("digits")
        print(json.dumps(model.evaluate(arrays.x_val, arrays.y_val, verbose=0, return_dict=True)))
        """
    ).stdout
    accuracy = json.loads(out.strip().splitlines()[-1])["accuracy"]
    assert abs(accuracy - float(best["score"])) < 1e-6
    assert abs(accuracy - float(printed)) < 1e-6


def test_sigkill_during_the_third_trial_then_resume_runs_only_the_rest(tmp_path):
    npz = write_tiny_npz(tmp_path / "tiny.npz")
    # 4 epochs, not 2: the kill must land after the third trial's first epoch and
    # before its last, and on the tiny data an epoch after the first takes about
    # 0.15 s; 3 epochs left to train leave the polling loop time to see it under load.
    args = ("--dataset", npz, "--max-trials", "3", "--epochs", "4", "--verbose", "0")
    project = tmp_path / "run" / "simplecnn"
    proc = subprocess.Popen(
        _tune(*args, "--directory", str(tmp_path / "run")),
        env=ENV,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Kill once the third trial has trained an epoch (it trains 4).
        deadline = time.monotonic() + 240
        while not _third_trial_is_training(project):
            assert proc.poll() is None, "the search ended before its third trial"
            assert time.monotonic() < deadline, "the third trial never started"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        kill_group(proc)
    assert _record(project, "2")["status"] == "running"
    # The killed search leaves its lock file and holder record behind; the
    # operating system released the lock itself, so the rerun is not refused.
    assert (tmp_path / "run" / ".simplecnn.lock.json").exists()
    finished = {t: os.stat(project / f"trial_{t}" / "checkpoint.weights.h5").st_mtime_ns for t in "01"}

    resumed = subprocess.run(
        _tune(*args, "--directory", str(tmp_path / "run")),
        capture_output=True,
        text=True,
        timeout=240,
        env=ENV,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # Trials 0 and 1 were not trained again; trial 2 ran a second time, to the end.
    for t, mtime in finished.items():
        assert os.stat(project / f"trial_{t}" / "checkpoint.weights.h5").st_mtime_ns == mtime
        assert _record(project, t)["runs"] == 1
    assert _record(project, "2")["runs"] == 2 and _record(project, "2")["status"] == "completed"
    rows = _rows(project)
    assert sorted(r["trial_id"] for r in rows) == ["0", "1", "2"]
    assert all(r["status"] == "COMPLETED" for r in rows)

    # Reference: the same search, never interrupted, gives the same leaderboard.
    reference = subprocess.run(
        _tune(*args, "--directory", str(tmp_path / "ref")),
        capture_output=True,
        text=True,
        timeout=240,
        env=ENV,
    )
    assert reference.returncode == 0, reference.stderr[-3000:]

    def results(rows):  # all but how often and how long each trial ran
        return [{k: v for k, v in row.items() if k not in ("runs", "seconds")} for row in rows]

    assert results(_rows(project)) == results(_rows(tmp_path / "ref" / "simplecnn"))


def test_a_second_search_of_a_project_being_searched_is_refused_at_once(tmp_path):
    import socket

    from tests.cli.test_inputs import _without_tensorflow_startup

    npz = write_tiny_npz(tmp_path / "tiny.npz")
    # The user's hypermodel waits for the gate file in every trial's build, under the project's
    # lock: the first search holds it until the test lets it go, however fast the machine is.
    gate = tmp_path / "gate"
    env = {**ENV, "KERAS_EXT_TEST_GATE": str(gate), "PYTHONPATH": ROOT}
    args = ("--hypermodel", "tests.cli.gated_models:build_hp", "--dataset", npz)
    args += ("--max-trials", "2", "--epochs", "1", "--verbose", "0", "--directory", str(tmp_path / "search"))
    project = tmp_path / "search" / "tests.cli.gated_models.build_hp"
    first = start_until(
        _tune(*args),
        (tmp_path / "search" / f".{project.name}.lock.json").exists,  # searching, so holding the lock
        "the first search never took its project",
        env=env,
        cwd=ROOT,
    )
    try:
        second = subprocess.run(_tune(*args), capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
        gate.touch()
        assert first.wait(timeout=300) == 0, first.stderr.read()[-3000:]
    finally:
        kill_group(first)
        first.stderr.close()
    assert second.returncode == 2, second.stdout[-3000:] + second.stderr[-3000:]
    assert second.stdout == ""
    lines = _without_tensorflow_startup(second.stderr)
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"keras-ext tune: error: project {project} is being searched by pid {first.pid} "
        f"on host {socket.gethostname()} (since "
    ), lines[0]
    # The first search ran alone: every trial once, completed, and trials.csv
    # lists exactly the trials that have a directory.
    rows = _rows(project)
    assert sorted(f"trial_{r['trial_id']}" for r in rows) == sorted(
        d for d in os.listdir(project) if d.startswith("trial_")
    )
    assert len(rows) == 2
    assert all(r["status"] == "COMPLETED" and r["runs"] == "1" and r["epochs_trained"] == "1" for r in rows)


def _third_trial_is_training(project):
    try:
        record = _record(project, "2")
    except (FileNotFoundError, json.JSONDecodeError):
        return False
    return any(len(run) >= 1 for run in record["executions"])


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chief_and_two_workers_on_localhost_run_each_of_four_trials_once(tmp_path):
    npz = write_tiny_npz(tmp_path / "tiny.npz")
    common = (
        "--dataset",
        npz,
        "--max-trials",
        "4",
        "--epochs",
        "2",
        "--verbose",
        "0",
        "--directory",
        str(tmp_path / "search"),
        "--oracle-ip",
        "127.0.0.1",
        "--oracle-port",
        str(_free_port()),
    )
    roles = {
        "chief": ["--chief"],
        "tuner1": ["--worker", "--tuner-id", "tuner1"],
        "tuner2": ["--worker", "--tuner-id", "tuner2"],
    }
    procs, logs = {}, []
    try:
        for name, role in roles.items():
            logs.append(open(tmp_path / f"{name}.log", "w"))
            procs[name] = subprocess.Popen(
                _tune(*common, *role),
                env=ONE_THREAD_ENV,
                start_new_session=True,
                stdout=logs[-1],
                stderr=subprocess.STDOUT,
            )
        # One deadline for the three: about 20 s on 2 idle cores; under a heavily loaded
        # machine (both workers of the test run and these three processes on one core)
        # it took over 300 s.
        deadline = time.monotonic() + 600
        codes = {name: proc.wait(timeout=max(1, deadline - time.monotonic())) for name, proc in procs.items()}
    finally:
        # Every process this test started stops, also when it fails or times out.
        for proc in procs.values():
            kill_group(proc)
        for log in logs:
            log.close()
    output = {name: (tmp_path / f"{name}.log").read_text()[-3000:] for name in roles}
    assert codes == {"chief": 0, "tuner1": 0, "tuner2": 0}, output
    project = tmp_path / "search" / "simplecnn"
    rows = _rows(project)
    assert sorted(r["trial_id"] for r in rows) == ["0", "1", "2", "3"]
    assert all(r["status"] == "COMPLETED" and r["runs"] == "1" for r in rows)
    # The workers ran the trials (the chief only serves them); which worker ran
    # how many depends on which started first.
    ran_by = {_record(project, t)["tuner_id"] for t in "0123"}
    assert ran_by and ran_by <= {"tuner1", "tuner2"}
    assert (project / "best_model.keras").exists()
    assert "Leaderboard" in output["chief"] and "the chief writes the results" in output["tuner1"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--tuner", "annealing"], "--tuner: invalid choice: 'annealing'"),
        (["--max-trials", "0"], "--max-trials"),
        (["--seed", "-1"], "--seed"),
        (["--executions-per-trial", "-1"], "--executions-per-trial"),
        (["--prune", "hyperband"], "--prune: invalid choice: 'hyperband'"),
        (
            ["--prune-min-epochs", "2"],
            "--prune-min-epochs applies to --prune asha, and this search has no --prune",
        ),
        (["--prune", "--prune-reduction-factor", "2"], "applies to --prune asha, not to --prune median"),
        (["--prune", "asha", "--prune-warmup-trials", "2"], "applies to --prune median, not to --prune asha"),
        (["--prune", "asha", "--prune-reduction-factor", "1"], "--prune-reduction-factor must be at least 2"),
    ],
)
def test_bad_arguments_exit_2_with_a_message_and_write_nothing(tmp_path, capsys, argv, message):
    assert main(["tune", *argv, "--directory", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-ext tune: error: ") and message in lines[0], lines
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "argv, expected",
    [
        ([], None),
        (["--prune"], {"name": "MedianPruning", "warmup_trials": 3, "warmup_epochs": 1}),
        (["--prune", "median", "--prune-warmup-epochs", "0"], {"warmup_trials": 3, "warmup_epochs": 0}),
        (["--prune", "asha"], {"name": "SuccessiveHalving", "min_epochs": 1, "reduction_factor": 3}),
        (
            ["--prune", "asha", "--prune-min-epochs", "2", "--prune-reduction-factor", "4"],
            {"min_epochs": 2, "reduction_factor": 4},
        ),
    ],
)
def test_prune_chooses_the_scheduler_and_its_settings(argv, expected):
    from keras_ext.cli.tune import _pruning
    from keras_ext_cli.main import build_parser

    pruning = _pruning(build_parser().parse_args(["tune", *argv]))
    if expected is None:
        assert pruning is None
        return
    found = {"name": type(pruning).__name__, **pruning.get_config()}
    assert {key: found[key] for key in expected} == expected


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--objective", "val_f1"],
            "Objective 'val_f1' is not a metric the model logs; available objectives: "
            "accuracy, categorical_true_positives, loss, val_accuracy, "
            "val_categorical_true_positives, val_loss.",
        ),
        (["--hp", "num_blocks=3:1"], "`num_blocks` range has min > max"),
        (["--hp", "learning_rate=0.1:0.001"], "`learning_rate` range has min > max"),
        (["--hp", "filters=8,0"], "`filters` must be a positive integer"),
        (["--hp", "depth=3"], "unknown hyperparameter 'depth'"),
        (["--dataset", "nope"], "--dataset nope: no such file or directory"),
    ],
)
def test_bad_search_input_is_a_clear_error_before_any_trial_and_writes_nothing(
    tmp_path, capsys, argv, message
):
    code = main(["tune", *argv, "--directory", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-ext tune: error: ") and message in lines[0], lines
    assert "Running Trial" not in captured.out
    assert not (tmp_path / "out").exists()
