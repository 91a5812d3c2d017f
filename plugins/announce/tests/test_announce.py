"""announce end to end: calls through the control socket, spoken by espeak-ng into ALSA,
captured by ALSA's own file plugin (a `file` PCM in the service user's ~/.asoundrc, over
the null PCM), the real gateway and its sandboxed plugin host."""
import array
import math
import os
import time

import pytest

from agwtest import Gateway, Subscriber, validate_event

RATE = 22050  # espeak-ng's sample rate; the file PCM keeps the format it is given


def asoundrc(home, names):
    """One capture PCM per name, each writing its own raw file."""
    text = "".join('pcm.%s {\n    type file\n    slave.pcm "null"\n    file "%s/%s.raw"\n'
                   '    format "raw"\n}\n' % (n, home / "audio", n) for n in names)
    (home / "audio").mkdir(exist_ok=True)
    (home / ".asoundrc").write_text(text)


def device(name, pcm, extra=""):
    return ("[device %s]\nplugin = announce\ntransport = none\nalsa_device = %s\n"
            "location = 3号窗口\n%s" % (name, pcm, extra))


@pytest.fixture
def rig(tmp_path):
    asoundrc(tmp_path, ["once", "twice", "slow", "small"])
    gw = Gateway(tmp_path, device("say-1", "once", "repeat = 1\n") +
                 device("say-2", "twice") +
                 device("say-e", "slow", "repeat = 1\nelderly = yes\n") + device("say-q", "small", "queue = 3\nrepeat = 1\n"),
                 env=dict(os.environ, HOME=str(tmp_path)))
    sub = Subscriber(gw.events, ["announce/"])
    gw.start()
    sub.catch_up(gw)
    yield gw, sub, tmp_path
    sub.close()
    gw.stop()


def audio(home, name):
    with open(home / "audio" / (name + ".raw"), "rb") as f:
        samples = array.array("h", f.read())
    rms = math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))
    return len(samples) * 1000 // RATE, rms


def spoken(sub, dev, timeout=30):
    _, ev = sub.wait_for(lambda t, e: t in ("announce/%s/spoken" % dev, "announce/%s/error" % dev),
                         timeout=timeout, what="%s spoken" % dev)
    assert ev["type"].endswith("spoken"), ev
    validate_event("announce/%s/spoken" % dev, ev)
    return ev["data"]


def test_a_call_is_queued_at_once_then_heard_in_mandarin(rig):
    gw, sub, home = rig
    reply = gw.send("say-1", "announce.call", {"ticket": "A012", "window": "3号窗口"})
    assert reply["ok"] is True, reply
    assert reply["result"]["place"] == 1
    assert reply["result"]["text"] == "请A零一二号到三号窗口办理"
    _, call = sub.wait_for(lambda t, e: t == "announce/say-1/call")
    validate_event("announce/say-1/call", call)
    assert call["data"] == {"ticket": "A012", "window": "3号窗口", "text": "请A零一二号到三号窗口办理",
                            "location": "3号窗口"}
    d = spoken(sub, "say-1")
    ms, rms = audio(home, "once")
    assert d["text"] == "请A零一二号到三号窗口办理"
    assert abs(d["duration_ms"] - ms) <= 50, (d, ms)   # the length of the audio produced
    assert 1500 < ms < 8000, ms                         # a dozen syllables
    assert rms > 500, rms                               # speech, not silence


def test_repeat_and_elderly(rig):
    gw, sub, home = rig
    for dev in ("say-1", "say-2", "say-e"):
        assert gw.send(dev, "announce.call", {"ticket": "B105", "window": "12号窗口"})["ok"]
    got = {}
    while len(got) < 3:
        t, e = sub.wait_for(lambda t, e: t.endswith("/spoken"), timeout=60)
        got[t.split("/")[1]] = e["data"]["duration_ms"]
    once, twice, slow = got["say-1"], got["say-2"], got["say-e"]
    assert abs(audio(home, "twice")[0] - twice) <= 50
    assert 2 * once + 500 <= twice <= 2 * once + 900, got  # twice, with a pause between
    assert slow >= once * 1.1, got                          # at most 0.9 of the pace
    assert audio(home, "slow")[1] > 500


def burst(gw, device, tickets):
    """The calls sent at once, as a queue system flushing its backlog does: all requests
    written before any reply is read (one connection), the replies by id."""
    import json
    import zmq
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(gw.control)
    try:
        for i, t in enumerate(tickets):
            s.send(json.dumps({"id": str(i), "verb": "announce.call", "device": device,
                               "args": {"ticket": t}}).encode())
        replies = {}
        while len(replies) < len(tickets):
            assert s.poll(5000), replies
            r = json.loads(s.recv())
            replies[int(r["id"])] = r
        return [replies[i] for i in range(len(tickets))]
    finally:
        s.close()


def test_a_burst_is_queued_bounded_and_said_in_order(rig):
    gw, sub, home = rig
    replies = burst(gw, "say-q", ["C%d" % i for i in range(8)])
    ok = [r for r in replies if r["ok"]]
    busy = [r for r in replies if not r["ok"]]
    # 3 waiting (+ the one being spoken, + any the speaker finished during the burst)
    assert 3 <= len(ok) < len(replies), replies
    assert busy and all(r["error"]["code"] == "busy" for r in busy)
    assert "队列已满" in busy[0]["error"]["message"]
    said = [spoken(sub, "say-q")["text"] for _ in ok]
    assert said == [r["result"]["text"] for r in ok]  # in the order they were accepted
    assert gw.send("say-q", "announce.call", {"ticket": "C9"})["ok"]  # room again


