#!/usr/bin/env bash
# The performance regression gate, exactly as .github/workflows/perf.yml runs it; run it
# locally with the same arguments.
#
#   scripts/perf-gate.sh --base REV [-- SUITE_OR_RUN_ARGS...]
#   scripts/perf-gate.sh BASELINE_DIR [--update]
#
# --base REV (pull requests): the A/B gate. Builds git revision REV (a clone of this
# repository at REV, in $TARGET/perf-base/src, built into $TARGET/perf-base) and the
# work tree as it is (built into $TARGET), where TARGET is ${CARGO_TARGET_DIR:-target},
# then runs `parbench ab BASE NEW -- suite workloads/ci.toml` (or the arguments after
# `--`): both builds measured round by round in this one job, judged on the paired
# ratios. Exit status: ab's (0 no regression, 1 regression or a build failed, 2 usage
# or input error, 3 the builds plan different measurements).
#
# BASELINE_DIR (pushes to main): runs workloads/ci.toml, compares the result against
# BASELINE_DIR (a directory of earlier results from the same machine class) and with
# --update adds it (keeping the newest 10): the recorded history. Exit status: 0 no
# regression (or no comparable baseline yet), 1 regression, 2 usage or input error.
#
# Both write the Markdown verdict to perf-out/ (and to $GITHUB_STEP_SUMMARY when set).
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: scripts/perf-gate.sh --base REV [-- ARGS...] | BASELINE_DIR [--update]"
target=${CARGO_TARGET_DIR:-target}
summary=${GITHUB_STEP_SUMMARY:-}
mkdir -p perf-out

# Appends stdin to the job summary when there is one.
to_summary() {
    if [ -n "$summary" ]; then cat >> "$summary"; else cat > /dev/null; fi
}

if [ "${1:-}" = "--base" ]; then
    rev=${2:?$usage}
    shift 2
    if [ "${1:-}" = "--" ]; then shift; fi
    [ "$#" -gt 0 ] || set -- suite workloads/ci.toml
    commit=$(git rev-parse --verify --quiet "$rev^{commit}") || { echo "perf-gate: --base $rev: not a git revision" >&2; exit 2; }
    base_dir="$target/perf-base"
    src="$base_dir/src"
    # A clone of its own (sharing this repository's objects), so that the build
    # records REV's commit, not the work tree's.
    rm -rf "$src"
    mkdir -p "$base_dir"
    git clone --quiet --shared --no-checkout . "$src"
    git -C "$src" checkout --quiet --detach "$commit"
    CARGO_TARGET_DIR="$base_dir" cargo build --release --locked --manifest-path "$src/Cargo.toml"
    CARGO_TARGET_DIR="$target" cargo build --release --locked
    base_bin="$base_dir/release/parbench"
    new_bin="$target/release/parbench"
    code=0
    "$new_bin" ab "$base_bin" "$new_bin" --format markdown -- "$@" > perf-out/ab.md || code=$?
    cat perf-out/ab.md
    to_summary < perf-out/ab.md
    exit "$code"
fi

baseline=${1:?$usage}
update=${2:-}
CARGO_TARGET_DIR="$target" cargo build --release --locked
bin="$target/release/parbench"
new=perf-out/new.json
"$bin" suite workloads/ci.toml --output "$new" | tee perf-out/summary.txt

code=0
if compgen -G "$baseline/*.json" > /dev/null; then
    "$bin" compare "$baseline" "$new" --format markdown > perf-out/compare.md || code=$?
    cat perf-out/compare.md
    to_summary < perf-out/compare.md
    if [ "$code" -eq 3 ]; then
        note="The baseline comes from another machine class or suite: not gated."
        echo "$note"
        echo "$note" | to_summary
        code=0
    fi
else
    note="No baseline in $baseline yet: this run starts it."
    echo "$note"
    echo "$note" | to_summary
fi

if [ "$update" = "--update" ] && [ "$code" -eq 0 ]; then
    "$bin" baseline update "$baseline" "$new" --keep 10
fi
exit "$code"
