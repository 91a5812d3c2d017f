"""scanner end to end: a keyboard-wedge scanner and a HID POS scanner in a umockdev
testbed (evdev and hidraw nodes, hotplugged), a serial scanner on a pty, the real
gateway with its sandboxed plugin host, pyzmq subscribers."""
import os
import sys
import time

import pytest

from agwtest import Gateway, HidTestbed, Subscriber, validate_event
from ptydev import PtyDevice
import wedge

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "protocols", "scan",
                                "tests"))
from make_vectors import HHP_POS, pos_report  # noqa: E402  (the real HID POS descriptor)

SYMBOLS = "Ab1!@#$%^&*()-_=+[]{};:'\",.<>/?`~\\|"
LONG = ("https://si.12333.gov.cn/ecard?c=" + "0123456789ABCDEFabcdef" * 13)[:300]
SECRET_SCANS = [SYMBOLS, LONG, "A012-SILENT", "HOLDER-QR-0001"]


def scans(sub, dev, seconds=1.0):
    return [e for t, e in sub.collect(seconds) if t.startswith("scanner/%s/" % dev)]


def wait_scan(sub, dev, timeout=10):
    return sub.wait_for(lambda t, e: t.startswith("scanner/%s/" % dev), timeout=timeout)


@pytest.fixture
def testbed(tmp_path):
    gw = Gateway(tmp_path, "", hotplug=True)
    sub = Subscriber(gw.events, ["scanner/", "device/"])
    tb = HidTestbed(tmp_path, gw)
    sub.catch_up(gw)
    yield gw, sub, tb
    tb.close()
    sub.close()


def add_wedge(sub, tb):
    """Plugs the wedge scanner in; its device id (its USB serial number's)."""
    tb.do("add-input scanner 1209 5ca1")
    _, ev = sub.wait_for(lambda t, e: t.endswith("/attached") and e["data"]["plugin"] == "scanner",
                         what="the wedge scanner attached")
    dev = ev["subject"]
    sub.wait_for(lambda t, e: t == "device/%s/state" % dev and e["data"]["state"] == "up",
                 what="the wedge scanner up")
    return dev


def test_wedge_scans_exact_text_grabbed_and_masked(testbed):
    gw, sub, tb = testbed
    tb.do("add-input keyboard 046d c31c")  # the clerk's own keyboard: not a scanner
    dev = add_wedge(sub, tb)
    tb.do("keys scanner " + wedge.typed(SYMBOLS).hex())
    topic, ev = wait_scan(sub, dev)
    assert topic == "scanner/%s/scanned" % dev, (topic, ev)
    validate_event(topic, ev)
    d = ev["data"]
    assert d["masked"] is True and d["length"] == len(SYMBOLS)
    assert d["text"] == SYMBOLS[:8] + "*"
    # the host grabbed the scanner, so nothing it types reaches another program, and
    # never the keyboard; only the scanner became a device
    assert tb.do("grabbed scanner") == "ok grabbed 1"
    assert tb.do("grabbed keyboard") == "ok grabbed 0"
    ids = {d["id"] for d in gw.request({"verb": "devices"})["result"]["devices"]}
    assert ids == {dev}, ids


def test_wedge_two_quick_scans_silence_long_code_and_garbage(testbed):
    gw, sub, tb = testbed
    WEDGE = add_wedge(sub, tb)
    # two scans in one burst, Right Shift for the second, ended by keypad Enter
    tb.do("keys scanner " + (wedge.typed("FIRST-001") + wedge.typed(
        "Second-002", end="kpenter", shift_key=wedge.KEY_RIGHTSHIFT)).hex())
    got = [e["data"] for e in scans(sub, WEDGE, 1.5)]
    assert [(d["length"], d["text"]) for d in got] == [(9, "FIRS*"), (10, "Secon*")], got
    # a scan without a suffix ends by silence (end_ms, 60 by default)
    tb.do("keys scanner " + wedge.typed("A012-SILENT", end=None).hex())
    _, ev = wait_scan(sub, WEDGE)
    assert ev["data"]["length"] == 11
    # 300 characters
    tb.do("keys scanner " + wedge.typed(LONG).hex())
    _, ev = wait_scan(sub, WEDGE, timeout=20)
    assert ev["data"]["length"] == 300 and ev["data"]["text"] == LONG[:8] + "*"
    # garbage: events of no key, odd types, a torn event; then a scan is still whole
    junk = bytes(range(256)) * 3 + wedge.event(1, 0xFFFF, 1) + wedge.event(0x1F, 7, -5)
    tb.do("keys scanner " + junk.hex())
    tb.do("keys scanner " + wedge.typed("AFTER").hex())
    texts = [e["data"].get("length") for e in scans(sub, WEDGE, 1.5)
             if e["type"].endswith("scanned")]
    assert 5 in texts, texts
    assert gw.request({"verb": "ping"})["ok"] is True


