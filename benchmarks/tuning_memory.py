"""Resident memory of the searching process over a 20-trial search: keras_ext's Search, in one process
and with each trial in a child process (`isolate_trials=True`), against stock keras-tuner.

keras-tuner users report memory that grows trial after trial (keras-tuner
#395, #873, #1031). This script runs N small SimpleCNN trials on the
built-in digits and records the resident set size (RSS, from /proc) of the
process that runs the search as every trial begins (keras-tuner's
`on_trial_begin`, in that process also when the trial trains in a child)
and after the search. Each mode runs in its own fresh process.

    python benchmarks/tuning_memory.py                # all modes, 20 trials
    python benchmarks/tuning_memory.py --trials 5 --modes keras_ext_isolated

The figures in docs/tuning.md are benchmarks/results/tuning/memory.json,
written by

    python benchmarks/tuning_memory.py --output benchmarks/results/tuning/memory.json

Target (issue 19): with isolated trials, RSS after the last trial exceeds
RSS after the 2nd trial by less than 50 MB.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import tuning_record

MODES = ("keras_ext", "keras_ext_isolated", "stock")
TARGET_MB = {"keras_ext_isolated": 50}  # the other modes are measured, not held to a target


def rss_mb():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_one(mode, trials, epochs, directory):
    """Run the search in this process; return RSS samples (MB) and timings."""
    import keras_tuner
    from keras_tuner.src.engine.base_tuner import BaseTuner

    import keras_ext
    from keras_ext.tuning import Search
    from keras_ext.tuning import SimpleCNNHyperModel

    arrays = keras_ext.data.load_arrays("digits")
    # Small but varied models: each trial builds a different graph.
    hypermodel = SimpleCNNHyperModel(arrays.input_shape, 10, num_blocks=(1, 2), filters=(8, 16))
    samples = []
    on_trial_begin = BaseTuner.on_trial_begin

    def sample_then_begin(tuner, trial):  # runs in the searching process in every mode
        samples.append(rss_mb())
        return on_trial_begin(tuner, trial)

    BaseTuner.on_trial_begin = sample_then_begin
    fit_args = dict(validation_data=(arrays.x_val, arrays.y_val), epochs=epochs, verbose=0)
    start = time.perf_counter()
    if mode.startswith("keras_ext"):
        search = Search(
            hypermodel,
            max_trials=trials,
            directory=directory,
            project_name=mode,
            overwrite=True,
            seed=0,
            isolate_trials=mode == "keras_ext_isolated",
        )
        search.run(arrays.x_train, arrays.y_train, **fit_args)
    else:
        tuner = keras_tuner.RandomSearch(
            hypermodel,
            objective="val_accuracy",
            max_trials=trials,
            seed=1,
            directory=directory,
            project_name=mode,
            overwrite=True,
        )
        tuner.search(arrays.x_train, arrays.y_train, **fit_args)
    samples.append(rss_mb())  # after the last trial
    return {
        "mode": mode,
        "trials": trials,
        "epochs": epochs,
        "rss_mb": samples,
        "seconds": time.perf_counter() - start,
    }


def summarize(result):
    rss = result["rss_mb"]
    # rss[k] is measured as trial k+1 starts, so rss[2] is "after the 2nd trial".
    after_second = rss[2] if len(rss) > 2 else rss[-1]
    return {
        "mode": result["mode"],
        "trials": result["trials"],
        "rss_at_first_trial_mb": round(rss[0], 1),
        "rss_after_2nd_trial_mb": round(after_second, 1),
        "rss_after_last_trial_mb": round(rss[-1], 1),
        "growth_after_2nd_trial_mb": round(rss[-1] - after_second, 1),
        "peak_mb": round(max(rss), 1),
        "seconds": round(result["seconds"], 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--output", help="also write the results as JSON here")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    if args.child:
        with tempfile.TemporaryDirectory() as directory:
            print(json.dumps(run_one(args.child, args.trials, args.epochs, directory)))
        return 0

    summaries = []
    load_before = os.getloadavg()
    for mode in args.modes:
        # A fresh process per mode, so neither inherits the other's memory.
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--trials",
                str(args.trials),
                "--epochs",
                str(args.epochs),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        summaries.append({**summarize(result), "rss_mb": [round(v, 1) for v in result["rss_mb"]]})
    load_after = os.getloadavg()
    for s in summaries:
        target = TARGET_MB.get(s["mode"])
        verdict = ""
        if target is not None:
            verdict = f" ({'PASS' if s['growth_after_2nd_trial_mb'] < target else 'FAIL'} < {target} MB)"
        print(
            f"{s['mode']:>18}: {s['trials']} trials in {s['seconds']} s; RSS {s['rss_at_first_trial_mb']} MB "
            f"at trial 1, {s['rss_after_2nd_trial_mb']} MB after trial 2, {s['rss_after_last_trial_mb']} MB "
            f"after the last: +{s['growth_after_2nd_trial_mb']} MB{verdict}"
        )
    if args.output:
        arguments = {k: v for k, v in vars(args).items() if k != "child"}
        tuning_record.write(args.output, arguments, load_before, load_after, results=summaries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
