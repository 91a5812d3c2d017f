"""The public bus: envelopes valid against the schemas, seq gap-free,
epoch persisted, heartbeats, and replay recovering what a subscriber missed."""
import time

from agwtest import Gateway, Subscriber, validate_event

COUNTER = "[device demo-1]\nplugin = skeleton\ntransport = none\ninterval_ms = 50\nlocation = Window 3\n"


def test_events_are_valid_and_gap_free(tmp_path):
    gw = Gateway(tmp_path, COUNTER)
    sub = Subscriber(gw.events)
    gw.start()
    sub.catch_up(gw)  # whatever went by before the SUB joined
    try:
        events = []
        while len(events) < 40:
            got = sub.recv(5)
            assert got, "events stopped"
            events.append(got)
        for topic, ev in events:
            validate_event(topic, ev)
        seqs = [ev["seq"] for _, ev in events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
        assert {ev["epoch"] for _, ev in events} == {1}
        topics = [t for t, _ in events]
        assert topics[0] == "gateway/hall-1/started" and events[0][1]["seq"] == 1
        assert "device/demo-1/attached" in topics
        assert "device/demo-1/state" in topics
        assert topics.index("device/demo-1/attached") < topics.index("device/demo-1/state")
        counters = [ev for t, ev in events if t == "skeleton/demo-1/counter"]
        assert len(counters) >= 20
        assert all(ev["data"]["location"] == "Window 3" for ev in counters)
        assert [ev["data"]["count"] for ev in counters] == list(range(1, len(counters) + 1))
        assert counters[0]["id"] == "hall-1:1:%d" % counters[0]["seq"]
        assert counters[0]["source"] == "accessgw://hall-1/demo-1"
    finally:
        sub.close()
        assert gw.stop() == 0


def test_epoch_rises_at_every_start(tmp_path):
    epochs = []
    for _ in range(3):
        gw = Gateway(tmp_path, "")
        epochs.append(gw.start().request({"verb": "ping"})["result"]["epoch"])
        assert gw.stop() == 0
    assert epochs == [1, 2, 3]


def test_heartbeat_carries_its_seq(tmp_path):
    gw = Gateway(tmp_path, "")
    sub = Subscriber(gw.events, ["gateway/"])
    gw.start()
    try:
        hb = sub.wait_topic("gateway/hall-1/heartbeat", 3)
        hb2 = sub.wait_topic("gateway/hall-1/heartbeat", 3)
        assert hb["data"]["seq"] == hb["seq"]
        assert hb2["seq"] == hb["seq"] + 1  # nothing else happens on this gateway
        validate_event("gateway/hall-1/heartbeat", hb)
    finally:
        gw.stop()


def test_replay_recovers_missed_events(tmp_path):
    gw = Gateway(tmp_path, COUNTER)
    gw.start()
    sub = Subscriber(gw.events, ["skeleton/"])
    try:
        _, first = sub.wait_for(lambda t, e: True, 5)
        last_seen = first["seq"]
        sub.close()  # the subscriber drops out ...
        time.sleep(1.0)  # ... while ~20 counter events and heartbeats go by
        sub = Subscriber(gw.events, ["skeleton/"])
        _, back = sub.wait_for(lambda t, e: True, 5)
        assert back["seq"] > last_seen + 10
        reply = gw.request({"id": 7, "verb": "replay", "args": {"since_seq": last_seen}})
        assert reply["ok"] and reply["id"] == 7
        result = reply["result"]
        assert result["epoch"] == 1 and result["truncated"] is False
        got = [e["event"]["seq"] for e in result["events"]]
        # every event after last_seen, gap-free, up to at least the one we saw on return
        assert got[0] == last_seen + 1
        assert got == list(range(got[0], got[0] + len(got)))
        assert back["seq"] in got
        byseq = {e["event"]["seq"]: e for e in result["events"]}
        assert byseq[back["seq"]]["event"] == back
        assert byseq[back["seq"]]["topic"] == "skeleton/demo-1/counter"
        filtered = gw.request({"verb": "replay", "args": {"since_seq": last_seen,
                                                           "prefixes": ["skeleton/"]}})
        assert {e["topic"] for e in filtered["result"]["events"]} == {"skeleton/demo-1/counter"}
    finally:
        sub.close()
        gw.stop()


def test_history_is_bounded(tmp_path):
    gw = Gateway(tmp_path, COUNTER, bus_extra="history = 5\n")
    gw.start()
    try:
        time.sleep(1.0)
        result = gw.request({"verb": "replay", "args": {"since_seq": 0}})["result"]
        assert len(result["events"]) == 5
        assert result["truncated"] is True
        assert result["first_seq"] == result["events"][0]["event"]["seq"]
        assert result["last_seq"] >= result["events"][-1]["event"]["seq"]
    finally:
        gw.stop()


def test_watch_fills_gaps_with_replay(tmp_path):
    """accessgwctl watch prints every matching event in seq order, even the
    ones it missed while it was connecting (it asks replay)."""
    import subprocess
    from agwtest import ACCESSGWCTL
    gw = Gateway(tmp_path, COUNTER)
    gw.start()
    try:
        time.sleep(0.5)
        out = subprocess.run([ACCESSGWCTL, "--events", gw.events, "--control", gw.control,
                              "watch", "--since", "0", "--count", "15", "skeleton/"],
                             capture_output=True, timeout=20, text=True)
        assert out.returncode == 0, out.stderr
        import json
        evs = [json.loads(line) for line in out.stdout.splitlines()]
        assert len(evs) == 15
        counts = [e["data"]["count"] for e in evs]
        assert counts == list(range(1, 16))  # from the very first, though watch started late
    finally:
        gw.stop()


def test_watch_follows_replay_pages(tmp_path):
    """A gap longer than one replay page (~32 KiB, ~100 events): watch asks page after
    page and prints every event once, in order."""
    import json
    import subprocess
    from agwtest import ACCESSGWCTL
    gw = Gateway(tmp_path, "[device c-1]\nplugin = skeleton\ntransport = none\ninterval_ms = 2\n",
                 bus_extra="history = 5000\n", log_level="info")
    gw.start()
    try:
        deadline = time.time() + 20
        while gw.request({"verb": "ping"})["result"]["seq"] < 1500:
            assert time.time() < deadline
            time.sleep(0.1)
        out = subprocess.run([ACCESSGWCTL, "--events", gw.events, "--control", gw.control,
                              "watch", "--since", "0", "--count", "1200", "skeleton/"],
                             capture_output=True, timeout=30, text=True)
        assert out.returncode == 0, out.stderr
        counts = [json.loads(line)["data"]["count"] for line in out.stdout.splitlines()]
        assert counts == list(range(1, 1201))
    finally:
        gw.stop()
