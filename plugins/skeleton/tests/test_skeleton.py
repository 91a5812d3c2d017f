"""The skeleton's own tests, as a new plugin's would be: an emulator on a pty, the real
gateway, the events checked against their schemas, the verbs' answers and errors."""
import os
import sys
import threading


import glob

from agwtest import Gateway, Subscriber, validate_event  # noqa: E402
from ptydev import PtyDevice  # noqa: E402
import regress  # noqa: E402

CAPTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "captures")


class Echo(PtyDevice):
    """Answers each line with "echo: <line>", unless told to stay silent."""

    def __init__(self, link):
        super().__init__(link)
        self.silent = False

    def start(self):
        self.open_pty()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        import select
        buf = b""
        while not self.stopped.is_set():
            try:
                ready, _, _ = select.select([self.master], [], [], 0.1)
                if not ready:
                    continue
                buf += os.read(self.master, 4096)
            except (OSError, ValueError, TypeError):
                return
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if not self.silent:
                    os.write(self.master, b"echo: " + line + b"\n")


def config(link):
    return ("[device sk-1]\nplugin = skeleton\ntransport = serial\npath = %s\nbaud = 115200\n"
            "interval_ms = 200\n" % link)


def test_lines_counter_ask_and_reset(tmp_path):
    dev = Echo(str(tmp_path / "ttySK")).start()
    gw = Gateway(tmp_path, config(dev.link))
    sub = Subscriber(gw.events, ["skeleton/"])
    gw.start()
    try:
        sub.catch_up(gw)
        validate_event("skeleton/sk-1/counter", sub.wait_topic("skeleton/sk-1/counter"))
        dev.write(b"hello\n")
        line = sub.wait_topic("skeleton/sk-1/line")
        validate_event("skeleton/sk-1/line", line)
        assert line["data"]["text"] == "hello"
        reply = gw.send("sk-1", "skeleton.ask", {"text": "status?"})
        assert reply["ok"] and reply["result"] == {"reply": "echo: status?"}, reply
        dev.silent = True
        reply = gw.send("sk-1", "skeleton.ask", {"text": "anyone?"})
        assert reply["error"]["code"] == "timeout", reply
        dev.silent = False
        reply = gw.send("sk-1", "skeleton.ask", {"text": "a\nb"})
        assert reply["error"]["code"] == "bad_args", reply
        assert gw.send("sk-1", "skeleton.reset", {"value": 1000})["result"] == {"count": 1000}
    finally:
        gw.stop()
    # saved state: the counter goes on from 1000 after a restart
    sub2 = Subscriber(gw.events, ["skeleton/sk-1/counter"])
    gw.start()
    try:
        sub2.catch_up(gw)
        count = sub2.wait_topic("skeleton/sk-1/counter")["data"]["count"]
        assert count > 1000, count
    finally:
        gw.stop()
        dev.stop()


def test_a_bad_setting_is_refused_with_its_file_and_line(tmp_path):
    """Config refusal done right: the host says which key, which value and where; the
    device is in error with that reason, and the gateway keeps running."""
    gw = Gateway(tmp_path, "[device sk-1]\nplugin = skeleton\ntransport = none\n"
                 "interval_ms = soon\n")
    sub = Subscriber(gw.events, ["device/sk-1/"])
    gw.start()
    try:
        sub.catch_up(gw)
        state = sub.wait_for(lambda t, e: t == "device/sk-1/state" and e["data"]["state"] == "error")[1]
        validate_event("device/sk-1/state", state)
        assert "gw.ini:" in state["data"]["reason"] and "'interval_ms'" in state["data"]["reason"] \
            and "'soon'" in state["data"]["reason"], state
        assert gw.request({"verb": "ping"})["ok"] is True
    finally:
        gw.stop()


def test_recorded_streams_give_their_golden_events(tmp_path):
    """A golden stream: each capture in captures/ (real bytes, with their provenance)
    played to the real gateway below the serial transport publishes exactly its .jsonl
    (regress.py --regenerate rewrites them; review the diff)."""
    paths = sorted(glob.glob(os.path.join(CAPTURES, "*.capture")))
    assert paths, "no captures in " + CAPTURES
    for path in paths:
        diff = regress.differences(path, regress.published(path))
        assert not diff, "".join(diff)


def test_aligned_counters_tick_together(tmp_path):
    """align = yes: each counter ticks at multiples of interval_ms on the wall clock, so
    devices started at different moments tick together (bench/scale.py's synchronised
    mode: a thousand timers firing at once)."""
    from datetime import datetime
    import time
    gw = Gateway(tmp_path, "[device a]\nplugin = skeleton\ntransport = none\ninterval_ms = 500\n"
                 "align = yes\n[device b]\nplugin = skeleton\ntransport = none\n"
                 "interval_ms = 500\nalign = yes\n")
    sub = Subscriber(gw.events, ["skeleton/"])
    gw.start()
    try:
        sub.catch_up(gw)
        ticks = {"a": [], "b": []}
        deadline = time.time() + 10
        while min(len(v) for v in ticks.values()) < 3 and time.time() < deadline:
            topic, ev = sub.wait_for(lambda t, e: t.endswith("/counter"))
            ticks[topic.split("/")[1]].append(datetime.fromisoformat(ev["time"].rstrip("Z")))
        for dev, times in ticks.items():
            for t in times[1:]:  # the first may come as the device starts
                ms = (t.second * 1000 + t.microsecond // 1000) % 500
                assert min(ms, 500 - ms) < 100, (dev, t)
    finally:
        sub.close()
        gw.stop()
