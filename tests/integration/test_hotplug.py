"""Hotplug through udev: a umockdev hidraw device plugged in after the
gateway started is matched against the plugins' ID tables, attached, read
through its hidraw node, and detached when it is unplugged."""
from agwtest import Gateway, HidTestbed, Subscriber, validate_event


def test_hidraw_hotplug_attach_read_detach(tmp_path):
    gw = Gateway(tmp_path, "", hotplug=True)
    sub = Subscriber(gw.events, ["device/", "skeleton/"])
    tb = HidTestbed(tmp_path, gw)
    try:
        sub.catch_up(gw)
        assert tb.do("add pad 1209 0001").endswith("/dev/hidraw0")
        attached = sub.wait_topic("device/skeleton-sn0000/attached")
        validate_event("device/skeleton-sn0000/attached", attached)
        assert attached["data"]["hotplug"] is True and attached["data"]["transport"] == "hidraw"
        assert attached["data"]["path"] == "/dev/hidraw0"
        assert sub.wait_topic("device/skeleton-sn0000/state")["data"]["state"] == "up"
        tb.do("report pad 0102030405060708")
        rep = sub.wait_topic("skeleton/skeleton-sn0000/report")
        assert rep["data"]["hex"] == "0102030405060708"
        reply = gw.send("skeleton-sn0000", "skeleton.reset", {"value": 3})
        assert reply["ok"] and reply["result"] == {"count": 3}
        # a device no plugin claims is left alone
        tb.do("add arduino 2341 0043")
        tb.do("remove pad")
        detached = sub.wait_topic("device/skeleton-sn0000/detached")
        assert detached["data"]["reason"] == "unplugged"
        devs = gw.request({"verb": "devices"})["result"]["devices"]
        assert devs == []
        # re-plugged into the same port: the same id comes back
        tb.do("add pad 1209 0001")
        assert sub.wait_topic("device/skeleton-sn0000/attached")["data"]["path"] == "/dev/hidraw2"
    finally:
        sub.close()
        assert tb.close() == 0  # the gateway stopped cleanly
    log = gw.log_text()
    assert "claimed by skeleton" in log
    # unplugged: the plugin was told the device is gone before it was closed and detached
    told = log.index("device skeleton-sn0000 (skeleton): removed: the device is gone, 1 input(s) seen")
    assert told < log.index("device skeleton-sn0000 detached")
