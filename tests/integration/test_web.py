"""The web endpoint (docs/CONTRACT.md, Web): Server-Sent Events with the bus's topics,
envelope, seq/epoch and replay; POST /control with a bearer token and the control
socket's error codes; accessgwd starting and restarting accessgw-web; hostile HTTP."""
import os
import random
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "emulators"))

from agwtest import Gateway, Subscriber, free_port  # noqa: E402
from rf_receiver import RfReceiver  # noqa: E402
from sam_reader import SamReader  # noqa: E402
from webclient import Sse, http  # noqa: E402

TOKEN = "s3cret-token-for-the-help-desk"
BELL = ("[device bell-1]\nplugin = callbell-rf\ntransport = serial\npath = %s\nbaud = 9600\n"
        "format = fd-df\nlocation = Zone A\nrepeat_s = 30\n"
        "button.A1B2C5 = emergency, Accessible toilet 2F\nbutton.0ABCD2 = service, Help desk\n")


def token_file(tmp_path, name, token):
    """A bearer token as an installer leaves it: readable by the service only (a file
    others may read is refused)."""
    path = os.path.join(str(tmp_path), name)
    with open(path, "w") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)
    return path


def web_gateway(tmp_path, devices="", token=True, env=None):
    port = free_port()
    tok = token_file(tmp_path, "web.token", TOKEN)
    extra = "[web]\nlisten = 127.0.0.1:%d\n%s" % (port, "token_file = %s\n" % tok if token else "")
    gw = Gateway(tmp_path, devices, gateway_extra=extra, env=env)
    gw.web_port = port
    return gw


def web_pids(gw):
    """accessgw-web processes serving this gateway's config (from /proc, not pgrep:
    a shell running pgrep -f would match its own pattern)."""
    pids = []
    for d in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, ValueError):
            continue
        if argv[0].endswith(b"accessgw-web") and gw.config.encode() in argv:
            pids.append(int(d))
    return pids