def test_hid_pos_scanner(testbed):
    gw, sub, tb = testbed
    tb.do("add pos 1209 5ca2 desc=" + HHP_POS.hex())
    dev = "scanner-sn0000"
    sub.wait_for(lambda t, e: t == "device/%s/state" % dev and e["data"]["state"] == "up",
                 what="the HID POS scanner up")
    tb.do("report pos " + pos_report(b"HOLDER-QR-0001\r", b"]Q1").hex())
    topic, ev = wait_scan(sub, dev)
    validate_event(topic, ev)
    assert ev["data"]["symbology"] == "]Q1" and ev["data"]["length"] == 14
    text = ("https://example.gov.cn/" + "x" * 70).encode()
    tb.do("report pos " + pos_report(text[:56], b"]Q1", more=True).hex())
    tb.do("report pos " + pos_report(text[56:], b"]Q1").hex())
    _, ev = wait_scan(sub, dev)
    assert ev["data"]["length"] == len(text)
    tb.do("report pos " + pos_report(b"HALF", b"]C0", more=True).hex())
    topic, ev = wait_scan(sub, dev)
    assert topic == "scanner/%s/error" % dev and ev["data"]["reason"] == "incomplete"
    validate_event(topic, ev)
    tb.do("report pos " + pos_report("中文办件码".encode()).hex())
    _, ev = wait_scan(sub, dev)
    assert ev["data"]["length"] == 5


def test_serial_scanner_lines_and_gbk(tmp_path):
    a, b = PtyDevice(str(tmp_path / "ttySCAN")), PtyDevice(str(tmp_path / "ttyGBK"))
    a.start_collecting()
    b.start_collecting()
    devices = ("[device scan-s]\nplugin = scanner\ntransport = serial\npath = %s\nbaud = 9600\n"
               "location = Window 3\n[device scan-g]\nplugin = scanner\ntransport = serial\n"
               "path = %s\nencoding = gbk\n" % (a.link, b.link))
    gw = Gateway(tmp_path, devices)
    sub = Subscriber(gw.events, ["scanner/"])
    gw.start()
    try:
        sub.catch_up(gw)
        time.sleep(0.5)
        a.write(b"]Q1HOLDER-QR-0001\r\nB7\rNOEND")
        got = [e["data"] for e in scans(sub, "scan-s", 1.5)]
        assert [(d["length"], d.get("symbology")) for d in got] == [(14, "]Q1"), (2, None),
                                                                   (5, None)], got
        assert got[0]["location"] == "Window 3"
        b.write("办件码:社保".encode("gbk") + b"\r\n")
        _, ev = wait_scan(sub, "scan-g")
        assert ev["data"]["length"] == 6 and ev["data"]["text"] == "办件码*"
        a.write("社保".encode("gbk") + b"\r\n")  # GBK where UTF-8 is expected
        topic, ev = wait_scan(sub, "scan-s")
        assert topic == "scanner/scan-s/error" and ev["data"]["reason"] == "encoding"
    finally:
        sub.close()
        gw.stop()
        a.stop()
        b.stop()
    log = gw.log_text()
    for secret in ("HOLDER-QR-0001", "办件码"):
        assert secret not in log


