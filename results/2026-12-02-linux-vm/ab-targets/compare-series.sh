#!/bin/bash
# Baseline directory of 5 runs of X, then NEW runs of X (A/A), S5, S10, S25: compare each.
D=compare1; mkdir -p $D/base
for i in 1 2 3 4 5; do
  ./X suite ci.toml --output $D/base-run-$i.json > /dev/null 2>>$D/err.txt
  ./X baseline update $D/base $D/base-run-$i.json >/dev/null 2>>$D/err.txt
done
for i in 1 2 3 4 5; do
  for b in X S5 S10 S25; do
    up=$(cat /proc/loadavg)
    ./$b suite ci.toml --output $D/new-$b-$i.json > /dev/null 2>>$D/err.txt
    ./X compare $D/base $D/new-$b-$i.json --format json > $D/cmp-$b-$i.json 2>>$D/err.txt
    echo "$b $i rc=$? load=$up" >> $D/log.txt
  done
done
