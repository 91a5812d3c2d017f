#!/bin/sh
# A technician's route: install the SDK, build the skeleton plugin outside
# the tree with nothing but pkg-config, and have accessgwd accept it.
set -eu
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DESTDIR="$tmp/root" cmake --install "$build" >/dev/null
pc=$(find "$tmp/root" -name accessgw.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: accessgw.pc not installed"; exit 1; }
# relocatable: the .pc finds its prefix from where it lies, no sysroot needed
export PKG_CONFIG_PATH="$(dirname "$pc")"
case $(pkg-config --variable=plugindir accessgw) in
    "$tmp/root/"*) ;;
    *) echo "FAIL: plugindir $(pkg-config --variable=plugindir accessgw) is not under the install root"; exit 1 ;;
esac
mkdir -p "$tmp/plugins"
cp "$src/plugins/skeleton/skeleton.c" "$tmp/my-plugin.c"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden \
   $(pkg-config --cflags accessgw) "$tmp/my-plugin.c" -o "$tmp/plugins/skeleton.so" \
   $(pkg-config --libs accessgw)
cat > "$tmp/gw.ini" <<INI
[gateway]
id = sdk-test
plugin_dir = $tmp/plugins
state_dir = $tmp/state
[device counter-1]
plugin = skeleton
transport = none
interval_ms = 100
INI
out=$("$build/gateway/accessgwd" --check-config "$tmp/gw.ini")
echo "$out"
case "$out" in
  *"OK (1 device(s), 1 plugin(s))"*) echo "PASS: out-of-tree plugin accepted" ;;
  *) echo "FAIL: $out"; exit 1 ;;
esac
# the same with plain make and with CMake, as docs/PLUGINS.md shows them
mkdir -p "$tmp/make" "$tmp/cmake/build"
cp "$src/plugins/skeleton/skeleton.c" "$tmp/make/my-plugin.c"
cp "$src/plugins/skeleton/skeleton.c" "$tmp/cmake/my-plugin.c"
printf '%s\n' 'CFLAGS += -shared -fPIC -fvisibility=hidden $(shell pkg-config --cflags accessgw)' \
    'my-plugin.so: my-plugin.c ; $(CC) $(CFLAGS) $< $(shell pkg-config --libs jansson) -o $@' \
    > "$tmp/make/Makefile"
make -s -C "$tmp/make" my-plugin.so
cat > "$tmp/cmake/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(my_plugin C)
find_package(PkgConfig REQUIRED)
pkg_check_modules(ACCESSGW REQUIRED IMPORTED_TARGET accessgw)
add_library(my-plugin MODULE my-plugin.c)
set_target_properties(my-plugin PROPERTIES PREFIX "" C_VISIBILITY_PRESET hidden)
target_link_libraries(my-plugin PRIVATE PkgConfig::ACCESSGW)
CMAKE
cmake -S "$tmp/cmake" -B "$tmp/cmake/build" >/dev/null && cmake --build "$tmp/cmake/build" >/dev/null
for so in "$tmp/make/my-plugin.so" "$tmp/cmake/build/my-plugin.so"; do
    nm -D --defined-only "$so" | grep -q ' agw_plugin$' || { echo "FAIL: $so exports no agw_plugin"; exit 1; }
done
echo "PASS: built with make and with CMake"
# ... and its own tests pass there, on the installed testkit alone: nothing of the
# source tree is on their path (the gateway run is the build's, as one installed would be)
mkdir -p "$tmp/my-plugin"
cp -r "$src/plugins/skeleton/tests" "$tmp/my-plugin/tests"
testkit=$(pkg-config --variable=testkitdir accessgw)
[ -f "$testkit/agwtest.py" ] || { echo "FAIL: no testkit at $testkit"; exit 1; }
cd "$tmp/my-plugin"
env -u ACCESSGW_SOURCE -u ACCESSGW_BUILD -u PYTHONPATH ACCESSGWD="$build/gateway/accessgwd" \
    ACCESSGW_PLUGIN_DIR="$tmp/plugins" PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/test_skeleton.py
echo "PASS: the skeleton's own tests pass out of tree on the installed testkit"
