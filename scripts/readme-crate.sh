#!/usr/bin/env bash
# Builds a new crate outside this repository from the README's "Benchmark your own
# code" section, exactly as a user would: its first rust code block as the crate's
# src/main.rs and as a harness-less bench, with a path dependency on this checkout.
# Then it runs the commands the README shows and checks the JSON: every runner of this build,
# every sample verified.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
crate="$work/mybench"
mkdir -p "$crate/src" "$crate/benches"

python3 - "$repo/README.md" "$crate/src/main.rs" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
section = text.split("## Benchmark your own code", 1)[1]
block = re.search(r"```rust\n(.*?)```", section, re.S).group(1)
open(sys.argv[2], "w").write(block)
PY
cp "$crate/src/main.rs" "$crate/benches/parallel.rs"
cat > "$crate/Cargo.toml" <<TOML
[package]
name = "mybench"
version = "0.1.0"
edition = "2024"

[dependencies]
parbench = { path = "$repo" }

[[bench]]
name = "parallel"
harness = false
TOML
# The same dependency versions as this checkout, and its compiled dependencies.
cp "$repo/Cargo.lock" "$crate/Cargo.lock"
export CARGO_TARGET_DIR="$repo/target"
cd "$crate"
workload=$(cargo run --quiet --release -- list | awk '/^  [a-z]/ {print $1; exit}')
echo "== the README's crate registers: $workload"
cargo run --quiet --release -- run "$workload" --threads 2 --rounds 2 --format json --output "$work/run.json"
python3 - "$work/run.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
case = report["cases"][0]
runners = [row["runner"] for row in case["rows"]]
assert runners == ["serial", "threads", "rayon", "process", "process-pool", "async"], runners
bad = [s for s in case["samples"] if s["verification"]["status"] != "verified"]
assert not bad, bad
print(f"ok: {case['label']}: {', '.join(runners)}, {len(case['samples'])} samples, every one verified")
PY
echo "== cargo bench --bench parallel -- run $workload --threads 2 --rounds 1"
cargo bench --quiet --bench parallel -- run "$workload" --threads 2 --rounds 1 --warmup 0 | tail -n 3
echo "== cargo bench --bench parallel -- --test (one round at the declared smoke sizes)"
cargo bench --quiet --bench parallel -- --test > "$work/smoke.txt"
# The README's workload declares a smoke size for its vector length.
grep -E "^$workload \(.*len=1000[,)]" "$work/smoke.txt" || { cat "$work/smoke.txt"; echo "smoke sizes not used"; exit 1; }
echo "== cargo test --bench parallel (no arguments: every workload once, verified)"
cargo test --quiet --release --bench parallel 2>&1 | tail -n 2
echo "== cargo bench --bench parallel -- list"
cargo bench --quiet --bench parallel -- list | head -n 3
