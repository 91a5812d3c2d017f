"""callbell-rf end to end: emulated receivers on a pty, the real gateway,
pyzmq subscribers.  No emergency press may disappear before it is acknowledged."""
import json
import os
import signal
import time

import pytest

from agwtest import Gateway, Subscriber, validate_event
from rf_receiver import RfReceiver

TOILET = 0xA1B2C5     # emergency, Accessible toilet 2F
DESK = 0x0ABCD2       # service, Help desk
CANCEL = 0xA1B2C7     # cancel, Accessible toilet 2F
STRANGER = 0x123456


def bell_config(link, fmt, extra=""):
    return ("[device bell-1]\nplugin = callbell-rf\ntransport = serial\npath = %s\nbaud = %d\n"
            "format = %s\nlocation = Zone A\nrepeat_s = 1\nescalate_s = 3\ndedup_ms = 1000\n"
            "button.A1B2C5 = emergency, Accessible toilet 2F\n"
            "button.0ABCD2 = service, Help desk\n"
            "button.A1B2C7 = cancel, Accessible toilet 2F\n%s"
            % (link, 19200 if fmt == "rfbridge" else 9600, fmt, extra))


def start(tmp_path, fmt="rfbridge", extra=""):
    rx = RfReceiver(str(tmp_path / "ttyRF"), fmt).start()
    gw = Gateway(tmp_path, bell_config(rx.link, fmt, extra))
    sub = Subscriber(gw.events, ["callbell/", "device/bell-1/"])
    gw.start()
    sub.catch_up(gw)
    sub.wait_for(lambda t, e: t == "device/bell-1/state" and e["data"]["state"] == "up")
    return rx, gw, sub


def calls(sub, topic, seconds):
    return [e for t, e in sub.collect(seconds) if t == topic]


@pytest.fixture
def rig(tmp_path):
    rx, gw, sub = start(tmp_path)
    yield rx, gw, sub
    sub.close()
    gw.stop()
    rx.stop()


def test_press_repeat_until_ack(rig):
    rx, gw, sub = rig
    rx.press(TOILET, repeats=4)
    first = sub.wait_topic("callbell/bell-1/pressed")
    validate_event("callbell/bell-1/pressed", first)
    d = first["data"]
    assert d["code"] == "A1B2C5" and d["address"] == "A1B2C" and d["key"] == 5
    assert d["kind"] == "emergency" and d["location"] == "Accessible toilet 2F"
    assert d["repeat"] == 0 and "reason" not in d
    assert rx.received.count(b"\xaa\xa0\x55") >= 4  # every RF frame acknowledged to the bridge
    again = sub.wait_topic("callbell/bell-1/pressed", 3)  # re-published, same call
    assert again["data"]["call_id"] == d["call_id"] and again["data"]["repeat"] == 1
    assert again["data"]["reason"] == "not_acknowledged"
    open_calls = gw.send("bell-1", "callbell.open")["result"]["calls"]
    assert [c["call_id"] for c in open_calls] == [d["call_id"]]
    reply = gw.send("bell-1", "callbell.ack", {"call_id": d["call_id"], "by": "staff-07"})
    assert reply["ok"], reply
    ack = sub.wait_topic("callbell/bell-1/acknowledged")
    validate_event("callbell/bell-1/acknowledged", ack)
    assert ack["data"]["call_id"] == d["call_id"] and ack["data"]["by"] == "staff-07"
    assert ack["data"]["after_ms"] >= 1000
    assert calls(sub, "callbell/bell-1/pressed", 2.0) == []  # no repeats after the ack
    assert gw.send("bell-1", "callbell.open")["result"]["calls"] == []


def test_one_press_despite_repeats(rig):
    rx, gw, sub = rig
    rx.press(DESK, repeats=6, gap_s=0.1)
    pressed = calls(sub, "callbell/bell-1/pressed", 1.5)
    new = [e for e in pressed if e["data"]["repeat"] == 0]
    assert len(new) == 1 and new[0]["data"]["kind"] == "service"
    # anything else is the same call re-published because nobody acknowledged it
    assert {e["data"]["call_id"] for e in pressed} == {new[0]["data"]["call_id"]}


