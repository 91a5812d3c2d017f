"""Signals: SIGTERM stops cleanly, SIGHUP reloads only what changed;
--check-config and --version; refusing to start without personal-data keys."""
import os
import signal
import subprocess
import time

from agwtest import ACCESSGWD, Gateway, Subscriber

A = "[device a]\nplugin = skeleton\ntransport = none\ninterval_ms = 100\n"
B = "[device b]\nplugin = skeleton\ntransport = none\ninterval_ms = 100\n"
B2 = "[device b]\nplugin = skeleton\ntransport = none\ninterval_ms = 150\n"
C = "[device c]\nplugin = skeleton\ntransport = none\ninterval_ms = 100\n"


def test_sigterm_stops_cleanly(tmp_path):
    gw = Gateway(tmp_path, A)
    sub = Subscriber(gw.events)
    gw.start()
    sub.wait_topic("skeleton/a/counter")
    gw.signal(signal.SIGTERM)
    assert gw.proc.wait(10) == 0
    rest = [t for t, _ in sub.collect(0.5)]
    assert "device/a/detached" in rest
    assert rest[-1] == "gateway/hall-1/stopped"
    assert "stopped" in gw.log_text()


def test_sigint_stops_cleanly(tmp_path):
    gw = Gateway(tmp_path, A)
    gw.start()
    gw.signal(signal.SIGINT)
    assert gw.proc.wait(10) == 0


def test_sighup_reloads_only_what_changed(tmp_path):
    gw = Gateway(tmp_path, A + B)
    sub = Subscriber(gw.events, ["device/"])
    gw.start()
    sub.catch_up(gw)
    try:
        sub.wait_topic("device/b/state")
        gw.write_config(A + B2 + C)
        gw.signal(signal.SIGHUP)
        sub.wait_topic("device/c/attached")
        sub.wait_topic("device/b/attached")
        topics = [t for t, _ in sub.seen]
        assert "device/b/detached" in topics
        assert topics.index("device/b/detached") < len(topics) - 1 - topics[::-1].index("device/b/attached")
        assert "device/a/detached" not in topics  # untouched device keeps running
        devs = {d["id"]: d for d in gw.request({"verb": "devices"})["result"]["devices"]}
        assert set(devs) == {"a", "b", "c"}
        # a broken config is refused on reload and the running one stays
        with open(gw.config, "a") as f:
            f.write("[device d]\nplugin = skeleton\ntransport = none\nbogus = 1\n")
        gw.signal(signal.SIGHUP)
        time.sleep(0.5)
        assert gw.proc.poll() is None
        assert "reload refused" in gw.log_text() and "unknown key 'bogus' in [device d]" in gw.log_text()
        assert {d["id"] for d in gw.request({"verb": "devices"})["result"]["devices"]} == {"a", "b", "c"}
        # removing a section detaches that device
        gw.write_config(A)
        gw.signal(signal.SIGHUP)
        sub.wait_topic("device/c/detached")
        time.sleep(0.3)
        assert {d["id"] for d in gw.request({"verb": "devices"})["result"]["devices"]} == {"a"}
    finally:
        gw.stop()


def test_check_config(tmp_path):
    gw = Gateway(tmp_path, A)
    ok = subprocess.run([ACCESSGWD, "--check-config", gw.config], capture_output=True, text=True)
    assert ok.returncode == 0 and "OK" in ok.stdout
    gw.write_config(A.replace("interval_ms", "interval_msec"))
    bad = subprocess.run([ACCESSGWD, "--check-config", gw.config], capture_output=True, text=True)
    assert bad.returncode == 1
    lines = open(gw.config).read().splitlines()
    line = lines.index("interval_msec = 100") + 1
    assert "%s:%d: unknown key 'interval_msec' in [device a]" % (gw.config, line) in bad.stderr


