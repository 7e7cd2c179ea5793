"""Overhead of CheckpointManager on `model.fit`: steps per second with and without it.

Runs, in one process on the same data and the same (already traced) model:

    bare    model.fit with no callback
    noop    model.fit with a callback whose on_train_batch_end does nothing
    sync    model.fit with CheckpointManager(save_freq=20, max_to_keep=3)
    async   the same with async_write=True
    async-s3  (with --s3) async, to a bucket of moto's S3 server, a process of its own on
            127.0.0.1 (issue 20: a remote async write must not block the training thread
            longer than a local one)

The variants are interleaved (and their order rotated) for `--repeats`
rounds so that load from other processes hits all of them alike; the median
of each is reported with its ratio to the bare rate. The target is a ratio
of at least 0.95 with async writing.

`noop` separates two effects: with no callback that overrides a batch hook,
Keras 3 dispatches the batch-end callbacks (History, progress bar) to a
thread pool after every step; any such callback (CheckpointManager
included) turns that off. `ratio_to_noop` is the cost of checkpointing alone.

    python benchmarks/checkpoint_overhead.py [--epochs 3] [--repeats 5] [--s3] [--json out.json]
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per measurement (45 steps each)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--save-freq", type=int, default=20)
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--s3", action="store_true", help="add async-s3 (needs the dev extra: moto, s3fs)")
    args = parser.parse_args(argv)
    if args.s3:
        _serve_a_bucket("bench")

    import keras
    import tensorflow as tf

    import keras_ext
    from keras_ext.callbacks import CheckpointManager
    from keras_ext.cli.train import compile_default
    from keras_ext.models._by_name import build_model

    keras.utils.set_random_seed(0)
    data = keras_ext.data.load("digits", batch_size=32, seed=0)
    steps_per_epoch = int(data.train.cardinality())
    model = build_model("simplecnn", data.num_classes, data.input_shape)
    compile_default(model, 3e-3, 100, 0.8)
    model.fit(data.train, epochs=1, verbose=0)  # trace once, outside the measurements

    class TimedCheckpointManager(CheckpointManager):
        """Counts the time the training thread spends in the manager's saves and final wait."""

        in_saves = 0.0  # snapshot (+ the write itself when synchronous)
        at_end = 0.0  # on_train_end: final save and waiting for the last write
        saves = 0
        _ending = False

        def _save(self, *a, **k):
            start = time.perf_counter()
            try:
                return super()._save(*a, **k)
            finally:
                if not self._ending:
                    self.in_saves += time.perf_counter() - start
                    self.saves += 1

        def on_train_end(self, logs=None):
            start, self._ending = time.perf_counter(), True
            try:
                return super().on_train_end(logs)
            finally:
                self.at_end += time.perf_counter() - start

        @property
        def blocked(self):
            return self.in_saves + self.at_end

    scratch = tempfile.mkdtemp(prefix="ckpt-bench-")
    sizes = []

    class Noop(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    def callbacks(variant, round_index):
        if variant == "bare":
            return []
        if variant == "noop":
            return [Noop()]
        directory = os.path.join(scratch, f"{variant}-{round_index}")
        if variant == "async-s3":
            directory = f"s3://bench/{variant}-{round_index}"
        return [
            TimedCheckpointManager(
                directory, save_freq=args.save_freq, max_to_keep=3, async_write=variant.startswith("async")
            )
        ]

    variants = ["bare", "noop", "sync", "async"] + (["async-s3"] if args.s3 else [])
    managed = [v for v in variants if v not in ("bare", "noop")]
    rates = {v: [] for v in variants}
    cpu_rates = {v: [] for v in variants}
    blocked_per_step = {v: [] for v in managed}
    blocked_per_save = {v: [] for v in managed}
    end_wait = {v: [] for v in managed}
    load_before = os.getloadavg()
    steps = args.epochs * steps_per_epoch
    try:
        for round_index in range(args.repeats):
            shift = round_index % len(variants)
            order = variants[shift:] + variants[:shift]
            for variant in order:
                cbs = callbacks(variant, round_index)
                start, cpu_start = time.perf_counter(), time.process_time()
                model.fit(data.train, epochs=args.epochs, callbacks=cbs, verbose=0)
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
                rates[variant].append(steps / elapsed)
                cpu_rates[variant].append(steps / cpu)
                if variant in managed:
                    blocked_per_step[variant].append(cbs[0].blocked / steps)
                    blocked_per_save[variant].append(cbs[0].in_saves / cbs[0].saves)
                    end_wait[variant].append(cbs[0].at_end)
                    if variant != "async-s3":
                        sizes.append(
                            sum(
                                os.path.getsize(os.path.join(cbs[0].latest, f))
                                for f in os.listdir(cbs[0].latest)
                            )
                        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    load_after = os.getloadavg()

    medians = {v: statistics.median(r) for v, r in rates.items()}
    # Within-round ratios: each round's variants ran back to back, so a slow
    # spell from other processes mostly cancels out of their ratio.
    paired = {
        base: {
            v: statistics.median(a / b for a, b in zip(rates[v], rates[base], strict=True)) for v in variants
        }
        for base in ("bare", "noop")
    }
    cpu_medians = {v: statistics.median(r) for v, r in cpu_rates.items()}
    blocked = {v: statistics.median(b) for v, b in blocked_per_step.items()}
    noop_step = 1.0 / medians["noop"]
    result = {
        "machine": {
            "cpu": _cpu_name(),
            "cpu_count": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
        },
        "setup": {
            "model": "SimpleCNN(filters=(16, 32, 64)), RMSprop + ExponentialDecay",
            "data": f"digits, batch 32, {steps_per_epoch} steps/epoch",
            "epochs_per_measurement": args.epochs,
            "repeats": args.repeats,
            "save_freq": args.save_freq,
            "checkpoint_bytes": int(statistics.median(sizes)) if sizes else None,
        },
        "steps_per_second": {v: [round(x, 2) for x in r] for v, r in rates.items()},
        "median_steps_per_second": {v: round(m, 2) for v, m in medians.items()},
        "ratio_to_bare": {v: round(medians[v] / medians["bare"], 3) for v in variants},
        "ratio_to_noop": {v: round(medians[v] / medians["noop"], 3) for v in variants},
        "paired_ratio_to_bare": {v: round(r, 3) for v, r in paired["bare"].items()},
        "paired_ratio_to_noop": {v: round(r, 3) for v, r in paired["noop"].items()},
        # Steps per second of this process's CPU time (all its threads): less
        # sensitive to other processes on a shared machine, and it charges the
        # background writer's work to the async variant.
        "median_steps_per_cpu_second": {v: round(m, 2) for v, m in cpu_medians.items()},
        "cpu_ratio_to_bare": {v: round(cpu_medians[v] / cpu_medians["bare"], 3) for v in variants},
        "cpu_ratio_to_noop": {v: round(cpu_medians[v] / cpu_medians["noop"], 3) for v in variants},
        # Time the training thread waits in the manager, per step, and the rate it
        # implies: noop_rate / (1 + blocked_per_step * noop_rate).
        "blocked_ms_per_save": {v: round(1e3 * statistics.median(b), 2) for v, b in blocked_per_save.items()},
        "blocked_ms_at_train_end": {v: round(1e3 * statistics.median(b), 2) for v, b in end_wait.items()},
        "ratio_implied_by_blocking": {v: round(noop_step / (noop_step + blocked[v]), 3) for v in blocked},
    }
    print(json.dumps(result, indent=2))
    ratio, to_noop = result["ratio_to_bare"], result["ratio_to_noop"]
    print(
        f"\nwall clock: bare {medians['bare']:.1f} steps/s | noop {medians['noop']:.1f} "
        f"({ratio['noop']:.3f}x) | sync {medians['sync']:.1f} ({ratio['sync']:.3f}x bare, "
        f"{to_noop['sync']:.3f}x noop) | async {medians['async']:.1f} ({ratio['async']:.3f}x bare, "
        f"{to_noop['async']:.3f}x noop); target async >= 0.95x"
        f"\npaired per round: sync {paired['bare']['sync']:.3f}x bare, {paired['noop']['sync']:.3f}x noop"
        f" | async {paired['bare']['async']:.3f}x bare, {paired['noop']['async']:.3f}x noop"
        f"\ncpu time vs noop: sync {result['cpu_ratio_to_noop']['sync']:.3f}x | async "
        f"{result['cpu_ratio_to_noop']['async']:.3f}x"
        f"\nimplied by blocking: sync {result['ratio_implied_by_blocking']['sync']:.3f}x | async "
        f"{result['ratio_implied_by_blocking']['async']:.3f}x"
    )
    if args.s3:
        ms = result["blocked_ms_per_save"]
        print(f"training thread blocked per save: async {ms['async']} ms | async-s3 {ms['async-s3']} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


def _serve_a_bucket(bucket):
    """moto's S3 server in a process of its own on 127.0.0.1, this process pointed at it, `bucket` made.

    Not in this process (as the tests run it): its request handling would take
    the training's CPU and GIL, which a remote store does not.
    """
    import atexit
    import subprocess
    import time

    from tests.s3_server import client_environment
    from tests.s3_server import free_port
    from tests.s3_server import s3_filesystem

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", "import sys; from moto.server import main; main(sys.argv[1:])"]
        + ["-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(server.kill)
    os.environ.update(client_environment(f"http://127.0.0.1:{port}"))
    deadline = time.monotonic() + 60
    while True:
        try:
            s3_filesystem().mkdir(bucket)
            return server
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
