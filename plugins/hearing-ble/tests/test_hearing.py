"""hearing-ble end to end: a mock org.bluez with a hearing aid
(tests/emulators/mock_bluez.py, which behaves as bluetoothd does: see its
docstring for the BlueZ sources it follows) on a private dbus-daemon, the
gateway's real sd-bus BlueZ transport, pyzmq subscribers."""
import time

import pytest

from agwtest import MOCK_BLUEZ_ADDRESS as ADDRESS
from agwtest import Gateway, MockBluez, Subscriber, validate_event


@pytest.fixture
def rig(tmp_path, request):
    bluez = MockBluez(tmp_path, *getattr(request, "param", ()))
    gw = Gateway(tmp_path, "[device aid-1]\nplugin = hearing-ble\ntransport = bluez\n"
                 "address = %s\nbattery_low = 25\nlocation = Hearing zone\n" % ADDRESS,
                 env=bluez.env)
    sub = Subscriber(gw.events, ["hearing/", "device/"])
    gw.start()
    sub.catch_up(gw)
    yield bluez, gw, sub
    sub.close()
    gw.stop()
    bluez.close()


def status_with_presets(sub):
    return sub.wait_for(lambda t, e: t == "hearing/aid-1/status" and e["data"]["presets"])[1]


# Which bluetoothd: BAS claimed by its battery plugin (5.48-5.54, 5.80+ with
# ExportClaimedServices=no), exported beside Battery1 (5.55-5.79, Debian 12),
# or no battery plugin at all (bluetoothd -P battery).
BATTERY_MODES = [("--battery", "claimed"), ("--battery", "shared"), ("--battery", "gatt-only")]


@pytest.mark.parametrize("rig", BATTERY_MODES, indirect=True, ids=lambda m: m[1])
def test_connect_status_preset_volume_battery(rig):
    bluez, gw, sub = rig
    st = status_with_presets(sub)
    sub.collect(0.3)
    # our own reads are echoed by BlueZ as Value changes: not news, no events
    assert not [t for t, e in sub.seen if t.endswith(("/preset-changed", "/volume-changed"))]
    validate_event("hearing/aid-1/status", st)
    d = st["data"]
    assert d["connected"] is True and d["type"] == "monaural" and d["battery_pct"] == 80
    assert d["name"] == "Demo Hearing Aid"
    assert d["asha"] == {"side": "right", "binaural": True}
    assert [p["name"] for p in d["presets"]] == ["Universal", "Hall loop", "Quiet"]
    assert d["active_preset"] == {"index": 1, "name": "Universal"}
    assert d["volume"] == 100 and d["mute"] is False and d["location"] == "Hearing zone"
    attached = [e for t, e in sub.seen if t == "device/aid-1/attached"][0]
    assert "path" not in attached["data"] and ADDRESS not in str(sub.seen)  # no address anywhere
    # the hall programme, with one command
    r = gw.send("aid-1", "hearing.set_preset", {"index": 2})
    assert r["ok"], r
    pc = sub.wait_topic("hearing/aid-1/preset-changed")
    validate_event("hearing/aid-1/preset-changed", pc)
    assert pc["data"]["active_preset"] == {"index": 2, "name": "Hall loop"}
    assert pc["data"]["previous_index"] == 1
    r = gw.send("aid-1", "hearing.set_volume", {"volume": 180})
    assert r["ok"], r
    vc = sub.wait_topic("hearing/aid-1/volume-changed")
    validate_event("hearing/aid-1/volume-changed", vc)
    assert vc["data"]["volume"] == 180 and vc["data"]["mute"] is False
    assert gw.send("aid-1", "hearing.mute")["ok"]
    assert sub.wait_topic("hearing/aid-1/volume-changed")["data"]["mute"] is True
    bluez.do("bump-counter")  # someone else changed the volume: the counter is stale
    assert gw.send("aid-1", "hearing.set_volume", {"volume": 90})["ok"]  # re-read, retried once
    assert sub.wait_topic("hearing/aid-1/volume-changed")["data"]["volume"] == 90
    assert gw.send("aid-1", "hearing.next_preset")["ok"]
    assert sub.wait_topic("hearing/aid-1/preset-changed")["data"]["active_preset"]["index"] == 3
    bluez.do("battery 20")
    low = sub.wait_topic("hearing/aid-1/battery-low")
    validate_event("hearing/aid-1/battery-low", low)
    assert low["data"] == {"battery_pct": 20, "threshold": 25, "location": "Hearing zone"}
    # one level, one way: never twice when BlueZ has it both as Battery1 and GATT
    bluez.do("battery 10")
    deadline = time.monotonic() + 5
    while gw.send("aid-1", "hearing.status")["result"].get("battery_pct") != 10:
        assert time.monotonic() < deadline, "battery level 10 never arrived"
        time.sleep(0.05)
    sub.collect(0.3)
    assert len([t for t, e in sub.seen if t == "hearing/aid-1/battery-low"]) == 1


