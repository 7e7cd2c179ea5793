"""`draw_chart`: a benchmark run as a PNG: steady-state images/s with the Trainer/fit ratios, and
whole-call images/s, per (model, batch size, data) group."""

from keras_ext.benchmarking.figures import STEADY_RATIOS
from keras_ext.benchmarking.figures import ratios
from keras_ext.benchmarking.variant import STEADY_PAIRS
from keras_ext.benchmarking.variant import VARIANTS

# Each fit variant beside its Trainer counterpart, as they are compared.
_STEADY_ORDER = tuple(variant for pair in STEADY_PAIRS for variant in pair)
# One colour per variant in both panels (matplotlib's default cycle, in VARIANTS order).
_COLORS = {variant: f"C{i}" for i, variant in enumerate(VARIANTS)}


def draw_chart(results, path):
    """Draw `results` to `path`; return `path`.

    Above, the steady-state figures the ratios are quoted from: each steady
    variant's median images/s over the rounds (bars from the slowest to the
    fastest round), each Trainer bar labelled with its ratio to its `fit`
    counterpart (the median of the per-round ratios, and their range).
    Below, every variant's whole-call median (bars from the slowest to the
    fastest call).
    """
    figure = _figure(results)
    figure.savefig(path, dpi=110)
    return path


def _figure(results):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = results["results"]
    groups = sorted({(r["model"], r["batch_size"], r["data"]) for r in rows})
    figure = Figure(figsize=(max(8, 1.6 * len(groups)), 9.0), layout="constrained")
    FigureCanvasAgg(figure)  # no pyplot: no global state, no window
    steady_ax, call_ax = figure.subplots(2, 1)
    steady = [v for v in _STEADY_ORDER if any(r["variant"] == v and "steady_steps_per_s" in r for r in rows)]
    _bars(steady_ax, rows, groups, steady, "steady_steps_per_s")
    _label_ratios(steady_ax, results, groups, steady)
    steady_ax.set_ylim(top=steady_ax.get_ylim()[1] * 1.3)  # room for the labels
    steady_ax.set_ylabel("images / s (median)")
    steady_ax.set_title(
        "steady state: median over rounds (bars: slowest..fastest round); labels: Trainer / fit, "
        "median of the paired rounds [range]",
        fontsize=9,
    )
    if not steady:
        steady_ax.text(
            0.5, 0.5, "no steady-state variant measured", ha="center", transform=steady_ax.transAxes
        )
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    _bars(call_ax, rows, groups, variants, "steps_per_s_median")
    call_ax.set_ylabel("images / s (median)")
    call_ax.set_title("whole call, start-up included: median (bars: slowest..fastest call)", fontsize=9)
    env = results["environment"]
    figure.suptitle(
        f"fit vs Trainer vs bare loop - {env['backend']} on {env.get('device', '?')}", fontsize=11
    )
    return figure


# The figure each panel draws: (median, slowest, fastest), all in steps/s.
_RANGES = {
    "steady_steps_per_s": ("steady_steps_per_s", "steady_steps_per_s_min", "steady_steps_per_s_max"),
    "steps_per_s_median": ("steps_per_s_median", "steps_per_s_min", "steps_per_s_max"),
}


def _bars(ax, rows, groups, variants, figure_key):
    """One bar per (group, variant) of images/s, with the range as error bars."""
    if not variants:
        return
    median_key, low_key, high_key = _RANGES[figure_key]
    width = 0.8 / len(variants)
    for i, variant in enumerate(variants):
        heights, below, above = [], [], []
        for group in groups:
            row = _row(rows, group, variant)
            if row is None or median_key not in row:
                heights.append(0)
                below.append(0)
                above.append(0)
                continue
            batch = row["batch_size"]
            heights.append(row[median_key] * batch)
            below.append((row[median_key] - row.get(low_key, row[median_key])) * batch)
            above.append((row.get(high_key, row[median_key]) - row[median_key]) * batch)
        ax.bar(
            _positions(len(groups), i, len(variants)),
            heights,
            width,
            yerr=[below, above],
            label=variant,
            color=_COLORS.get(variant),
            capsize=2,
        )
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{m}\nbatch {b}\n{d}" for m, b, d in groups], fontsize=8)
    ax.legend(fontsize=8, ncol=2)


def _label_ratios(ax, results, groups, variants):
    """Write each steady Trainer / fit ratio above the Trainer's bar."""
    by_group = {(e["model"], e["batch_size"], e["data"]): e for e in results.get("ratios") or ratios(results)}
    for name, (trainer, fit) in STEADY_RATIOS.items():
        if trainer not in variants or fit not in variants:
            continue
        for g, group in enumerate(groups):
            entry = by_group.get(group, {})
            row = _row(results["results"], group, trainer)
            if name not in entry or row is None:
                continue
            top = row.get("steady_steps_per_s_max", row["steady_steps_per_s"]) * row["batch_size"]
            x = _positions(len(groups), variants.index(trainer), len(variants))[g]
            ax.annotate(
                _ratio_label(entry, name),
                (x, top),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7,
                rotation=90,
            )


def _ratio_label(entry, name):
    """`1.12x` (the median of the paired rounds), with `[0.96-1.15]` (their range) when known."""
    text = f"{entry[name]:.2f}x"
    if f"{name}_min" in entry:
        text += f" [{entry[f'{name}_min']:.2f}-{entry[f'{name}_max']:.2f}]"
    return text


def _positions(group_count, index, variant_count):
    width = 0.8 / variant_count
    return [g + (index - (variant_count - 1) / 2) * width for g in range(group_count)]


def _row(rows, group, variant):
    return next(
        (r for r in rows if (r["model"], r["batch_size"], r["data"]) == group and r["variant"] == variant),
        None,
    )
