import json
import os

import numpy as np

from keras_ext.tuning import TrialHistory


def _run(history, trial_id, values, objective="val_accuracy", executions=1):
    history.begin(trial_id, tuner_id="tuner0")
    for _ in range(executions):
        history.start_execution(trial_id)
        for epoch, value in enumerate(values):
            history.record(trial_id, epoch, {objective: value, "loss": 1.0 - value})
    history.finish(trial_id)


def test_values_at_an_epoch_are_those_of_completed_trials_only(tmp_path):
    history = TrialHistory(tmp_path)
    _run(history, "0", [0.1, 0.4, 0.6])
    _run(history, "1", [0.2, 0.3])
    _run(history, "2", [0.5, 0.9], executions=2)
    history.begin("3")  # still running: not counted
    history.record("3", 0, {"val_accuracy": 0.99})
    history.begin("4")
    history.record("4", 0, {"val_accuracy": 0.0})
    history.mark_pruned("4", 0)
    history.finish("4")  # pruned: not counted, as in Optuna
    assert sorted(history.values_at("val_accuracy", 1)) == [0.3, 0.4, 0.9]
    assert history.values_at("val_accuracy", 2) == [0.6]
    assert sorted(history.values_at("val_accuracy", 0, exclude="0")) == [0.2, 0.5]
    assert history.load("4")["status"] == "pruned" and history.load("4")["pruned_at_epoch"] == 0
    assert history.epochs_trained("2") == 4


def test_restarting_a_trial_drops_its_old_epochs_and_counts_the_run(tmp_path):
    history = TrialHistory(tmp_path)
    history.begin("7")
    history.record("7", 0, {"val_accuracy": 0.1})
    history.begin("7")  # the search was killed and resumed
    assert history.load("7")["runs"] == 2 and history.load("7")["executions"] == []
    assert history.values_at("val_accuracy", 0) == []


def test_hyperband_continuation_pads_the_epochs_it_skipped(tmp_path):
    history = TrialHistory(tmp_path)
    history.begin("5")
    history.start_execution("5")
    history.record("5", 2, {"val_accuracy": 0.7, "lr": np.float32(0.5), "vector": np.zeros(3)})
    record = history.load("5")
    assert record["executions"] == [[None, None, {"val_accuracy": 0.7, "lr": 0.5}]]
    assert history.epochs_trained("5") == 1


def test_records_are_plain_json_in_the_trial_folder_and_no_temporary_file_stays(tmp_path):
    history = TrialHistory(tmp_path)
    _run(history, "0", [0.5])
    assert json.load(open(tmp_path / "trial_0" / "epochs.json"))["status"] == "completed"
    assert os.listdir(tmp_path / "trial_0") == ["epochs.json"]
    assert set(history.load_all()) == {"0"} and history.load("9") is None
