#!/bin/sh
# Sets up and runs the whole test suite: Debian packages, a -Werror build
# with every test (the .deb built, lintian-checked, installed and run as a
# service in a booted Debian 12 container among them), the same suite again
# under ASan+UBSan (without the package test), and bounded libFuzzer runs of
# every codec.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/setup-deps.sh

run_suite() { # build-dir, ctest args, extra cmake args...
    dir=$1 ctest_args=$2
    shift 2
    cmake -S . -B "$dir" -DACCESSGW_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$(nproc)"
    # shellcheck disable=SC2086
    (cd "$dir" && ctest --output-on-failure -j2 $ctest_args)
}

echo "== build and test (with the Debian package booted in a Debian 12 container) =="
run_suite build "" -DCMAKE_BUILD_TYPE=RelWithDebInfo

echo "== the same tests under AddressSanitizer + UndefinedBehaviorSanitizer =="
# umockdev's preload library must come before the ASan runtime: see tests/README.md
ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
LSAN_OPTIONS=suppressions=$top/tests/lsan.supp \
    run_suite build-asan "-LE package|bench" -DCMAKE_BUILD_TYPE=Debug -DACCESSGW_SANITIZE=ON

echo "== fuzzing (bounded runs) =="
scripts/fuzz.sh