def test_full_text_only_on_the_private_endpoint_never_in_log_or_journal(tmp_path):
    from agwtest import free_port, keygen
    keys = {name: keygen(tmp_path, name) for name in ("gateway", "window-app")}
    (tmp_path / "authorized_keys").write_text("%s window-app\n" % keys["window-app"][0])
    dev = PtyDevice(str(tmp_path / "ttySCAN")).start_collecting()
    private = "tcp://127.0.0.1:%d" % free_port()
    gw = Gateway(tmp_path, "[device scan-s]\nplugin = scanner\ntransport = serial\npath = %s\n"
                 % dev.link, bus_extra="private_events = %s\ncurve_secret_key = %s\n"
                 "authorized_keys = %s\n" % (private, tmp_path / "gateway.key",
                                             tmp_path / "authorized_keys"))
    public = Subscriber(gw.events, ["scanner/"])
    full = Subscriber(private, ["scanner/"], curve=(keys["gateway"][0].encode(),
                                                   keys["window-app"][0].encode(),
                                                   keys["window-app"][1].encode()))
    gw.start()
    try:
        public.catch_up(gw)
        time.sleep(0.5)  # the CURVE handshake
        dev.write(b"]Q1HOLDER-QR-0001\r\n")
        masked = public.wait_topic("scanner/scan-s/scanned")
        _, whole = full.wait_for(lambda t, e: t == "scanner/scan-s/scanned")
        assert masked["data"]["text"] == "HOLDER-*"  # 7 of 14: never more than half and masked["data"]["masked"] is True
        assert whole["data"]["text"] == "HOLDER-QR-0001" and "masked" not in whole["data"]
        assert whole["seq"] == masked["seq"]
    finally:
        public.close()
        full.close()
        gw.stop()
        dev.stop()
    assert "HOLDER-QR-0001" not in gw.log_text()
    for root, _, files in os.walk(gw.state_dir):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                assert b"HOLDER-QR-0001" not in f.read(), name


def test_a_scanner_family_profile(tmp_path):
    """Device variety in data: the family's profile sets GBK and the prefix to strip; a key
    in the device's section overrides its profile; a bad profile value names FILE:LINE."""
    from agwtest import SOURCE
    profiles = os.path.join(SOURCE, "plugins", "scanner", "profiles")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "bad.ini").write_text("[profile]\nname = bad\nclass = scanner\nmatch = *\n"
                                 "[frame]\nend_ms = soon\n")
    a, b, c = (PtyDevice(str(tmp_path / n)) for n in ("ttyA", "ttyB", "ttyC"))
    for d in (a, b, c):
        d.start_collecting()
    devices = ("[device scan-p]\nplugin = scanner\ntransport = serial\npath = %s\n"
               "profile = serial-gbk-prefix\n"
               "[device scan-o]\nplugin = scanner\ntransport = serial\npath = %s\n"
               "profile = serial-gbk-prefix\nencoding = utf-8\n"
               "[device scan-x]\nplugin = scanner\ntransport = serial\npath = %s\nprofile_dir = %s\n"
               % (a.link, b.link, c.link, bad))
    gw = Gateway(tmp_path, devices, env=dict(os.environ, ACCESSGW_PROFILE_PATH=profiles))
    sub = Subscriber(gw.events, ["scanner/", "device/scan-x/"])
    gw.start()
    try:
        sub.catch_up(gw)
        _, state = sub.wait_for(lambda t, e: t == "device/scan-x/state")
        assert "bad.ini:6: end_ms must be 10-5000" in state["data"]["reason"], state
        time.sleep(0.5)
        a.write("QR:办件码A012".encode("gbk") + b"\r\n")
        _, ev = wait_scan(sub, "scan-p")
        assert ev["data"]["length"] == 7  # 办件码A012, the prefix stripped, GBK decoded
        b.write("QR:预约".encode() + b"\r\n")  # this one's own key: UTF-8
        _, ev = wait_scan(sub, "scan-o")
        assert ev["data"]["length"] == 2
    finally:
        sub.close()
        gw.stop()
        for d in (a, b, c):
            d.stop()