def test_version():
    out = subprocess.run([ACCESSGWD, "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("accessgwd ")


def test_private_events_without_key_files_refuses_to_start(tmp_path):
    gw = Gateway(tmp_path, "", bus_extra="private_events = tcp://127.0.0.1:1\n"
                 "curve_secret_key = %s/missing.key\nauthorized_keys = %s/missing\n"
                 % (tmp_path, tmp_path))
    gw.start(wait=False)
    assert gw.proc.wait(10) == 1
    assert "missing.key: No such file or directory" in gw.log_text()


def test_unreadable_device_is_retried_not_fatal(tmp_path):
    gw = Gateway(tmp_path, "[device r]\nplugin = skeleton\ntransport = serial\n"
                 "path = %s/ttyNOPE\n" % tmp_path)
    sub = Subscriber(gw.events, ["device/"])
    gw.start()
    sub.catch_up(gw)
    try:
        st = sub.wait_topic("device/r/state")
        assert st["data"]["state"] == "error" and "No such file" in st["data"]["reason"]
        devs = gw.request({"verb": "devices"})["result"]["devices"]
        assert devs[0]["state"] == "error"
        reply = gw.send("r", "skeleton.reset")
        assert reply["ok"] is False and reply["error"]["code"] == "device_error"
        assert "not up" in reply["error"]["message"]
    finally:
        gw.stop()


def test_journal_prefixes_under_systemd(tmp_path):
    """systemd sets JOURNAL_STREAM to the device and inode of the stream it gives as
    stderr: then lines carry "<N>" priorities.  A process whose stderr is something
    else (a plugin host's, a pipe to accessgwd) inherits the variable, not the stream,
    and writes plain lines (sd_journal_stream_fd(3))."""
    gw = Gateway(tmp_path, "")
    open(gw.log_path, "ab").close()
    st = os.stat(gw.log_path)
    gw.env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    gw.start()
    gw.stop()
    lines = [l for l in gw.log_text().splitlines() if l]
    assert lines and all(l.startswith("<") and l[2] == ">" for l in lines), lines[:3]
    os.unlink(gw.log_path)
    gw.env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino + 1))
    gw.start()
    gw.stop()
    lines = [l for l in gw.log_text().splitlines() if l]
    assert lines and all(l.startswith("accessgwd: ") for l in lines), lines[:3]


def test_sd_notify_ready_and_stopping(tmp_path):
    """Under systemd (NOTIFY_SOCKET) the gateway says READY=1 once serving and STOPPING=1."""
    import socket
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    gw = Gateway(tmp_path, A, env=dict(os.environ, NOTIFY_SOCKET=path))
    gw.start()
    try:
        assert b"READY=1" in sock.recv(4096)
        gw.signal(signal.SIGHUP)
        assert b"RELOADING=1" in sock.recv(4096)
        assert b"READY=1" in sock.recv(4096)
    finally:
        gw.stop()
    assert b"STOPPING=1" in sock.recv(4096)
    sock.close()


def test_watchdog_pinged_whatever_the_heartbeat(tmp_path):
    """WatchdogSec shorter than heartbeat_ms: the watchdog is pinged at WATCHDOG_USEC/2 on
    its own clock, so a quiet gateway with a one-minute heartbeat is not killed."""
    import socket
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    gw = Gateway(tmp_path, A, env=dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="400000"))
    gw.write_config(A)
    with open(gw.config) as f:
        text = f.read().replace("heartbeat_ms = 500", "heartbeat_ms = 60000")
    with open(gw.config, "w") as f:
        f.write(text)
    gw.start()
    try:
        pings = 0
        while pings < 5:  # at least five pings, each within the 0.4 s watchdog period
            msg = sock.recv(4096)
            pings += msg.count(b"WATCHDOG=1")
    finally:
        gw.stop()
        sock.close()


