"""Print a results.json written by `keras-ext bench` as Markdown tables (for RESULTS.md).

python benchmarks/results_markdown.py benchmarks/results/tensorflow-cpu/results.json
"""

import json
import sys

RATIO_COLUMNS = (
    ("steady_trainer_graph_over_fit", "steady: Trainer / fit"),
    ("steady_trainer_spe_over_fit_spe", "steady: Trainer spe / fit spe"),
    ("trainer_graph_over_fit", "whole call: Trainer / fit"),
    ("trainer_graph_over_bare_loop", "whole call: Trainer / bare loop"),
    ("graph_over_eager", "graph / eager"),
)


def _steady(row, key="steady_steps_per_s"):
    return f"{row[key]:.1f}" if key in row else "-"


def _header(results):
    env = results["environment"]
    settings = results["settings"]
    versions = ", ".join(f"{k} {env[k]}" for k in ("tensorflow", "jax", "keras") if k in env)
    rounds = settings.get("steady_rounds", 1)
    return (
        f"Backend {env['backend']} on {env.get('device')} ({versions}, Python {env['python']}). "
        f"Steady state: in each of {rounds} rounds, steps/s over {settings.get('steady_steps', '?')} "
        f"timed steps ({settings.get('steady_epochs', '?')} epochs) inside one `fit` call after a "
        f"warm-up epoch; the median over the rounds, [min, max] over the rounds. Whole call: median "
        f"steps/s of {settings['repeats']} calls of {settings['steps']} steps, [min, max] over the "
        f"calls. steps_per_execution={settings.get('steps_per_execution')} for fit_spe and trainer_spe."
    )


def _variant_table(results):
    lines = [
        "| model | batch | data | variant | steady steps/s | [min, max] | steady images/s "
        "| whole-call steps/s | [min, max] |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["results"]:
        steady_range = (
            f"[{r['steady_steps_per_s_min']:.1f}, {r['steady_steps_per_s_max']:.1f}]"
            if "steady_steps_per_s" in r
            else ""
        )
        images = f"{r['steady_images_per_s']:.0f}" if "steady_images_per_s" in r else "-"
        lines.append(
            f"| {r['model']} | {r['batch_size']} | {r['data']} | {r['variant']} | "
            f"{_steady(r)} | {steady_range} | {images} | "
            f"{r['steps_per_s_median']:.1f} | [{r['steps_per_s_min']:.1f}, {r['steps_per_s_max']:.1f}] |"
        )
    return lines


def _ratio(entry, key):
    """`median [min, max]` for a paired steady ratio, the value alone otherwise, `-` if absent."""
    if key not in entry:
        return "-"
    text = f"{entry[key]:.2f}"
    if f"{key}_min" in entry:
        text += f" [{entry[f'{key}_min']:.2f}, {entry[f'{key}_max']:.2f}]"
    return text


def _ratio_table(results):
    columns = [(k, title) for k, title in RATIO_COLUMNS if any(k in e for e in results["ratios"])]
    lines = [
        "| model | batch | data | " + " | ".join(title for _, title in columns) + " |",
        "|---|---|---|" + "---|" * len(columns),
    ]
    for e in results["ratios"]:
        cells = " | ".join(_ratio(e, k) for k, _ in columns)
        lines.append(f"| {e['model']} | {e['batch_size']} | {e['data']} | {cells} |")
    return lines


def markdown(path):
    results = json.load(open(path))
    return "\n".join([_header(results), "", *_variant_table(results), "", *_ratio_table(results)])


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(markdown(p))
        print()