def test_emergency_escalates_service_does_not(rig):
    rx, gw, sub = rig
    rx.press(TOILET)
    rx.press(DESK)
    esc = sub.wait_topic("callbell/bell-1/escalated", 6)
    validate_event("callbell/bell-1/escalated", esc)
    assert esc["data"]["kind"] == "emergency" and esc["data"]["after_ms"] >= 3000
    assert [e for e in calls(sub, "callbell/bell-1/escalated", 1.5)] == []  # once, and not the service call
    assert len(gw.send("bell-1", "callbell.open")["result"]["calls"]) == 2  # escalated calls stay open


def test_cancel_button_closes_calls_at_its_location(rig):
    rx, gw, sub = rig
    rx.press(TOILET)
    call_id = sub.wait_topic("callbell/bell-1/pressed")["data"]["call_id"]
    rx.press(CANCEL)
    c = sub.wait_topic("callbell/bell-1/cancelled")
    validate_event("callbell/bell-1/cancelled", c)
    assert c["data"]["call_id"] == call_id and c["data"]["by"] == "cancel_button"
    assert gw.send("bell-1", "callbell.open")["result"]["calls"] == []


def test_ack_errors(rig):
    rx, gw, sub = rig
    r = gw.send("bell-1", "callbell.ack", {"call_id": "nope", "by": "x"})
    assert r["ok"] is False and r["error"]["code"] == "bad_args"
    r = gw.send("bell-1", "callbell.ack", {"call_id": "x"})
    assert r["ok"] is False and r["error"]["code"] == "bad_args"
    r = gw.send("bell-1", "callbell.learn", {"kind": "party", "location": "x"})
    assert r["ok"] is False and r["error"]["code"] == "bad_args"


def test_garbage_and_split_frames(rig):
    rx, gw, sub = rig
    frame = rx.frame(DESK)
    rx.write(b"\x00\x17\xaa")  # noise, and a lone AA
    for b in frame:  # one byte at a time
        rx.write(bytes([b]))
        time.sleep(0.002)
    assert sub.wait_topic("callbell/bell-1/pressed")["data"]["code"] == "0ABCD2"


def test_unknown_then_learn_survives_restart(tmp_path):
    rx, gw, sub = start(tmp_path)
    try:
        rx.press(STRANGER)
        unk = sub.wait_topic("callbell/bell-1/unknown")
        validate_event("callbell/bell-1/unknown", unk)
        assert unk["data"]["code"] == "123456"
        r = gw.send("bell-1", "callbell.learn", {"kind": "service", "location": "Window 9"})
        assert r["ok"] and r["result"]["learning"] is True
        time.sleep(1.1)  # past dedup
        rx.press(STRANGER)
        learned = sub.wait_topic("callbell/bell-1/learned")
        validate_event("callbell/bell-1/learned", learned)
        assert learned["data"]["location"] == "Window 9"
        time.sleep(1.1)
        rx.press(STRANGER)
        p = sub.wait_topic("callbell/bell-1/pressed")["data"]
        assert p["location"] == "Window 9" and p["kind"] == "service"
        gw.send("bell-1", "callbell.ack", {"call_id": p["call_id"], "by": "t"})
    finally:
        sub.close()
        gw.stop()
    sub = Subscriber(gw.events, ["callbell/"])
    gw.start()
    try:
        time.sleep(0.5)
        rx.press(STRANGER)
        p = sub.wait_topic("callbell/bell-1/pressed")["data"]
        assert p["location"] == "Window 9"  # learned, and persisted
    finally:
        sub.close()
        gw.stop()
        rx.stop()


def test_crash_with_open_call_is_republished_after_restart(tmp_path):
    rx, gw, sub = start(tmp_path, fmt="fd-df")
    rx.press(TOILET)
    call_id = sub.wait_topic("callbell/bell-1/pressed")["data"]["call_id"]
    gw.proc.send_signal(signal.SIGKILL)  # a crash: no clean shutdown
    gw.proc.wait()
    sub.close()
    state = [f for f in os.listdir(gw.state_dir) if f.startswith("callbell-rf.")]
    assert state, "no durable state was written"
    sub = Subscriber(gw.events, ["callbell/"])
    gw.start()
    sub.catch_up(gw)
    try:
        again = sub.wait_topic("callbell/bell-1/pressed")
        assert again["data"]["call_id"] == call_id
        assert again["data"]["reason"] == "restored_after_restart"
        assert again["epoch"] == 2
        r = gw.send("bell-1", "callbell.ack", {"call_id": call_id, "by": "night-guard"})
        assert r["ok"], r
        assert sub.wait_topic("callbell/bell-1/acknowledged")["data"]["by"] == "night-guard"
    finally:
        sub.close()
        gw.stop()
        rx.stop()
    with open(os.path.join(gw.state_dir, state[0])) as f:
        assert json.load(f)["calls"] == []


