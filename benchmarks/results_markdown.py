"""Print a results.json written by `keras-ext bench` as Markdown tables (for RESULTS.md).

    python benchmarks/results_markdown.py benchmarks/results/tensorflow-cpu/results.json
"""

import json
import sys


def markdown(path):
    results = json.load(open(path))
    env = results["environment"]
    versions = ", ".join(f"{k} {env[k]}" for k in ("tensorflow", "jax", "keras") if k in env)
    lines = [f"Backend {env['backend']} on {env.get('device')} ({versions}, Python {env['python']}); "
             f"{results['settings']['repeats']} repeats of {results['settings']['steps']} steps, "
             "median steps/s with [min, max], images/s from the median.", "",
             "| model | batch | data | variant | steps/s | [min, max] | images/s |",
             "|---|---|---|---|---|---|---|"]
    for r in results["results"]:
        lines.append(f"| {r['model']} | {r['batch_size']} | {r['data']} | {r['variant']} | "
                     f"{r['steps_per_s_median']:.1f} | [{r['steps_per_s_min']:.1f}, {r['steps_per_s_max']:.1f}] | "
                     f"{r['images_per_s_median']:.0f} |")
    lines += ["", "| model | batch | data | Trainer graph / fit | Trainer graph / bare loop | graph / eager |",
              "|---|---|---|---|---|---|"]
    for e in results["ratios"]:
        lines.append(f"| {e['model']} | {e['batch_size']} | {e['data']} | "
                     f"{e.get('trainer_graph_over_fit', float('nan')):.2f} | "
                     f"{e.get('trainer_graph_over_bare_loop', float('nan')):.2f} | "
                     f"{e.get('graph_over_eager', float('nan')):.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(markdown(p))
        print()
