"""`draw_chart`: images/s of every variant per (model, batch size, data) group, as a bar chart (PNG)."""


def draw_chart(results, path):
    """Draw the whole-call medians of `results` (with min-max bars) to `path`; return `path`."""
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
