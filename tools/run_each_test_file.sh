#!/usr/bin/env bash
# Run each test file in a pytest process of its own: a test that passes in the
# suite but fails alone (it leans on what ran before it) shows up here.
#
#   bash tools/run_each_test_file.sh                      # every tests/**/test_*.py
#   bash tools/run_each_test_file.sh tests/cli tests/test_docs.py   # paths from the repository root
#
# Prints one line per file (its result and seconds), then the files that
# failed alone; exits 1 if any did. A file whose tests are all skipped counts
# as passed (pytest exit 5, "no tests ran", too: a backend marker skips them).
set -u
cd "$(dirname "$0")/.." || exit 2

if [ "$#" -eq 0 ]; then
    set -- tests
fi

files=()
for arg in "$@"; do
    if [ -d "$arg" ]; then
        while IFS= read -r f; do files+=("$f"); done < <(find "$arg" -name 'test_*.py' -type f | sort)
    elif [ -f "$arg" ]; then
        files+=("$arg")
    else
        echo "run_each_test_file: no such file or directory: $arg" >&2
        exit 2
    fi
done

if [ "${#files[@]}" -eq 0 ]; then
    echo "run_each_test_file: no test files under $*" >&2
    exit 2
fi

failed=()
started=$SECONDS
for f in "${files[@]}"; do
    t0=$(date +%s.%N)
    log=$(python -m pytest -q -p no:cacheprovider "$f" 2>&1)
    code=$?
    seconds=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    if [ "$code" -eq 0 ] || [ "$code" -eq 5 ]; then
        printf '%-64s passed %7ss\n' "$f" "$seconds"
    else
        printf '%-64s FAILED %7ss (pytest exit %s)\n' "$f" "$seconds" "$code"
        printf '%s\n' "$log" | tail -n 15 | sed 's/^/    /'
        failed+=("$f")
    fi
done

echo "${#files[@]} files in $((SECONDS - started)) s; ${#failed[@]} failed alone"
if [ "${#failed[@]}" -gt 0 ]; then
    printf '  %s\n' "${failed[@]}"
    exit 1
fi
