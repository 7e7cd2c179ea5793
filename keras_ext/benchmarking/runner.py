"""`run_benchmark`: steps per second of `model.fit` against the Trainer and a bare GradientTape loop.

Every variant (`variant.py`) trains the same model (same initial weights)
on the same data in one process. Two measures:

- steady state: one `fit` call of a warm-up epoch and then at least
  `steady_steps` timed steps (in `steady_epochs` epochs), timed by a
  callback at epoch ends (epoch hooks add no per-batch synchronisation);
  this is training speed, without the cost of starting a call. It is
  repeated in `rounds` rounds; each round runs every steady variant once,
  each `fit` variant back to back with its Trainer counterpart, the order
  changing from round to round. A variant's figure is the median over
  rounds, and a Trainer/`fit` ratio the median of the per-round ratios of
  the pair (`figures.py`), so a burst of load from other processes moves
  one round of one pair rather than a whole row.
- whole call: short calls of `steps` steps, repeated, variants interleaved
  call by call; each includes what a call costs to start (data adapter,
  iterator, callbacks).

Compilation is excluded. Used by `keras-ext bench` (and so by
`benchmarks/fit_vs_custom.py`).
"""

import collections

import keras
import numpy as np

from keras_ext.benchmarking import figures
from keras_ext.benchmarking import workload
from keras_ext.benchmarking.environment_record import environment
from keras_ext.benchmarking.variant import STEADY_PAIRS
from keras_ext.benchmarking.variant import STEADY_VARIANTS
from keras_ext.benchmarking.variant import Variant
from keras_ext.benchmarking.variant import variant_names


def run_benchmark(
    models=workload.BENCH_MODEL_NAMES,
    batch_sizes=(32, 256),
    data_kinds=workload.DATA_KINDS,
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
    """Measure every combination of model, batch size, data kind and variant.

    Returns:
        A dict: `environment` (`environment()`), `settings` (what was
        measured, and how) and `results` (one row of figures per
        combination; `report.write_outputs` adds the ratios).
    """
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
            x = rng.random((n, *workload.input_shape(model_name))).astype("float32")
            y = rng.integers(0, workload.NUM_CLASSES, n).astype("int32")
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
        "optimizer": workload.OPTIMIZER,
        "metrics": ["accuracy"],
        "input_shape": list(workload.INPUT_SHAPE),
        "mlp_input_shape": list(workload.MLP_INPUT_SHAPE),
        "num_classes": workload.NUM_CLASSES,
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
        row.update(figures.whole_call_figures(seconds, plan.steps, batch_size))
        line = (
            f"{model_name:10s} batch {batch_size:4d} {data_kind:7s} {name:14s} whole call "
            f"{row['steps_per_s_median']:8.2f} steps/s "
            f"[{row['steps_per_s_min']:.2f} .. {row['steps_per_s_max']:.2f}]"
        )
        if name in steady:
            row.update(figures.steady_figures(steady[name], plan.epoch_steps, batch_size))
            line += (
                f"  steady {row['steady_steps_per_s']:8.2f} steps/s "
                f"[{row['steady_steps_per_s_min']:.2f} .. {row['steady_steps_per_s_max']:.2f}]"
            )
        rows.append(row)
        log(line)
    return rows


def _make_runners(model_name, batch_size, data_kind, plan):
    initial = workload.make_model(model_name).get_weights()
    runners = []
    for name in plan.variants:
        model = workload.make_model(model_name)
        model.set_weights(initial)
        runners.append(Variant(name, model, batch_size, data_kind, plan.steps_per_execution))
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
        rates = ", ".join(f"{n} {figures.rate(plan.epoch_steps, steady[n][-1]):.2f}" for n in order)
        if rates:
            log(f"  steady round {index + 1}/{plan.rounds} (steps/s): {rates}")
    return steady