def wait_web(gw, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            status, _, body = http(gw.web_port, "GET", "/status", timeout=1)
            if status == 200 and b'"live":true' in body:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("accessgw-web did not come up:\n" + gw.log_text())


def control(gw, req, token=TOKEN):
    import json
    status, headers, body = http(gw.web_port, "POST", "/control", json.dumps(req),
                                 {"Authorization": "Bearer " + token} if token else {})
    return status, headers, json.loads(body)


def test_sse_stream_is_the_bus(tmp_path):
    rx = RfReceiver(str(tmp_path / "ttyRF")).start()
    gw = web_gateway(tmp_path, BELL % rx.link)
    sub = Subscriber(gw.events, ["callbell/"])
    gw.start()
    try:
        wait_web(gw)
        sse = Sse(gw.web_port, "/events?prefix=callbell/")
        assert sse.status == 200 and sse.headers["content-type"].startswith("text/event-stream")
        rx.press(0xA1B2C5)
        ev = sse.wait(lambda e: e.get("event") == "callbell/bell-1/pressed")
        bus = sub.wait_topic("callbell/bell-1/pressed")
        assert ev["data"] == bus  # the same envelope as on ZeroMQ
        assert ev["id"] == "%d:%d" % (bus["epoch"], bus["seq"])
        assert all(e["event"].startswith("callbell/") for e in sse.events)
        sse.close()
        # unnamed=1: the same events as plain messages (EventSource has no wildcard listener)
        plain = Sse(gw.web_port, "/events?unnamed=1&since=%d:0" % bus["epoch"])
        first = plain.wait(lambda e: True)
        assert "event" not in first and first["data"]["seq"] == 1
        plain.close()
    finally:
        gw.stop()
        rx.stop()


def test_reconnect_with_last_event_id_loses_nothing_across_a_restart(tmp_path):
    gw = web_gateway(tmp_path)
    gw.start()
    wait_web(gw)
    sse = Sse(gw.web_port, "/events?prefix=gateway/")
    sse.wait(lambda e: e.get("event", "").endswith("/heartbeat"))
    last = sse.events[-1]["id"]
    sse.close()
    gw.stop()  # a new epoch: events after `last` are in the journal only
    gw.start()
    wait_web(gw)
    time.sleep(1.2)
    again = Sse(gw.web_port, "/events?prefix=gateway/", {"Last-Event-ID": last})
    again.wait(lambda e: e.get("event", "").endswith("/started") and e["data"]["seq"] == 1,
               what="the new epoch's start")
    keys = [tuple(map(int, e["id"].split(":"))) for e in again.events]
    e0, s0 = map(int, last.split(":"))
    assert keys[0] == (e0, s0 + 1), keys[:3]  # resumes right after what was seen
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for epoch in {k[0] for k in keys}:  # gap-free within each epoch
        seqs = [s for e, s in keys if e == epoch]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs[:10]
    assert any(e["event"].endswith("/stopped") for e in again.events)
    again.close()
    gw.stop()


def test_control_needs_the_token_and_keeps_the_error_codes(tmp_path):
    gw = web_gateway(tmp_path)
    gw.start()
    wait_web(gw)
    try:
        status, headers, reply = control(gw, {"id": "1", "verb": "ping"}, token=None)
        assert status == 401 and headers["www-authenticate"].startswith("Bearer")
        status, _, reply = control(gw, {"id": "1", "verb": "ping"}, token="wrong" + TOKEN)
        assert status == 401 and reply["error"]["code"] == "unauthorized"
        status, _, reply = control(gw, {"id": "p", "verb": "ping"})
        assert status == 200 and reply["ok"] and reply["id"] == "p"
        assert reply["result"]["gateway"] == "hall-1"
        _, _, reply = control(gw, {"id": "x", "verb": "nope"})
        assert reply == {"id": "x", "ok": False, "error": reply["error"]}
        assert reply["error"]["code"] == "unknown_verb"
        _, _, reply = control(gw, {"id": "d", "verb": "callbell.ack", "device": "none"})
        assert reply["error"]["code"] == "unknown_device"
        status, _, body = http(gw.web_port, "POST", "/control", "{not json",
                               {"Authorization": "Bearer " + TOKEN})
        assert status == 400 and b'"bad_json"' in body
        status, _, body = http(gw.web_port, "POST", "/control", "x" * 70000,
                               {"Authorization": "Bearer " + TOKEN})
        assert status == 413
        # the routes are a table: a method a path lacks is 405 with that path's Allow
        status, headers, _ = http(gw.web_port, "DELETE", "/control")
        assert status == 405 and headers["allow"] == "OPTIONS, POST"
        status, headers, _ = http(gw.web_port, "POST", "/events", "{}",
                                  {"Authorization": "Bearer " + TOKEN})
        assert status == 405 and headers["allow"] == "OPTIONS, GET, HEAD"
        status, headers, _ = http(gw.web_port, "PUT", "/anything")
        assert status == 405 and headers["allow"] == "OPTIONS, GET, HEAD, POST"
        status, _, body = http(gw.web_port, "POST", "/nothing-here", "{}",
                               {"Authorization": "Bearer " + TOKEN})
        assert status == 404 and b"POST /control or /followups" in body
        # a preflight is answered only for an origin listed in [web] allow_origins (none
        # here): tests/robustness/test_web_doors.py
        status, headers, _ = http(gw.web_port, "OPTIONS", "/control")
        assert status == 403 and "access-control-allow-origin" not in headers
        status, headers, body = http(gw.web_port, "GET", "/")
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert "值班台".encode() in body
        status, _, _ = http(gw.web_port, "GET", "/../../etc/passwd")
        assert status == 404
    finally:
        gw.stop()


def test_a_token_file_others_may_read_is_refused(tmp_path):
    gw = web_gateway(tmp_path)
    os.chmod(os.path.join(str(tmp_path), "web.token"), 0o644)
    gw.start()
    deadline = time.time() + 10
    while time.time() < deadline and "[web] token_file" not in gw.log_text():
        time.sleep(0.1)
    assert "[web] token_file" in gw.log_text() and "web.token" in gw.log_text()
    assert gw.request({"verb": "ping"})["ok"]  # the gateway itself runs on
    gw.stop()


def test_without_a_token_commands_are_off(tmp_path):
    gw = web_gateway(tmp_path, token=False)
    gw.start()
    wait_web(gw)
    status, _, reply = control(gw, {"id": "1", "verb": "ping"}, token="anything-at-all-here")
    assert status == 401 and "token_file" in reply["error"]["message"]
    gw.stop()


def test_only_masked_id_card_data(tmp_path):
    reader = SamReader(str(tmp_path / "ttySAM")).start()
    devices = ("[device reader-1]\nplugin = idcard-sam\ntransport = serial\npath = %s\n"
               "baud = 115200\npoll_ms = 100\nlocation = Window 3\n" % reader.link)
    gw = web_gateway(tmp_path, devices)
    gw.start()
    try:
        wait_web(gw)
        sse = Sse(gw.web_port, "/events?prefix=idcard/")
        reader.place("resident")
        ev = sse.wait(lambda e: e.get("event") == "idcard/reader-1/read")
        assert ev["data"]["data"]["masked"] is True
        assert ev["data"]["data"]["id_number"] == "110105********002X"
        raw = sse.body + b"".join(str(e).encode() for e in sse.events)
        for secret in ("11010519491231002X", "张三", "北京市西城区示例路1号"):
            assert secret.encode() not in raw and secret not in str(sse.events)
        sse.close()
    finally:
        gw.stop()
        reader.stop()


def test_accessgwd_restarts_a_killed_web_and_stops_it(tmp_path):
    gw = web_gateway(tmp_path)
    gw.start()
    wait_web(gw)
    pid = web_pids(gw)[0]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    wait_web(gw)
    assert "accessgw-web was killed by Killed" in gw.log_text()
    assert gw.request({"verb": "ping"})["ok"]  # the gateway never noticed beyond the log
    gw.stop()
    time.sleep(0.2)
    assert web_pids(gw) == []


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int([l for l in f if l.startswith("VmRSS")][0].split()[1])


def test_hostile_http_never_stalls_the_bus(tmp_path):
    """Malformed requests, slow clients and 500 connections: accessgw-web stays up and
    bounded, the gateway answers ping throughout, and a stream still gets events."""
    rng = random.Random(1313)
    gw = web_gateway(tmp_path)
    gw.start()
    wait_web(gw)
    pid = web_pids(gw)[0]
    start_rss = rss_kib(pid)
    corpus = [b"GET / HTTP/1.1\r\n\r\n", b"\x00\xff" * 100, b"GET /events HTTP/1.1\r\nHost: x\r\n"
              b"Last-Event-ID: 99999999999999999999999:-1\r\n\r\n",
              b"POST /control HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\nabc",
              b"GET /" + b"A" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
              b"GET / HTTP/1.1\r\n" + b"X-H: " + b"b" * 70000 + b"\r\n\r\n",
              b"POST /control HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
              b"GET /events?since=1:2:3&prefix=%00%ff HTTP/1.1\r\nHost: x\r\n\r\n",
              b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]
    for _ in range(300):
        corpus.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))))
    for payload in corpus:
        s = socket.create_connection(("127.0.0.1", gw.web_port), timeout=5)
        try:
            s.sendall(payload)
            s.settimeout(0.05)
            try:
                s.recv(4096)
            except OSError:
                pass
        finally:
            s.close()
    # slow clients: headers one byte at a time, never finished; 200 idle SSE streams (one
    # address may hold 256 connections)
    slow = [socket.create_connection(("127.0.0.1", gw.web_port)) for _ in range(20)]
    for s in slow:
        s.sendall(b"GET /ev")
    streams = []
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", gw.web_port))
        s.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        streams.append(s)
    assert gw.request({"verb": "ping"}, timeout=2)["ok"]
    sse = Sse(gw.web_port, "/events?prefix=gateway/")
    sse.wait(lambda e: e.get("event", "").endswith("/heartbeat"), timeout=10)
    grown = rss_kib(pid) - start_rss
    for s in slow + streams:
        s.close()
    sse.close()
    assert gw.proc.poll() is None
    assert web_pids(gw)[0] == pid
    print("web hostile input: %d malformed requests, 20 slow, 200 streams: RSS grew %d KiB"
          % (len(corpus), grown))
    assert grown < 32 * 1024
    gw.stop()


