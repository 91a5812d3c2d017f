#!/bin/sh
# Sets up and runs the whole test suite: Debian packages, a -Werror build
# with every test, the same suite again under ASan+UBSan, and bounded
# libFuzzer runs of every codec.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/setup-deps.sh

run_suite() { # build-dir, extra cmake args...
    dir=$1
    shift
    cmake -S . -B "$dir" -DACCESSGW_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$(nproc)"
    (cd "$dir" && ctest --output-on-failure -j2)
}

echo "== build and test =="
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo

echo "== the same tests under AddressSanitizer + UndefinedBehaviorSanitizer =="
# umockdev's preload library must come before the ASan runtime: see tests/README.md
ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
LSAN_OPTIONS=suppressions=$top/tests/lsan.supp \
    run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DACCESSGW_SANITIZE=ON

echo "== fuzzing (bounded runs) =="
scripts/fuzz.sh
