#!/bin/sh
# Installs every Debian 12 package accessgw needs to build, test and run the demo.
# Idempotent: packages already present are left alone.
set -eu
PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev scdoc man-db
libzmq3-dev libusb-1.0-0-dev libudev-dev libsystemd-dev
libjansson-dev libcmocka-dev
python3 python3-pytest python3-zmq python3-dbus python3-gi python3-jsonschema dbus
umockdev gir1.2-umockdev-1.0 udev
dpkg-dev debhelper lintian systemd-container debootstrap
zlib1g-dev libsodium-dev libmosquitto-dev mosquitto mosquitto-clients python3-paho-mqtt
libmicrohttpd-dev libseccomp-dev libpcsclite-dev pcscd vsmartcard-vpcd libespeak-ng-dev libasound2-dev chromium chromium-driver python3-selenium fonts-wqy-microhei"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "setup-deps: all packages present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "setup-deps: missing packages:$missing (run as root to install them)" >&2
    exit 1
fi
echo "setup-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
