"""benchmarks/ab_commits.py: the run order alternates sides, and each row's figure pairs run i with run i."""

import os
import runpy
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))  # ab_commits imports compare_runs as a sibling
ab_commits = runpy.run_path(os.path.join(ROOT, "benchmarks", "ab_commits.py"))
sys.path.pop(0)


def _run(trainer):
    key = {"model": "fashioncnn", "batch_size": 32, "data": "arrays"}
    return {"results": [{**key, "variant": "trainer_graph", "steady_steps_per_s": trainer}], "ratios": []}


def test_each_side_goes_first_in_every_other_pair():
    order = ab_commits["run_order"](3)
    assert order == [("old", 1), ("new", 1), ("new", 2), ("old", 2), ("old", 3), ("new", 3)]


def test_a_row_is_the_median_of_its_paired_ratios_and_flagged_below_the_threshold():
    # Pair 1: 90/100, pair 2: 120/100, pair 3: 95/100. Pairing run i with run i matters: the medians
    # of each side alone (100 and 95) would give the same 0.95 here, but not the [min, max].
    pairs = [(_run(100.0), _run(90.0)), (_run(100.0), _run(120.0)), (_run(100.0), _run(95.0))]
    (row,) = ab_commits["summarize"](pairs, threshold=0.97)
    assert row["ratios"] == [0.9, 1.2, 0.95]
    assert (row["median"], row["min"], row["max"]) == (0.95, 0.9, 1.2)
    assert row["below_threshold"]
    (row,) = ab_commits["summarize"](pairs[1:], threshold=0.97)
    assert abs(row["median"] - 1.075) < 1e-12 and not row["below_threshold"]
