import json

import pytest

from keras_ext.benchmarking.variant import variant_names
from keras_ext.cli.main import main

pytestmark = pytest.mark.tensorflow_only


def test_bench_writes_table_json_and_chart(tmp_path, capsys):
    # Tiny settings: this checks the outputs, never the timings.
    assert (
        main(
            [
                "bench",
                "--models",
                "mlp",
                "--batch-sizes",
                "8",
                "--data",
                "arrays",
                "tf.data",
                "--steps",
                "2",
                "--repeats",
                "1",
                "--steady-steps",
                "4",
                "--rounds",
                "2",
                "--output",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    results = json.load(open(tmp_path / "results.json"))
    variants = {r["variant"] for r in results["results"]}
    assert variants == set(variant_names("tensorflow"))  # every variant ran, on both kinds of data
    assert {r["data"] for r in results["results"]} == {"arrays", "tf.data"}
    assert results["environment"]["backend"] == "tensorflow" and "tensorflow" in results["environment"]
    assert all(r["steps_per_s_median"] > 0 for r in results["results"])
    steady = {r["variant"] for r in results["results"] if r.get("steady_steps_per_s", 0) > 0}
    assert steady == {"fit", "fit_spe", "trainer_graph", "trainer_spe"}
    assert all(len(r["steady_round_steps_per_s"]) == 2 for r in results["results"] if r["variant"] in steady)
    assert results["settings"]["steady_rounds"] == 2
    for entry in results["ratios"]:
        for name in ("steady_trainer_graph_over_fit", "steady_trainer_spe_over_fit_spe"):
            # The median of the two rounds' paired ratios, between their min and max.
            assert len(entry[f"{name}_rounds"]) == 2
            assert entry[f"{name}_min"] <= entry[name] <= entry[f"{name}_max"]
    assert {"trainer_graph_over_fit", "trainer_graph_over_bare_loop", "graph_over_eager"} <= set(
        results["ratios"][0]
    )
    assert (tmp_path / "chart.png").stat().st_size > 1000
    assert "trainer_graph_over_fit=" in out and "steady round 2/2" in out


def test_unknown_variant_is_rejected(tmp_path, capsys):
    assert main(["bench", "--variants", "warp_speed", "--output", str(tmp_path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-ext bench: error: argument --variants"), lines
    assert not (tmp_path / "results.json").exists()


def _row(variant, call, rounds=None):
    row = {"model": "simplecnn", "batch_size": 32, "data": "arrays", "variant": variant}
    row.update(steps_per_s_median=call, steps_per_s_min=call - 1, steps_per_s_max=call + 1)
    row["images_per_s_median"] = call * 32
    if rounds:
        ordered = sorted(rounds)
        row.update(steady_round_steps_per_s=rounds, steady_steps_per_s=ordered[1])
        row.update(steady_steps_per_s_min=ordered[0], steady_steps_per_s_max=ordered[-1])
    return row


def test_the_chart_shows_the_steady_state_ratios(tmp_path):
    from keras_ext.benchmarking import chart

    results = {
        "environment": {"backend": "tensorflow", "device": "CPU"},
        "results": [
            _row("fit", 5.0, [10.0, 10.0, 10.0]),
            _row("trainer_graph", 9.0, [12.0, 10.0, 11.0]),
            _row("fit_spe", 6.0, [20.0, 25.0, 20.0]),
            _row("trainer_spe", 8.0, [30.0, 25.0, 18.0]),
            _row("bare_loop", 9.5),
        ],
    }
    figure = chart._figure(results)
    # Round by round: 12/10, 10/10, 11/10 and 30/20, 25/25, 18/20; the median and the range of each.
    assert sorted(t.get_text() for t in figure.axes[0].texts) == ["1.00x [0.90-1.50]", "1.10x [1.00-1.20]"]
    assert "steady state" in figure.axes[0].get_title() and "whole call" in figure.axes[1].get_title()
    assert chart.draw_chart(results, tmp_path / "chart.png") == tmp_path / "chart.png"
    assert (tmp_path / "chart.png").stat().st_size > 1000
