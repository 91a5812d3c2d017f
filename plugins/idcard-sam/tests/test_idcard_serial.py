"""idcard-sam end to end: an emulated SAM reader on a pty, the real
gateway, and pyzmq subscribers on the public and the private endpoint."""
import json
import os
import signal
import subprocess
import time

import pytest
import zmq
import zmq.auth

from agwtest import ACCESSGWCTL, Gateway, Subscriber, free_port, validate_event
from agwtest import ACCESSGWD as ACCESSGWD_CHECK
from sam_reader import SamReader
import samcard

PERSONAL = ["张三", "11010519491231002X", "19491231", "1949-12-31", "北京市西城区示例路1号",
            "示例路", "李四娃", "450102198507040021", "陈大文", "H12345678", "SMITH, JOHN",
            "USA110080101001", "史密斯", "安娜", "ANNA MARIA", "934156199203032028"]


def reader_config(link, extra=""):
    return ("[device reader-1]\nplugin = idcard-sam\ntransport = serial\npath = %s\n"
            "baud = 115200\npoll_ms = 100\nlocation = Window 3\n%s" % (link, extra))


@pytest.fixture
def rig(tmp_path):
    reader = SamReader(str(tmp_path / "ttySAM")).start()
    gw = Gateway(tmp_path, reader_config(reader.link))
    sub = Subscriber(gw.events, ["idcard/", "device/reader-1/"])
    gw.start()
    sub.catch_up(gw)
    state = sub.wait_topic("device/reader-1/state")
    assert state["data"]["state"] == "up", state
    assert "SAM ready, id 0501" in state["data"]["reason"]
    yield reader, gw, sub
    sub.close()
    gw.stop()
    reader.stop()


def test_one_masked_read_per_placement(rig):
    reader, gw, sub = rig
    reader.place("resident")
    ev = sub.wait_topic("idcard/reader-1/read")
    validate_event("idcard/reader-1/read", ev)
    d = ev["data"]
    assert d["masked"] is True
    assert d["card_type"] == "resident"
    assert d["name"] == "张*"
    assert d["id_number"] == "110105********002X"
    assert d["birth_date"] == "1949"
    assert "address" not in d and "photo_wlt" not in d
    assert d["gender"] == "male" and d["nation"] == "汉" and d["nation_code"] == "01"
    assert d["valid_until"] == "long-term" and d["valid_from"] == "2020-01-01"
    assert d["issuer"] == "北京市公安局西城分局"
    assert d["has_fingerprint"] is False
    assert d["location"] == "Window 3"
    # the card stays: no second read
    later = sub.collect(1.0)
    assert [t for t, _ in later if t == "idcard/reader-1/read"] == []
    reader.remove()
    gone = sub.wait_topic("idcard/reader-1/removed")
    validate_event("idcard/reader-1/removed", gone)
    reader.place("resident2")
    again = sub.wait_topic("idcard/reader-1/read")
    assert again["data"]["name"] == "李*" and again["data"]["gender"] == "female"
    assert again["data"]["nation"] == "壮"


@pytest.mark.parametrize("key,card_type,checks", [
    ("hkmotw", "hkmotw_permit", {"name": "陈*", "pass_number": "*******78", "issue_count": "01",
                                 "id_number": "810000********0011"}),
    ("foreign", "foreign_permanent", {"name": "史*", "english_name": "S*", "nationality": "USA",
                                      "card_version": "01", "id_number": "USA110*****1001"}),
    ("foreign2023", "foreign_permanent_2023", {"name": "安*", "english_name": "A*",
                                               "nationality": "ESP", "renewal_count": "00"}),
])
def test_every_card_type(rig, key, card_type, checks):
    reader, gw, sub = rig
    reader.place(key)
    d = sub.wait_topic("idcard/reader-1/read")["data"]
    assert d["card_type"] == card_type
    for k, v in checks.items():
        assert d[k] == v, (k, d)
    assert "previous_card_link" not in d


