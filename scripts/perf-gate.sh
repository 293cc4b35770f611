#!/usr/bin/env bash
# The performance regression gate, exactly as .github/workflows/perf.yml runs it; run it
# locally with the same arguments.
#
#   scripts/perf-gate.sh BASELINE_DIR [--update]
#
# Builds parbench, runs workloads/ci.toml, compares the result against BASELINE_DIR
# (a directory of earlier results from the same machine class), writes the Markdown
# verdict to compare.md (and to $GITHUB_STEP_SUMMARY when set), and with --update adds
# the new result to the baseline (keeping the newest 10). Exit status: 0 no regression
# (or no comparable baseline yet), 1 regression, 2 usage or input error.
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=${1:?usage: scripts/perf-gate.sh BASELINE_DIR [--update]}
update=${2:-}
summary=${GITHUB_STEP_SUMMARY:-/dev/null}

cargo build --release --locked
bin=./target/release/parbench
mkdir -p perf-out
new=perf-out/new.json
"$bin" suite workloads/ci.toml --output "$new" | tee perf-out/summary.txt

code=0
if compgen -G "$baseline/*.json" > /dev/null; then
    "$bin" compare "$baseline" "$new" --format markdown > perf-out/compare.md || code=$?
    cat perf-out/compare.md | tee -a "$summary"
    if [ "$code" -eq 3 ]; then
        echo "The baseline comes from another machine class or suite: not gated." | tee -a "$summary"
        code=0
    fi
else
    echo "No baseline in $baseline yet: this run starts it." | tee -a "$summary"
fi

if [ "$update" = "--update" ] && [ "$code" -eq 0 ]; then
    "$bin" baseline update "$baseline" "$new" --keep 10
fi
exit "$code"