def test_subscriber_down_during_press_gets_it_by_replay(rig):
    rx, gw, sub = rig
    sub.close()
    rx.press(TOILET)
    time.sleep(0.5)
    late = Subscriber(gw.events, ["callbell/"])
    try:
        late.catch_up(gw)
        p = late.wait_topic("callbell/bell-1/pressed", 2)
        assert p["data"]["code"] == "A1B2C5" and p["data"]["repeat"] == 0
    finally:
        late.close()


def test_bad_button_line_is_a_clear_device_error(tmp_path):
    rx = RfReceiver(str(tmp_path / "ttyRF")).start()
    gw = Gateway(tmp_path, bell_config(rx.link, "fd-df", "button.XYZ = panic, Somewhere\n"))
    sub = Subscriber(gw.events, ["device/"])
    gw.start()
    sub.catch_up(gw)
    try:
        st = sub.wait_for(lambda t, e: t == "device/bell-1/state" and e["data"]["state"] == "error")
        assert "button.XYZ: the code must be 6 hex digits" in st[1]["data"]["reason"]
        assert gw.proc.poll() is None
    finally:
        sub.close()
        gw.stop()
        rx.stop()


def test_reload_keeps_open_calls_and_their_durability(tmp_path):
    """SIGHUP re-opens a receiver whose section changed: its open calls come back, a call
    pressed after the reload is saved where it should be and survives a kill -9."""
    rx, gw, sub = start(tmp_path, fmt="fd-df")
    try:
        rx.press(TOILET)
        first = sub.wait_topic("callbell/bell-1/pressed")["data"]["call_id"]
        gw.write_config(bell_config(rx.link, "fd-df").replace("Zone A", "Zone B"))
        gw.signal(signal.SIGHUP)
        again = sub.wait_for(lambda t, e: t == "callbell/bell-1/pressed" and
                             e["data"].get("reason") == "restored_after_restart")[1]
        assert again["data"]["call_id"] == first
        rx.press(DESK)
        second = sub.wait_for(lambda t, e: t == "callbell/bell-1/pressed" and
                              e["data"]["kind"] == "service")[1]["data"]["call_id"]
        assert "cannot save its state" not in gw.log_text(), gw.log_text()
        gw.proc.send_signal(signal.SIGKILL)
        gw.proc.wait()
        sub.close()
        sub = Subscriber(gw.events, ["callbell/"])
        gw.start()
        sub.catch_up(gw)
        restored = {e["data"]["call_id"] for t, e in sub.collect(2.0) if t == "callbell/bell-1/pressed"}
        assert {first, second} <= restored, restored
    finally:
        sub.close()
        gw.stop()
        rx.stop()


def test_unwritable_state_dir_degrades_but_calls_still_work(tmp_path):
    """A state_dir that cannot be written (here: under a regular file) no longer stops the
    start: the gateway says gateway/<id>/degraded, and an emergency press is published."""
    rx = RfReceiver(str(tmp_path / "ttyRF"), "fd-df").start()
    (tmp_path / "not-a-dir").write_text("")
    gw = Gateway(tmp_path, bell_config(rx.link, "fd-df"))
    gw.state_dir = str(tmp_path / "not-a-dir" / "state")
    gw.write_config(bell_config(rx.link, "fd-df"))
    sub = Subscriber(gw.events, ["callbell/", "gateway/"])
    gw.start()
    try:
        sub.catch_up(gw)
        degraded = sub.wait_topic("gateway/hall-1/degraded")
        validate_event("gateway/hall-1/degraded", degraded)
        assert "not-a-dir/state" in degraded["data"]["reason"]
        assert degraded["epoch"] > 1700000000  # from the clock: never reused while degraded
        rx.press(TOILET)
        assert sub.wait_topic("callbell/bell-1/pressed")["data"]["kind"] == "emergency"
    finally:
        sub.close()
        gw.stop()
        rx.stop()


