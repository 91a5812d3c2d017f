#!/bin/sh
# A bare Debian 12 with systemd as PID 1 (and Debian's mosquitto, the broker the
# uplink is tried against), for the package tests: built once with
# debootstrap (a few minutes) and kept in the build tree (DIR), reused after.
#   container_base.sh DIR
set -eu
dir=$1
[ -x "$dir/lib/systemd/systemd" ] && [ -f "$dir/.accessgw-base-ok-2" ] && { echo "container base: $dir (cached)"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "container_base.sh: needs root (debootstrap, chroot)" >&2; exit 2; }
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
echo "container base: debootstrap bookworm from $mirror into $dir"
debootstrap --variant=minbase bookworm "$dir" "$mirror" > "$dir.log" 2>&1 || {
    tail -20 "$dir.log" >&2; exit 1; }
cp /etc/apt/sources.list.d/debian.sources "$dir/etc/apt/sources.list.d/" 2>/dev/null || true
cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
chroot "$dir" sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -q &&
    apt-get install -y -q --no-install-recommends systemd systemd-sysv dbus udev adduser \
        mosquitto mosquitto-clients' \
    >> "$dir.log" 2>&1 || { tail -20 "$dir.log" >&2; exit 1; }
# no console login, no getty: the tests enter with nsenter
chroot "$dir" systemctl mask console-getty.service getty@tty1.service systemd-logind.service >/dev/null 2>&1 || true
touch "$dir/.accessgw-base-ok-2" # -2: with a broker for the uplink
echo "container base: ready"
