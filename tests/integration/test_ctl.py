"""accessgwctl with its peers' manners (gpspipe, upsc, pcsc_scan): --version, per-command
--help, distinct exit codes, a missing gateway said within a second, endpoints from the
config file or the environment, watch that says when the gateway falls silent,
devices --verbs, and top."""
import os
import select
import subprocess
import time

from agwtest import ACCESSGWCTL, Gateway, free_port

SKELETON = "[device a]\nplugin = skeleton\ntransport = none\ninterval_ms = 300\nlocation = Desk\n"


def ctl(*args, env=None, timeout=15):
    return subprocess.run([ACCESSGWCTL, *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def test_version_help_and_usage_errors():
    out = ctl("--version")
    assert out.returncode == 0 and out.stdout.startswith("accessgwctl ")
    out = ctl("send", "--help")
    assert out.returncode == 0 and "usage: accessgwctl send DEVICE VERB" in out.stdout
    out = ctl("frobnicate")
    assert out.returncode == 2 and "no command 'frobnicate'" in out.stderr
    assert ctl("send", "only-a-device").returncode == 2
    assert ctl("watch", "--count", "abc").returncode == 2
    assert "Exit status: 0 done, 1 refused by the gateway, 2 usage, 3 no gateway" in ctl("--help").stdout


def test_no_gateway_is_said_at_once_with_exit_3(tmp_path):
    control = "tcp://127.0.0.1:%d" % free_port()
    t0 = time.monotonic()
    out = ctl("--control", control, "ping")
    took = time.monotonic() - t0
    assert out.returncode == 3 and "no gateway at %s" % control in out.stderr
    assert took < 2.5, took  # the contract says within a second; generous for a busy CI
    assert ctl("--control", control, "devices").returncode == 3


def test_refusals_exit_1_and_endpoints_from_config_and_environment(tmp_path):
    gw = Gateway(tmp_path, SKELETON)
    gw.start()
    try:
        # the gateway's own config file gives the endpoints
        out = ctl("--config", gw.config, "ping")
        assert out.returncode == 0 and '"gateway": "hall-1"' in out.stdout
        # the environment wins over the file, a flag over the environment
        wrong = "tcp://127.0.0.1:%d" % free_port()
        assert ctl("--config", gw.config, "ping", env={"ACCESSGW_CONTROL": wrong}).returncode == 3
        assert ctl("ping", env={"ACCESSGW_CONTROL": gw.control}).returncode == 0
        assert ctl("--control", gw.control, "ping", env={"ACCESSGW_CONTROL": wrong}).returncode == 0
        # refused by the gateway: 1, with its error
        out = ctl("--control", gw.control, "send", "no-such-device", "skeleton.reset")
        assert out.returncode == 1 and "unknown_device" in out.stderr
        assert ctl("--config", str(tmp_path / "missing.ini"), "ping").returncode == 2
    finally:
        gw.stop()


def test_devices_verbs_lists_the_plugins_verb_table(tmp_path):
    gw = Gateway(tmp_path, SKELETON)
    gw.start()
    try:
        out = ctl("--control", gw.control, "devices", "--verbs")
        assert out.returncode == 0, out.stderr
        assert "skeleton.reset" in out.stdout and "set the counter" in out.stdout
        assert '"value"' in out.stdout  # its argument schema
        reply = gw.request({"verb": "devices", "args": {"verbs": True}})
        verbs = reply["result"]["devices"][0]["verbs"]
        assert verbs == [{"verb": "skeleton.reset", "help": verbs[0]["help"],
                          "args": {"type": "object", "properties": {"value": {"type": "integer"}}}},
                         {"verb": "skeleton.ask", "help": verbs[1]["help"],
                          "args": {"type": "object", "required": ["text"], "properties":
                                   {"text": {"type": "string", "maxLength": 200}}}}]
        assert "verbs" not in gw.request({"verb": "devices"})["result"]["devices"][0]
    finally:
        gw.stop()


def test_watch_says_when_the_gateway_falls_silent(tmp_path):
    gw = Gateway(tmp_path, SKELETON)
    gw.start()
    watch = subprocess.Popen([ACCESSGWCTL, "--control", gw.control, "--events", gw.events, "watch",
                              "--stale", "1", "skeleton/"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        gw.stop()
        deadline = time.monotonic() + 10
        err = b""
        while time.monotonic() < deadline and b"no heartbeat" not in err:
            if select.select([watch.stderr], [], [], 0.2)[0]:
                err += os.read(watch.stderr.fileno(), 4096)
        err = err.decode()
        assert "no heartbeat from %s for 1 s" % gw.events in err, err
        assert watch.poll() is None  # it says so and keeps waiting
    finally:
        watch.terminate()
        watch.wait(5)


def test_top_once_and_live(tmp_path):
    gw = Gateway(tmp_path, SKELETON)
    gw.start()
    try:
        out = ctl("--control", gw.control, "--events", gw.events, "top", "--once")
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[0].startswith("accessgw hall-1  epoch ")
        assert any(l.split()[:4] == ["a", "skeleton", "up", "Desk"] for l in lines), out.stdout
        live = subprocess.Popen([ACCESSGWCTL, "--control", gw.control, "--events", gw.events, "top"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
        time.sleep(2.5)
        live.terminate()
        screen, _ = live.communicate(timeout=5)
        assert live.returncode == 0
        last = screen.rsplit("\033[H\033[2J", 1)[-1]  # the last screen drawn
        row = [l for l in last.splitlines() if l.startswith("a ")]
        assert row and row[0].split()[4:6] == ["counter", "0s"], last
    finally:
        gw.stop()


def test_every_command_takes_its_options_before_or_after_its_operands(tmp_path):
    """Issue 26, item 3: `accessgwctl keygen --group accessgw /etc/accessgw/gateway`
    failed with "unrecognized option '--group'".  As in git, apt and systemctl, global
    parsing stops at the command and each command parses its own options, before or
    after its operands; an option of another command is said, not ignored."""
    from agwtest import PLUGIN_DIR
    gw = Gateway(tmp_path, SKELETON)
    gw.start()
    c = ["--control", gw.control, "--events", gw.events]
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    try:
        for name, before, after in [
            ("keygen", ["keygen", "--group", "root", str(tmp_path / "k1")],
             ["keygen", str(tmp_path / "k2"), "--group", "root"]),
            ("watch", ["watch", "--since", "0", "--count", "1", "device/"],
             ["watch", "device/", "--since", "0", "--count", "1"]),
            ("send", ["send", "--timeout", "3000", "a", "skeleton.reset", '{"value":1}'],
             ["send", "a", "skeleton.reset", '{"value":1}', "--timeout", "3000"]),
            ("request", ["request", "--timeout", "3000", '{"id":"r","verb":"ping"}'],
             ["request", '{"id":"r","verb":"ping"}', "--timeout", "3000"]),
            ("ping", ["--timeout", "3000", "ping"], ["ping", "--timeout", "3000"]),
            ("devices", ["--json", "devices"], ["devices", "--json"]),
            ("top", ["--once", "top"], ["top", "--once"]),
            ("profiles", ["--profile-dir", str(profiles), "profiles"],
             ["profiles", "--profile-dir", str(profiles)]),
            ("udev-rules", ["--plugin-dir", PLUGIN_DIR, "udev-rules", "--generic"],
             ["udev-rules", "--generic", "--plugin-dir", PLUGIN_DIR]),
            ("verbs", ["--plugin-dir", PLUGIN_DIR, "verbs"], ["verbs", "--plugin-dir", PLUGIN_DIR]),
        ]:
            outs = [ctl(*c, *args) for args in (before, after)]
            for args, out in zip((before, after), outs):
                assert out.returncode == 0, (name, args, out.stderr)
                assert out.stdout, (name, args)
            if name not in ("keygen", "watch", "top", "ping", "request"):
                assert outs[0].stdout == outs[1].stdout, name
        assert (tmp_path / "k1.key").stat().st_mode & 0o777 == 0o640
        assert (tmp_path / "k2.key").stat().st_mode & 0o777 == 0o640
        out = ctl(*c, "watch", "device/", "--group", "root")
        assert out.returncode == 2 and "watch does not take --group" in out.stderr
        out = ctl(*c, "--once", "ping")
        assert out.returncode == 2 and "ping does not take --once" in out.stderr
        assert ctl("keygen", str(tmp_path / "k3"), str(tmp_path / "k4")).returncode == 2
    finally:
        gw.stop()


def write_chain(state_dir, day, records, prev="0" * 64):
    """Audit lines chained as the contract says, by an implementation of its own (hashlib),
    so that the gateway's reader is checked against the text, not against itself."""
    import hashlib
    import json
    os.makedirs(os.path.join(state_dir, "audit"), exist_ok=True)
    with open(os.path.join(state_dir, "audit", day + ".jsonl"), "a") as f:
        for i, (recipient, device) in enumerate(records):
            line = json.dumps({"time": day + "T09:00:%02d.000Z" % i, "recipient": recipient,
                               "channel": "web", "device": device, "type": "accessgw.idcard.read",
                               "event": "hall-1:7:%d" % (1000 + i), "prev": prev},
                              separators=(",", ":"), ensure_ascii=False)
            f.write(line + "\n")
            prev = hashlib.sha256(line.encode()).hexdigest()
    return prev


def test_audit_lists_verifies_and_its_head_rides_in_heartbeats(tmp_path):
    """Issue 28, item 4 (the reader): accessgwctl audit lists and filters the disclosures
    without a running gateway, --verify proves the chain or names the first line that breaks
    it, --head anchors its end, and every heartbeat carries the newest line's hash."""
    from agwtest import Subscriber
    gw = Gateway(tmp_path, SKELETON)
    day = time.strftime("%Y-%m-%d")
    head = write_chain(gw.state_dir, day, [("window-3", "reader-1"), ("window-4", "reader-2"),
                                           ("window-3", "reader-1")])
    c = ["--config", gw.config]
    out = ctl(*c, "audit")
    assert out.returncode == 0 and len(out.stdout.splitlines()) == 3, out.stderr
    out = ctl(*c, "audit", "--recipient", "window-3")
    assert [l for l in out.stdout.splitlines() if '"window-3"' in l] == out.stdout.splitlines()
    assert len(out.stdout.splitlines()) == 2
    assert ctl(*c, "audit", "--device", "reader-2").stdout.count("\n") == 1
    assert ctl(*c, "audit", "--since", "2099-01-01").stdout == ""
    assert ctl(*c, "audit", "--since", "soon").returncode == 2
    out = ctl(*c, "audit", "--verify", "--head", head)
    assert out.returncode == 0 and head in out.stdout, out.stderr

    gw.start()
    sub = Subscriber(gw.events, ["gateway/"])
    try:
        beat = sub.wait_for(lambda t, e: t.endswith("/heartbeat"), timeout=5)[1]
        assert beat["data"]["audit_head"] == head
    finally:
        sub.close()
        gw.stop()

    path = os.path.join(gw.state_dir, "audit", day + ".jsonl")
    with open(path) as f:
        lines = f.readlines()
    lines[1] = lines[1].replace("window-4", "window-9")  # a recipient rewritten
    with open(path, "w") as f:
        f.writelines(lines)
    out = ctl(*c, "audit", "--verify")
    assert out.returncode == 1 and "%s.jsonl:3:" % day in out.stderr, out.stderr
    with open(path, "w") as f:
        f.writelines(lines[:1])  # the last lines cut off: the chain holds, its end does not
    assert ctl(*c, "audit", "--verify").returncode == 0
    out = ctl(*c, "audit", "--verify", "--head", head)
    assert out.returncode == 1 and "not at %s" % head in out.stderr