def test_read_command_replies_masked(rig):
    reader, gw, sub = rig
    reply = gw.send("reader-1", "idcard.read")
    assert reply["ok"] is False and reply["error"]["code"] == "device_error"
    assert "find_failed" in reply["error"]["message"]
    reader.place("resident")
    sub.wait_topic("idcard/reader-1/read")
    reply = gw.send("reader-1", "idcard.read", timeout=10)
    assert reply["ok"] is True, reply
    r = reply["result"]
    assert r["masked"] is True and r["name"] == "张*" and "address" not in r
    assert "张三" not in str(reply)


def test_status_error_is_reported_once(rig):
    reader, gw, sub = rig
    reader.next_status[0x30] = 0x41  # the first read fails with "read failed"
    reader.place("resident")
    err = sub.wait_topic("idcard/reader-1/error")
    validate_event("idcard/reader-1/error", err)
    assert err["data"] == {"stage": "read", "code": "read_failed", "sw3": "0x41",
                           "message": "reader status 0x41", "location": "Window 3"}
    ev = sub.wait_topic("idcard/reader-1/read")  # the retry succeeds
    assert ev["data"]["name"] == "张*"


@pytest.mark.parametrize("mode", ["garbage", "bytewise"])
def test_noisy_links_still_read(rig, mode):
    reader, gw, sub = rig
    reader.mode = mode
    reader.place("resident")
    assert sub.wait_topic("idcard/reader-1/read", 15)["data"]["card_type"] == "resident"


def test_bad_checksum_is_retried(rig):
    reader, gw, sub = rig
    reader.place("resident")
    reader.corrupt_next = 3  # find, select, read answers arrive corrupted once
    ev = sub.wait_topic("idcard/reader-1/read", 20)
    assert ev["data"]["card_type"] == "resident"


def test_silent_reader_goes_stale_and_recovers(rig):
    reader, gw, sub = rig
    reader.mode = "silent"
    st = sub.wait_for(lambda t, e: t == "device/reader-1/state" and e["data"]["state"] == "stale")
    assert "stopped answering" in st[1]["data"]["reason"]
    reader.mode = "normal"
    sub.wait_for(lambda t, e: t == "device/reader-1/state" and e["data"]["state"] == "up")
    assert gw.request({"verb": "devices"})["result"]["devices"][0]["state"] == "up"


def test_unplug_mid_frame_then_replug(rig):
    reader, gw, sub = rig
    reader.unplug_on_read = True
    reader.place("resident")
    st = sub.wait_for(lambda t, e: t == "device/reader-1/state" and e["data"]["state"] == "error")
    assert gw.proc.poll() is None
    reader.replug()
    reader.place("resident")
    sub.wait_for(lambda t, e: t == "device/reader-1/state" and e["data"]["state"] == "up", 15)
    assert sub.wait_topic("idcard/reader-1/read", 10)["data"]["name"] == "张*"


