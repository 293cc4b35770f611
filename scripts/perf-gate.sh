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
# ratios. PERF_GATE_ROUNDS=N passes `--rounds N` to ab (fewer rounds for a quick try).
# The work tree must have no uncommitted changes to the files the build reads (it is
# measured as HEAD); PERF_GATE_DIRTY=1 measures them anyway. Exit status: ab's (0 no
# regression, 1 regression or a build failed (to compile, too), 2 usage or input error,
# 3 the builds plan different measurements; 130 interrupted).
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

# A one-line error and exit status 2 (usage or input error).
fail() {
    echo "perf-gate: $*" >&2
    exit 2
}

command -v cargo > /dev/null || fail "cargo not found on PATH (install Rust: https://rustup.rs)"
mkdir -p perf-out

# Appends stdin to the job summary when there is one.
to_summary() {
    if [ -n "$summary" ]; then cat >> "$summary"; else cat > /dev/null; fi
}

# Runs a command in the background and waits for it, so that an interrupt of this script
# (Ctrl-C, or SIGINT/SIGTERM sent to it alone) is passed on and nothing it started is left
# running. With job control on, the command has a process group of its own (cargo and its
# rustc processes; parbench ab puts its builds in groups of their own and stops them).
child=
set -m
on_signal() {
    if [ -n "$child" ]; then
        kill -"$1" -- "-$child" 2> /dev/null || true
        wait "$child" 2> /dev/null || true
    fi
    echo "perf-gate: interrupted" >&2
    exit 130
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP
run() {
    local code=0
    "$@" &
    child=$!
    wait "$child" || code=$?
    child=
    return "$code"
}

# Runs the cargo build "$@" of the build named $1; one that does not compile is exit 1.
build() {
    local what=$1 code=0
    shift
    run "$@" || code=$?
    if [ "$code" -ne 0 ]; then
        echo "perf-gate: $what does not build (cargo exit $code)" >&2
        exit 1
    fi
}

if [ "${1:-}" = "--base" ]; then
    [ "$#" -ge 2 ] && [ -n "$2" ] || fail "--base needs a git revision ($usage)"
    rev=$2
    shift 2
    if [ "$#" -gt 0 ]; then
        [ "$1" = "--" ] || fail "$1: unexpected argument ($usage)"
        shift
    fi
    [ "$#" -gt 0 ] || set -- suite workloads/ci.toml
    ab_args=()
    if [ -n "${PERF_GATE_ROUNDS:-}" ]; then
        [[ "$PERF_GATE_ROUNDS" =~ ^[1-9][0-9]*$ ]] || fail "PERF_GATE_ROUNDS=$PERF_GATE_ROUNDS: not a positive whole number"
        ab_args=(--rounds "$PERF_GATE_ROUNDS")
    fi
    git rev-parse --git-dir > /dev/null 2>&1 || fail "--base $rev: $(pwd) is not a git repository"
    commit=$(git rev-parse --verify --quiet "$rev^{commit}") || fail "--base $rev: not a git revision"
    head=$(git rev-parse --verify --quiet HEAD) || fail "the work tree has no commit (HEAD)"
    # The new build is the work tree; its fingerprint records HEAD, so uncommitted
    # changes to what the build reads would be measured under HEAD's name.
    dirty=$(git status --porcelain --untracked-files=no -- . ':!*.md' ':!results' ':!docs' ':!.github' ':!scripts')
    if [ -n "$dirty" ] && [ "${PERF_GATE_DIRTY:-}" != 1 ]; then
        files=$(printf '%s\n' "$dirty" | cut -c4- | head -3 | paste -sd ' ' -)
        fail "the work tree has uncommitted changes ($files): commit or stash them, or set PERF_GATE_DIRTY=1 to measure them as NEW"
    fi
    base_dir="$target/perf-base"
    src="$base_dir/src"
    # A clone of its own (sharing this repository's objects), so that the build records
    # REV's commit, not the work tree's. Kept between runs, so cargo rebuilds only what
    # changed.
    # A clone of another repository (a CARGO_TARGET_DIR shared by two) is made again.
    objects=$(realpath "$(git rev-parse --path-format=absolute --git-common-dir)/objects")
    shared=$(realpath -m "$(cat "$src/.git/objects/info/alternates" 2> /dev/null || true)")
    if [ ! -d "$src/.git" ] || [ "$shared" != "$objects" ]; then
        rm -rf "$src"
        mkdir -p "$base_dir"
        git clone --quiet --shared --no-checkout . "$src"
    fi
    git -C "$src" checkout --quiet --force --detach "$commit"
    new_desc="work tree at HEAD $(git rev-parse --short "$head")"
    [ -z "$dirty" ] || new_desc="$new_desc with uncommitted changes"
    echo "perf-gate: building BASE $rev ($(git rev-parse --short "$commit")) into $base_dir" >&2
    build "BASE $rev ($(git rev-parse --short "$commit"))" \
        env CARGO_TARGET_DIR="$base_dir" cargo build --release --locked --manifest-path "$src/Cargo.toml"
    echo "perf-gate: building NEW ($new_desc) into $target" >&2
    build "NEW ($new_desc)" env CARGO_TARGET_DIR="$target" cargo build --release --locked
    base_bin="$base_dir/release/parbench"
    new_bin="$target/release/parbench"
    echo "perf-gate: comparing BASE $rev ($(git rev-parse --short "$commit"), $base_bin) with NEW ($new_desc, $new_bin): parbench ab ${ab_args[*]} -- $*"
    code=0
    run "$new_bin" ab "$base_bin" "$new_bin" "${ab_args[@]}" --format markdown -- "$@" > perf-out/ab.md || code=$?
    cat perf-out/ab.md
    to_summary < perf-out/ab.md
    case $code in
        0) verdict="no regression" ;;
        1) verdict="a regression, or a build failed (see above)" ;;
        2) verdict="usage or input error (see above)" ;;
        3) verdict="not comparable: the builds plan different measurements (see above)" ;;
        130) verdict="interrupted" ;;
        *) verdict="failed" ;;
    esac
    echo "perf-gate: BASE $rev vs NEW ($new_desc): exit $code, $verdict"
    exit "$code"
fi

[ "$#" -ge 1 ] && [ -n "$1" ] || fail "$usage"
baseline=$1
update=${2:-}
run env CARGO_TARGET_DIR="$target" cargo build --release --locked
bin="$target/release/parbench"
new=perf-out/new.json
run "$bin" suite workloads/ci.toml --output "$new" > perf-out/summary.txt
cat perf-out/summary.txt

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
