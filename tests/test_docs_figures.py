"""The figures the docs quote are the committed raw results, not numbers typed by hand.

Each benchmark writes JSON under benchmarks/results/; these tests read it and
look for its figures, formatted as the docs print them, in the page that
quotes them. Rerunning a benchmark without updating its page (or the other
way round) fails here.
"""

import json
import os
import runpy

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results")


def _read(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return f.read()


def _json(*parts):
    return json.loads(_read("benchmarks", "results", *parts))


def test_pruning_figures_in_docs_tuning_are_pruning_json():
    record = _json("tuning", "pruning.json")
    full, pruned = record["results"]
    assert not full["pruning"] and pruned["pruning"]
    text = " ".join(_read("docs", "tuning.md").split())
    quoted = [
        f"pruning stopped {pruned['trials_pruned']} of the {record['arguments']['trials']} trials",
        f"trained {pruned['epochs_trained']} epochs instead of {full['epochs_trained']}",
        # Numbered as keras-tuner prints trials (#N, from 1), named by its id (trial_<id>).
        f"(#{int(pruned['best_trial']) + 1}, `trial_{pruned['best_trial']}`, val_accuracy {pruned['best_score']:.6f})",
        f"({pruned['cpu_seconds']} s against {full['cpu_seconds']} s,",
        f"({pruned['trial_seconds']} s against {full['trial_seconds']} s)",
        f"CPU {pruned['cpu_seconds']} s instead of {full['cpu_seconds']} s",
    ]
    assert record["same_best_trial"] and full["best_trial"] == pruned["best_trial"]
    for figure in quoted:
        assert figure in text, figure


def test_memory_figures_in_docs_tuning_are_memory_json():
    record = _json("tuning", "memory.json")
    ours, stock = (next(r for r in record["results"] if r["mode"] == m) for m in ("keras_ext", "stock"))
    text = " ".join(_read("docs", "tuning.md").split())
    quoted = [
        f"grew by {ours['growth_after_2nd_trial_mb']} MB from the end of the 2nd trial",
        f"({ours['rss_after_2nd_trial_mb']} MB to {ours['rss_after_last_trial_mb']} MB)",
        f"grew by {stock['growth_after_2nd_trial_mb']} MB ({stock['rss_after_2nd_trial_mb']} MB to "
        f"{stock['rss_after_last_trial_mb']} MB)",
        f"keras_ext {ours['growth_after_2nd_trial_mb']} MB; stock keras-tuner {stock['growth_after_2nd_trial_mb']} MB",
    ]
    for figure in quoted:
        assert figure in text, figure


def _results_markdown():
    return runpy.run_path(os.path.join(ROOT, "benchmarks", "results_markdown.py"))["markdown"]


BENCH_RUNS = sorted(
    d for d in os.listdir(RESULTS) if os.path.exists(os.path.join(RESULTS, d, "results.json"))
)


@pytest.mark.parametrize("run", BENCH_RUNS)
def test_fit_vs_trainer_tables_in_results_md_are_results_json(run):
    # RESULTS.md holds each run's tables exactly as benchmarks/results_markdown.py prints them.
    tables = _results_markdown()(os.path.join(RESULTS, run, "results.json"))
    assert tables in _read("benchmarks", "RESULTS.md"), f"benchmarks/results/{run}: tables differ"


def _short_runs():
    record = _json("short_runs", "short_runs_learn.json")
    return record, sorted(record["train"], key=lambda r: r["seed"]), record["tune"]


def _and(figures):
    return f"{', '.join(figures[:-1])} and {figures[-1]}"


def test_short_run_figures_in_docs_building_blocks_are_short_runs_learn_json():
    record, train, tune = _short_runs()
    assert [r["seed"] for r in train] == [0, 1, 2]
    assert {r["batchnorm_momentum"] for r in train} == {0.9}  # the default the docs describe
    text = " ".join(_read("docs", "building-blocks.md").split())
    defaults = record["train_defaults"]
    assert (defaults["decay_rate"], defaults["decay_steps"]) == (0.8, 100)
    quoted = [
        f"`batchnorm_momentum={train[0]['batchnorm_momentum']}`",
        f"starts its learning rate at `{defaults['learning_rate']}` (decayed by "
        f"{defaults['decay_rate']} every {defaults['decay_steps']} steps)",
        f"validation accuracy of {_and([format(r['val_accuracy'], '.4f') for r in train])} at epoch 3 "
        "(seeds 0, 1 and 2)",
        f"`keras-ext tune --max-trials 5 --epochs 2` (#{tune['best_trial']}) scores {tune['best_score']:.4f}",
        f"score {_and([format(r['val_accuracy_recomputed_statistics'], '.4f') for r in train])}.",
    ]
    for figure in quoted:
        assert figure in text, figure
    # The record's verdicts are its own figures against its targets.
    targets = record["targets"]
    assert record["train_target_met"] == all(
        r["val_accuracy"] >= targets["train_val_accuracy"] for r in train
    )
    assert record["tune_target_met"] == (tune["best_score"] >= targets["tune_best_score"])
    assert tune["best_score"] == max(tune["scores"].values())


def test_a_2_epoch_search_s_best_trial_reaches_085():
    _, _, tune = _short_runs()
    assert tune["best_score"] >= 0.85


def test_3_epoch_runs_reach_090_for_seeds_0_1_and_2():
    # Issue 21 item 2, with batchnorm_momentum=0.9 and the learning rate 1.2e-3.
    record, train, _ = _short_runs()
    assert all(r["val_accuracy"] >= 0.9 for r in train), [r["val_accuracy"] for r in train]
    assert record["train_target_met"]