def test_a_state_file_that_is_a_directory_is_reported(tmp_path):
    rx, gw, sub = start(tmp_path, fmt="fd-df")
    gwsub = Subscriber(gw.events, ["gateway/hall-1/degraded"])
    try:
        os.mkdir(os.path.join(gw.state_dir, "callbell-rf.bell-1.json"))
        time.sleep(0.3)
        rx.press(TOILET)
        assert sub.wait_topic("callbell/bell-1/pressed")["data"]["kind"] == "emergency"
        degraded = gwsub.wait_topic("gateway/hall-1/degraded")
        assert "callbell-rf.bell-1.json" in degraded["data"]["reason"]
    finally:
        gwsub.close()
        sub.close()
        gw.stop()
        rx.stop()


def test_device_garbage_does_not_flood_the_log(tmp_path):
    """A receiver sending nothing but noise: warnings are rate-limited per call site, the
    rest counted and said; a real press still gets through."""
    rx, gw, sub = start(tmp_path, fmt="fd-df")
    try:
        noise = bytes((i * 37 + 11) % 251 for i in range(4096)).replace(b"\xfd", b"\x00")
        for _ in range(40):  # 160 KiB of noise
            rx.write(noise)
        time.sleep(1.0)
        rx.press(TOILET)
        assert sub.wait_topic("callbell/bell-1/pressed")["data"]["kind"] == "emergency"
        log = gw.log_text()
        noise_lines = [l for l in log.splitlines() if "receiver stream at byte" in l]
        assert 1 <= len(noise_lines) <= 20, len(noise_lines)
    finally:
        sub.close()
        gw.stop()
        rx.stop()
    assert "were suppressed in 10 s" in gw.log_text() or len(noise_lines) < 20


def test_damaged_state_entries_are_said_and_the_rest_kept(tmp_path):
    """A state file edited or half-damaged: the usable calls come back, each unusable
    entry is named in the log (which file, which entry), nothing is silently lost; a
    state file that is valid JSON but not an object is kept aside, not overwritten."""
    rx, gw, sub = start(tmp_path, fmt="fd-df")
    rx.press(TOILET)
    good = sub.wait_topic("callbell/bell-1/pressed")["data"]
    gw.proc.send_signal(signal.SIGKILL)
    gw.proc.wait()
    sub.close()
    path = os.path.join(gw.state_dir, "callbell-rf.bell-1.json")
    with open(path) as f:
        state = json.load(f)
    state["calls"].insert(0, {"call_id": 42, "code": "A1B2C5", "kind": "emergency"})
    state["learned"]["NOTHEX"] = {"kind": "service", "location": "x"}
    with open(path, "w") as f:
        json.dump(state, f)
    sub = Subscriber(gw.events, ["callbell/"])
    gw.start()
    sub.catch_up(gw)
    try:
        again = sub.wait_topic("callbell/bell-1/pressed")["data"]
        assert again["call_id"] == good["call_id"]
        log = gw.log_text()
        assert "state restored from %s" % path in log
        assert "state file entry calls[0] (call_id ?) is not usable and was dropped" in log
        assert 'state file entry learned["NOTHEX"] is not usable' in log
    finally:
        sub.close()
        gw.stop()
    with open(path, "w") as f:
        f.write("[1, 2, 3]")
    gw.start()
    try:
        deadline = time.time() + 5
        while "not a JSON object" not in gw.log_text() and time.time() < deadline:
            time.sleep(0.1)
        log = gw.log_text()
        assert "unreadable state, starting empty: not a JSON object; the file is kept as" in log
        aside = [f for f in os.listdir(gw.state_dir) if f.startswith("callbell-rf.bell-1.json.corrupt-")]
        assert aside, os.listdir(gw.state_dir)
        with open(os.path.join(gw.state_dir, aside[0])) as f:
            assert f.read() == "[1, 2, 3]"
    finally:
        gw.stop()
        rx.stop()
