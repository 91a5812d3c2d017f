"""evalpad end to end: two addressed pads on one emulated RS-485 bus (a pty),
the real gateway, pyzmq; the whole 一次一评 flow through the control socket."""
import json
import os
import signal
import time

import pytest

from agwtest import SOURCE, Gateway, Subscriber, validate_event
from pad_bus import PadBus

PROFILES = os.path.join(SOURCE, "plugins", "evalpad", "profiles")


def bus_config(link, extra=""):
    return ("[device bus-1]\nplugin = evalpad\ntransport = serial\npath = %s\nbaud = 9600\n"
            "profile = rs485-5key\nprofile_dir = %s\nguard_s = 2\n"
            "pad.1 = pad-3, Window 3\npad.2 = pad-4, Window 4\n%s" % (link, PROFILES, extra))


def start(tmp_path, extra=""):
    bus = PadBus(str(tmp_path / "ttyPAD")).start()
    gw = Gateway(tmp_path, bus_config(bus.link, extra))
    sub = Subscriber(gw.events, ["evaluation/", "device/"])
    gw.start()
    sub.catch_up(gw)
    sub.wait_for(lambda t, e: t == "device/bus-1/state" and e["data"]["state"] == "up")
    return bus, gw, sub


@pytest.fixture
def rig(tmp_path):
    bus, gw, sub = start(tmp_path)
    yield bus, gw, sub
    sub.close()
    gw.stop()
    bus.stop()


def invite(gw, pad, session, **kw):
    reply = gw.send(pad, "evaluation.invite", dict(session=session, **kw))
    assert reply["ok"], reply
    return reply


def test_pads_are_devices_of_their_own(rig):
    bus, gw, sub = rig
    devs = {d["id"]: d for d in gw.request({"verb": "devices"})["result"]["devices"]}
    assert devs["pad-3"]["parent"] == "bus-1" and devs["pad-3"]["location"] == "Window 3"
    assert devs["pad-4"]["location"] == "Window 4" and devs["bus-1"]["info"]["profile"] == "rs485-5key"
    att = [e for t, e in sub.seen if t == "device/pad-3/attached"]
    assert att and att[0]["data"]["parent"] == "bus-1"


def test_invite_press_rating(rig):
    bus, gw, sub = rig
    invite(gw, "pad-3", "Q-0815", staff="S-12", service="social-security", timeout_s=60)
    inv = sub.wait_topic("evaluation/pad-3/invited")
    validate_event("evaluation/pad-3/invited", inv)
    assert inv["data"]["session"] == "Q-0815" and inv["data"]["location"] == "Window 3"
    time.sleep(0.2)
    assert (1, "prompt") in bus.prompts()
    bus.press(1, 0x02)  # 满意
    r = sub.wait_topic("evaluation/pad-3/rating")
    validate_event("evaluation/pad-3/rating", r)
    d = r["data"]
    assert d["session"] == "Q-0815" and d["level"] == 4 and d["label"] == "satisfied"
    assert d["label_zh"] == "满意" and d["bad"] is False
    assert d["staff"] == "S-12" and d["service"] == "social-security" and d["location"] == "Window 3"
    assert d["ms_after_invite"] >= 100
    time.sleep(0.2)
    assert (1, "thanks") in bus.prompts()


def test_bad_rating_flagged_and_second_press_ignored(rig):
    bus, gw, sub = rig
    invite(gw, "pad-3", "Q-1")
    bus.press(1, 0x05)  # 非常不满意
    r = sub.wait_topic("evaluation/pad-3/rating")["data"]
    assert r["level"] == 1 and r["bad"] is True and r["label_zh"] == "非常不满意"
    bus.press(1, 0x01)  # a second press for the same session
    assert [e for t, e in sub.collect(0.8) if t == "evaluation/pad-3/rating"] == []
    assert "second press for session Q-1 ignored" in gw.log_text()


def test_two_pads_rated_independently(rig):
    bus, gw, sub = rig
    invite(gw, "pad-3", "A-1")
    invite(gw, "pad-4", "B-1")
    bus.press(2, 0x03)
    bus.press(1, 0x01)
    got = {}
    while len(got) < 2:
        t, e = sub.wait_for(lambda t, e: t.endswith("/rating"))
        got[t] = e["data"]
    assert got["evaluation/pad-3/rating"]["session"] == "A-1"
    assert got["evaluation/pad-3/rating"]["level"] == 5
    assert got["evaluation/pad-4/rating"]["session"] == "B-1"
    assert got["evaluation/pad-4/rating"]["level"] == 3


def test_timeout_expires(rig):
    bus, gw, sub = rig
    invite(gw, "pad-4", "T-1", timeout_s=1)
    e = sub.wait_topic("evaluation/pad-4/expired", 5)
    validate_event("evaluation/pad-4/expired", e)
    assert e["data"]["session"] == "T-1" and e["data"]["timeout_s"] == 1
    bus.press(2, 0x01)  # too late: unsolicited
    u = sub.wait_topic("evaluation/pad-4/rating")["data"]
    assert u["session"] is None and u["unsolicited"] is True