def test_a_gateway_that_does_not_answer_gets_504_timeout(tmp_path):
    """accessgw-web outlives a stopped gateway for a moment: a command then gets 504
    `timeout` after command_timeout_ms (+2 s), not a hang."""
    gw = web_gateway(tmp_path)
    text = open(gw.config).read().replace("[gateway]\n", "[gateway]\ncommand_timeout_ms = 200\n")
    open(gw.config, "w").write(text)
    gw.start()
    wait_web(gw)
    web = web_pids(gw)[0]
    gw.proc.send_signal(signal.SIGSTOP)  # the gateway is there but answers nothing
    try:
        t0 = time.time()
        status, _, reply = control(gw, {"id": "late", "verb": "ping"})
        assert status == 504 and reply["error"]["code"] == "timeout" and reply["id"] == "late"
        assert 2.0 <= time.time() - t0 < 6, time.time() - t0
        assert web_pids(gw) == [web]
    finally:
        gw.proc.send_signal(signal.SIGCONT)
    gw.stop()


def test_a_window_app_commands_only_its_own_devices(tmp_path):
    """Issue 28, item 3: with its own token a window application may POST /control the
    verbs of its own window's devices, from its own origins; another device, a gateway
    verb or a foreign Origin is 403; a token that is nobody's is 401; the staff's token
    still reaches every device; replies stay masked as they always were."""
    import json
    app_token = "window-3-token-0123456789abcdef"
    tok = token_file(tmp_path, "w3.token", app_token)
    devices = ("[device a]\nplugin = skeleton\ntransport = none\n"
               "[device b]\nplugin = skeleton\ntransport = none\n"
               "[app window-3]\ntoken_file = %s\ndevices = a\norigins = https://ywxt.example\n" % tok)
    gw = web_gateway(tmp_path, devices)
    gw.start()
    try:
        wait_web(gw)

        def send(req, token, origin=None):
            headers = {"Authorization": "Bearer " + token}
            if origin:
                headers["Origin"] = origin
            status, hdrs, body = http(gw.web_port, "POST", "/control", json.dumps(req), headers)
            return status, hdrs, json.loads(body)

        status, hdrs, reply = send({"id": "1", "verb": "skeleton.reset", "device": "a",
                                    "args": {"value": 3}}, app_token, "https://ywxt.example")
        assert status == 200 and reply["ok"] is True and reply["id"] == "1", reply
        assert hdrs["access-control-allow-origin"] == "https://ywxt.example"
        status, _, reply = send({"id": "2", "verb": "skeleton.reset", "device": "b"}, app_token)
        assert status == 403 and reply["error"]["code"] == "forbidden", reply
        assert "own devices" in reply["error"]["message"]
        status, _, reply = send({"id": "3", "verb": "ping"}, app_token)
        assert status == 403 and "gateway verbs" in reply["error"]["message"], reply
        status, hdrs, reply = send({"id": "4", "verb": "skeleton.reset", "device": "a"}, app_token,
                                   "https://evil.example")
        assert status == 403 and "access-control-allow-origin" not in hdrs, reply
        status, _, _ = send({"id": "5", "verb": "skeleton.reset", "device": "a"}, "x" * 31)
        assert status == 401
        status, _, reply = send({"id": "6", "verb": "skeleton.reset", "device": "b"}, TOKEN)
        assert status == 200 and reply["ok"] is True, reply
        # the app's page may ask the preflight from its origin, and only from it
        status, hdrs, _ = http(gw.web_port, "OPTIONS", "/control", None,
                               {"Origin": "https://ywxt.example"})
        assert status == 204 and hdrs["access-control-allow-origin"] == "https://ywxt.example"
        assert "POST" in hdrs["access-control-allow-methods"]
        status, _, _ = http(gw.web_port, "OPTIONS", "/control", None, {"Origin": "https://evil.example"})
        assert status == 403
        # the staff's follow-up list is not the app's
        status, _, _ = http(gw.web_port, "POST", "/followups", "{}",
                            {"Authorization": "Bearer " + app_token})
        assert status == 401
    finally:
        gw.stop()


