#!/bin/bash
# Alternates rank 0 waiting lazily for the ranks' replies (naps doubling from 10 µs to
# 200 µs, as before) and eagerly (10 µs naps for the first millisecond of each wait,
# what parbench does now). Run with a binary that had a temporary switch,
# XP_EAGER_ROOT, choosing the eager wait (not committed; see README.md).
set -u
bin=${BIN:-../../../target/release/parbench}
for i in 1 2 3; do
  for cfg in "25 1" "25 2" "30 2"; do
    set -- $cfg
    for m in lazy eager; do
      extra=(); [ $m = eager ] && extra=(-x XP_EAGER_ROOT=1)
      mpirun --allow-run-as-root --oversubscribe -n 3 "${extra[@]}" "$bin" run fib --n $1 --threads $2 \
        --runner serial,mpi --format json --output n$1-t$2-$m-$i.json > /dev/null 2>&1 || echo "n$1 t$2 $m $i failed"
    done
  done
done
