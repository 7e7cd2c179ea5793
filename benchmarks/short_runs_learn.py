"""Short runs learn: `keras-ext train --epochs 3` and a 2-epoch `keras-ext tune`, with their defaults.

Issue 21's targets on the built-in digits, each command run as a user runs it
(a fresh process, the defaults, `--verbose 0`):

- `keras-ext train --epochs 3 --seed S` for seeds 0, 1 and 2: validation
  accuracy of at least 0.9 at epoch 3;
- `keras-ext tune --max-trials 5 --epochs 2`: a best trial of at least 0.85.

The record names the defaults the runs trained with (`train_defaults`: the
learning rate, its decay and the batch size, as `keras-ext train` parses them).

Beside each train run's validation accuracy by epoch (BatchNormalization's
moving statistics, what `fit` validates with), it records what the saved
model scores with those statistics recomputed over the whole training set
(the weights unchanged): the part of the gap that is the statistics and not
the weights.

    python benchmarks/short_runs_learn.py
    python benchmarks/short_runs_learn.py --output benchmarks/results/short_runs/short_runs_learn.json

The figures in docs/building-blocks.md are that file
(tests/test_docs_figures.py checks them). About 4 minutes on 2 CPU cores.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import tuning_record

TRAIN_SEEDS = (0, 1, 2)
TRAIN_EPOCHS = 3
TRAIN_TARGET = 0.9
TUNE_TRIALS = 5
TUNE_EPOCHS = 2
TUNE_TARGET = 0.85
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def keras_ext(*argv):
    """Run `keras-ext ARGV...` in a fresh process (this checkout's code); return its seconds."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "keras_ext.cli.main", *argv], capture_output=True, text=True, env=env
    )
    if proc.returncode:
        sys.exit(f"keras-ext {' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return round(time.perf_counter() - start, 1)


def train_run(directory, seed):
    output = os.path.join(directory, f"train_seed_{seed}")
    seconds = keras_ext(
        "train", "--epochs", str(TRAIN_EPOCHS), "--seed", str(seed), "--output", output, "--verbose", "0"
    )
    with open(os.path.join(output, "metrics.json")) as f:
        metrics = json.load(f)
    by_epoch = [round(v, 4) for v in metrics["history"]["val_accuracy"]]
    momentum, recomputed = recomputed_statistics_accuracy(output, seed)
    return {
        "seed": seed,
        "val_accuracy_by_epoch": by_epoch,
        "val_accuracy": by_epoch[-1],
        "batchnorm_momentum": momentum,
        "val_accuracy_recomputed_statistics": round(recomputed, 4),
        "seconds": seconds,
    }


def recomputed_statistics_accuracy(output, seed):
    """(the saved model's batchnorm_momentum, its validation accuracy with every BatchNormalization's
    moving mean and variance set to the whole training set's statistics: one training-mode pass with
    momentum 0)."""
    import keras
    import numpy as np

    import keras_ext

    model = keras.saving.load_model(os.path.join(output, "model.keras"))
    arrays = keras_ext.data.load_arrays("digits", seed=seed)
    layers = [block.bn for block in model.blocks]
    for layer in layers:
        layer.momentum = 0.0
    model(arrays.x_train, training=True)  # dropout 0 by default: only the statistics change
    logits = keras.ops.convert_to_numpy(model(arrays.x_val, training=False))
    return model.batchnorm_momentum, float(np.mean(np.argmax(logits, axis=-1) == arrays.y_val))


def tune_run(directory):
    project = os.path.join(directory, "tune")
    seconds = keras_ext(
        "tune",
        "--max-trials",
        str(TUNE_TRIALS),
        "--epochs",
        str(TUNE_EPOCHS),
        "--directory",
        project,
        "--verbose",
        "0",
    )
    with open(os.path.join(project, "simplecnn", "trials.csv")) as f:
        rows = list(csv.DictReader(f))
    return {
        "best_trial": int(rows[0]["trial"]),
        "best_score": round(float(rows[0]["score"]), 4),
        "scores": {int(r["trial"]): round(float(r["score"]), 4) for r in rows},
        "seconds": seconds,
        # The leaderboard as written, best first.
        "trials": rows,
    }


def train_defaults():
    """The learning rate, its schedule and the batch size `keras-ext train` trains with by default."""
    from keras_ext.cli.main import build_parser

    args = build_parser().parse_args(["train"])
    return {
        name: getattr(args, name) for name in ("learning_rate", "decay_steps", "decay_rate", "batch_size")
    }


def _code():
    """The commit the runs used, and the files under keras_ext/ that differed from it."""

    def git(*argv):
        return subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True).stdout

    changed = [line[3:] for line in git("status", "--porcelain", "--", "keras_ext").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "uncommitted_changes": changed}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)  # this checkout's keras_ext, as the commands run it

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as directory:
        train = [train_run(directory, seed) for seed in TRAIN_SEEDS]
        for r in train:
            print(
                f"train --epochs {TRAIN_EPOCHS} --seed {r['seed']}: val_accuracy by epoch "
                f"{r['val_accuracy_by_epoch']} ({r['val_accuracy_recomputed_statistics']} with the "
                f"BatchNormalization statistics recomputed), {r['seconds']} s"
            )
        tune = tune_run(directory)
        print(
            f"tune --max-trials {TUNE_TRIALS} --epochs {TUNE_EPOCHS}: best trial #{tune['best_trial']} "
            f"val_accuracy {tune['best_score']} (all: {tune['scores']}), {tune['seconds']} s"
        )
    load_after = os.getloadavg()
    train_ok = all(r["val_accuracy"] >= TRAIN_TARGET for r in train)
    tune_ok = tune["best_score"] >= TUNE_TARGET
    print(
        f"train target (>= {TRAIN_TARGET} at epoch {TRAIN_EPOCHS}, every seed): {'met' if train_ok else 'missed'}"
    )
    print(f"tune target (best >= {TUNE_TARGET}): {'met' if tune_ok else 'missed'}")
    if args.output:
        arguments = {
            "train": f"keras-ext train --epochs {TRAIN_EPOCHS} --seed S, S in {list(TRAIN_SEEDS)}",
            "tune": f"keras-ext tune --max-trials {TUNE_TRIALS} --epochs {TUNE_EPOCHS}",
            "output": args.output,
        }
        tuning_record.write(
            args.output,
            arguments,
            load_before,
            load_after,
            code=_code(),
            train_defaults=train_defaults(),
            targets={"train_val_accuracy": TRAIN_TARGET, "tune_best_score": TUNE_TARGET},
            train=train,
            tune=tune,
            train_target_met=train_ok,
            tune_target_met=tune_ok,
        )
    return 0 if train_ok and tune_ok else 1


if __name__ == "__main__":
    sys.exit(main())
