#!/bin/sh
# Builds the libFuzzer targets with clang and runs each for a bounded number
# of runs over its committed corpus.  RUNS overrides the count.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
runs=${RUNS:-200000}
CC=clang cmake -S . -B build-fuzz -DACCESSGW_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzzers
found=0
for target in build-fuzz/fuzz/fuzz_*; do
    [ -x "$target" ] || continue
    found=1
    name=$(basename "$target")
    corpus="$top/protocols/corpus/${name#fuzz_}"
    mkdir -p "$corpus"
    echo "-- $name: $runs runs over $corpus"
    work=$(mktemp -d)
    "$target" -runs="$runs" -max_len=4096 -timeout=10 "$work" "$corpus" 2>&1 | tail -n 2
    rm -rf "$work"
done
[ "$found" = 1 ] || { echo "no fuzz targets were built" >&2; exit 1; }