def test_each_window_app_gets_the_full_records_of_its_own_window_only(tmp_path):
    """Issue 28, items 2 and 4: two readers, two apps.  Each app's /app/events carries its
    own reader's read in full (same topic, id and seq as the public one), never the other
    window's; the public stream stays masked; each delivery is one audit line (recipient,
    channel web, device, type, event id; never the data) and the chain verifies; no token,
    another's origin, or the staff's token are refused."""
    import json
    import subprocess
    from agwtest import ACCESSGWCTL
    readers = [SamReader(str(tmp_path / ("ttySAM%d" % i))).start() for i in (1, 2)]
    tokens = {"window-3": "window-3-token-0123456789abcdef", "window-4": "window-4-token-fedcba9876543210"}
    apps = ""
    for (name, token), dev in zip(tokens.items(), ("reader-1", "reader-2")):
        path = token_file(tmp_path, name + ".token", token)
        apps += ("[app %s]\ntoken_file = %s\ndevices = %s\norigins = https://%s.example\n"
                 % (name, path, dev, name))
    devices = "".join("[device reader-%d]\nplugin = idcard-sam\ntransport = serial\npath = %s\n"
                      "baud = 115200\npoll_ms = 100\nlocation = Window %d\n" % (i, r.link, i + 2)
                      for i, r in enumerate(readers, 1))
    gw = web_gateway(tmp_path, devices + apps)
    gw.start()
    streams = []
    try:
        wait_web(gw)
        assert Sse(gw.web_port, "/app/events").status == 401
        assert Sse(gw.web_port, "/app/events", {"Authorization": "Bearer " + TOKEN}).status == 401
        foreign = Sse(gw.web_port, "/app/events", {"Authorization": "Bearer " + tokens["window-3"],
                                                   "Origin": "https://window-4.example"})
        assert foreign.status == 403
        w3 = Sse(gw.web_port, "/app/events", {"Authorization": "Bearer " + tokens["window-3"],
                                              "Origin": "https://window-3.example"})
        w4 = Sse(gw.web_port, "/app/events", {"Authorization": "Bearer " + tokens["window-4"]})
        public = Sse(gw.web_port, "/events?prefix=idcard/")
        streams = [w3, w4, public]
        assert w3.status == 200 and w3.headers["access-control-allow-origin"] == "https://window-3.example"
        readers[0].place("resident")
        full = w3.wait(lambda e: e.get("event") == "idcard/reader-1/read")
        masked = public.wait(lambda e: e.get("event") == "idcard/reader-1/read")
        assert full["data"]["data"]["id_number"] == "11010519491231002X"
        assert full["data"]["data"]["name"] == "张三"
        assert full["id"] == masked["id"] and full["data"]["id"] == masked["data"]["id"]
        assert masked["data"]["data"]["id_number"] == "110105********002X"
        readers[1].place("resident")
        w4.wait(lambda e: e.get("event") == "idcard/reader-2/read")
        time.sleep(1)
        w3.read(0.5)
        assert not [e for e in w3.events if "reader-2" in str(e.get("event"))]
        assert not [e for e in w4.events if "reader-1" in str(e.get("event"))]
        lines = subprocess.run([ACCESSGWCTL, "--config", gw.config, "audit"], capture_output=True,
                               text=True, timeout=10).stdout.splitlines()
        records = [json.loads(l) for l in lines]
        assert [(r["recipient"], r["channel"], r["device"], r["type"]) for r in records] == [
            ("window-3", "web", "reader-1", "accessgw.idcard.read"),
            ("window-4", "web", "reader-2", "accessgw.idcard.read")], records
        assert records[0]["event"] == full["data"]["id"]
        assert "张三" not in "\n".join(lines) and "11010519491231002X" not in "\n".join(lines)
        check = subprocess.run([ACCESSGWCTL, "--config", gw.config, "audit", "--verify"],
                               capture_output=True, text=True, timeout=10)
        assert check.returncode == 0, check.stderr
    finally:
        for s in streams:
            s.close()
        gw.stop()
        for r in readers:
            r.stop()


