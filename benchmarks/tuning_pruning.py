"""Search time saved by pruning: the same random search without pruning, with `--prune median` and
with `--prune asha` (successive halving).

Runs `keras-ext tune` once per scheduler on the built-in digits, in fresh
processes, with the same seed (so all draw the same hyperparameters, and a
trial that is not stopped trains exactly as in the other runs), and compares
the epochs trained in all, the wall time and the best trial.

    python benchmarks/tuning_pruning.py                      # 20 trials x 9 epochs
    python benchmarks/tuning_pruning.py --trials 12 --epochs 6  # a shorter search

The figures in docs/tuning.md are benchmarks/results/tuning/pruning-20x9.json
and pruning.json, written by

    python benchmarks/tuning_pruning.py --schedulers asha --output benchmarks/results/tuning/pruning-20x9.json
    python benchmarks/tuning_pruning.py --trials 12 --epochs 6 --output benchmarks/results/tuning/pruning.json

Targets: every scheduler trains fewer epochs in all and finds a best trial
within 0.01 of the unpruned search's best score; successive halving takes at
least 40 % less wall time (issue 19). The default search is 20 trials of 9
epochs: on shorter trials a trial's fixed cost (building, tracing, the first
epoch) is most of it, and no scheduler can save 40 % of the time by stopping
trials after their first epoch (at 12 x 6, successive halving saves 29 %).
"""

import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import tuning_record


def keras_ext_command():
    script = shutil.which("keras-ext")
    return [script] if script else [sys.executable, "-m", "keras_ext.cli.main"]


SCHEDULERS = ("median", "asha")
WALL_TIME_SAVED_TARGET = {"asha": 0.40}
SCORE_TOLERANCE = 0.01


def run_search(directory, args, prune):
    """One search; `prune` is None (no pruning) or a `--prune` scheduler."""
    command = [
        *keras_ext_command(),
        "tune",
        "--tuner",
        "random",
        "--max-trials",
        str(args.trials),
        "--epochs",
        str(args.epochs),
        "--seed",
        str(args.seed),
        "--directory",
        directory,
        "--project-name",
        prune or "full",
        "--verbose",
        "0",
    ]
    if prune == "median":
        command += ["--prune", "median", "--prune-warmup-trials", str(args.warmup_trials)]
        command += ["--prune-warmup-epochs", str(args.warmup_epochs)]
    elif prune == "asha":
        command += ["--prune", "asha", "--prune-min-epochs", str(args.min_epochs)]
        command += ["--prune-reduction-factor", str(args.reduction_factor)]
    cpu_before = _children_cpu_seconds()
    start = time.perf_counter()
    subprocess.run(
        command, check=True, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    )
    seconds = time.perf_counter() - start
    cpu_seconds = _children_cpu_seconds() - cpu_before
    with open(os.path.join(directory, command[command.index("--project-name") + 1], "trials.csv")) as f:
        rows = list(csv.DictReader(f))
    best = rows[0]
    return {
        "pruning": prune,
        "seconds": round(seconds, 1),
        # The process's CPU time and the trials' own time: on a shared machine
        # they move less with other people's load than the wall time does.
        "cpu_seconds": round(cpu_seconds, 1),
        "trial_seconds": round(sum(float(r["seconds"]) for r in rows), 1),
        "epochs_trained": sum(int(r["epochs_trained"]) for r in rows),
        "trials_pruned": sum(r["status"] == "PRUNED" for r in rows),
        "best_trial": best["trial_id"],
        "best_score": float(best["score"]),
        # The leaderboard as written, best first (the raw rows behind the sums above).
        "trials": rows,
    }


def _children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--warmup-trials", type=int, default=3)
    parser.add_argument("--warmup-epochs", type=int, default=2)
    parser.add_argument("--min-epochs", type=int, default=1, help="asha's first rung")
    parser.add_argument("--reduction-factor", type=int, default=3, help="asha's rung spacing")
    parser.add_argument("--schedulers", nargs="+", choices=SCHEDULERS, default=list(SCHEDULERS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", help="also write the results as JSON here")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as directory:
        results = [run_search(directory, args, prune=None)]
        results += [run_search(directory, args, prune=scheduler) for scheduler in args.schedulers]
    load_after = os.getloadavg()
    full, verdicts = results[0], {}
    for r in results:
        print(
            f"pruning {r['pruning'] or 'off':>6}: {r['seconds']:>6} s wall, "
            f"{r['cpu_seconds']:>6} s CPU, {r['trial_seconds']:>6} s in trials, "
            f"{r['epochs_trained']:>3} epochs trained, {r['trials_pruned']} trials pruned, "
            f"best trial {r['best_trial']} (val_accuracy {r['best_score']:.6f})"
        )
    for r in results[1:]:
        verdicts[r["pruning"]] = verdict = _compare(full, r)
        print(
            f"{r['pruning']}: same best trial: {verdict['same_best_trial']}, score "
            f"{verdict['best_score_difference']:+.4f}; epochs saved {verdict['epochs_saved']:.0%}; time saved: "
            f"{verdict['wall_time_saved']:.0%} wall, {verdict['cpu_time_saved']:.0%} CPU, "
            f"{verdict['trial_time_saved']:.0%} in trials; {'PASS' if verdict['passed'] else 'FAIL'}"
        )
    if args.output:
        tuning_record.write(
            args.output, vars(args), load_before, load_after, results=results, verdicts=verdicts
        )
    return 0 if all(v["passed"] for v in verdicts.values()) else 1


def _compare(full, pruned):
    """How `pruned` did against the unpruned search `full`, and whether it met its targets."""
    verdict = {
        "same_best_trial": (full["best_trial"], full["best_score"])
        == (pruned["best_trial"], pruned["best_score"]),
        "best_score_difference": pruned["best_score"] - full["best_score"],
        "epochs_saved": 1 - pruned["epochs_trained"] / full["epochs_trained"],
        "wall_time_saved": 1 - pruned["seconds"] / full["seconds"],
        "cpu_time_saved": 1 - pruned["cpu_seconds"] / full["cpu_seconds"],
        "trial_time_saved": 1 - pruned["trial_seconds"] / full["trial_seconds"],
    }
    verdict["passed"] = (
        abs(verdict["best_score_difference"]) <= SCORE_TOLERANCE
        and verdict["epochs_saved"] > 0
        and verdict["wall_time_saved"] >= WALL_TIME_SAVED_TARGET.get(pruned["pruning"], 0)
    )
    return verdict


if __name__ == "__main__":
    sys.exit(main())
