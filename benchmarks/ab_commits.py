"""This commit against an older one on the same benchmark, in one session: the no-regression check of issue 19.

    python benchmarks/ab_commits.py --old 6a9bc62 --output benchmarks/results/ab-6a9bc62-tensorflow-cpu \\
        -- --models simplecnn fashioncnn --variants fit fit_spe trainer_graph trainer_spe --repeats 1

Runs `benchmarks/fit_vs_custom.py` (everything after `--` is passed to it)
alternately from a checkout of the old commit and from this tree, in the
order old, new, new, old, ... (so a slow drift of the machine's load falls on
both sides alike), each in a fresh process that imports keras_ext from its own
tree. Runs on different days of a shared machine differ by more than the 3 %
the check asks about (benchmarks/RESULTS.md); runs taken in turn do not drift
apart that way.

For every row, the A/B ratio of a pair of runs is the new run's steady-state
median over the old run's (run i of each side); the row's figure is the median
of those ratios over the pairs, with [min, max]. A row whose median is below
`--threshold` (default 0.97) is flagged. Writes OUTPUT/old-i/results.json,
OUTPUT/new-i/results.json and OUTPUT/ab.json.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import compare_runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_order(runs):
    """old, new, new, old, old, new, ...: each side runs first in every other pair."""
    order = []
    for i in range(runs):
        pair = [("old", i + 1), ("new", i + 1)]
        order += pair if i % 2 == 0 else pair[::-1]
    return order


def summarize(pairs, threshold):
    """Per row: the new/old ratio of each pair of runs, their median and [min, max]; `pairs` is a list of
    (old results.json, new results.json)."""
    by_row = {}
    for old, new in pairs:
        for row in compare_runs.compare(old, new, threshold):
            key = (row["model"], row["batch_size"], row["data"], row["variant"])
            by_row.setdefault(key, []).append(row)
    summary = []
    for (model, batch, data, variant), rows in by_row.items():
        ratios = [r["new_over_old"] for r in rows]
        summary.append(
            {
                "model": model,
                "batch_size": batch,
                "data": data,
                "variant": variant,
                "old": [r["old"] for r in rows],
                "new": [r["new"] for r in rows],
                "ratios": ratios,
                "median": statistics.median(ratios),
                "min": min(ratios),
                "max": max(ratios),
                "below_threshold": statistics.median(ratios) < threshold,
            }
        )
    return summary


def _checkout(commit, directory):
    """The old commit's files, without touching this repository's work tree or branches."""
    archive = subprocess.run(["git", "-C", ROOT, "archive", commit], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", directory], input=archive, check=True)


def _bench(tree, output, bench_args):
    env = {**os.environ, "PYTHONPATH": tree, "TF_CPP_MIN_LOG_LEVEL": "2"}
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import keras_ext, os; print(os.path.dirname(os.path.dirname(keras_ext.__file__)))",
        ],
        env=env,
        cwd=tree,  # `python -c` puts the working directory first on the path
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if os.path.realpath(imported) != os.path.realpath(
        tree
    ):  # an installed keras_ext would shadow the old tree
        raise SystemExit(f"keras_ext imports from {imported}, not from {tree}")
    script = os.path.join(tree, "benchmarks", "fit_vs_custom.py")
    subprocess.run([sys.executable, script, *bench_args, "--output", output], env=env, cwd=tree, check=True)
    with open(os.path.join(output, "results.json")) as f:
        return json.load(f)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    bench_args = argv[argv.index("--") + 1 :] if "--" in argv else []
    own_args = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the commit to compare against")
    parser.add_argument("--runs", type=int, default=2, help="runs per side (default: 2)")
    parser.add_argument("--threshold", type=float, default=0.97)
    parser.add_argument("--output", required=True)
    args = parser.parse_args(own_args)
    os.makedirs(args.output, exist_ok=True)
    old_tree = tempfile.mkdtemp(prefix="ab-old-")
    try:
        _checkout(args.old, old_tree)
        results = {}
        for side, i in run_order(args.runs):
            tree = old_tree if side == "old" else ROOT
            print(f"== {side} run {i} ({args.old if side == 'old' else 'this tree'})", flush=True)
            output = os.path.abspath(os.path.join(args.output, f"{side}-{i}"))
            results[side, i] = _bench(tree, output, bench_args)
    finally:
        shutil.rmtree(old_tree, ignore_errors=True)
    pairs = [(results["old", i], results["new", i]) for i in range(1, args.runs + 1)]
    summary = summarize(pairs, args.threshold)
    with open(os.path.join(args.output, "ab.json"), "w") as f:
        head = subprocess.run(
            ["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        record = {"old": args.old, "new": head.stdout.strip(), "bench_args": bench_args, "rows": summary}
        json.dump({**record, "order": run_order(args.runs), "threshold": args.threshold}, f, indent=2)
        f.write("\n")
    print("| model | batch | data | variant | new / old, median [min, max] over the pairs |")
    print("|---|---|---|---|---|")
    for r in summary:
        flag = " (below)" if r["below_threshold"] else ""
        print(
            f"| {r['model']} | {r['batch_size']} | {r['data']} | {r['variant']} "
            f"| {r['median']:.2f} [{r['min']:.2f}, {r['max']:.2f}]{flag} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