@pytest.mark.parametrize("rig", [("--experimental",)], indirect=True, ids=["vcs-claimed"])
def test_volume_control_claimed_by_bluetoothd(rig):
    """bluetoothd -E (5.66): its vcp plugin claims VCS, which D-Bus clients then
    cannot see: presets still work, volume is refused as unsupported."""
    bluez, gw, sub = rig
    d = status_with_presets(sub)["data"]
    assert "volume" not in d and d["battery_pct"] == 80
    r = gw.send("aid-1", "hearing.set_volume", {"volume": 90})
    assert r["ok"] is False and r["error"]["code"] == "unsupported"
    assert "Volume Control Service" in r["error"]["message"]
    assert gw.send("aid-1", "hearing.set_preset", {"index": 2})["ok"]


def test_battery_follows_battery1_across_reconnect(rig):
    """Battery1 goes at disconnect and comes back once connected again."""
    bluez, gw, sub = rig
    status_with_presets(sub)
    bluez.do("disconnect")
    sub.wait_for(lambda t, e: t == "device/aid-1/state" and e["data"]["state"] == "stale")
    bluez.do("battery 12")   # drained while away: nobody hears it until Battery1 is back
    bluez.do("connect")
    low = sub.wait_topic("hearing/aid-1/battery-low")
    assert low["data"]["battery_pct"] == 12


def test_device_errors_are_named(rig):
    bluez, gw, sub = rig
    status_with_presets(sub)
    r = gw.send("aid-1", "hearing.set_preset", {"index": 9})
    assert r["ok"] is False and r["error"]["code"] == "device_error"
    assert "preset_operation_not_possible" in r["error"]["message"]
    assert gw.send("aid-1", "hearing.set_volume", {"volume": 300})["error"]["code"] == "bad_args"


def test_disconnect_stale_reconnect(rig):
    bluez, gw, sub = rig
    status_with_presets(sub)
    bluez.do("disconnect")
    st = sub.wait_for(lambda t, e: t == "device/aid-1/state" and e["data"]["state"] == "stale")
    assert st[1]["data"]["reason"] == "disconnected"
    r = gw.send("aid-1", "hearing.set_preset", {"index": 2})
    assert r["ok"] is False and "not connected" in r["error"]["message"]
    bluez.do("connect")
    sub.wait_for(lambda t, e: t == "device/aid-1/state" and e["data"]["state"] == "up")
    assert status_with_presets(sub)["data"]["connected"] is True


def test_bluetoothd_restart(rig):
    bluez, gw, sub = rig
    status_with_presets(sub)
    bluez.do("restart")
    st = sub.wait_for(lambda t, e: t == "device/aid-1/state" and e["data"]["state"] == "stale")
    assert "bluetoothd went away" in st[1]["data"]["reason"]
    sub.wait_for(lambda t, e: t == "device/aid-1/state" and e["data"]["state"] == "up", 10)
    status_with_presets(sub)
    assert gw.send("aid-1", "hearing.set_preset", {"index": 2})["ok"]


