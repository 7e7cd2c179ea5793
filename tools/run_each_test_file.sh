#!/usr/bin/env bash
# Run each test file in a pytest process of its own: a test that passes in the
# suite but fails alone (it leans on what ran before it) shows up here.
#
#   bash tools/run_each_test_file.sh                      # every tests/**/test_*.py
#   bash tools/run_each_test_file.sh tests/cli tests/test_docs.py   # paths from the repository root
#   bash tools/run_each_test_file.sh -j 2                 # two files at a time (one per core)
#
# Prints one line per file as it ends (its result and seconds), then the
# files that failed alone; exits 1 if any did. A file whose tests are all
# skipped counts as passed (pytest exit 5, "no tests ran", too: a backend
# marker skips them). With -j N, N files run at once, each still in a process
# of its own, as the test command's `-n 2` workers do.
set -u
cd "$(dirname "$0")/.." || exit 2

jobs=1
if [ "${1:-}" = "-j" ]; then
    if ! [[ "${2:-}" =~ ^[1-9][0-9]*$ ]]; then
        echo "run_each_test_file: -j takes a positive number of files to run at once" >&2
        exit 2
    fi
    jobs=$2
    shift 2
fi

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

started=$SECONDS
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

# Runs one file; prints its line and, if it failed, writes its name to $results/failed.N.
run_one() {
    local f=$1 index=$2 t0 log code seconds cpu
    t0=$(date +%s.%N)
    # CPU seconds (the process and its children) beside the wall time: on a busy
    # machine the wall time grows with the load, the CPU time much less.
    log=$(/usr/bin/time -f "cpu %U %S" -o "$results/cpu.$index" python -m pytest -q -p no:cacheprovider "$f" 2>&1)
    code=$?
    seconds=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    cpu=$(awk '/^cpu / { printf "%.1f", $2 + $3 }' "$results/cpu.$index")
    if [ "$code" -eq 0 ] || [ "$code" -eq 5 ]; then
        printf '%-64s passed %7ss wall %7ss cpu\n' "$f" "$seconds" "$cpu"
    else
        # One printf, so that lines of files running at once do not interleave.
        printf '%-64s FAILED %7ss wall %7ss cpu (pytest exit %s)\n%s\n' "$f" "$seconds" "$cpu" "$code" \
            "$(printf '%s\n' "$log" | tail -n 15 | sed 's/^/    /')"
        echo "$f" >"$results/failed.$index"
    fi
}

for index in "${!files[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n
    done
    run_one "${files[$index]}" "$index" &
done
wait

failed=()
for index in "${!files[@]}"; do
    if [ -f "$results/failed.$index" ]; then
        failed+=("${files[$index]}")
    fi
done
echo "${#files[@]} files in $((SECONDS - started)) s with $jobs at a time; ${#failed[@]} failed alone"
if [ "${#failed[@]}" -gt 0 ]; then
    printf '  %s\n' "${failed[@]}"
    exit 1
fi
