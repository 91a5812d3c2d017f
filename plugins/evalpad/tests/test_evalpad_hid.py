"""evalpad with a four-key USB keypad (hid-4key profile, 1209:E7A1),
hotplugged on umockdev hidraw: four keys onto the five standard levels."""
import os

from agwtest import SOURCE, Gateway, HidTestbed, Subscriber, validate_event

PROFILES = os.path.join(SOURCE, "plugins", "evalpad", "profiles")


def key(usage):
    return "0000%02x0000000000" % usage


def test_four_key_pad_invite_rate(tmp_path):
    gw = Gateway(tmp_path, "", hotplug=True)
    sub = Subscriber(gw.events, ["evaluation/", "device/"])
    tb = HidTestbed(tmp_path, gw, ACCESSGW_PROFILE_PATH=PROFILES)
    pad = "evalpad-sn0000"
    try:
        sub.catch_up(gw)
        tb.do("add pad 1209 e7a1 01")
        sub.wait_for(lambda t, e: t == "device/%s/state" % pad and e["data"]["state"] == "up", 15)
        devs = {d["id"]: d for d in gw.request({"verb": "devices"})["result"]["devices"]}
        assert devs[pad]["info"]["profile"] == "hid-4key"
        r = gw.send(pad, "evaluation.invite", {"session": "H-1", "timeout_s": 30})
        assert r["ok"], r
        sub.wait_topic("evaluation/%s/invited" % pad)
        tb.do("report pad " + key(0x1E))  # key 1: 不满意
        tb.do("report pad " + key(0x1E))  # held: the report repeats
        tb.do("report pad " + key(0x00))
        ev = sub.wait_topic("evaluation/%s/rating" % pad)
        validate_event("evaluation/%s/rating" % pad, ev)
        assert ev["data"]["session"] == "H-1" and ev["data"]["level"] == 2 and ev["data"]["bad"] is True
        assert [e for t, e in sub.collect(0.5) if t.endswith("/rating")] == []
        gw.send(pad, "evaluation.invite", {"session": "H-2"})
        tb.do("report pad " + key(0x21))  # key 4: 非常满意
        tb.do("report pad " + key(0x00))
        ev = sub.wait_for(lambda t, e: t.endswith("/rating") and e["data"]["session"] == "H-2")[1]
        assert ev["data"]["level"] == 5 and ev["data"]["label"] == "very_satisfied"
    finally:
        sub.close()
        tb.close()
