"""sscard-pcsc end to end: Debian's pcscd with the vsmartcard vpcd driver (in a
private mount namespace, tests/emulators/pcscd_rig.py), a virtual 社保卡 in its
slots (tests/emulators/sscard_vicc.py), the real gateway and its sandboxed
plugin host, pyzmq subscribers on the public and the private endpoint."""
import os
import signal
import time

import pytest

from agwtest import Gateway, Subscriber, free_port, keygen, validate_event
from pcscd_rig import Pcscd, READER, READER2
from sscard_vicc import Card, VirtualCard

PERSONAL = ["11010519491231002X", "张三", "K12345670", "1949-12-31", "19491231", "110108",
            "450102198507040021"]


def device(name, reader, location="Window 3"):
    return ("[device %s]\nplugin = sscard-pcsc\ntransport = pcsc\nreader = %s\nlocation = %s\n"
            % (name, reader, location))


@pytest.fixture
def pcscd(tmp_path):
    p = Pcscd(tmp_path).start()
    yield p
    p.stop()


def start(tmp_path, pcscd, devices, **kw):
    gw = Gateway(tmp_path, devices, env=pcscd.env, **kw)
    sub = Subscriber(gw.events, ["sscard/", "device/"])
    gw.start()
    sub.catch_up(gw)
    return gw, sub


def wait_state(sub, dev, state, timeout=20):
    return sub.wait_for(lambda t, e: t == "device/%s/state" % dev and e["data"]["state"] == state,
                        timeout=timeout, what="%s %s" % (dev, state))[1]


@pytest.fixture
def rig(tmp_path, pcscd):
    gw, sub = start(tmp_path, pcscd, device("ss-1", "Virtual PCD"))
    wait_state(sub, "ss-1", "up")
    cards = []
    yield pcscd, gw, sub, cards
    for c in cards:
        c.remove()
    sub.close()
    gw.stop()


def insert(pcscd, cards, card, slot=0, **kw):
    vc = VirtualCard(pcscd.slot_port(slot), card, **kw).insert()
    cards.append(vc)
    return vc


def test_a_card_is_read_masked_once_and_removed(rig):
    pcscd, gw, sub, cards = rig
    card = Card("sscard")
    vc = insert(pcscd, cards, card)
    ev = sub.wait_topic("sscard/ss-1/read")
    validate_event("sscard/ss-1/read", ev)
    d = ev["data"]
    assert d["masked"] is True and d["location"] == "Window 3"
    assert d["card_number"] == "K******70"
    assert d["ssn"] == "110105********002X"
    assert d["name"] == "张*" and d["birth_date"] == "1949"
    assert "birth_place" not in d and "holder_protected" not in d
    assert d["gender"] == "female" and d["nation"] == "汉" and d["nation_code"] == "01"
    assert d["issuer_region"] == "110100" and d["card_version"] == "2.00"
    assert d["card_type"] == "elderly"
    assert d["issued"] == "2025-06-01" and d["valid_until"] == "2035-06-01"
    # the card stays: no second read
    assert [t for t, _ in sub.collect(1.0) if t == "sscard/ss-1/read"] == []
    # nothing but SELECT, READ RECORD and GET RESPONSE ever reached the card
    assert card.log and {a[1] for a in card.log} <= {0xA4, 0xB2, 0xC0}
    vc.remove()
    gone = sub.wait_topic("sscard/ss-1/removed")
    validate_event("sscard/ss-1/removed", gone)
    insert(pcscd, cards, Card("sscard", holder="long_name"))
    again = sub.wait_topic("sscard/ss-1/read")["data"]
    assert again["name"] == "买*" and again["gender"] == "male" and again["nation"] == "维吾尔"


def test_a_3_0_card_without_psam_gives_its_own_fields(rig):
    pcscd, gw, sub, cards = rig
    insert(pcscd, cards, Card("sscard3"))
    ev = sub.wait_topic("sscard/ss-1/read")
    validate_event("sscard/ss-1/read", ev)
    d = ev["data"]
    assert d["holder_protected"] is True and d["card_version"] == "3.00"
    assert d["card_number"] == "K******70"
    for key in ("ssn", "name", "gender", "birth_date", "nation"):
        assert key not in d


def test_another_card_is_unknown_and_nothing_is_read(rig):
    pcscd, gw, sub, cards = rig
    insert(pcscd, cards, Card("other"))
    topic, ev = sub.wait_for(lambda t, e: t.startswith("sscard/"))
    assert topic == "sscard/ss-1/error", (topic, ev)
    validate_event(topic, ev)
    assert ev["data"]["reason"] == "unknown_card"


class BadDateCard(Card):
    """发卡日期 with month 13: a record the card should never give."""

    def answer(self, apdu):
        if bytes(apdu[:3]) == b"\x00\xB2\x05":
            return bytes.fromhex("0504202513019000")
        return super().answer(apdu)


