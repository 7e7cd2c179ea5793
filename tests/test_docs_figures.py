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


def _percent(fraction):
    return f"{round(fraction * 100)} %"


PRUNING_LABELS = {
    None: "no pruning",
    "median": "`--prune median` (warm-up: {warmup_trials} trials, {warmup_epochs} epochs)",
    "asha": "`--prune asha`",
}


@pytest.mark.parametrize("name", ["pruning.json", "pruning-20x9.json"])
def test_pruning_figures_in_docs_tuning_are_the_json(name):
    record = _json("tuning", name)
    arguments = record["arguments"]
    full = record["results"][0]
    assert full["pruning"] is None
    text = " ".join(_read("docs", "tuning.md").split())
    for result in record["results"]:
        label = PRUNING_LABELS[result["pruning"]].format(**arguments)
        if result["pruning"] is None:
            saved, best = (
                "",
                f"#{int(full['best_trial']) + 1} (`trial_{full['best_trial']}`), {full['best_score']:.6f}",
            )
        else:
            verdict = record["verdicts"][result["pruning"]]
            assert verdict["same_best_trial"], result["pruning"]  # what "the same" says
            saved = f"{_percent(verdict['wall_time_saved'])} wall, {_percent(verdict['cpu_time_saved'])} CPU"
            best = "the same"
        row = (
            f"| {arguments['trials']} trials x {arguments['epochs']} epochs, {label} | {result['epochs_trained']} "
            f"| {result['trials_pruned']} | {result['seconds']} s | {saved} | {best} |"
        )
        row = " ".join(row.split())  # the empty cell, as the page writes it
        assert row in text, row
        if result["pruning"] is not None:  # and in the table of figures at the end
            name = {"median": "median", "asha": "successive halving"}[result["pruning"]]
            summary = (
                f"{name}: {result['epochs_trained']} instead of {full['epochs_trained']} epochs, "
                f"{_percent(verdict['wall_time_saved'])} less wall time"
            )
            assert summary in text, summary


def test_memory_figures_in_docs_tuning_are_memory_json():
    record = _json("tuning", "memory.json")
    by_mode = {r["mode"]: r for r in record["results"]}
    text = " ".join(_read("docs", "tuning.md").split())
    labels = {
        "keras_ext_isolated": "keras_ext, isolated trials",
        "keras_ext": "keras_ext, one process",
        "stock": "stock keras-tuner `RandomSearch`",
    }
    for mode, label in labels.items():
        r = by_mode[mode]
        row = (
            f"| {label} | +{r['growth_after_2nd_trial_mb']} MB ({r['rss_after_2nd_trial_mb']} to "
            f"{r['rss_after_last_trial_mb']} MB) | {r['seconds']} s |"
        )
        assert row in text, row
    figures = (
        f"isolated trials +{by_mode['keras_ext_isolated']['growth_after_2nd_trial_mb']} MB; one process "
        f"+{by_mode['keras_ext']['growth_after_2nd_trial_mb']} MB; stock keras-tuner "
        f"+{by_mode['stock']['growth_after_2nd_trial_mb']} MB"
    )
    assert figures in text, figures


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


@pytest.mark.parametrize("side, label", [("old", "6a9bc62 (2026-11-28)"), ("new", "this commit")])
@pytest.mark.parametrize("run", [1, 2])
def test_the_a_b_rows_in_results_md_are_their_json(side, label, run):
    record = _json("tensorflow-cpu-rerun", "ab-6a9bc62", f"{side}-{run}.json")
    steady = {r["variant"]: r["steady_steps_per_s"] for r in record["results"]}
    paired = record["ratios"][0]["steady_trainer_graph_over_fit"]
    row = f"| {label} | {run} | {steady['fit']:.1f} | {steady['trainer_graph']:.1f} | {paired:.2f} |"
    assert row in _read("benchmarks", "RESULTS.md"), row


@pytest.mark.parametrize("side, label", [("old", "6a9bc62 (2026-11-28)"), ("new", "this commit")])
@pytest.mark.parametrize("model", ["simplecnn", "fashioncnn"])
@pytest.mark.parametrize("run", [1, 2])
def test_the_jax_a_b_rows_in_results_md_are_their_json(side, label, model, run):
    record = _json("jax-cpu-ab-6a9bc62", f"{model}-{side}-{run}.json")
    steady = {r["variant"]: r["steady_steps_per_s"] for r in record["results"]}
    paired = record["ratios"][0]["steady_trainer_spe_over_fit_spe"]
    row = f"| {model} | {label} | {run} | {steady['fit_spe']:.1f} | {steady['trainer_spe']:.1f} | {paired:.2f} |"
    assert row in _read("benchmarks", "RESULTS.md"), row


def _ab_records():
    """Every benchmarks/ab_commits.py record: benchmarks/results/ab-*/**/ab.json."""
    found = []
    for top in sorted(d for d in os.listdir(RESULTS) if d.startswith("ab-")):
        for folder, _, files in sorted(os.walk(os.path.join(RESULTS, top))):
            if "ab.json" in files:
                found.append(os.path.relpath(os.path.join(folder, "ab.json"), RESULTS))
    return found


@pytest.mark.parametrize("path", _ab_records())
def test_call_by_call_a_b_tables_in_results_md_are_their_json(path):
    table = runpy.run_path(os.path.join(ROOT, "benchmarks", "ab_commits.py"))["table"]
    with open(os.path.join(RESULTS, path)) as f:
        assert table(json.load(f)["rows"]) in _read("benchmarks", "RESULTS.md"), path
