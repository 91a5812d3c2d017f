#!/bin/sh
# Each man page renders without a warning from man(1) / groff.
status=0
for page in "$@"; do
    out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
    if [ -n "$out" ]; then
        echo "$page:"; echo "$out"; status=1
    fi
done
[ $status -eq 0 ] && echo "$# man pages render without warnings"
exit $status