def test_a_bad_record_is_read_failed_and_nothing_is_published(rig):
    pcscd, gw, sub, cards = rig
    insert(pcscd, cards, BadDateCard("sscard"))
    topic, ev = sub.wait_for(lambda t, e: t.startswith("sscard/"))
    assert topic == "sscard/ss-1/error", (topic, ev)
    assert ev["data"]["reason"] == "read_failed"
    assert "EF05 record 05" in ev["data"]["message"]
    assert [t for t, _ in sub.collect(1.0) if t == "sscard/ss-1/read"] == []


def test_a_card_pulled_mid_read_publishes_no_partial_record(rig):
    pcscd, gw, sub, cards = rig
    insert(pcscd, cards, Card("sscard"), pull_after=8)
    seen = sub.collect(3.0)
    topics = [t for t, _ in seen if t.startswith("sscard/")]
    assert "sscard/ss-1/read" not in topics, seen
    errors = [e for t, e in seen if t == "sscard/ss-1/error"]
    assert errors and errors[0]["data"]["reason"] in ("removed_early", "read_failed"), seen
    # and the next card is read whole
    cards[-1].remove()
    insert(pcscd, cards, Card("sscard"))
    assert sub.wait_topic("sscard/ss-1/read")["data"]["ssn"] == "110105********002X"


def test_read_verb(rig):
    pcscd, gw, sub, cards = rig
    reply = gw.send("ss-1", "sscard.read")
    assert reply["ok"] is False and reply["error"]["code"] == "device_error"
    assert "no card" in reply["error"]["message"]
    insert(pcscd, cards, Card("sscard"))
    sub.wait_topic("sscard/ss-1/read")
    reply = gw.send("ss-1", "sscard.read")
    assert reply["ok"] is True, reply
    assert reply["result"]["ssn"] == "110105********002X"  # a reply is public: masked
    assert sub.wait_topic("sscard/ss-1/read")["data"]["masked"] is True


def test_pcscd_stopped_and_restarted(rig):
    pcscd, gw, sub, cards = rig
    pcscd.stop(signal.SIGKILL)
    state = wait_state(sub, "ss-1", "error")
    assert "pcscd" in state["data"]["reason"], state
    # the gateway itself keeps answering
    assert gw.request({"verb": "ping"})["ok"] is True
    pcscd.start()
    wait_state(sub, "ss-1", "up", timeout=40)
    insert(pcscd, cards, Card("sscard"))
    assert sub.wait_topic("sscard/ss-1/read")["data"]["card_number"] == "K******70"


def test_pcscd_absent_at_start_then_started(tmp_path):
    p = Pcscd(tmp_path)  # not started: no socket
    gw, sub = start(tmp_path, p, device("ss-1", "Virtual PCD"))
    try:
        state = wait_state(sub, "ss-1", "error")
        assert "pcscd is not available" in state["data"]["reason"], state
        assert gw.request({"verb": "ping"})["ok"] is True
        p.start()
        wait_state(sub, "ss-1", "up", timeout=40)
    finally:
        sub.close()
        gw.stop()
        p.stop()


def test_two_readers_at_once(tmp_path, pcscd):
    gw, sub = start(tmp_path, pcscd, device("ss-a", READER, "Window 1") +
                    device("ss-b", READER2, "Window 2"))
    cards = []
    try:
        up = set()
        while up != {"ss-a", "ss-b"}:  # in whichever order they come
            t, e = sub.wait_for(lambda t, e: t.startswith("device/") and t.endswith("/state")
                                and e["data"]["state"] == "up")
            up.add(t.split("/")[1])
        insert(pcscd, cards, Card("sscard"), slot=0)
        insert(pcscd, cards, Card("sscard", holder="long_name"), slot=1)
        got = {}
        while len(got) < 2:
            t, e = sub.wait_for(lambda t, e: t.endswith("/read"))
            got[t] = e["data"]
        assert got["sscard/ss-a/read"]["name"] == "张*"
        assert got["sscard/ss-a/read"]["location"] == "Window 1"
        assert got["sscard/ss-b/read"]["name"] == "买*"
        assert got["sscard/ss-b/read"]["location"] == "Window 2"
    finally:
        for c in cards:
            c.remove()
        sub.close()
        gw.stop()


def test_unknown_reader_is_an_error_with_the_name(tmp_path, pcscd):
    gw, sub = start(tmp_path, pcscd, device("ss-1", "Acme Reader"))
    try:
        state = wait_state(sub, "ss-1", "error")
        assert "no reader whose name starts with 'Acme Reader'" in state["data"]["reason"]
    finally:
        sub.close()
        gw.stop()


