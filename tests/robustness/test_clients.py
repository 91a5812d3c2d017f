"""Clients cannot exhaust the gateway (issue 15, "bounded everything a client
can cause"): replay answers in pages, replies nobody reads are bounded in bytes,
500 idle clients and 100,000 random frames cost little, and commands to a device
that cannot take them get "busy" at once or "timeout" after command_timeout_ms.
Memory is read from /proc (VmRSS) of the real accessgwd."""
import json
import os
import random
import time

import pytest
import zmq

from agwtest import Gateway
from sam_reader import SamReader

COUNTER = "[device c-1]\nplugin = skeleton\ntransport = none\ninterval_ms = 1\n"
RSS_SLACK_KIB = 32 * 1024  # the bound: within 32 MiB of the start
# Under AddressSanitizer freed memory sits in its quarantine (256 MB by default), so RSS
# says nothing there: that run checks everything else, the plain run checks memory.
SANITIZED = "ASAN_OPTIONS" in os.environ


def rss_kib(gw):
    with open("/proc/%d/status" % gw.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def dealer(gw, rcvhwm=None):
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    if rcvhwm is not None:  # a client that does not read: as little as possible on its side
        s.setsockopt(zmq.RCVHWM, rcvhwm)
        s.setsockopt(zmq.RCVBUF, 4096)
    s.connect(gw.control)
    return s


def settled_and_bounded(gw, rss_before):
    """After the flood has settled: still answering, and within the memory bound."""
    time.sleep(1.0)
    assert ping_ok(gw)
    grown = rss_kib(gw) - rss_before
    print("\nRSS %d KiB -> grew by %d KiB" % (rss_before, grown))
    assert SANITIZED or grown < RSS_SLACK_KIB, "grew by %d KiB" % grown


def ping_ok(gw):
    return gw.request({"verb": "ping"}, timeout=2.0)["ok"] is True


@pytest.fixture(scope="module")
def busy_gw(tmp_path_factory):
    """A gateway whose history is full: 5,000 counter events (each ~300 bytes)."""
    gw = Gateway(tmp_path_factory.mktemp("clients"), COUNTER, bus_extra="history = 5000\n",
                 log_level="info")
    gw.start()
    deadline = time.time() + 30
    while gw.request({"verb": "ping"})["result"]["seq"] < 5200:
        assert time.time() < deadline, "the counter did not fill the history"
        time.sleep(0.2)
    yield gw
    assert gw.proc.poll() is None, gw.log_text()
    assert gw.stop() == 0


def test_replay_is_paged_and_the_pages_are_complete(busy_gw):
    gw = busy_gw
    first = gw.request({"verb": "replay", "args": {"since_seq": 0}})["result"]
    assert first["truncated"] is True and first["more"] is True
    assert len(json.dumps(first)) < 40 * 1024, "a page is about 32 KiB"
    seqs = [e["event"]["seq"] for e in first["events"]]
    assert seqs[0] == first["first_seq"] and first["next_since_seq"] == seqs[-1]
    since, pages = first["next_since_seq"], 1
    while since < first["last_seq"]:  # the counter keeps publishing: page up to where we began
        page = gw.request({"verb": "replay", "args": {"since_seq": since}})["result"]
        pages += 1
        got = [e["event"]["seq"] for e in page["events"]]
        seqs += got
        if not page["more"]:
            assert page["next_since_seq"] == page["last_seq"]
            break
        assert page["next_since_seq"] == got[-1] > since
        since = page["next_since_seq"]
    assert pages > 10
    assert seqs == list(range(seqs[0], seqs[-1] + 1)), "pages overlap or leave a hole"
    assert seqs[-1] - seqs[0] >= 4999
    limited = gw.request({"verb": "replay", "args": {"since_seq": since - 50, "limit": 7}})
    r = limited["result"]
    assert len(r["events"]) == 7 and r["more"] is True
    assert r["next_since_seq"] == r["events"][-1]["event"]["seq"] == since - 43


def test_a_client_that_never_reads_is_bounded(busy_gw):
    gw = busy_gw
    before = rss_kib(gw)
    hog = dealer(gw, rcvhwm=1)
    for i in range(1000):  # 1,000 pages of ~32 KiB asked for, none read: 32 MB if all were held
        hog.send(json.dumps({"id": i, "verb": "replay", "args": {"since_seq": 0}}).encode())
        if i % 100 == 0:
            assert ping_ok(gw)
    settled_and_bounded(gw, before)
    assert "replies wait for clients that do not read" in gw.log_text()
    hog.close()
    time.sleep(0.5)
    assert ping_ok(gw)
    assert gw.request({"verb": "replay", "args": {"since_seq": 0}})["ok"] is True


def test_500_idle_clients_and_100000_random_frames(busy_gw):
    gw = busy_gw
    before = rss_kib(gw)
    clients = [dealer(gw, rcvhwm=1) for _ in range(500)]
    for i, c in enumerate(clients):
        c.send(json.dumps({"id": i, "verb": "replay", "args": {"since_seq": 0, "limit": 20}}).encode())
    assert ping_ok(gw)
    rng = random.Random(15)
    noise = dealer(gw, rcvhwm=1)
    for i in range(100000):
        frames = [rng.randbytes(rng.choice((0, 1, 7, 60, 300))) for _ in range(rng.choice((1, 1, 2, 5)))]
        noise.send_multipart(frames)
        if i % 20000 == 0:
            assert ping_ok(gw)
    settled_and_bounded(gw, before)
    for c in clients + [noise]:
        c.close()
    assert gw.proc.poll() is None


def test_subscribers_that_never_read_are_bounded(tmp_path):
    """Each subscriber that never reads holds at most [bus] sndhwm events (5,000 by
    default; libzmq counts messages, not bytes, so the bound in bytes is sndhwm times
    ~130 bytes a queued event): 30 of them while 3,000 events a second flow for 12 s grow
    the gateway by a few MiB, not 30 x 36,000 events (about 140 MB with the old default
    of 100,000).  A subscriber that lost events sees the gap in seq and replays."""
    gw = Gateway(tmp_path, "".join("[device c-%d]\nplugin = skeleton\ntransport = none\n"
                                   "interval_ms = 1\n" % i for i in range(3)), log_level="info")
    gw.start()
    try:
        time.sleep(1.0)
        before = rss_kib(gw)
        subs = []
        for _ in range(30):
            s = zmq.Context.instance().socket(zmq.SUB)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RCVHWM, 1)
            s.setsockopt(zmq.RCVBUF, 4096)
            s.setsockopt(zmq.SUBSCRIBE, b"")
            s.connect(gw.events)
            subs.append(s)
        start_seq = gw.request({"verb": "ping"})["result"]["seq"]
        time.sleep(12.0)
        published = gw.request({"verb": "ping"})["result"]["seq"] - start_seq
        assert published > 3 * 5000, published  # each subscriber fell far behind its bound
        settled_and_bounded(gw, before)
        for s in subs:
            s.close()
    finally:
        assert gw.stop() == 0


