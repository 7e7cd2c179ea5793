"""This tree against an older commit on the benchmark's steady state, call by call: the no-regression check of
issue 19.

    python benchmarks/ab_commits.py --old 6a9bc62 --output benchmarks/results/ab-6a9bc62-tensorflow-cpu
    KERAS_BACKEND=jax python benchmarks/ab_commits.py --old 6a9bc62 --output ...

Two processes train side by side: one imports keras_ext from a checkout of
the old commit, the other from this tree (`_ab_worker.py`, the same synthetic
data and the same initial weights as `keras-ext bench`). For each row (model,
batch size, data kind) both build every variant and trace it; then, in each
of `--rounds` rounds, every variant makes one steady `fit` call (a warm-up
epoch, then `--epochs` timed ones) in the old process and at once in the new
one, the side that goes first alternating. A row's figure is the median over
the rounds of new steps/s over old steps/s of the two calls taken back to
back, with [min, max]: a burst of load moves one pair, not a side. (Two
whole `keras-ext bench` runs, one per commit, differ by more than the 3 %
the check asks about on this shared VM: on 2026-12-08 one variant's steady
rounds went from 22 to 42 steps/s within a minute.)

Writes OUTPUT/ab.json; flags a row whose median is below `--threshold`
(default 0.97). `python benchmarks/ab_commits.py --table OUTPUT/ab.json`
prints its table again.
"""

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(ROOT, "benchmarks", "_ab_worker.py")
VARIANTS = ("fit", "fit_spe", "trainer_graph", "trainer_spe")


def side_order(round_index, variant_index):
    """Which side calls first: old first and new first alternate, call by call and round by round."""
    return ("old", "new") if (round_index + variant_index) % 2 == 0 else ("new", "old")


def rate(epoch_steps, seconds):
    """Steps over the time of all timed epochs together (as `keras-ext bench`'s steady figure)."""
    return epoch_steps * len(seconds) / sum(seconds)


def summarize(row, old_rates, new_rates, threshold):
    """One row's figure: per round new/old of the calls taken back to back; median, [min, max]."""
    ratios = [new / old for old, new in zip(old_rates, new_rates, strict=True)]
    median = statistics.median(ratios)
    return {
        **row,
        "old_steps_per_s": old_rates,
        "new_steps_per_s": new_rates,
        "ratios": ratios,
        "median": median,
        "min": min(ratios),
        "max": max(ratios),
        "below_threshold": median < threshold,
    }


