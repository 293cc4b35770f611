#!/bin/bash
# Alternates the done-when command with the serving ranks bound (parbench's default
# under mpirun) and unbound (mpirun --bind-to none, which parbench leaves alone).
set -u
bin=${BIN:-../../../../target/release/parbench}
uptime > load-before.txt
for i in 1 2 3 4 5; do
  for mode in bound unbound; do
    extra=(); [ $mode = unbound ] && extra=(--bind-to none)
    mpirun --allow-run-as-root --oversubscribe -n 3 "${extra[@]}" "$bin" run fib --n 30 --runner serial,mpi \
      --format json --output $mode-$i.json > /dev/null 2> $mode-$i.err
    echo "$mode $i exit=$?"
  done
done
uptime > load-after.txt