def test_malformed_notifications(rig):
    bluez, gw, sub = rig
    status_with_presets(sub)
    bluez.do("garbage")
    errs = [sub.wait_topic("hearing/aid-1/error")["data"] for _ in range(2)]
    validate_event("hearing/aid-1/error", {"specversion": "1.0", "id": "x:1:1", "source": "accessgw://x",
                                          "type": "accessgw.hearing.error", "subject": "aid-1",
                                          "time": "2026-01-01T00:00:00.000000Z",
                                          "datacontenttype": "application/json", "epoch": 1, "seq": 1,
                                          "data": errs[0]})
    assert {e["characteristic"] for e in errs} == {"volume_state", "preset_control_point"}
    assert gw.request({"verb": "ping"})["ok"] and gw.proc.poll() is None


def test_bluetooth_hotplug_by_service_uuid(tmp_path):
    """No [device] section: BlueZ's device exposing HAS is found and attached,
    under an id that does not carry its address."""
    bluez = MockBluez(tmp_path)
    gw = Gateway(tmp_path, "", hotplug=True, env=bluez.env)
    sub = Subscriber(gw.events, ["hearing/", "device/"])
    gw.start()
    try:
        sub.catch_up(gw)
        t, att = sub.wait_for(lambda t, e: t.startswith("device/hearing-ble-") and t.endswith("/attached"))
        dev = t.split("/")[1]
        assert ADDRESS not in t and ADDRESS.replace(":", "_") not in dev
        assert att["data"]["hotplug"] is True and "path" not in att["data"]
        st = sub.wait_for(lambda t, e: t == "hearing/%s/status" % dev and e["data"]["presets"])[1]
        assert st["data"]["active_preset"]["name"] == "Universal"
        bluez.do("remove")
        assert sub.wait_topic("device/%s/detached" % dev)["data"]["reason"] == "unplugged"
    finally:
        sub.close()
        gw.stop()
        bluez.close()


def test_a_bluez_that_never_answers_does_not_hold_the_gateway(tmp_path):
    """Issue 26, item 1: on a hall PC without an adapter, asking org.bluez for its
    objects waited for D-Bus's 25 s timeout on accessgwd's loop: no ping, command,
    event or console for 25 s after every start.  With an org.bluez that takes
    every call and answers none, the gateway answers at once, says once that
    Bluetooth is unavailable and why, and attaches the hearing aid when a bluetoothd
    that answers takes the name."""
    import os
    import subprocess
    from agwtest import EMULATORS, PYTHON
    daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                              stdout=subprocess.PIPE, text=True)
    address = daemon.stdout.readline().strip()
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
    silent = subprocess.Popen([PYTHON, os.path.join(EMULATORS, "silent_bluez.py")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert silent.stdout.readline().strip() == "ok ready"
    gw = Gateway(tmp_path, "", hotplug=True, env=env)
    sub = Subscriber(gw.events, ["hearing/", "device/"])
    bluez = None
    try:
        began = time.monotonic()
        gw.start(wait=False)
        gw.wait_ready(timeout=10)
        assert time.monotonic() - began < 3, "the first ping waited for BlueZ"
        assert silent.stdout.readline().strip() == "call GetManagedObjects"
        # while the call is in flight, the loop answers every request at once
        for _ in range(6):
            t0 = time.monotonic()
            assert gw.request({"id": "p", "verb": "ping"}, timeout=1.0)["ok"] is True
            assert time.monotonic() - t0 < 1.0
            time.sleep(0.5)
        deadline = time.monotonic() + 10
        while "Bluetooth unavailable" not in gw.log_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        log = gw.log_text()
        assert log.count("Bluetooth unavailable") == 1, log[-2000:]
        assert "did not answer within 5 s" in log
        silent.stdin.close()
        silent.wait(5)
        bluez = MockBluez(tmp_path, bus=address)
        sub.catch_up(gw)
        t, _ = sub.wait_for(lambda t, e: t.startswith("device/hearing-ble-") and t.endswith("/attached"),
                            timeout=15)
        assert "Bluetooth available again" in gw.log_text()
    finally:
        sub.close()
        gw.stop()
        if bluez:
            bluez.close()
        if silent.poll() is None:
            silent.kill()
        daemon.terminate()
        daemon.wait(5)
