"""Shared helpers for accessgw's integration tests: a real accessgwd
process, real ZeroMQ sockets (pyzmq), and the project's JSON Schemas."""
import glob
import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import time

import zmq

# In the source tree this file is tests/lib/agwtest.py; installed with the SDK it is
# <datadir>/accessgw/testkit/agwtest.py (pkg-config --variable=testkitdir accessgw), beside
# ptydev.py and the contract's schemas, for a plugin's own tests out of tree (docs/PLUGINS.md).
KIT = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("ACCESSGW_SOURCE", os.path.abspath(os.path.join(KIT, "..", "..")))
BUILD = os.environ.get("ACCESSGW_BUILD", os.path.join(SOURCE, "build"))
ACCESSGWD = os.environ.get("ACCESSGWD", os.path.join(BUILD, "gateway", "accessgwd"))
ACCESSGWCTL = os.environ.get("ACCESSGWCTL", os.path.join(BUILD, "gateway", "accessgwctl"))
PLUGIN_DIR = os.environ.get("ACCESSGW_PLUGIN_DIR", os.path.join(BUILD, "plugins"))
EMULATORS = os.path.join(SOURCE, "tests", "emulators")
PYTHON = "/usr/bin/python3"


_handed_out = set()


def free_port():
    """A loopback port nothing listens on, below the kernel's ephemeral range (32768 and
    up on Debian): a port the kernel chose (bind to 0) is soon taken again as the source
    port of some outgoing connection (20 uplinks, their brokers), and the gateway that was
    to bind it fails with "Address already in use"."""
    low, high = 20000, 32000
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            high = min(high, int(f.read().split()[0]) - 1)
    except (OSError, ValueError):
        pass
    rng = random.Random(os.getpid() * 7919 + time.monotonic_ns())
    while True:
        port = rng.randint(low, high)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


class Gateway:
    """An accessgwd on free loopback ports, its config and log in tmpdir."""

    def __init__(self, tmpdir, devices="", gateway_extra="", bus_extra="", gateway_id="hall-1",
                 plugin_dir=PLUGIN_DIR, log_level="debug", hotplug=False, env=None):
        self.tmpdir = str(tmpdir)
        self.id = gateway_id
        self.events = "tcp://127.0.0.1:%d" % free_port()
        self.control = "tcp://127.0.0.1:%d" % free_port()
        self.private = None
        self.config = os.path.join(self.tmpdir, "gw.ini")
        self.log_path = os.path.join(self.tmpdir, "gateway.log")
        self.state_dir = os.path.join(self.tmpdir, "state")
        self.plugin_dir = plugin_dir
        self.env = env
        self.proc = None
        self.write_config(devices, gateway_extra, bus_extra, log_level, hotplug)

    def write_config(self, devices="", gateway_extra="", bus_extra="", log_level="debug",
                     hotplug=False):
        text = ("[gateway]\nid = %s\nplugin_dir = %s\nstate_dir = %s\nlog_level = %s\n"
                "hotplug = %s\nheartbeat_ms = 500\n%s\n[bus]\nevents = %s\ncontrol = %s\n%s\n%s"
                % (self.id, self.plugin_dir, self.state_dir, log_level,
                   "yes" if hotplug else "no", gateway_extra, self.events, self.control,
                   bus_extra, devices))
        with open(self.config, "w") as f:
            f.write(text)

    def start(self, wait=True, command=None):
        self.log = open(self.log_path, "ab")
        cmd = (command or []) + [ACCESSGWD, "--config", self.config]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=self.env or os.environ.copy())
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("accessgwd exited %s:\n%s" % (self.proc.returncode,
                                                                   self.log_text()))
            try:
                reply = self.request({"id": "ready", "verb": "ping"}, timeout=0.3)
                if reply.get("ok"):
                    return reply["result"]
            except TimeoutError:
                pass
        raise AssertionError("accessgwd did not answer ping:\n" + self.log_text())

    def request(self, req, timeout=5.0, raw=None):
        ctx = zmq.Context.instance()
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.control)
        try:
            if raw is not None:
                s.send_multipart(raw if isinstance(raw, list) else [raw])
            else:
                s.send(json.dumps(req).encode())
            if not s.poll(int(timeout * 1000)):
                raise TimeoutError("no reply to %r" % (req if raw is None else raw[:80]))
            return json.loads(s.recv())
        finally:
            s.close()

    def send(self, device, verb, args=None, timeout=5.0):
        return self.request({"id": "t", "verb": verb, "device": device, "args": args or {}},
                            timeout=timeout)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10, refusals_expected=False):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        if not self.proc:
            return None
        # plugin hosts share this log: one that did not end cleanly (a sanitizer's exit
        # code, a crash in close()) or met the edge of its sandbox (a system call off
        # the allow-list, a directory it could not be let read) fails the stop as
        # accessgwd's own exit code would; a test of the sandbox expects refusals
        bad = r"while stopping|ERROR: (Address|Leak)Sanitizer|runtime error:"
        if not refusals_expected:
            bad += r"|refused by the sandbox|cannot let it read|cannot limit the files"
        if self.proc.returncode == 0 and re.search(bad, self.log_text()):
            return 99
        return self.proc.returncode

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


