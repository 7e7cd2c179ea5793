"""Figures from timings: rates over whole timed spans, medians over rounds, ratios paired round by round."""

import pytest

from keras_ext.benchmarking import figures


def _row(variant, call_rate, round_rates=None):
    row = {"model": "simplecnn", "batch_size": 32, "data": "arrays", "variant": variant}
    row["steps_per_s_median"] = call_rate
    if round_rates is not None:
        row["steady_steps_per_s"] = sorted(round_rates)[len(round_rates) // 2]
        row["steady_round_steps_per_s"] = round_rates
    return row


def test_steady_figures_are_medians_over_rounds_of_whole_round_rates():
    # Round 1: 2 epochs of 10 steps in 1 s and 2 s -> 20 / 3 steps/s (not the mean of 10 and 5).
    out = figures.steady_figures([[1.0, 2.0], [1.0, 1.0]], epoch_steps=10, batch_size=4)
    assert out["steady_round_steps_per_s"] == pytest.approx([20 / 3, 10.0])
    assert out["steady_steps_per_s"] == pytest.approx((20 / 3 + 10.0) / 2)
    assert out["steady_images_per_s"] == pytest.approx(4 * (20 / 3 + 10.0) / 2)
    assert (out["steady_epoch_steps_per_s_min"], out["steady_epoch_steps_per_s_max"]) == (5.0, 10.0)


def test_whole_call_figures():
    out = figures.whole_call_figures([2.0, 1.0, 4.0], steps=8, batch_size=32)
    assert (out["steps_per_s_min"], out["steps_per_s_median"], out["steps_per_s_max"]) == (2.0, 4.0, 8.0)
    assert out["images_per_s_median"] == 128.0 and out["call_seconds_median"] == 2.0


def test_steady_ratio_is_the_median_of_the_per_round_ratios():
    results = {
        "results": [
            _row("fit", 4.0, [10.0, 20.0, 30.0]),
            _row("trainer_graph", 6.0, [12.0, 20.0, 33.0]),
            _row("bare_loop", 3.0),
        ]
    }
    (entry,) = figures.ratios(results)
    name = "steady_trainer_graph_over_fit"
    assert entry[f"{name}_rounds"] == pytest.approx([1.2, 1.0, 1.1])
    assert (entry[f"{name}_min"], entry[name], entry[f"{name}_max"]) == pytest.approx((1.0, 1.1, 1.2))
    assert entry["trainer_graph_over_fit"] == 1.5 and entry["trainer_graph_over_bare_loop"] == 2.0
    assert "steady_trainer_spe_over_fit_spe" not in entry


def test_results_without_rounds_give_the_ratio_of_the_medians():
    fit, trainer = _row("fit", 4.0, [10.0]), _row("trainer_graph", 6.0, [15.0])
    del fit["steady_round_steps_per_s"], trainer["steady_round_steps_per_s"]
    (entry,) = figures.ratios({"results": [fit, trainer]})
    assert entry["steady_trainer_graph_over_fit"] == 1.5 and "steady_trainer_graph_over_fit_min" not in entry
