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
