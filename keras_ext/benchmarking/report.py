"""What a benchmark run shows and keeps: a table for the terminal, results.json and chart.png."""

import json
import os

from keras_ext.benchmarking.chart import draw_chart
from keras_ext.benchmarking.figures import ratios
from keras_ext_cli.files import write_text_atomically


def format_table(results):
    """One line per measured variant (steady and whole-call steps/s), then each group's ratios."""
    lines = [
        f"{'model':10s} {'batch':>5s} {'data':7s} {'variant':14s} {'steady':>9s} "
        f"{'call':>9s} {'min':>8s} {'max':>8s} {'images/s':>9s}   (steps/s)"
    ]
    for r in results["results"]:
        steady = f"{r['steady_steps_per_s']:9.2f}" if "steady_steps_per_s" in r else f"{'-':>9s}"
        lines.append(
            f"{r['model']:10s} {r['batch_size']:5d} {r['data']:7s} {r['variant']:14s} "
            f"{steady} {r['steps_per_s_median']:9.2f} {r['steps_per_s_min']:8.2f} "
            f"{r['steps_per_s_max']:8.2f} {r['images_per_s_median']:9.0f}"
        )
    lines.append("")
    for entry in ratios(results):
        lines.append(f"{entry['model']} batch {entry['batch_size']} {entry['data']}: " + _ratio_text(entry))
    return "\n".join(lines)


def _ratio_text(entry):
    """`name=median [min..max]` for the paired ratios, `name=value` for the others."""
    parts = []
    for key, value in entry.items():
        if not isinstance(value, float) or key.endswith(("_min", "_max")):
            continue
        text = f"{key}={value:.3f}"
        if f"{key}_min" in entry:
            text += f" [{entry[f'{key}_min']:.3f}..{entry[f'{key}_max']:.3f}]"
        parts.append(text)
    return ", ".join(parts)


def write_outputs(results, output_dir):
    """Write results.json (environment, settings, every figure, ratios) and chart.png to `output_dir`.

    Returns:
        The paths of the two files.
    """
    os.makedirs(output_dir, exist_ok=True)
    results = {**results, "ratios": ratios(results)}
    json_path = os.path.join(output_dir, "results.json")
    write_text_atomically(json_path, json.dumps(results, indent=2) + "\n")
    return json_path, draw_chart(results, os.path.join(output_dir, "chart.png"))
