"""Steps per second of `model.fit` against the Trainer and a bare GradientTape loop.

Every variant trains the same model (same initial weights) on the same data
in one process. Two measures:

- steady state: one `fit` call of a warm-up epoch and then at least
  `steady_steps` timed steps (in `steady_epochs` epochs), timed by a
  callback at epoch ends (epoch hooks add no per-batch synchronisation);
  this is training speed, without the cost of starting a call. It is
  repeated in `rounds` rounds; each round runs every steady variant once,
  each `fit` variant back to back with its Trainer counterpart, the order
  changing from round to round. A variant's figure is the median over
  rounds, and a Trainer/`fit` ratio the median of the per-round ratios of
  the pair, so a burst of load from other processes moves one round of
  one pair rather than a whole row.
- whole call: short calls of `steps` steps, repeated, variants interleaved
  call by call; each includes what a call costs to start (data adapter,
  iterator, callbacks).

Compilation is excluded. Used by `benchmarks/fit_vs_custom.py` and
`keras-ext bench`.
"""

import collections
import json
import os
import platform
import statistics
import time

import keras
import numpy as np

from keras_ext._io import write_text_atomically
from keras_ext.training.trainer import Trainer

MODEL_NAMES = ("simplecnn", "fashioncnn")
DATA_KINDS = ("arrays", "tf.data")
INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


# Measured at steady state too: fit and the Trainer, each without and with steps_per_execution.
STEADY_VARIANTS = ("fit", "fit_spe", "trainer_graph", "trainer_spe")
# (fit variant, Trainer variant): measured back to back in every steady round, compared round by round.
STEADY_PAIRS = (("fit", "trainer_graph"), ("fit_spe", "trainer_spe"))


def variant_names(backend):
    names = ["fit", "fit_spe", "trainer_graph", "trainer_spe", "trainer_xla", "trainer_eager", "bare_loop"]
    if backend == "jax":
        # On JAX "graph" and "xla" are the same jitted step.
        names.remove("trainer_xla")
    return names


def make_model(name, seed=0):
    from keras_ext import models

    keras.utils.set_random_seed(seed)
    model = models.SimpleCNN(NUM_CLASSES) if name == "simplecnn" else models.FashionCNN(NUM_CLASSES)
    model.build((None, *INPUT_SHAPE))
    return model


def _loss():
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _optimizer():
    return keras.optimizers.RMSprop(1e-3)


class _Variant:
    """One way of training: `run(x, y)` trains one pass over the given batches."""

    def __init__(self, name, model, batch_size, data_kind, steps_per_execution):
        self.name = name
        self.model = model
        self.batch_size = batch_size
        self.data_kind = data_kind
        if name.startswith("fit"):
            spe = steps_per_execution if name == "fit_spe" else 1
            # jit_compile="auto", Keras's default: XLA off for TensorFlow on CPU, jit on JAX.
            model.compile(
                _optimizer(), _loss(), metrics=["accuracy"], steps_per_execution=spe, jit_compile="auto"
            )
            self._fit = model.fit
            self._run = self._run_fit
        elif name.startswith("trainer"):
            spe = steps_per_execution if name == "trainer_spe" else 1
            mode = "graph" if name == "trainer_spe" else name.split("_", 1)[1]
            trainer = Trainer(
                model, _optimizer(), _loss(), metrics=["accuracy"], mode=mode, steps_per_execution=spe
            )
            self._fit = trainer.fit
            self._run = self._run_fit
        else:
            from keras_ext.training.bare_loop import BareLoop

            self.loop = BareLoop(model, _optimizer(), _loss())
            self._run = self._run_bare

    def _data(self, x, y):
        if self.data_kind == "arrays":
            return (x, y)
        import tensorflow as tf

        dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(self.batch_size)
        return (dataset.prefetch(tf.data.AUTOTUNE), None)

    def _run_fit(self, x, y, epochs=1, callbacks=None):
        """`epochs` passes through `model.fit` or `Trainer.fit`, which take the same arguments."""
        data_x, data_y = self._data(x, y)
        batch_size = self.batch_size if data_y is not None else None
        self._fit(
            data_x,
            data_y,
            batch_size=batch_size,
            epochs=epochs,
            shuffle=False,
            verbose=0,
            callbacks=callbacks,
        )

    def steady_run(self, x, y, epochs):
        """Steps/s of each timed epoch of one `fit` call: a warm-up epoch, then `epochs` more."""
        clock = _EpochClock()
        self._run_fit(x, y, epochs=1 + epochs, callbacks=[clock])
        ends = clock.times
        return [(ends[i + 1] - ends[i]) for i in range(1, len(ends) - 1)]

    def _run_bare(self, x, y):
        data_x, data_y = self._data(x, y)
        self.loop.run_epoch(data_x, data_y, self.batch_size)

    def timed_run(self, x, y):
        start = time.perf_counter()
        self._run(x, y)
        return time.perf_counter() - start


