#!/bin/sh
# Golden tests for a codec: every DIR/*.hex is decoded by TOOL at several
# chunkings (1 byte, 7, 64, all at once); each output must equal DIR/*.json.
#   golden.sh TOOL DIR               check
#   golden.sh TOOL DIR --regenerate  rewrite the .json files (review the diff!)
set -eu
tool=$1 dir=$2 mode=${3:-check}
failed=0 count=0
for input in "$dir"/*.hex; do
    expected="${input%.hex}.json"
    if [ "$mode" = "--regenerate" ]; then
        "$tool" 0 "$input" > "$expected"
        echo "regenerated $expected"
        continue
    fi
    for chunk in 0 1 7 64; do
        count=$((count + 1))
        if ! "$tool" "$chunk" "$input" | diff -u "$expected" - > /tmp/golden.$$.diff 2>&1; then
            echo "FAIL: $(basename "$input") at chunk $chunk"
            cat /tmp/golden.$$.diff
            failed=$((failed + 1))
        fi
    done
done
rm -f /tmp/golden.$$.diff
[ "$mode" = "--regenerate" ] && exit 0
echo "$((count - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