class Subscriber:
    """A SUB socket; connect it before the gateway starts to see every event."""

    def __init__(self, endpoint, prefixes=("",), curve=None):
        self.sock = zmq.Context.instance().socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        if curve:
            server_public, public, secret = curve
            self.sock.curve_serverkey = server_public
            self.sock.curve_publickey = public
            self.sock.curve_secretkey = secret
        self.sock.setsockopt(zmq.RECONNECT_IVL, 10)
        for p in prefixes:
            self.sock.setsockopt(zmq.SUBSCRIBE, p.encode())
        self.prefixes = list(prefixes)
        self.sock.connect(endpoint)
        self.seen = []
        self.pending = []
        self.replayed_upto = (0, 0)  # (epoch, seq) covered by catch_up()

    def catch_up(self, gw, since=0):
        """The bus contract's recovery: events published before this socket
        joined (PUB drops them) are asked for with replay, de-duplicated by seq."""
        events = []
        while True:  # a reply is one page; "more" says another follows
            reply = gw.request({"verb": "replay", "args": {
                "since_seq": since, "prefixes": [p for p in self.prefixes if p]}})
            assert reply["ok"], reply
            events += [(e["topic"], e["event"]) for e in reply["result"]["events"]]
            if not reply["result"]["more"]:
                break
            since = reply["result"]["next_since_seq"]
        have = {(ev["epoch"], ev["seq"]) for _, ev in self.seen + self.pending}
        self.pending += [(t, ev) for t, ev in events if (ev["epoch"], ev["seq"]) not in have]
        self.pending.sort(key=lambda te: te[1]["seq"])
        if events:
            self.replayed_upto = (events[-1][1]["epoch"], events[-1][1]["seq"])
        return self

    def recv(self, timeout=5.0):
        while True:
            if self.pending:
                got = self.pending.pop(0)
                self.seen.append(got)
                return got
            if not self.sock.poll(int(timeout * 1000)):
                return None
            topic, body = self.sock.recv_multipart()
            ev = json.loads(body)
            epoch, upto = self.replayed_upto
            if ev["epoch"] == epoch and ev["seq"] <= upto:
                continue  # already delivered by catch_up()
            self.seen.append((topic.decode(), ev))
            return topic.decode(), ev

    def wait_for(self, pred, timeout=10.0, what="event"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.recv(max(0.01, deadline - time.time()))
            if got and pred(*got):
                return got
        raise AssertionError("no %s within %.1fs; saw topics %s" %
                             (what, timeout, [t for t, _ in self.seen[-20:]]))

    def wait_topic(self, topic, timeout=10.0):
        return self.wait_for(lambda t, e: t == topic, timeout, what=topic)[1]

    def collect(self, seconds):
        end = time.time() + seconds
        out = []
        while time.time() < end:
            got = self.recv(max(0.01, end - time.time()))
            if got:
                out.append(got)
        return out

    def close(self):
        self.sock.close()


_schemas = None


def schema_dirs():
    """The contract's schemas (docs/schemas, or the testkit's copy), then each directory of
    ACCESSGW_SCHEMA_PATH (a plugin's own: <plugin>/schemas/events/<class>.<event>.json)."""
    in_tree = os.path.join(SOURCE, "docs", "schemas")
    dirs = [in_tree if os.path.isdir(in_tree) else os.path.join(KIT, "schemas")]
    return dirs + [d for d in os.environ.get("ACCESSGW_SCHEMA_PATH", "").split(":") if d]


def schemas():
    """envelope.json and events/<class>.<event>.json, from every schema directory."""
    global _schemas
    if _schemas is None:
        with open(os.path.join(schema_dirs()[0], "envelope.json")) as f:
            _schemas = {"envelope": json.load(f)}
        for base in schema_dirs():
            for path in glob.glob(os.path.join(base, "events", "*.json")):
                with open(path) as f:
                    _schemas[os.path.basename(path)[:-5]] = json.load(f)
    return _schemas


def validate_event(topic, ev):
    """Checks the envelope and the data against the project's JSON Schemas."""
    import jsonschema
    s = schemas()
    jsonschema.validate(ev, s["envelope"])
    name = ev["type"][len("accessgw."):]
    assert name in s, "no JSON Schema for event type %s (events/%s.json in %s)" % (
        ev["type"], name, " or ".join(schema_dirs()))
    jsonschema.validate(ev["data"], s[name])
    cls, subject, event = topic.split("/")
    assert ev["type"] == "accessgw.%s.%s" % (cls, event)
    assert ev["subject"] == subject


MOCK_BLUEZ_ADDRESS = "AA:BB:CC:DD:EE:01"


class MockBluez:
    """tests/emulators/mock_bluez.py (a hearing aid on a bluetoothd-like org.bluez)
    on a private dbus-daemon; env carries DBUS_SYSTEM_BUS_ADDRESS for the gateway."""

    def __init__(self, tmp_path=None, *options, bus=None):
        """bus: the address of a dbus-daemon already running (kept running at close)."""
        self.daemon = None if bus else subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE, text=True)
        self.address = bus or self.daemon.stdout.readline().strip()
        self.env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address,
                        MOCK_BLUEZ_ADDRESS=MOCK_BLUEZ_ADDRESS)
        self.proc = subprocess.Popen([PYTHON, os.path.join(EMULATORS, "mock_bluez.py"), *options],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=self.env)
        assert self.line() == "ok ready"

    def line(self):
        assert select.select([self.proc.stdout], [], [], 10)[0], "mock bluez silent"
        return self.proc.stdout.readline().strip()

    def do(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        assert self.line().startswith("ok")

    def close(self):
        self.proc.terminate()
        self.proc.wait(5)
        if self.daemon:
            self.daemon.terminate()
            self.daemon.wait(5)


class HidTestbed:
    """tests/emulators/hid_testbed.py under umockdev-wrapper, with the gateway
    started inside it (so it sees the emulated /dev and /sys); commands over
    stdin: add / report / type / written / remove."""

    def __init__(self, tmp_path, gw, present=(), **env):
        """present: devices plugged in before the gateway starts ("NAME VID PID ...")."""
        full_env = dict(os.environ, TMPDIR=str(tmp_path), **env)
        before = [arg for device in present for arg in ("--add", device)]
        self.proc = subprocess.Popen(
            ["umockdev-wrapper", PYTHON, os.path.join(EMULATORS, "hid_testbed.py"), *before, "--",
             ACCESSGWD, "--config", gw.config], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(gw.log_path, "ab"), text=True, env=full_env)
        assert self.line().startswith("ok ready")
        gw.proc = self.proc  # the gateway's exit is the testbed's
        gw.wait_ready()

    def line(self, timeout=20):
        import select
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            self.proc.kill()
            raise AssertionError("the umockdev testbed did not answer")
        return self.proc.stdout.readline().strip()

    def do(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        out = self.line()
        assert out.startswith("ok"), out
        return out

    def close(self):
        """Stops the gateway (SIGTERM) and the testbed; the gateway's exit status."""
        try:
            out = self.do("quit")
            return int(out.split()[-1])
        finally:
            self.proc.wait(20)


def keygen(tmp_path, name):
    """A CURVE certificate pair made as an installer makes it (accessgwctl keygen): the Z85
    public and secret keys."""
    import zmq.auth
    out = subprocess.run([ACCESSGWCTL, "keygen", os.path.join(str(tmp_path), name)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    pub, secret = zmq.auth.load_certificate(os.path.join(str(tmp_path), name + ".key"))
    return pub.decode(), secret.decode()
