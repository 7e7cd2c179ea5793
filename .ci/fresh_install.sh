#!/usr/bin/env bash
# (.ci/run runs this beside .ci/lowest_versions.sh and .ci/next_keras.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
# A fresh install, as a new user makes it: a venv with only the README's main install
# (the part of its main command before `&& keras-ext`), then the smallest form of every
# subcommand. A dependency that only the test extras bring (matplotlib for the
# pictures, say) fails here instead of for a user. About
# 5 to 6 minutes on 2 shared CPU cores, 2.5 of them the install (pip download cache warm).
install=$(sed -n '/<!-- main-command -->/,/<!-- \/main-command -->/p' README.md | grep -v '^<!--' | grep -v '^```' | sed 's/ && keras-ext .*//')
case "$install" in
    "python3 -m pip install "*) ;;
    *) echo ".ci/fresh_install.sh: the README's main command does not start with a pip install: $install" >&2; exit 1 ;;
esac
fresh=$(mktemp -d "${TMPDIR:-/tmp}/keras_ext-fresh.XXXXXX")
trap 'rm -rf "$fresh"' EXIT
python3 -m venv "$fresh/venv"
in_fresh() { env -u PYTHONPATH PATH="$fresh/venv/bin:$PATH" TF_CPP_MIN_LOG_LEVEL=2 "$@"; }
echo "+ (fresh venv) $install"
in_fresh bash -c "set -euo pipefail; $install -q"
echo "+ (fresh venv) keras-ext train / tune / bench, smallest forms"
in_fresh keras-ext train --epochs 1 --verbose 0 --output "$fresh/train"
in_fresh keras-ext tune --max-trials 2 --epochs 1 --verbose 0 --directory "$fresh/tune"
in_fresh keras-ext bench --quick --steps 2 --steady-steps 2 --repeats 1 --output "$fresh/bench"
in_fresh python3 - "$fresh" <<'PY'
import csv, os, sys
fresh = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(fresh, "tune", "simplecnn", "trials.csv"))))
assert [r["status"] for r in rows] == ["COMPLETED", "COMPLETED"], rows
for path in ("train/model.keras", "train/history.png", "tune/simplecnn/best_model.keras",
             "tune/simplecnn/trials.png", "bench/results.json"):
    assert os.path.getsize(os.path.join(fresh, path)) > 0, path
print(".ci/fresh_install.sh: the main install runs train, tune (2 trials COMPLETED) and bench")
PY