def test_commands_to_a_device_that_cannot_take_them(tmp_path):
    """A reader that went silent: each idcard.read waits for its answer, so
    commands pile up; past 16 waiting they are refused at once, and none waits
    longer than command_timeout_ms.  Every request is answered exactly once."""
    reader = SamReader(str(tmp_path / "ttySAM")).start()
    gw = Gateway(tmp_path, "[device reader-1]\nplugin = idcard-sam\ntransport = serial\n"
                 "path = %s\nbaud = 115200\npoll_ms = 60000\nread_timeout_ms = 3000\n" % reader.link,
                 gateway_extra="command_timeout_ms = 1500\n")
    try:
        gw.start()
        deadline = time.time() + 10
        while gw.request({"verb": "devices"})["result"]["devices"][0]["state"] != "up":
            assert time.time() < deadline
            time.sleep(0.1)
        reader.mode = "silent"
        s = dealer(gw)
        sent = time.monotonic()
        for i in range(40):
            s.send(json.dumps({"id": i, "verb": "idcard.read", "device": "reader-1"}).encode())
        replies = {}
        while len(replies) < 40 and s.poll(5000):
            r = json.loads(s.recv())
            assert r["id"] not in replies, "answered twice: %r" % r
            replies[r["id"]] = (r, time.monotonic() - sent)
        assert len(replies) == 40
        codes = [r["error"]["code"] for r, _ in replies.values() if not r["ok"]]
        busy = [r for r, t in replies.values() if not r["ok"] and r["error"]["code"] == "busy"]
        assert len(busy) >= 20, codes
        assert all(t < 1.0 for r, t in replies.values() if not r["ok"] and r["error"]["code"] == "busy")
        # the plugin's own "timeout" (the reader's answer did not come) is a normal
        # answer; the gateway's says the command itself waited too long
        timed_out = [t for r, t in replies.values() if not r["ok"] and
                     "did not answer within 1500 ms" in r["error"]["message"]]
        assert timed_out, codes
        assert all(r["error"]["code"] == "timeout" for r, _ in replies.values() if not r["ok"] and
                   "did not answer within" in r["error"]["message"])
        assert all(1.4 < t < 3.0 for t in timed_out), sorted(timed_out)
        assert ping_ok(gw)
        # late answers from the worker are dropped, not sent: nothing more arrives
        assert not s.poll(2000) or "answered twice" == json.loads(s.recv())
        s.close()
        reader.mode = "normal"
    finally:
        assert gw.stop() == 0, gw.log_text()
        reader.stop()