class Side:
    """A worker process training with one tree's keras_ext."""

    def __init__(self, tree):
        env = {**os.environ, "PYTHONPATH": tree, "TF_CPP_MIN_LOG_LEVEL": "2"}
        # cwd=tree: nothing of this tree's must come first on the old side's path.
        self.process = subprocess.Popen(
            [sys.executable, WORKER],
            cwd=tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.versions = self.ask(op="where")
        where = self.versions["keras_ext"]
        if os.path.realpath(where) != os.path.realpath(tree):  # an installed keras_ext would shadow the tree
            raise SystemExit(f"keras_ext imports from {where}, not from {tree}")

    def ask(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith("REPLY "):
                return json.loads(line[len("REPLY ") :])
        raise SystemExit(f"the worker ended (exit code {self.process.wait()})")

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.process.stdin.close()
            self.process.wait()


def measure_row(sides, row, args, log):
    epoch_steps = args.epoch_steps.get(row["batch_size"], min(args.epoch_steps.values()))
    for side in sides.values():
        side.ask(op="group", variants=args.variants, epoch_steps=epoch_steps, **row)
    rates = {(name, v): [] for name in sides for v in args.variants}
    for r in range(args.rounds):
        for i, variant in enumerate(args.variants):
            for name in side_order(r, i):
                seconds = sides[name].ask(op="steady", variant=variant, epochs=args.epochs)["seconds"]
                rates[name, variant].append(rate(epoch_steps, seconds))
        log(
            f"  round {r + 1}/{args.rounds}: "
            + ", ".join(f"{v} {rates['old', v][-1]:.1f} -> {rates['new', v][-1]:.1f}" for v in args.variants)
        )
    summaries = []
    for variant in args.variants:
        summary = summarize(
            {**row, "variant": variant}, rates["old", variant], rates["new", variant], args.threshold
        )
        summary["epoch_steps"] = epoch_steps
        summaries.append(summary)
    return summaries


def table(rows):
    """The rows as the Markdown table RESULTS.md holds (`--table ab.json` prints it again)."""
    lines = [
        "| model | batch | data | variant | old steps/s | new steps/s | new / old, median [min, max] |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        flag = " (below)" if r["below_threshold"] else ""
        old, new = statistics.median(r["old_steps_per_s"]), statistics.median(r["new_steps_per_s"])
        lines.append(
            f"| {r['model']} | {r['batch_size']} | {r['data']} | {r['variant']} | {old:.1f} | {new:.1f} "
            f"| {r['median']:.2f} [{r['min']:.2f}, {r['max']:.2f}]{flag} |"
        )
    return "\n".join(lines)


def overall(rows, prefix):
    """Geometric mean of every pair's new/old over the rows whose variant starts with `prefix`, and its
    95 % interval (normal, on the logarithms): finer than any one row, since it pools every pair."""
    logs = [math.log(r) for row in rows if row["variant"].startswith(prefix) for r in row["ratios"]]
    mean = statistics.mean(logs)
    half = 1.96 * statistics.stdev(logs) / math.sqrt(len(logs))
    return {
        "pairs": len(logs),
        "ratio": math.exp(mean),
        "low": math.exp(mean - half),
        "high": math.exp(mean + half),
    }


def overall_text(rows):
    parts = []
    for prefix, name in (("fit", "`fit` rows"), ("trainer", "Trainer rows")):
        if any(row["variant"].startswith(prefix) for row in rows):
            o = overall(rows, prefix)
            parts.append(
                f"{name}: {o['ratio']:.3f} [{o['low']:.3f}, {o['high']:.3f}] over {o['pairs']} pairs"
            )
    return "All pairs, geometric mean of new / old with its 95 % interval: " + "; ".join(parts) + "."


def _checkout(commit, directory):
    """The old commit's files, without touching this repository's work tree or branches."""
    archive = subprocess.run(["git", "-C", ROOT, "archive", commit], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", directory], input=archive, check=True)


def _epoch_steps(text):
    """'32=20 256=10' -> {32: 20, 256: 10}."""
    return {int(k): int(v) for k, v in (item.split("=") for item in text.split())}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the commit to compare against")
    parser.add_argument("--models", nargs="+", default=["simplecnn", "fashioncnn"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[32, 256])
    parser.add_argument("--data", nargs="+", default=["arrays", "tf.data"])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per call, after a warm-up one")
    parser.add_argument(
        "--epoch-steps", type=_epoch_steps, default="32=20 256=10", help="steps per epoch, per batch size"
    )
    parser.add_argument("--steps-per-execution", type=int, default=10)
    parser.add_argument("--threshold", type=float, default=0.97)
    parser.add_argument("--output", required=True)
    return parser.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--table"]:
        for path in argv[1:]:
            with open(path) as f:
                rows = json.load(f)["rows"]
            print(table(rows) + "\n\n" + overall_text(rows))
        return 0
    args = parse_args(argv)
    os.makedirs(args.output, exist_ok=True)
    old_tree = tempfile.mkdtemp(prefix="ab-old-")
    rows, started, load_before = [], time.time(), os.getloadavg()
    # This tree's commit when the run starts (it imports this tree's code then).
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    sides = {}
    try:
        _checkout(args.old, old_tree)
        sides = {"old": Side(old_tree), "new": Side(ROOT)}
        for model in args.models:
            for batch_size in args.batch_sizes:
                for data in args.data:
                    row = {"model": model, "batch_size": batch_size, "data": data}
                    print(f"{model} batch {batch_size} {data}", flush=True)
                    row["steps_per_execution"] = args.steps_per_execution
                    rows += measure_row(sides, row, args, lambda line: print(line, flush=True))
    finally:
        for side in sides.values():
            side.close()
        shutil.rmtree(old_tree, ignore_errors=True)
    versions = {name: side.versions for name, side in sides.items()}
    _write(args, rows, started, load_before, versions, head.stdout.strip())
    print(table(rows) + "\n\n" + overall_text(rows))
    return 0


def _write(args, rows, started, load_before, versions, head):
    import platform

    record = {
        "old": args.old,
        "new": head,
        "backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "versions": versions,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "seconds": round(time.time() - started),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "settings": {k: v for k, v in vars(args).items() if k != "output"},
        "rows": rows,
    }
    with open(os.path.join(args.output, "ab.json"), "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
