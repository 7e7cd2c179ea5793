"""From timings to figures: steps/s medians and ranges per variant, and the ratios between variants.

A steady ratio compares a Trainer variant with its `fit` counterpart
(`STEADY_PAIRS`) round by round: the median of the per-round ratios, so a
burst of load from other processes moves one round rather than the figure.
"""

import statistics

from keras_ext.benchmarking.variant import STEADY_PAIRS

# Ratio name: (Trainer variant, fit variant), at steady state; one per pair measured back to back.
STEADY_RATIOS = {f"steady_{trainer}_over_{fit}": (trainer, fit) for fit, trainer in STEADY_PAIRS}


def rate(epoch_steps, epoch_seconds):
    """Steps over the time of all timed epochs together (not a mean of rates)."""
    return epoch_steps * len(epoch_seconds) / sum(epoch_seconds)


def whole_call_figures(seconds, steps, batch_size):
    """Median, min and max steps/s of calls of `steps` steps that took `seconds` each."""
    rates = sorted(steps / s for s in seconds)
    return {
        "steps_per_s_median": statistics.median(rates),
        "steps_per_s_min": rates[0],
        "steps_per_s_max": rates[-1],
        "images_per_s_median": statistics.median(rates) * batch_size,
        "repeats": len(rates),
        "call_seconds_median": statistics.median(seconds),
    }


def steady_figures(rounds, epoch_steps, batch_size):
    """Median over rounds of each round's steps/s, [min, max] over rounds and over single epochs."""
    per_round = [rate(epoch_steps, seconds) for seconds in rounds]
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
