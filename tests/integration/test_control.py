"""The control socket answers every request, however malformed, and keeps working."""
import json

import pytest
import zmq

from agwtest import Gateway

DEVICES = "[device demo-1]\nplugin = skeleton\ntransport = none\ninterval_ms = 0\n"

# (raw request frame, expected error code)
CORPUS = [
    (b"", "bad_json"),
    (b"not json", "bad_json"),
    (b"\xff\xfe\x00garbage", "bad_json"),
    (b"[1, 2, 3]", "bad_request"),
    (b"42", "bad_request"),
    (b"null", "bad_request"),
    (b'{"verb": 5}', "bad_request"),
    (b'{"id": {"x": 1}, "verb": "ping"}', "bad_request"),
    (b'{"id": "1"}', "bad_request"),
    (b'{"verb": "ping", "verb": "devices"}', "bad_json"),
    (b'{"verb": "nope"}', "unknown_verb"),
    (b'{"verb": "skeleton.reset"}', "bad_request"),
    (b'{"verb": "skeleton.reset", "device": 3}', "bad_request"),
    (b'{"verb": "skeleton.reset", "device": "ghost"}', "unknown_device"),
    (b'{"verb": "idcard.read", "device": "demo-1"}', "unknown_verb"),
    (b'{"verb": "skeleton.", "device": "demo-1"}', "unknown_verb"),
    (b'{"verb": "skeleton.fly", "device": "demo-1"}', "unknown_verb"),
    (b'{"verb": "skeleton.reset", "device": "demo-1", "args": [1]}', "bad_request"),
    (b'{"verb": "skeleton.reset", "device": "demo-1", "args": {"value": "x"}}', "bad_args"),
    (b'{"verb": "replay"}', "bad_args"),
    (b'{"verb": "replay", "args": {"since_seq": -1}}', "bad_args"),
    (b'{"verb": "replay", "args": {"since_seq": "0"}}', "bad_args"),
    (b'{"verb": "replay", "args": {"since_seq": 0, "prefixes": "x"}}', "bad_args"),
    (b'{"verb": "replay", "args": {"since_seq": 0, "prefixes": [1]}}', "bad_args"),
    (b"[" * 100000, "too_large"),
    (b'{"verb": "' + b"x" * 70000 + b'"}', "too_large"),
    (b"[" * 5000 + b"]" * 5000, "bad_json"),
    (b'{"verb": "p\x00ing"}', "bad_json"),
]


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    g = Gateway(tmp_path_factory.mktemp("control"), DEVICES)
    g.start()
    yield g
    assert g.proc.poll() is None, "the gateway died during the corpus:\n" + g.log_text()
    assert g.stop() == 0


@pytest.mark.parametrize("raw,code", CORPUS, ids=[repr(r[:24]) for r, _ in CORPUS])
def test_malformed_request_gets_error_reply(gw, raw, code):
    reply = gw.request(None, raw=raw)
    assert reply["ok"] is False, reply
    assert reply["error"]["code"] == code, reply
    assert isinstance(reply["error"]["message"], str) and reply["error"]["message"]
    assert gw.request({"verb": "ping"})["ok"] is True


def test_request_id_is_echoed(gw):
    assert gw.request({"id": "42", "verb": "ping"})["id"] == "42"
    assert gw.request({"id": 9, "verb": "ping"})["id"] == 9
    assert gw.request({"verb": "ping"})["id"] is None
    bad = gw.request(None, raw=b'{"id": "x1", "verb": "zzz"}')
    assert bad["id"] == "x1" and bad["error"]["code"] == "unknown_verb"


def test_extra_frames_are_refused(gw):
    reply = gw.request(None, raw=[b'{"verb": "ping"}', b"extra"])
    assert reply["ok"] is False and reply["error"]["code"] == "bad_request"


def test_req_socket_envelope(gw):
    s = zmq.Context.instance().socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(gw.control)
    s.send(b'{"id": "r", "verb": "ping"}')
    assert s.poll(3000)
    assert json.loads(s.recv())["result"]["gateway"] == "hall-1"
    s.close()


def test_oversized_frame_drops_only_that_peer(gw):
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(gw.control)
    s.send(b"x" * (2 * 1024 * 1024))  # above ZMQ_MAXMSGSIZE: libzmq drops the connection
    assert not s.poll(500)
    s.close()
    assert gw.request({"verb": "ping"})["ok"]


def test_device_verb_reaches_plugin(gw):
    reply = gw.send("demo-1", "skeleton.reset", {"value": 41})
    assert reply == {"id": "t", "ok": True, "result": {"count": 41}}


def test_devices_lists_state(gw):
    devs = gw.request({"verb": "devices"})["result"]["devices"]
    assert [d["id"] for d in devs] == ["demo-1"]
    d = devs[0]
    assert d["plugin"] == "skeleton" and d["class"] == "skeleton" and d["state"] == "up"
    assert d["transport"] == "none" and d["hotplug"] is False


def test_burst_of_requests_all_answered(gw):
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(gw.control)
    for i in range(500):
        s.send(json.dumps({"id": i, "verb": "ping"}).encode())
    ids = set()
    while len(ids) < 500 and s.poll(3000):
        ids.add(json.loads(s.recv())["id"])
    s.close()
    assert ids == set(range(500))
