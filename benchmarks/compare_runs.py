"""Compare two `keras-ext bench` runs row by row: the no-regression check of issue 19.

    python benchmarks/compare_runs.py benchmarks/results/tensorflow-cpu benchmarks/results/tensorflow-cpu-rerun

For every (model, batch, data, variant) row both runs measured, prints the
new steady-state median over the old one, and for every Trainer/fit pair the
new paired ratio over the old one. A row below `--threshold` (default 0.97)
is flagged. Runs on a shared machine move with its load: the `fit` rows,
which keras_ext does not change, show how much; so does the paired ratio,
which divides that out.
"""

import argparse
import json
import os
import sys

PAIRED = {"trainer_graph": "steady_trainer_graph_over_fit", "trainer_spe": "steady_trainer_spe_over_fit_spe"}


def _load(directory):
    with open(os.path.join(directory, "results.json")) as f:
        return json.load(f)


def _key(row):
    return row["model"], row["batch_size"], row["data"]


def compare(old, new, threshold=0.97):
    """Rows of (model, batch, data, variant, old, new, new/old, paired old, paired new, paired new/old)."""
    old_rows = {(*_key(r), r["variant"]): r for r in old["results"]}
    old_ratios = {_key(r): r for r in old["ratios"]}
    new_ratios = {_key(r): r for r in new["ratios"]}
    rows = []
    for r in new["results"]:
        before = old_rows.get((*_key(r), r["variant"]))
        if before is None or before.get("steady_steps_per_s") is None or r.get("steady_steps_per_s") is None:
            continue
        paired = PAIRED.get(r["variant"])
        paired_old = old_ratios.get(_key(r), {}).get(paired) if paired else None
        paired_new = new_ratios.get(_key(r), {}).get(paired) if paired else None
        rows.append(
            {
                "model": r["model"],
                "batch_size": r["batch_size"],
                "data": r["data"],
                "variant": r["variant"],
                "old": before["steady_steps_per_s"],
                "new": r["steady_steps_per_s"],
                "new_over_old": r["steady_steps_per_s"] / before["steady_steps_per_s"],
                "paired_old": paired_old,
                "paired_new": paired_new,
                "paired_new_over_old": paired_new / paired_old if paired_old and paired_new else None,
            }
        )
    for row in rows:
        row["below_threshold"] = row["new_over_old"] < threshold
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--threshold", type=float, default=0.97)
    parser.add_argument("--output", help="also write the comparison as JSON here")
    args = parser.parse_args(argv)
    rows = compare(_load(args.old), _load(args.new), args.threshold)
    print(
        "| model | batch | data | variant | old steps/s | new steps/s | new / old | Trainer/fit old -> new |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        flag = " (below)" if r["below_threshold"] else ""
        paired = ""
        if r["paired_new_over_old"] is not None:
            paired = f"{r['paired_old']:.2f} -> {r['paired_new']:.2f} ({r['paired_new_over_old']:.2f})"
        print(
            f"| {r['model']} | {r['batch_size']} | {r['data']} | {r['variant']} | {r['old']:.1f} | {r['new']:.1f} "
            f"| {r['new_over_old']:.2f}{flag} | {paired} |"
        )
    if args.output:
        with open(args.output, "w") as f:
            json.dump(
                {"old": args.old, "new": args.new, "threshold": args.threshold, "rows": rows}, f, indent=2
            )
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