def test_cancel_and_replace(rig):
    bus, gw, sub = rig
    invite(gw, "pad-3", "C-1")
    r = gw.send("pad-3", "evaluation.cancel", {})
    assert r["ok"] and r["result"]["session"] == "C-1"
    c = sub.wait_topic("evaluation/pad-3/cancelled")
    validate_event("evaluation/pad-3/cancelled", c)
    assert c["data"]["reason"] == "cancelled"
    assert gw.send("pad-3", "evaluation.cancel", {})["error"]["code"] == "bad_args"
    invite(gw, "pad-3", "C-2")
    invite(gw, "pad-3", "C-3")  # replaces C-2
    rep = sub.wait_for(lambda t, e: t == "evaluation/pad-3/cancelled" and e["data"]["session"] == "C-2")
    assert rep[1]["data"]["reason"] == "replaced"
    bus.press(1, 0x01)
    assert sub.wait_topic("evaluation/pad-3/rating")["data"]["session"] == "C-3"


def test_bad_commands(rig):
    bus, gw, sub = rig
    assert gw.send("pad-3", "evaluation.invite", {})["error"]["code"] == "bad_args"
    assert gw.send("pad-3", "evaluation.invite", {"session": "x", "timeout_s": 0})["error"]["code"] == "bad_args"
    assert gw.send("bus-1", "evaluation.invite", {"session": "x"})["error"]["code"] == "bad_args"
    assert gw.send("pad-9", "evaluation.invite", {"session": "x"})["error"]["code"] == "unknown_device"
    assert gw.send("pad-3", "callbell.ack", {})["error"]["code"] == "unknown_verb"


def test_noise_on_the_bus(rig):
    bus, gw, sub = rig
    invite(gw, "pad-3", "N-1")
    bus.press(1, 0x01, corrupt=True)        # bad checksum: dropped
    bus.write(b"\xff\x00\x13")              # garbage
    bus.press(7, 0x01)                      # an address nobody configured
    bus.press(1, 0x09)                      # a key the profile does not know
    assert [e for t, e in sub.collect(0.6) if t.endswith("/rating")] == []
    bus.press(1, 0x04)
    assert sub.wait_topic("evaluation/pad-3/rating")["data"]["level"] == 2
    log = gw.log_text()
    assert "bad checksum" in log and "pad address 7" in log and "key 0x09 is not in profile" in log


def status_once_known(gw, pad, timeout=5.0):
    """A pad is a child of its bus device: after a restart it exists once the bus is open
    again (its serial node opened, the plugin's open() run), a moment after the gateway
    answers ping; a hall application sees unknown_device until then, and asks again."""
    deadline = time.time() + timeout
    while True:
        reply = gw.send(pad, "evaluation.status")
        if reply.get("ok") or reply["error"]["code"] != "unknown_device" or time.time() > deadline:
            return reply
        time.sleep(0.05)


def test_invitation_survives_restart(tmp_path):
    bus, gw, sub = start(tmp_path)
    invite(gw, "pad-3", "R-1", staff="S-1", timeout_s=120)
    sub.wait_topic("evaluation/pad-3/invited")
    gw.proc.send_signal(signal.SIGKILL)
    gw.proc.wait()
    sub.close()
    sub = Subscriber(gw.events, ["evaluation/"])
    gw.start()
    try:
        assert status_once_known(gw, "pad-3")["result"]["session"] == "R-1"
        bus.press(1, 0x01)
        r = sub.wait_topic("evaluation/pad-3/rating")["data"]
        assert r["session"] == "R-1" and r["staff"] == "S-1" and r["level"] == 5
    finally:
        sub.close()
        gw.stop()
        bus.stop()


def test_unsolicited_ignore(tmp_path):
    bus, gw, sub = start(tmp_path, "unsolicited = ignore\n")
    try:
        bus.press(1, 0x01)
        assert [e for t, e in sub.collect(0.6) if t.endswith("/rating")] == []
    finally:
        sub.close()
        gw.stop()
        bus.stop()


def test_damaged_invitation_in_state_is_said_and_the_rest_kept(tmp_path):
    bus, gw, sub = start(tmp_path)
    invite(gw, "pad-3", "R-2", timeout_s=120)
    sub.wait_topic("evaluation/pad-3/invited")
    gw.proc.send_signal(signal.SIGKILL)
    gw.proc.wait()
    sub.close()
    [name] = [f for f in os.listdir(gw.state_dir) if f.startswith("evalpad.")]
    path = os.path.join(gw.state_dir, name)
    with open(path) as f:
        state = json.load(f)
    state["invitations"]["pad-9"] = {"session": "X", "invited_ms": 1, "timeout_s": 60}
    state["invitations"]["pad-3"]["timeout_s"] = 60  # still good
    with open(path, "w") as f:
        json.dump(state, f)
    gw.start()
    try:
        assert status_once_known(gw, "pad-3")["result"]["session"] == "R-2"
        assert ('state file entry invitations["pad-9"] is not usable and was dropped: no such pad'
                in gw.log_text())
        with open(path) as f:
            state = json.load(f)
        state["invitations"]["pad-3"]["timeout_s"] = "soon"
        with open(path, "w") as f:
            json.dump(state, f)
    finally:
        gw.proc.send_signal(signal.SIGKILL)
        gw.proc.wait()
    gw.start()
    try:
        assert status_once_known(gw, "pad-3")["result"].get("session") is None
        assert ('invitations["pad-3"] is not usable and was dropped: session, invited_ms and '
                'timeout_s (1-3600) must be valid' in gw.log_text())
    finally:
        gw.stop()
        bus.stop()
