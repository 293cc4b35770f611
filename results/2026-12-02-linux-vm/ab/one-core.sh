#!/bin/sh
exec taskset -c 0 /work/wt/ab/target/release/parbench "$@"