@pytest.mark.parametrize("isolation", ["process", "none"])
def test_full_twin_only_on_the_private_endpoint_and_nothing_personal_logged(tmp_path, pcscd,
                                                                           isolation):
    gw_pub, _ = keygen(tmp_path, "gateway")
    app_pub, app_key = keygen(tmp_path, "window-app")
    (tmp_path / "authorized_keys").write_text("%s window-app\n" % app_pub)
    private = "tcp://127.0.0.1:%d" % free_port()
    gw = Gateway(tmp_path, device("ss-1", "Virtual PCD"), env=pcscd.env,
                 gateway_extra="isolation = %s\n" % isolation,
                 bus_extra="private_events = %s\ncurve_secret_key = %s\nauthorized_keys = %s\n"
                 % (private, tmp_path / "gateway.key", tmp_path / "authorized_keys"))
    public = Subscriber(gw.events, ["sscard/", "device/"])
    full = Subscriber(private, ["sscard/"], curve=(gw_pub.encode(), app_pub.encode(),
                                                   app_key.encode()))
    cards = []
    gw.start()
    try:
        public.catch_up(gw)
        wait_state(public, "ss-1", "up")
        time.sleep(0.5)  # the CURVE handshake
        insert(pcscd, cards, Card("sscard"))
        masked = public.wait_topic("sscard/ss-1/read")
        _, whole = full.wait_for(lambda t, e: t == "sscard/ss-1/read")
        assert whole["id"] == masked["id"] and whole["seq"] == masked["seq"]
        d = whole["data"]
        assert d["ssn"] == "11010519491231002X" and d["name"] == "张三"
        assert d["card_number"] == "K12345670" and d["birth_date"] == "1949-12-31"
        assert d["birth_place"] == "110108" and "masked" not in d
        validate_event("sscard/ss-1/read", whole)
        cards[-1].remove()
        public.wait_topic("sscard/ss-1/removed")
    finally:
        for c in cards:
            c.remove()
        public.close()
        full.close()
        gw.stop()
    log = gw.log_text()
    assert "device ss-1 attached" in log  # the log is the one written
    for secret in PERSONAL:
        assert secret not in log, "personal data in the gateway log: %s" % secret
    for root, _, files in os.walk(gw.state_dir):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                data = f.read()
            for secret in PERSONAL:
                assert secret.encode() not in data, "personal data in %s" % name


def test_readers_no_section_names_are_hotplugged(tmp_path, pcscd):
    """[device] names slot 00 00; slot 00 01 is taken by hotplug; they go when pcscd
    does and come back with it."""
    gw, sub = start(tmp_path, pcscd, device("ss-1", READER), hotplug=True)
    hot = "sscard-pcsc-virtual-pcd-00-01"
    cards = []
    try:
        attached = sub.wait_for(lambda t, e: t == "device/%s/attached" % hot)[1]["data"]
        assert attached["hotplug"] is True and attached["plugin"] == "sscard-pcsc"
        assert attached["transport"] == "pcsc" and attached["path"] == READER2
        wait_state(sub, hot, "up")
        devices = {d["id"] for d in gw.request({"verb": "devices"})["result"]["devices"]}
        assert devices == {"ss-1", hot}, devices  # the named reader is not taken twice
        insert(pcscd, cards, Card("sscard"), slot=1)
        assert sub.wait_topic("sscard/%s/read" % hot)["data"]["name"] == "张*"
        cards.pop().remove()
        pcscd.stop()
        sub.wait_topic("device/%s/detached" % hot, timeout=15)
        pcscd.start()
        sub.wait_topic("device/%s/attached" % hot, timeout=30)
        wait_state(sub, hot, "up", timeout=30)
    finally:
        for c in cards:
            c.remove()
        sub.close()
        gw.stop()
    assert "PC/SC hotplug: reader 'Virtual PCD 00 01' claimed by sscard-pcsc" in gw.log_text()


def test_a_reader_a_reload_names_leaves_hotplug_and_comes_back_to_it(tmp_path, pcscd):
    """SIGHUP with a [device] that names the hotplugged reader: the hotplugged device
    is let go before the named one starts, so the reader is never driven twice; a
    reload without that section gives the reader back to hotplug."""
    hot = "sscard-pcsc-virtual-pcd-00-01"
    gw, sub = start(tmp_path, pcscd, device("ss-1", READER), hotplug=True)
    cards = []

    def reload_with(devices):
        gw.write_config(devices, hotplug=True)
        gw.proc.send_signal(signal.SIGHUP)

    def devices_become(want, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            now = {d["id"]: d["state"] for d in gw.request({"verb": "devices"})["result"]["devices"]}
            if now == want:
                return
            time.sleep(0.1)
        raise AssertionError("devices %r, not %r" % (now, want))

    try:
        wait_state(sub, hot, "up")
        reload_with(device("ss-1", READER) + device("ss-2", READER2, "Window 4"))
        devices_become({"ss-1": "up", "ss-2": "up"})
        assert "device %s unplugged" % hot in gw.log_text()
        log = gw.log_text()  # let go before the named one was attached
        assert log.index("device %s unplugged" % hot) < log.index("device ss-2 attached")
        insert(pcscd, cards, Card("sscard"), slot=1)
        read = sub.wait_topic("sscard/ss-2/read")
        assert read["data"]["name"] == "张*"
        time.sleep(0.5)  # no second device reads the same card
        assert not [t for t, _ in sub.collect(0.5) if t == "sscard/%s/read" % hot]
        cards.pop().remove()
        reload_with(device("ss-1", READER))
        devices_become({"ss-1": "up", hot: "up"})
    finally:
        for c in cards:
            c.remove()
        sub.close()
        gw.stop()
