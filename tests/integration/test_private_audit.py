"""Issue 28, item 4, the `curve` channel: every full record the private endpoint sends is
recorded, once per authorized key subscribed to it when it was published, before it
leaves; a key subscribed to other topics, a key that left and a refused key get no line."""
import json
import os
import subprocess
import sys
import time


from agwtest import ACCESSGWCTL, Gateway, Subscriber, free_port, keygen

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "emulators"))
from sam_reader import SamReader  # noqa: E402


def audit_lines(gw, channel="curve"):
    d = os.path.join(gw.state_dir, "audit")
    lines = [json.loads(l) for f in sorted(os.listdir(d)) if f.endswith(".jsonl")
             for l in open(os.path.join(d, f)).read().splitlines()]
    return [l for l in lines if l["channel"] == channel]


def test_each_curve_delivery_is_audited_per_subscribed_key(tmp_path):
    gw_pub, _ = keygen(tmp_path, "gateway")
    keys = {n: keygen(tmp_path, n) for n in ("window-3", "window-5", "bells-app", "stranger")}
    (tmp_path / "authorized_keys").write_text("".join(
        "%s %s\n" % (keys[n][0], n) for n in ("window-3", "window-5", "bells-app")))
    reader = SamReader(str(tmp_path / "ttySAM")).start()
    private = "tcp://127.0.0.1:%d" % free_port()
    gw = Gateway(tmp_path, "[device reader-1]\nplugin = idcard-sam\ntransport = serial\n"
                 "path = %s\nbaud = 115200\npoll_ms = 100\n" % reader.link,
                 bus_extra="private_events = %s\ncurve_secret_key = %s\nauthorized_keys = %s\n"
                 % (private, tmp_path / "gateway.key", tmp_path / "authorized_keys"))

    def sub(name, prefix):
        pub, secret = keys[name]
        return Subscriber(private, [prefix], curve=(gw_pub.encode(), pub.encode(),
                                                    secret.encode()))

    public = Subscriber(gw.events, ["idcard/"])
    subs = {"window-3": sub("window-3", "idcard/"), "window-5": sub("window-5", "idcard/reader-1/"),
            "bells-app": sub("bells-app", "callbell/"), "stranger": sub("stranger", "")}
    gw.start()
    try:
        time.sleep(1.0)  # the CURVE handshakes and subscriptions
        reader.place("resident")
        ev = public.wait_topic("idcard/reader-1/read")
        for name in ("window-3", "window-5"):
            _, full = subs[name].wait_for(lambda t, e: t == "idcard/reader-1/read")
            assert full["id"] == ev["id"] and "masked" not in full["data"]
        lines = audit_lines(gw)
        assert sorted(l["recipient"] for l in lines) == ["window-3", "window-5"], lines
        for l in lines:
            assert l["device"] == "reader-1" and l["type"] == "accessgw.idcard.read"
            assert l["event"] == ev["id"]
        # window-5 leaves: the next card is recorded for window-3 only
        subs.pop("window-5").close()
        time.sleep(1.0)
        reader.remove()
        public.wait_topic("idcard/reader-1/removed")
        reader.place("resident2")
        ev2 = public.wait_topic("idcard/reader-1/read")
        subs["window-3"].wait_for(lambda t, e: t == "idcard/reader-1/read" and e["id"] == ev2["id"])
        later = [l for l in audit_lines(gw) if l["event"] == ev2["id"]]
        assert [l["recipient"] for l in later] == ["window-3"], later
        # the public "removed" carries nothing personal: no line for it
        assert all(l["type"] == "accessgw.idcard.read" for l in audit_lines(gw))
    finally:
        for s in list(subs.values()) + [public]:
            s.close()
        gw.stop()
        reader.stop()
    out = subprocess.run([ACCESSGWCTL, "--config", gw.config, "audit", "--verify"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    log = gw.log_text()
    assert "张三" not in log and "11010519491231002X" not in log
