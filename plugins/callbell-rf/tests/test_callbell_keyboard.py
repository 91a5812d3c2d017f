"""callbell-rf with a keyboard-style receiver: a umockdev hidraw boot
keyboard that "types" the code and Enter, read through hidraw."""
from agwtest import Gateway, HidTestbed, Subscriber, validate_event


def test_keyboard_receiver_press_and_ack(tmp_path):
    gw = Gateway(tmp_path, "[device bell-kbd]\nplugin = callbell-rf\ntransport = hidraw\n"
                 "path = /dev/hidraw0\nformat = keyboard\nrepeat_s = 30\n"
                 "button.A1B2C5 = emergency, Accessible toilet 2F\n")
    sub = Subscriber(gw.events, ["callbell/", "device/"])
    tb = HidTestbed(tmp_path, gw)
    try:
        tb.do("add receiver 1a2c 0e24 01")  # the configured node appears: the retry opens it
        sub.catch_up(gw)
        sub.wait_for(lambda t, e: t == "device/bell-kbd/state" and e["data"]["state"] == "up", 15)
        tb.do("type receiver a1b2c5")
        p = sub.wait_topic("callbell/bell-kbd/pressed")
        validate_event("callbell/bell-kbd/pressed", p)
        assert p["data"]["code"] == "A1B2C5" and p["data"]["kind"] == "emergency"
        tb.do("type receiver a1b2c5")  # the transmitter's repeat, typed again: the same press
        r = gw.send("bell-kbd", "callbell.ack", {"call_id": p["data"]["call_id"], "by": "desk"})
        assert r["ok"], r
        assert sub.wait_topic("callbell/bell-kbd/acknowledged")["data"]["by"] == "desk"
        assert [e for t, e in sub.seen if t == "callbell/bell-kbd/pressed"
                and e["data"]["repeat"] == 0] == [p]
    finally:
        sub.close()
        tb.close()