def test_bad_arguments(rig):
    gw, sub, home = rig
    for args in ({}, {"ticket": ""}, {"ticket": "A 12"}, {"ticket": "A1", "window": 3},
                 {"ticket": "A1", "window": "窗" * 33}):
        r = gw.send("say-1", "announce.call", args)
        assert r["ok"] is False and r["error"]["code"] == "bad_args", (args, r)
    r = gw.send("say-1", "announce.say", {"text": "请" * 201})
    assert r["ok"] is False and r["error"]["code"] == "bad_args"
    r = gw.send("say-1", "announce.say", {"text": "请" * 200})  # 200 characters, 600 bytes
    assert r["ok"] is True, r
    assert [e for t, e in sub.collect(0.5) if t == "announce/say-1/call"]


def test_a_missing_alsa_device_is_an_error_event(tmp_path):
    asoundrc(tmp_path, [])
    gw = Gateway(tmp_path, device("say-x", "no_such_pcm"), env=dict(os.environ, HOME=str(tmp_path)))
    sub = Subscriber(gw.events, ["announce/"])
    gw.start()
    try:
        sub.catch_up(gw)
        assert gw.send("say-x", "announce.say", {"text": "测试"})["ok"]
        t, ev = sub.wait_for(lambda t, e: t == "announce/say-x/error", timeout=20)
        validate_event(t, ev)
        assert ev["data"]["reason"] == "audio" and "no_such_pcm" in ev["data"]["message"]
        assert gw.request({"verb": "ping"})["ok"] is True
    finally:
        sub.close()
        gw.stop()


def led_frames(data):
    """The example LED profile's frames (plugins/announce/profiles/led-aa55.ini), decoded
    here on their own: AA 55, address, length, GBK text, XOR of address..text, CR LF."""
    frames = []
    while len(data) >= 7:
        assert data[:2] == b"\xAA\x55", data
        n = data[3]
        body, check, end = data[2:4 + n], data[4 + n], data[5 + n:7 + n]
        x = 0
        for b in body:
            x ^= b
        assert check == x and end == b"\r\n", data
        frames.append((data[2], body[2:].decode("gbk")))
        data = data[7 + n:]
    assert not data
    return frames


def test_an_led_screen_shows_each_call(tmp_path):
    from agwtest import SOURCE
    from ptydev import PtyDevice
    screen = PtyDevice(str(tmp_path / "ttyLED")).start_collecting()
    devices = ("[device led-3]\nplugin = announce\ntransport = serial\npath = %s\nbaud = 9600\n"
               "location = 3号窗口\nled_address = 3\n" % screen.link)
    env = dict(os.environ, HOME=str(tmp_path),
               ACCESSGW_PROFILE_PATH=os.path.join(SOURCE, "plugins", "announce", "profiles"))
    gw = Gateway(tmp_path, devices, env=env)
    sub = Subscriber(gw.events, ["announce/"])
    gw.start()
    try:
        sub.catch_up(gw)
        assert gw.send("led-3", "announce.call", {"ticket": "A012", "window": "3号窗口"})["ok"]
        assert gw.send("led-3", "announce.say", {"text": "请老年人优先"})["ok"]
        deadline = time.time() + 10
        while time.time() < deadline and screen.received.count(b"\r\n") < 2:
            time.sleep(0.05)
        assert led_frames(screen.received) == [(3, "A012 3号窗口"), (3, "请老年人优先")]
        # an LED-only device speaks nothing: no spoken event, no audio
        assert [t for t, _ in sub.collect(1.0) if t.endswith("/spoken")] == []
    finally:
        sub.close()
        gw.stop()
        screen.stop()


def test_it_speaks_in_the_demo_s_umockdev_testbed(tmp_path):
    """Under umockdev (the demo's gateway runs in its testbed) the sandbox lets a plugin
    make local sockets; libpulse — loaded by espeak-ng's audio library — must then not try
    to start a sound server: that new process is refused and took the plugin down (SIGSYS)."""
    from agwtest import HidTestbed
    asoundrc(tmp_path, ["once"])
    gw = Gateway(tmp_path, device("say-1", "once", "repeat = 1\n"))
    sub = Subscriber(gw.events, ["announce/"])
    tb = HidTestbed(tmp_path, gw, HOME=str(tmp_path))
    try:
        sub.catch_up(gw)
        assert gw.send("say-1", "announce.call", {"ticket": "A1"})["ok"]
        assert spoken(sub, "say-1")["duration_ms"] > 0
    finally:
        sub.close()
        tb.close()
    # while it served: under ASan in this testbed the plugin host's exit can still abort in
    # libpulse's threads ("The futex facility returned an unexpected error code"), after
    # every call was spoken (docs/STATUS.md)
    serving = gw.log_text().split("Terminated: stopping")[0]
    assert "crashed" not in serving, serving
