"""benchmarks/ab_commits.py: the side that calls first alternates, and each row's figure pairs the calls
taken back to back."""

import os
import runpy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ab_commits = runpy.run_path(os.path.join(ROOT, "benchmarks", "ab_commits.py"))


def test_each_side_calls_first_in_every_other_call_and_round():
    order = ab_commits["side_order"]
    assert [order(0, i) for i in range(4)] == [("old", "new"), ("new", "old")] * 2
    assert [order(1, i) for i in range(4)] == [("new", "old"), ("old", "new")] * 2


def test_a_row_is_the_median_of_its_paired_ratios_and_flagged_below_the_threshold():
    # Round 2 was slow on both sides: paired, it is a ratio of 1.2; the medians of each side
    # alone (100 and 90) would give 0.9 and flag the row.
    old, new = [100.0, 50.0, 100.0], [90.0, 60.0, 95.0]
    row = ab_commits["summarize"]({"variant": "fit"}, old, new, threshold=0.97)
    assert row["ratios"] == [0.9, 1.2, 0.95]
    assert (row["median"], row["min"], row["max"]) == (0.95, 0.9, 1.2)
    assert row["below_threshold"] and row["variant"] == "fit"
    row = ab_commits["summarize"]({}, old[1:], new[1:], threshold=0.97)
    assert abs(row["median"] - 1.075) < 1e-12 and not row["below_threshold"]


def test_the_steady_rate_is_steps_over_the_time_of_all_timed_epochs():
    assert ab_commits["rate"](20, [1.0, 3.0]) == 10.0  # not the mean of 20 and 6.67


def test_overall_pools_every_pair_of_one_kind_of_row_as_a_geometric_mean():
    rows = [
        {"variant": "trainer_graph", "ratios": [2.0, 0.5]},
        {"variant": "trainer_spe", "ratios": [1.0, 1.0]},
        {"variant": "fit", "ratios": [4.0, 4.0]},  # not a Trainer row: left out
    ]
    trainer = ab_commits["overall"](rows, "trainer")
    assert trainer["pairs"] == 4 and abs(trainer["ratio"] - 1.0) < 1e-12
    assert trainer["low"] < 1.0 < trainer["high"]
    assert abs(ab_commits["overall"](rows, "fit")["ratio"] - 4.0) < 1e-12
