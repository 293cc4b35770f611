#!/bin/bash
# A/A under the heavy load of the moment; waits for series2's current run to end first.
while pgrep -f "X ab" >/dev/null; do sleep 2; done
D=series3; mkdir -p $D
for i in 1 2 3; do
    up=$(cat /proc/loadavg); start=$(date +%s.%N)
    ./X ab ./X ./X --format json -- suite /work/meas/ci.toml > $D/aa-$i.json 2> $D/aa-$i.err
    rc=$?; end=$(date +%s.%N)
    echo "aa $i rc=$rc secs=$(echo "$end - $start" | bc) load=$up" >> $D/log.txt
done