def test_a_changed_or_removed_app_loses_its_streams_at_once(tmp_path):
    """Issue 28, item 1: SIGHUP re-reads the apps; a stream opened with a token that changed,
    or by an app that is gone, ends at once, and the old token opens nothing any more."""
    old, new = "window-3-token-0123456789abcdef", "window-3-token-NEW-456789abcdef"
    tok = token_file(tmp_path, "w3.token", old)
    app = ("[device a]\nplugin = skeleton\ntransport = none\n"
           "[app window-3]\ntoken_file = %s\ndevices = a\n" % tok)
    gw = web_gateway(tmp_path, app)
    gw.start()
    try:
        wait_web(gw)
        stream = Sse(gw.web_port, "/app/events", {"Authorization": "Bearer " + old})
        assert stream.status == 200
        token_file(tmp_path, "w3.token", new)
        gw.signal(signal.SIGHUP)
        stream.sock.settimeout(5)
        ended = False
        deadline = time.time() + 5
        while time.time() < deadline and not ended:
            try:
                ended = stream.sock.recv(65536) == b""
            except socket.timeout:
                break
        assert ended, "the stream opened with the old token is still open"
        wait_web(gw)
        assert Sse(gw.web_port, "/app/events", {"Authorization": "Bearer " + old}).status == 401
        assert Sse(gw.web_port, "/app/events", {"Authorization": "Bearer " + new}).status == 200
    finally:
        gw.stop()