def test_keygen_group_lets_the_service_read_its_key(tmp_path):
    """keygen --group: the secret is 0640 to that group (the service's), nobody else's."""
    import grp
    import stat
    import subprocess
    from agwtest import ACCESSGWCTL
    name = str(tmp_path / "gateway")
    out = subprocess.run([ACCESSGWCTL, "keygen", name, "--group", "daemon"], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    st = os.stat(name + ".key")
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_gid == grp.getgrnam("daemon").gr_gid
    assert stat.S_IMODE(os.stat(name + ".pub").st_mode) == 0o644
    bad = subprocess.run([ACCESSGWCTL, "keygen", str(tmp_path / "x"), "--group", "no-such-group"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "no group 'no-such-group'" in bad.stderr
    assert not os.path.exists(str(tmp_path / "x.key"))


def test_files_that_grant_access_are_checked(tmp_path):
    """A secret key others may read, an authorized_keys or a plugin directory others may
    write, a plugin owned by another user: refused with the reason and the fix; a
    development setting relaxes it, loudly."""
    import shutil
    from agwtest import ACCESSGWCTL, PLUGIN_DIR, free_port
    subprocess.run([ACCESSGWCTL, "keygen", str(tmp_path / "gw")], check=True, capture_output=True)
    (tmp_path / "authorized_keys").write_text("")
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    shutil.copy(os.path.join(PLUGIN_DIR, "skeleton.so"), plugins / "skeleton.so")
    os.chmod(plugins, 0o755)

    def check(extra_gateway=""):
        gw = Gateway(tmp_path, A, plugin_dir=str(plugins), gateway_extra=extra_gateway,
                     bus_extra="private_events = tcp://127.0.0.1:%d\ncurve_secret_key = %s\n"
                     "authorized_keys = %s\n" % (free_port(), tmp_path / "gw.key",
                                                 tmp_path / "authorized_keys"))
        out = subprocess.run([ACCESSGWD, "--check-config", gw.config], capture_output=True, text=True)
        return out.returncode, out.stdout + out.stderr

    assert check()[0] == 0
    os.chmod(tmp_path / "gw.key", 0o644)
    rc, text = check()
    assert rc == 1 and "gw.key: readable by others: mode 0644" in text and "chmod 0640" in text
    rc, text = check("insecure_files = yes\n")
    assert rc == 0 and "INSECURE" in text  # loud, but it runs
    os.chmod(tmp_path / "gw.key", 0o600)
    os.chmod(tmp_path / "authorized_keys", 0o666)
    rc, text = check()
    assert rc == 1 and "authorized_keys: writable by group or others" in text
    os.chmod(tmp_path / "authorized_keys", 0o644)
    os.chmod(plugins, 0o1777)  # world-writable, even with the sticky bit
    rc, text = check()
    assert rc == 1 and "plugin_dir refused" in text and "writable by group or others" in text
    os.chmod(plugins, 0o755)
    os.chown(plugins / "skeleton.so", 65534, 65534)  # nobody's
    rc, text = check()
    assert rc == 1 and "owned by uid 65534" in text


def test_check_config_checks_the_window_apps(tmp_path):
    """Issue 28, item 1: [app NAME] sections are checked by --check-config as accessgw-web
    will read them: each token file like a key file (FILE:LINE when others may read it),
    a token of its own (not another app's, not the staff's), and a device no [device]
    section declares said as a warning (it may be hotplugged)."""
    def token(name, text, mode=0o600):
        path = tmp_path / name
        path.write_text(text + "\n")
        os.chmod(path, mode)
        return path

    w3, w4 = token("w3.token", "a" * 32), token("w4.token", "b" * 32)

    def check(apps):
        gw.write_config(A + apps)
        return subprocess.run([ACCESSGWD, "--check-config", gw.config], capture_output=True,
                              text=True)

    gw = Gateway(tmp_path, A)
    two = ("[app window-3]\ntoken_file = %s\ndevices = a reader-9\norigins = https://ywxt.example\n"
           "[app window-4]\ntoken_file = %s\ndevices = a\n" % (w3, w4))
    out = check(two)
    assert out.returncode == 0 and "with [app] sections" in out.stdout, out.stderr
    assert "[app window-3] devices: no [device reader-9] section (a hotplugged id?)" in out.stderr
    os.chmod(w4, 0o644)
    out = check(two)
    line = open(gw.config).read().splitlines().index("token_file = %s" % w4) + 1
    assert out.returncode == 1 and "%s:%d: token_file" % (gw.config, line) in out.stderr, out.stderr
    os.chmod(w4, 0o600)
    w4.write_text("a" * 32 + "\n")  # window-3's token
    out = check(two)
    assert out.returncode == 1 and "the same token as window-3" in out.stderr, out.stderr
