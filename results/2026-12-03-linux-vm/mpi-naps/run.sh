#!/bin/bash
# Alternates the mpi done-when command, with threads beside it, between the serving
# ranks' between-sample naps capped at 200 µs ("short", as before) and at 2 ms
# ("long", what parbench does now). Run with a binary that had a temporary switch,
# XP_BETWEEN_LONG, choosing the cap (not committed; see README.md).
set -u
bin=${BIN:-../../../target/release/parbench}
for i in 1 2 3 4 5 6 7 8 9 10; do
  for m in short long; do
    extra=(); [ $m = long ] && extra=(-x XP_BETWEEN_LONG=1)
    mpirun --allow-run-as-root --oversubscribe -n 3 "${extra[@]}" "$bin" run fib --n 30 \
      --runner serial,threads,mpi --format json --output $m-$i.json > /dev/null 2> $m-$i.err
    echo "$m $i exit=$?"
  done
done
# For reference: no mpirun; mpirun -n 1 (no serving ranks); -n 3 with mpi not run.
for i in 1 2 3; do
  "$bin" run fib --n 30 --runner serial,threads --format json --output none-$i.json > /dev/null 2>&1
  mpirun --allow-run-as-root -n 1 "$bin" run fib --n 30 --runner serial,threads --format json --output n1-$i.json > /dev/null 2>&1
  mpirun --allow-run-as-root --oversubscribe -n 3 -x XP_BETWEEN_LONG=1 "$bin" run fib --n 30 --runner serial,threads \
    --format json --output n3idle-$i.json > /dev/null 2>&1
done
