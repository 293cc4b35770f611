#!/bin/bash
D=series2; mkdir -p $D
for i in 1 2 3 4 5; do
  for kind in S2 S10; do
    up=$(cat /proc/loadavg); start=$(date +%s.%N)
    ./X ab ./X ./$kind --format json -- suite /work/meas/ci.toml > $D/$kind-$i.json 2> $D/$kind-$i.err
    rc=$?; end=$(date +%s.%N)
    echo "$kind $i rc=$rc secs=$(echo "$end - $start" | bc) load=$up" >> $D/log.txt
  done
done