def test_the_audit_chain_holds_across_a_restart_and_a_kill_9(tmp_path):
    """Issue 28, items 4 and 6: deliveries before and after a kill -9 of accessgwd and
    accessgw-web, and after a clean restart, are one chain; --verify proves it, and the
    heartbeat's audit_head is its newest line's hash."""
    import hashlib
    import subprocess
    from agwtest import ACCESSGWCTL
    reader = SamReader(str(tmp_path / "ttySAM")).start()
    token = "window-3-token-0123456789abcdef"
    tok = token_file(tmp_path, "w3.token", token)
    devices = ("[device reader-1]\nplugin = idcard-sam\ntransport = serial\npath = %s\n"
               "baud = 115200\npoll_ms = 100\n[app window-3]\ntoken_file = %s\ndevices = reader-1\n"
               % (reader.link, tok))
    gw = web_gateway(tmp_path, devices)

    def one_delivery():
        """One card, read while the stream is open; taken off before the stream closes, so a
        gateway started next finds no card on the reader (no read outside this window)."""
        wait_web(gw)
        stream = Sse(gw.web_port, "/app/events", {"Authorization": "Bearer " + token})
        reader.place("resident")
        stream.wait(lambda e: e.get("event") == "idcard/reader-1/read")
        reader.remove()
        time.sleep(0.5)  # the reader polls every 100 ms: the card is seen gone
        stream.close()

    try:
        gw.start()
        one_delivery()
        for pid in web_pids(gw):
            os.kill(pid, signal.SIGKILL)
        gw.proc.kill()
        gw.proc.wait()
        gw.start()
        one_delivery()
        gw.stop()
        gw.start()
        one_delivery()
        out = subprocess.run([ACCESSGWCTL, "--config", gw.config, "audit", "--verify"],
                             capture_output=True, text=True, timeout=10)
        assert out.returncode == 0, out.stderr
        day_files = sorted(os.listdir(os.path.join(gw.state_dir, "audit")))
        lines = [l for f in day_files if f.endswith(".jsonl")
                 for l in open(os.path.join(gw.state_dir, "audit", f)).read().splitlines()]
        assert len(lines) == 3, lines
        head = hashlib.sha256(lines[-1].encode()).hexdigest()
        assert head in out.stdout
        sub = Subscriber(gw.events, ["gateway/"])
        beat = sub.wait_for(lambda t, e: t.endswith("/heartbeat"), timeout=5)[1]
        sub.close()
        assert beat["data"]["audit_head"] == head
    finally:
        gw.stop()
        reader.stop()