def keygen(tmp_path, name):
    out = subprocess.run([ACCESSGWCTL, "keygen", str(tmp_path / name)], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    # the certificates czmq and pyzmq read (ZPL), as the contract says
    pub, key = (k.decode() for k in zmq.auth.load_certificate(str(tmp_path / (name + ".key"))))
    assert zmq.auth.load_certificate(str(tmp_path / (name + ".pub"))) == (pub.encode(), None)
    assert len(key) == 40 and len(pub) == 40
    assert os.stat(tmp_path / (name + ".key")).st_mode & 0o777 == 0o600
    return pub, key


def test_private_endpoint_and_logs(tmp_path):
    gw_pub, _ = keygen(tmp_path, "gateway")
    app_pub, app_key = keygen(tmp_path, "window-app")
    other_pub, other_key = keygen(tmp_path, "stranger")
    (tmp_path / "authorized_keys").write_text("# hall applications\n%s window-app\n" % app_pub)
    reader = SamReader(str(tmp_path / "ttySAM")).start()
    private = "tcp://127.0.0.1:%d" % free_port()
    gw = Gateway(tmp_path, reader_config(reader.link),
                 bus_extra="private_events = %s\ncurve_secret_key = %s\nauthorized_keys = %s\n"
                 % (private, tmp_path / "gateway.key", tmp_path / "authorized_keys"))
    public = Subscriber(gw.events, ["idcard/"])
    full = Subscriber(private, ["idcard/"], curve=(gw_pub.encode(), app_pub.encode(), app_key.encode()))
    stranger = Subscriber(private, [""], curve=(gw_pub.encode(), other_pub.encode(), other_key.encode()))
    gw.start()
    try:
        assert gw.request({"verb": "ping"})["result"]["private_events_key"] == gw_pub
        time.sleep(0.5)  # CURVE handshakes
        reader.place("resident")
        masked = public.wait_topic("idcard/reader-1/read")
        topic, whole = full.wait_for(lambda t, e: t == "idcard/reader-1/read")
        assert whole["id"] == masked["id"] and whole["seq"] == masked["seq"]
        assert whole["epoch"] == masked["epoch"] and whole["time"] == masked["time"]
        d = whole["data"]
        assert d["name"] == "张三" and d["id_number"] == "11010519491231002X"
        assert d["birth_date"] == "1949-12-31" and d["address"] == "北京市西城区示例路1号"
        assert len(d["photo_wlt"]) == 1368 and "masked" not in d
        assert stranger.recv(1.0) is None, "an unlisted key received private events"
        # the public seq has no gap where the private twin went out
        seqs = [e["seq"] for _, e in public.collect(0.3)]
        assert all(b == a + 1 for a, b in zip(seqs, seqs[1:]))
        # accessgwctl watch --private with the authorised key
        reader.remove()
        public.wait_topic("idcard/reader-1/removed")
        watch = subprocess.Popen([ACCESSGWCTL, "--control", gw.control, "--events", private,
                                  "watch", "--private", "--key", str(tmp_path / "window-app"),
                                  "--count", "1", "idcard/"], stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)
        reader.place("resident")
        out, _ = watch.communicate(timeout=15)
        assert '"name":"张三"' in out
    finally:
        for s in (public, full, stranger):
            s.close()
        gw.stop()
        reader.stop()
    log = gw.log_text()
    assert "refused subscriber" in log and "admitted subscriber window-app" in log
    for secret in PERSONAL:
        assert secret not in log, "personal data in the gateway log: %s" % secret


def test_debug_log_has_no_personal_data(rig):
    reader, gw, sub = rig
    for key in ("resident", "hkmotw", "foreign", "foreign2023"):
        reader.place(key)
        sub.wait_topic("idcard/reader-1/read")
        reader.remove()
        sub.wait_topic("idcard/reader-1/removed")
    log = gw.log_text()
    assert "debug" in log  # the gateway really logged at debug level
    for secret in PERSONAL:
        assert secret not in log, "personal data in the debug log: %s" % secret


def test_one_line_key_files_of_earlier_versions_still_work(tmp_path):
    """Key files from before the certificates: read, with a deprecation notice."""
    pub, key = zmq.curve_keypair()
    (tmp_path / "old.key").write_text(key.decode() + "\n")
    os.chmod(tmp_path / "old.key", 0o600)
    (tmp_path / "authorized_keys").write_text("")
    reader = SamReader(str(tmp_path / "ttySAM")).start()
    gw = Gateway(tmp_path, reader_config(reader.link),
                 bus_extra="private_events = tcp://127.0.0.1:%d\ncurve_secret_key = %s\n"
                 "authorized_keys = %s\n" % (free_port(), tmp_path / "old.key",
                                             tmp_path / "authorized_keys"))
    gw.start()
    try:
        assert gw.request({"verb": "ping"})["result"]["private_events_key"] == pub.decode()
        assert "one-line key file of an earlier version" in gw.log_text()
    finally:
        gw.stop()
        reader.stop()
    # a certificate with a damaged key is refused with the file and line
    (tmp_path / "bad.key").write_text('metadata\ncurve\n    public-key = "%s"\n'
                                      '    secret-key = "tooshort"\n' % pub.decode())
    os.chmod(tmp_path / "bad.key", 0o600)
    out = subprocess.run([ACCESSGWD_CHECK, "--check-config", gw.config], capture_output=True,
                         text=True)
    assert out.returncode == 0
    gw.write_config(reader_config(reader.link), bus_extra="private_events = tcp://127.0.0.1:%d\n"
                    "curve_secret_key = %s\nauthorized_keys = %s\n"
                    % (free_port(), tmp_path / "bad.key", tmp_path / "authorized_keys"))
    out = subprocess.run([ACCESSGWD_CHECK, "--check-config", gw.config], capture_output=True,
                         text=True)
    assert out.returncode == 1 and "bad.key:4: secret-key is not a 40-character Z85 key" in \
        out.stdout + out.stderr, out.stdout + out.stderr


def test_revoked_key_loses_its_live_connection(tmp_path):
    """A key removed from authorized_keys and a reload: the subscriber already connected with
    it gets no more full records; one still listed keeps getting them."""
    gw_pub, _ = keygen(tmp_path, "gateway")
    keep_pub, keep_key = keygen(tmp_path, "window-1")
    gone_pub, gone_key = keygen(tmp_path, "window-2")
    keys = tmp_path / "authorized_keys"
    keys.write_text("%s window-1\n%s window-2\n" % (keep_pub, gone_pub))
    reader = SamReader(str(tmp_path / "ttySAM")).start()
    private = "tcp://127.0.0.1:%d" % free_port()
    gw = Gateway(tmp_path, reader_config(reader.link),
                 bus_extra="private_events = %s\ncurve_secret_key = %s\nauthorized_keys = %s\n"
                 % (private, tmp_path / "gateway.key", keys))
    public = Subscriber(gw.events, ["idcard/"])
    kept = Subscriber(private, ["idcard/"], curve=(gw_pub.encode(), keep_pub.encode(), keep_key.encode()))
    revoked = Subscriber(private, ["idcard/"], curve=(gw_pub.encode(), gone_pub.encode(), gone_key.encode()))
    gw.start()
    try:
        time.sleep(0.5)  # CURVE handshakes
        reader.place("resident")
        public.wait_topic("idcard/reader-1/read")
        kept.wait_topic("idcard/reader-1/read")
        revoked.wait_topic("idcard/reader-1/read")  # both listed: both get it
        reader.remove()
        public.wait_topic("idcard/reader-1/removed")
        keys.write_text("%s window-1\n" % keep_pub)
        gw.signal(signal.SIGHUP)
        deadline = time.time() + 5
        while "key window-2 revoked" not in gw.log_text() and time.time() < deadline:
            time.sleep(0.1)
        assert "key window-2 revoked" in gw.log_text()
        # A subscriber that reads its socket (as an application's loop does) reconnects,
        # passes ZAP again and re-sends its subscriptions; libzmq does that work only when
        # the application calls into the socket, so an idle test socket would miss events.
        kept.collect(1.5)
        revoked.collect(0.1)
        reader.place("resident2")
        public.wait_topic("idcard/reader-1/read")
        assert kept.wait_topic("idcard/reader-1/read")["data"]["name"] == "李四娃"
        assert revoked.recv(1.5) is None, "a revoked key still receives personal data"
        assert [t for t, e in revoked.seen].count("idcard/reader-1/read") == 1
        assert "private events: refused subscriber" in gw.log_text()
    finally:
        for s in (public, kept, revoked):
            s.close()
        gw.stop()
        reader.stop()


def test_journal_holds_only_masked_data(rig):
    """The journal (state_dir) keeps every public event, so it must hold the masked
    reads and nothing personal: no name, ID number, address or photo on disk."""
    reader, gw, sub = rig
    for key in ("resident", "hkmotw", "foreign", "foreign2023"):
        reader.place(key)
        sub.wait_topic("idcard/reader-1/read")
        reader.remove()
        sub.wait_topic("idcard/reader-1/removed")
    on_disk = b""
    for root, _, files in os.walk(gw.state_dir):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                on_disk += f.read()
    assert "110105********002X".encode() in on_disk  # the masked read was journaled
    for secret in PERSONAL:
        assert secret.encode() not in on_disk, "personal data on disk: %s" % secret
        assert json.dumps(secret)[1:-1].encode() not in on_disk, "escaped on disk: %s" % secret
