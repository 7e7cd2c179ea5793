"""Print a results.json written by `keras-ext bench` as Markdown tables (for RESULTS.md).

python benchmarks/results_markdown.py benchmarks/results/tensorflow-cpu/results.json
"""

import json
import sys


def _steady(row, key="steady_steps_per_s"):
    return f"{row[key]:.1f}" if key in row else "-"


def markdown(path):
    results = json.load(open(path))
    env = results["environment"]
    settings = results["settings"]
    versions = ", ".join(f"{k} {env[k]}" for k in ("tensorflow", "jax", "keras") if k in env)
    lines = [
        f"Backend {env['backend']} on {env.get('device')} ({versions}, Python {env['python']}). "
        f"Steady state: steps/s over {settings.get('steady_steps', '?')} timed steps inside one "
        f"`fit` call after a warm-up epoch, [min, max] over its {settings.get('steady_epochs', '?')} "
        f"timed epochs. Whole call: median steps/s of {settings['repeats']} calls of "
        f"{settings['steps']} steps, [min, max] over the calls. "
        f"steps_per_execution={settings.get('steps_per_execution')} for fit_spe and trainer_spe.",
        "",
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
    lines += [
        "",
        "| model | batch | data | steady: Trainer / fit | steady: Trainer spe / fit spe "
        "| whole call: Trainer / fit | whole call: Trainer / bare loop | graph / eager |",
        "|---|---|---|---|---|---|---|---|",
    ]
    nan = float("nan")
    for e in results["ratios"]:
        lines.append(
            f"| {e['model']} | {e['batch_size']} | {e['data']} | "
            f"{e.get('steady_trainer_graph_over_fit', nan):.2f} | "
            f"{e.get('steady_trainer_spe_over_fit_spe', nan):.2f} | "
            f"{e.get('trainer_graph_over_fit', nan):.2f} | "
            f"{e.get('trainer_graph_over_bare_loop', nan):.2f} | "
            f"{e.get('graph_over_eager', nan):.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(markdown(p))
        print()
