#!/bin/sh
# Sets up everything (Debian packages, build) and runs the demo hall: the
# gateway with emulated devices, its events printed live.  Ctrl-C stops it;
# DEMO_SECONDS=N stops it after N seconds; DEMO_UPLINK=1 also joins the hall to
# a local Mosquitto through accessgw-uplink, as a county platform would see it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
scripts/setup-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
dir=${DEMO_DIR:-/tmp/accessgw-demo}
rm -rf "$dir"
mkdir -p "$dir"
ctl="$top/build/gateway/accessgwctl"
"$ctl" keygen "$dir/gateway" >/dev/null
"$ctl" keygen "$dir/demo-app" >/dev/null
# authorized_keys holds Z85 public keys: the one in the app's certificate
sed -n 's/^ *public-key = "\(.*\)"$/\1 demo-app/p' "$dir/demo-app.pub" > "$dir/authorized_keys"
web_port=${DEMO_WEB_PORT:-8080}
# the bearer token the console's staff type in to acknowledge calls
(umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' > "$dir/web.token")
# Window 3's own system: its token, and its page served from an origin of its own
win_port=${DEMO_WINDOW_PORT:-8090}
(umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' > "$dir/window-3.token")
sed -e "s|@DIR@|$dir|g" -e "s|@BUILD@|$top/build|g" -e "s|@WEBPORT@|$web_port|g" \
    -e "s|@WINPORT@|$win_port|g" demo/hall.ini.in > "$dir/hall.ini"
mqtt_port=${DEMO_MQTT_PORT:-18830}
if [ -n "${DEMO_UPLINK:-}" ]; then
    printf '\n[uplink]\nbroker = mqtt://127.0.0.1:%s\ncommands = callbell.ack evaluation.invite ping\n' \
        "$mqtt_port" >> "$dir/hall.ini"
fi

pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    pkill -f "accessgwd --config $dir/hall.ini" 2>/dev/null || true
    pkill -f "accessgw-uplink --config $dir/hall.ini" 2>/dev/null || true
    pkill -P $$ 2>/dev/null || true  # the emulators' feeding loops
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

/usr/bin/python3 tests/emulators/sam_reader.py --link "$dir/ttySAM" --cycle 6 &
pids="$pids $!"
# Window 3's caller speaks through ALSA into a file of the demo (no speakers needed):
# ALSA_CONFIG_PATH adds a "demo_speaker" PCM to the system's configuration
printf '</usr/share/alsa/alsa.conf>\npcm.demo_speaker {\n    type file\n    slave.pcm "null"\n    file "%s/speaker.raw"\n    format "raw"\n}\n' \
    "$dir" > "$dir/alsa.conf"
export ALSA_CONFIG_PATH="$dir/alsa.conf"
# A real pcscd (in a mount namespace of its own, so a system pcscd is left alone) with a
# virtual PC/SC reader, where a 社保卡 is inserted and taken out every 10 s.
/usr/bin/python3 tests/emulators/pcscd_rig.py "$dir" > "$dir/pcscd.out" &
pids="$pids $!"
while [ "$(wc -l < "$dir/pcscd.out")" -lt 2 ]; do sleep 0.1; done
export PCSCLITE_CSOCK_NAME="$(sed -n 1p "$dir/pcscd.out")"
/usr/bin/python3 tests/emulators/sscard_vicc.py --port "$(sed -n 2p "$dir/pcscd.out")" --cycle 10 &
pids="$pids $!"
/usr/bin/python3 -m http.server --bind 127.0.0.1 "$win_port" --directory "$top/demo/window" \
    >/dev/null 2>&1 &
pids="$pids $!"
/usr/bin/python3 tests/emulators/rf_receiver.py --link "$dir/ttyRF" --format rfbridge --every 25 &
pids="$pids $!"
/usr/bin/python3 tests/emulators/pad_bus.py --link "$dir/ttyPAD" --every 11 &
pids="$pids $!"
# A private D-Bus with a mock BlueZ and its hearing aid: the gateway's "system bus".
dbus-daemon --session --nofork --print-address=3 3>"$dir/dbus.address" >/dev/null &
pids="$pids $!"
while [ ! -s "$dir/dbus.address" ]; do sleep 0.1; done
export DBUS_SYSTEM_BUS_ADDRESS="$(head -n 1 "$dir/dbus.address")"
bluez_script() { # the wearer's battery drains a little (stops when the mock is gone)
    pct=30
    while sleep 10; do
        pct=$((pct > 5 ? pct - 4 : 30))
        echo "battery $pct" || return
    done
}
bluez_script | /usr/bin/python3 tests/emulators/mock_bluez.py >/dev/null &
pids="$pids $!"
sleep 0.5
# The gateway runs inside a umockdev testbed (emulated /dev and /sys), where a
# magnifier keypad is plugged in and its zoom key pressed now and then.
# the QR code a visitor shows at Window 3 (an appointment), as its scanner types it
scan_hex=$(/usr/bin/python3 -c 'import sys; sys.path.insert(0, "tests/emulators"); import wedge
print(wedge.typed("]Q1https://example.gov.cn/yuyue?no=A012&win=3").hex())')
keypad_script() {
    sleep 2
    echo "add keypad 1209 a11e"
    echo "add-input scanner 1209 5ca1"
    n=0
    while sleep 8; do
        echo "report keypad 0101000000000000"
        echo "report keypad 0100000000000000"
        n=$((n + 1))
        [ $((n % 2)) -eq 0 ] && echo "keys scanner $scan_hex"
    done
}
keypad_script | TMPDIR="$dir" ACCESSGW_PROFILE_PATH="$top/plugins/magnifier-hid/profiles:$top/plugins/evalpad/profiles" \
    umockdev-wrapper /usr/bin/python3 tests/emulators/hid_testbed.py -- \
    build/gateway/accessgwd --config "$dir/hall.ini" >/dev/null 2>"$dir/gateway.log" &
pids="$pids $!"
if [ -n "${DEMO_UPLINK:-}" ]; then
    printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$mqtt_port" > "$dir/mosquitto.conf"
    mosquitto -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
    pids="$pids $!"
    sleep 0.5
    mosquitto_sub -p "$mqtt_port" -v -t 'accessgw/#' >"$dir/mqtt.log" 2>&1 &
    pids="$pids $!"
    build/gateway/accessgw-uplink --config "$dir/hall.ini" 2>"$dir/uplink.log" &
    pids="$pids $!"
fi
invitations() { # the window software at Window 3 asks for a rating every 20 s
    n=1
    while sleep 20; do
        "$ctl" send pad-3 evaluation.invite "{\"session\":\"Q-$n\",\"staff\":\"S-01\",\"timeout_s\":15}" >/dev/null 2>&1 || true
        n=$((n + 1))
    done
}
invitations >/dev/null &
pids="$pids $!"
calls() { # the queue system calls a ticket to Window 3 every 15 s
    n=1
    while sleep 15; do
        "$ctl" send caller-3 announce.call "{\"ticket\":\"A$(printf %03d $n)\",\"window\":\"3号窗口\"}" >/dev/null 2>&1 || true
        n=$((n + 1))
    done
}
calls >/dev/null &
pids="$pids $!"

cat <<MSG
accessgw demo hall: gateway log in $dir/gateway.log, config $dir/hall.ini
An emulated ID-card reader at Window 3 gets a card every few seconds, its 社保卡 reader (a real
pcscd) a social security card every 20 s, and its code scanner a QR code every 16 s; an emulated
emergency button (Accessible toilet 2F) is pressed every 25 s and repeats until acknowledged;
Window 3 invites a satisfaction rating every 20 s and two pads are pressed now and then; a
magnifier keypad's zoom key is pressed every 8 s; a hearing aid is connected (mock BlueZ).
The staff console: http://127.0.0.1:$web_port/  (staff name: anything; token: $(cat "$dir/web.token"))
The visitor display by the seats of Window 3 (a ticket is called every 15 s, spoken in
Mandarin into $dir/speaker.raw: aplay -f S16_LE -r 22050 -c 1 $dir/speaker.raw):
  http://127.0.0.1:$web_port/display?location=3%E5%8F%B7%E7%AA%97%E5%8F%A3   (3号窗口)
Window 3's own page, filled from the card read there (the console stays masked):
  http://127.0.0.1:$win_port/?gateway=http://127.0.0.1:$web_port  (token: $(cat "$dir/window-3.token"))
Public events follow (personal data masked).  In another terminal try:
  $ctl devices
  $ctl watch --private --key $dir/demo-app idcard/     (the full record, CURVE only)
  $ctl send reader-1 idcard.read
  $ctl send sscard-3 sscard.read
  $ctl send caller-3 announce.call '{"ticket":"B105","window":"3号窗口"}'
  $ctl watch --private --key $dir/demo-app scanner/   (a scanned code in full, CURVE only)
  $ctl send bell-1 callbell.open
  $ctl send bell-1 callbell.ack '{"call_id":"<from the pressed event>","by":"staff-1"}'
  $ctl send pad-4 evaluation.invite '{"session":"Q-100","timeout_s":60}'
  $ctl send magnifier-hid-sn0000 magnifier.set_zoom '{"level":4}'
  $ctl send aid-1 hearing.set_preset '{"index":2}'
MSG
if [ -n "${DEMO_UPLINK:-}" ]; then
    cat <<MSG
The uplink forwards every public event to Mosquitto on 127.0.0.1:$mqtt_port (log in
$dir/uplink.log); what a platform receives is in $dir/mqtt.log:
  tail -f $dir/mqtt.log
  mosquitto_rr -p $mqtt_port -V 5 -t accessgw/demo-hall/control -e reply/1 -m '{"id":"1","verb":"ping"}'
MSG
fi
if [ -n "${DEMO_SECONDS:-}" ]; then
    timeout "$DEMO_SECONDS" "$ctl" watch --since 0 idcard/ sscard/ scanner/ announce/ callbell/ evaluation/ magnifier/ hearing/ device/ || true
else
    "$ctl" watch --since 0 idcard/ sscard/ scanner/ announce/ callbell/ evaluation/ magnifier/ hearing/ device/
fi
