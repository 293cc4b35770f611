#!/bin/bash
# usage: series.sh DIR N SUITE
D=$1; N=$2; SUITE=$3
for i in $(seq 1 $N); do
  for kind in slow aa; do
    other=./X; [ $kind = slow ] && other=./S5
    up=$(cat /proc/loadavg)
    start=$(date +%s.%N)
    ./X ab ./X $other --format json -- suite $SUITE > $D/$kind-$i.json 2> $D/$kind-$i.err
    rc=$?
    end=$(date +%s.%N)
    echo "$kind $i rc=$rc secs=$(echo "$end - $start" | bc) load=$up" >> $D/log.txt
  done
done