class _EpochClock(keras.callbacks.Callback):
    """Records the time at the start of training and at each epoch's end.

    Epoch ends come after the epoch's logs are read (a device sync), so the
    time between two of them is the whole epoch's work.
    """

    def on_train_begin(self, logs=None):
        self.times = [time.perf_counter()]

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter())


def run_benchmark(
    models=MODEL_NAMES,
    batch_sizes=(32, 256),
    data_kinds=DATA_KINDS,
    steps=30,
    repeats=5,
    warmup_steps=5,
    variants=None,
    steps_per_execution=10,
    steady_steps=200,
    steady_epochs=4,
    rounds=3,
    log=print,
):
    """Measure every combination; return a result dict (see `write_outputs`)."""
    backend = keras.backend.backend()
    variants = list(variants or variant_names(backend))
    data_kinds = _available_data_kinds(backend, data_kinds)
    epoch_steps = max(1, -(-steady_steps // steady_epochs))  # at least steady_steps in all
    plan = _Plan(
        steps, repeats, warmup_steps, variants, steps_per_execution, epoch_steps, steady_epochs, rounds
    )
    rng = np.random.default_rng(0)
    rows = []
    for model_name in models:
        for batch_size in batch_sizes:
            n = batch_size * max(steps, epoch_steps)
            x = rng.random((n, *INPUT_SHAPE)).astype("float32")
            y = rng.integers(0, NUM_CLASSES, n).astype("int32")
            for data_kind in data_kinds:
                rows.extend(_measure_group(model_name, batch_size, data_kind, x, y, plan, log))
    return {"environment": environment(), "settings": _settings(plan), "results": rows}


_Plan = collections.namedtuple(
    "_Plan",
    "steps repeats warmup_steps variants steps_per_execution epoch_steps steady_epochs rounds",
)


def _available_data_kinds(backend, data_kinds):
    if backend != "tensorflow" and "tf.data" in data_kinds:
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            return tuple(k for k in data_kinds if k != "tf.data")
    return data_kinds


def _settings(plan):
    return {
        "steps": plan.steps,
        "repeats": plan.repeats,
        "warmup_steps": plan.warmup_steps,
        "steady_steps": plan.epoch_steps * plan.steady_epochs,
        "steady_epochs": plan.steady_epochs,
        "steady_rounds": plan.rounds,
        "steady_variants": [v for v in STEADY_VARIANTS if v in plan.variants],
        "steady_pairs": [list(p) for p in STEADY_PAIRS if set(p) <= set(plan.variants)],
        "steps_per_execution": plan.steps_per_execution,
        "optimizer": "RMSprop(1e-3)",
        "metrics": ["accuracy"],
        "input_shape": list(INPUT_SHAPE),
        "num_classes": NUM_CLASSES,
    }


def _measure_group(model_name, batch_size, data_kind, x, y, plan, log):
    runners = _make_runners(model_name, batch_size, data_kind, plan)
    warm = batch_size * max(plan.warmup_steps, plan.steps_per_execution)
    for runner in runners:  # tracing, compilation, first-call allocations
        runner.timed_run(x[:warm], y[:warm])
    times = _whole_call_times(runners, x[: batch_size * plan.steps], y[: batch_size * plan.steps], plan)
    long_x, long_y = x[: batch_size * plan.epoch_steps], y[: batch_size * plan.epoch_steps]
    steady = _steady_rounds(runners, long_x, long_y, plan, log)
    rows = []
    for name, seconds in times.items():
        row = {"model": model_name, "batch_size": batch_size, "data": data_kind, "variant": name}
        row.update(_whole_call_figures(seconds, plan.steps, batch_size))
        line = (
            f"{model_name:10s} batch {batch_size:4d} {data_kind:7s} {name:14s} whole call "
            f"{row['steps_per_s_median']:8.2f} steps/s "
            f"[{row['steps_per_s_min']:.2f} .. {row['steps_per_s_max']:.2f}]"
        )
        if name in steady:
            row.update(_steady_figures(steady[name], plan.epoch_steps, batch_size))
            line += (
                f"  steady {row['steady_steps_per_s']:8.2f} steps/s "
                f"[{row['steady_steps_per_s_min']:.2f} .. {row['steady_steps_per_s_max']:.2f}]"
            )
        rows.append(row)
        log(line)
    return rows


def _make_runners(model_name, batch_size, data_kind, plan):
    initial = make_model(model_name).get_weights()
    runners = []
    for name in plan.variants:
        model = make_model(model_name)
        model.set_weights(initial)
        runners.append(_Variant(name, model, batch_size, data_kind, plan.steps_per_execution))
    return runners


def _whole_call_times(runners, x, y, plan):
    """Seconds of each call of `plan.steps` steps, per variant; variants interleaved call by call."""
    times = {r.name: [] for r in runners}
    for _ in range(plan.repeats):
        for runner in runners:
            times[runner.name].append(runner.timed_run(x, y))
    return times


def steady_order(names, round_index):
    """The steady variants of one round, in the order they run.

    Each `fit` variant and its Trainer counterpart (`STEADY_PAIRS`) run back
    to back, so the load of that moment falls on both; which pair runs
    first changes every two rounds, and which of the two runs first every
    round.
    """
    units = [list(p) for p in STEADY_PAIRS if set(p) <= set(names)]
    paired = {n for unit in units for n in unit}
    units += [[n] for n in STEADY_VARIANTS if n in names and n not in paired]
    if not units:
        return []
    shift = (round_index // 2) % len(units)
    units = units[shift:] + units[:shift]
    if round_index % 2:
        units = [unit[::-1] for unit in units]
    return [n for unit in units for n in unit]


def _steady_rounds(runners, x, y, plan, log):
    """Per steady variant, the timed epochs' seconds of each round's `fit` call (one list per round)."""
    by_name = {r.name: r for r in runners}
    steady = {}
    for index in range(plan.rounds):
        order = steady_order(list(by_name), index)
        for name in order:
            seconds = by_name[name].steady_run(x, y, plan.steady_epochs)
            steady.setdefault(name, []).append(seconds)
        rates = ", ".join(f"{n} {_rate(plan.epoch_steps, steady[n][-1]):.2f}" for n in order)
        if rates:
            log(f"  steady round {index + 1}/{plan.rounds} (steps/s): {rates}")
    return steady


def _rate(epoch_steps, epoch_seconds):
    """Steps over the time of all timed epochs together (not a mean of rates)."""
    return epoch_steps * len(epoch_seconds) / sum(epoch_seconds)


def _whole_call_figures(seconds, steps, batch_size):
    rates = sorted(steps / s for s in seconds)
    return {
        "steps_per_s_median": statistics.median(rates),
        "steps_per_s_min": rates[0],
        "steps_per_s_max": rates[-1],
        "images_per_s_median": statistics.median(rates) * batch_size,
        "repeats": len(rates),
        "call_seconds_median": statistics.median(seconds),
    }


def _steady_figures(rounds, epoch_steps, batch_size):
    """Median over rounds of each round's steps/s, [min, max] over rounds and over single epochs."""
    per_round = [_rate(epoch_steps, seconds) for seconds in rounds]
    per_epoch = [epoch_steps / s for seconds in rounds for s in seconds]
    median = statistics.median(per_round)
    return {
        "steady_steps_per_s": median,
        "steady_steps_per_s_min": min(per_round),
        "steady_steps_per_s_max": max(per_round),
        "steady_images_per_s": median * batch_size,
        "steady_rounds": len(per_round),
        "steady_round_steps_per_s": per_round,
        "steady_epoch_steps_per_s_min": min(per_epoch),
        "steady_epoch_steps_per_s_max": max(per_epoch),
    }


def environment():
    backend = keras.backend.backend()
    env = {
        "backend": backend,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
    }
    if backend == "tensorflow":
        import tensorflow as tf

        env["tensorflow"] = tf.__version__
        gpus = tf.config.list_physical_devices("GPU")
        env["device"] = ", ".join(d.name for d in gpus) if gpus else f"CPU ({os.cpu_count()} cores)"
    elif backend == "jax":
        import jax

        env["jax"] = jax.__version__
        env["device"] = ", ".join(str(d.device_kind) for d in jax.devices())
    return env


# Ratio name: (Trainer variant, fit variant), at steady state; one per pair measured back to back.
STEADY_RATIOS = {f"steady_{trainer}_over_{fit}": (trainer, fit) for fit, trainer in STEADY_PAIRS}


def ratios(results):
    """Trainer / fit (steady state, with and without steps_per_execution, and whole call),
    Trainer graph / bare loop and graph / eager, per (model, batch, data) group.

    A steady ratio is the median of the per-round ratios of two variants
    that ran back to back (with `_min`, `_max` and the `_rounds` list);
    results without per-round figures give the ratio of the two medians.
    """
    groups, steadies = {}, {}
    for row in results["results"]:
        key = (row["model"], row["batch_size"], row["data"])
        groups.setdefault(key, {})[row["variant"]] = row["steps_per_s_median"]
        if "steady_steps_per_s" in row:
            steadies.setdefault(key, {})[row["variant"]] = row
    out = []
    for (model, batch, data), rates in groups.items():
        entry = {"model": model, "batch_size": batch, "data": data}
        if "trainer_graph" in rates and "fit" in rates:
            entry["trainer_graph_over_fit"] = rates["trainer_graph"] / rates["fit"]
        if "trainer_graph" in rates and "bare_loop" in rates:
            entry["trainer_graph_over_bare_loop"] = rates["trainer_graph"] / rates["bare_loop"]
        if "trainer_eager" in rates and "trainer_graph" in rates:
            entry["graph_over_eager"] = rates["trainer_graph"] / rates["trainer_eager"]
        steady = steadies.get((model, batch, data), {})
        for name, (trainer, fit) in STEADY_RATIOS.items():
            if trainer in steady and fit in steady:
                entry.update(_paired_ratio(name, steady[trainer], steady[fit]))
        out.append(entry)
    return out


def _paired_ratio(name, numerator, denominator):
    key = "steady_round_steps_per_s"
    if key not in numerator or key not in denominator:
        return {name: numerator["steady_steps_per_s"] / denominator["steady_steps_per_s"]}
    per_round = [a / b for a, b in zip(numerator[key], denominator[key], strict=True)]
    return {
        name: statistics.median(per_round),
        f"{name}_min": min(per_round),
        f"{name}_max": max(per_round),
        f"{name}_rounds": per_round,
    }


def format_table(results):
    lines = [
        f"{'model':10s} {'batch':>5s} {'data':7s} {'variant':14s} {'steady':>9s} "
        f"{'call':>9s} {'min':>8s} {'max':>8s} {'images/s':>9s}   (steps/s)"
    ]
    for r in results["results"]:
        steady = f"{r['steady_steps_per_s']:9.2f}" if "steady_steps_per_s" in r else f"{'-':>9s}"
        lines.append(
            f"{r['model']:10s} {r['batch_size']:5d} {r['data']:7s} {r['variant']:14s} "
            f"{steady} {r['steps_per_s_median']:9.2f} {r['steps_per_s_min']:8.2f} "
            f"{r['steps_per_s_max']:8.2f} {r['images_per_s_median']:9.0f}"
        )
    lines.append("")
    for entry in ratios(results):
        lines.append(f"{entry['model']} batch {entry['batch_size']} {entry['data']}: " + _ratio_text(entry))
    return "\n".join(lines)


def _ratio_text(entry):
    """`name=median [min..max]` for the paired ratios, `name=value` for the others."""
    parts = []
    for key, value in entry.items():
        if not isinstance(value, float) or key.endswith(("_min", "_max")):
            continue
        text = f"{key}={value:.3f}"
        if f"{key}_min" in entry:
            text += f" [{entry[f'{key}_min']:.3f}..{entry[f'{key}_max']:.3f}]"
        parts.append(text)
    return ", ".join(parts)


def write_outputs(results, output_dir):
    """Write results.json (environment, settings, every figure, ratios) and chart.png."""
    os.makedirs(output_dir, exist_ok=True)
    results = {**results, "ratios": ratios(results)}
    json_path = os.path.join(output_dir, "results.json")
    write_text_atomically(json_path, json.dumps(results, indent=2) + "\n")
    return json_path, plot(results, os.path.join(output_dir, "chart.png"))


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = sorted({(r["model"], r["batch_size"], r["data"]) for r in results["results"]})
    variants = list(dict.fromkeys(r["variant"] for r in results["results"]))
    fig, ax = plt.subplots(figsize=(max(8, 1.6 * len(groups)), 4.5))
    width = 0.8 / len(variants)
    for i, variant in enumerate(variants):
        med, low, high = [], [], []
        for group in groups:
            row = next(
                (
                    r
                    for r in results["results"]
                    if (r["model"], r["batch_size"], r["data"]) == group and r["variant"] == variant
                ),
                None,
            )
            med.append(row["images_per_s_median"] if row else 0)
            low.append((row["steps_per_s_median"] - row["steps_per_s_min"]) * row["batch_size"] if row else 0)
            high.append(
                (row["steps_per_s_max"] - row["steps_per_s_median"]) * row["batch_size"] if row else 0
            )
        positions = [g + (i - (len(variants) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(positions, med, width, yerr=[low, high], label=variant, capsize=2)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{m}\nbatch {b}\n{d}" for m, b, d in groups], fontsize=8)
    ax.set_ylabel("images / s, whole call (median, min-max bars)")
    env = results["environment"]
    ax.set_title(f"fit vs Trainer vs bare loop - {env['backend']} on {env.get('device', '?')}", fontsize=10)
    ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
