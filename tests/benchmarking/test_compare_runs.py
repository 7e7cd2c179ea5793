"""benchmarks/compare_runs.py: new over old per row, the paired Trainer/fit ratios, the threshold."""

import os
import runpy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
compare = runpy.run_path(os.path.join(ROOT, "benchmarks", "compare_runs.py"))["compare"]


def _run(fit, trainer, paired):
    key = {"model": "simplecnn", "batch_size": 32, "data": "arrays"}
    return {
        "results": [
            {**key, "variant": "fit", "steady_steps_per_s": fit},
            {**key, "variant": "trainer_graph", "steady_steps_per_s": trainer},
            {**key, "variant": "bare_loop", "steady_steps_per_s": None},  # whole-call only: left out
        ],
        "ratios": [{**key, "steady_trainer_graph_over_fit": paired}],
    }


def test_each_row_is_new_over_old_and_a_slower_one_is_flagged():
    rows = compare(_run(100.0, 130.0, 1.3), _run(110.0, 120.0, 1.1), threshold=0.97)
    by_variant = {row["variant"]: row for row in rows}
    assert set(by_variant) == {"fit", "trainer_graph"}
    assert abs(by_variant["fit"]["new_over_old"] - 1.1) < 1e-12 and not by_variant["fit"]["below_threshold"]
    trainer = by_variant["trainer_graph"]
    assert abs(trainer["new_over_old"] - 120 / 130) < 1e-12 and trainer["below_threshold"]
    assert abs(trainer["paired_new_over_old"] - 1.1 / 1.3) < 1e-12
