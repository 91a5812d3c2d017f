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
