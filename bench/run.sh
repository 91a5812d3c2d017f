#!/bin/sh
# Every benchmark, in order, against the build in $1 (`make bench`).  With
# ACCESSGW_BENCH_SMOKE=1 each runs for seconds and its figures mean nothing:
# CI runs that (ctest bench.smoke) so that no benchmark rots unseen.
set -eu
build=$1
here=$(cd "$(dirname "$0")" && pwd)
"$build/bench/bench_bus" "$build"
for b in hid_latency uplink idcard_read scale; do
    echo "== bench/$b.py =="
    /usr/bin/python3 "$here/$b.py" "$build"
done
