"""Search time saved by median pruning: the same random search with and without `--prune`.

Runs `keras-ext tune` twice on the built-in digits, in fresh processes, with
the same seed (so both draw the same hyperparameters, and a trial that is
not pruned trains exactly as in the other run), and compares the epochs
trained in all, the wall time and the best trial.

    python benchmarks/tuning_pruning.py                      # 12 trials x 6 epochs
    python benchmarks/tuning_pruning.py --trials 20 --epochs 10 --warmup-epochs 3

The figures in docs/tuning.md are benchmarks/results/tuning/pruning.json,
written by

    python benchmarks/tuning_pruning.py --output benchmarks/results/tuning/pruning.json

Target: with pruning the search reaches the same best trial while
training fewer epochs in total.
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


def run_search(directory, args, prune):
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
        "pruned" if prune else "full",
        "--verbose",
        "0",
    ]
    if prune:
        command += [
            "--prune",
            "--prune-warmup-trials",
            str(args.warmup_trials),
            "--prune-warmup-epochs",
            str(args.warmup_epochs),
        ]
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
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--warmup-trials", type=int, default=3)
    parser.add_argument("--warmup-epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", help="also write the results as JSON here")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as directory:
        results = [run_search(directory, args, prune=False), run_search(directory, args, prune=True)]
    load_after = os.getloadavg()
    full, pruned = results
    for r in results:
        print(
            f"pruning {'on ' if r['pruning'] else 'off'}: {r['seconds']:>6} s wall, "
            f"{r['cpu_seconds']:>6} s CPU, {r['trial_seconds']:>6} s in trials, "
            f"{r['epochs_trained']:>3} epochs trained, {r['trials_pruned']} trials pruned, "
            f"best trial {r['best_trial']} (val_accuracy {r['best_score']:.6f})"
        )
    same = (full["best_trial"], full["best_score"]) == (pruned["best_trial"], pruned["best_score"])
    print(
        f"same best trial: {same}; epochs saved: {full['epochs_trained'] - pruned['epochs_trained']} "
        f"({1 - pruned['epochs_trained'] / full['epochs_trained']:.0%}); "
        f"time saved: {1 - pruned['seconds'] / full['seconds']:.0%} wall, "
        f"{1 - pruned['cpu_seconds'] / full['cpu_seconds']:.0%} CPU, "
        f"{1 - pruned['trial_seconds'] / full['trial_seconds']:.0%} in trials"
    )
    if args.output:
        tuning_record.write(
            args.output, vars(args), load_before, load_after, results=results, same_best_trial=same
        )
    return 0 if same and pruned["epochs_trained"] < full["epochs_trained"] else 1


if __name__ == "__main__":
    sys.exit(main())
