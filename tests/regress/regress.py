#!/usr/bin/python3
"""Regression tests from device captures, as gpsd does them: a capture (what a
real device sent, with where it comes from) is played below the real
transports to the whole daemon, and the events it publishes, with seq, time
and id stripped, are compared with the committed expectation (.jsonl beside
the capture).

    regress.py CAPTURE...                 check
    regress.py --regenerate CAPTURE...    rewrite the .jsonl files (review the diff!)

A capture (.capture) is text:

    # provenance: where every byte comes from
    [config]                              the [device] section(s) for the gateway;
    [device reader-1]                     @PTY is the emulated serial port
    plugin = idcard-sam
    ...
    [script]                              played in order:
    on HEX reply HEX                      serial: answer a request with a reply (a later
                                          rule for the same request replaces it; the rules
                                          before any other step hold from the start)
    send HEX                              serial: the device sends these bytes
    hid-add NAME VID PID HEX              hidraw: plug in a device with this report
                                          descriptor (first one: /dev/hidraw0; the ones
                                          before any other step are there at start)
    hid-report NAME HEX                   hidraw: the device sends an input report
    input-add NAME VID PID                evdev: plug in a USB keyboard's input node
                                          (/dev/input/eventN, N counting with hidraw's)
    keys NAME HEX                         evdev: it sends these struct input_events
    apdu HEX reply HEX                    PC/SC: the card answers this APDU so (a later rule
                                          for the same APDU replaces it; others: 6D00)
    card-insert [SLOT]                    PC/SC: a card answering by those rules enters
                                          slot 0 (or SLOT) of a real pcscd's vpcd reader
                                          ("Virtual PCD 00 00"; tests/emulators/pcscd_rig.py)
    card-remove [SLOT]                    PC/SC: the card leaves
    bluez-options ARGS                    BlueZ: how the mock bluetoothd runs (before all)
    bluez COMMAND                         BlueZ: a mock_bluez.py command
    verb DEVICE VERB [JSON]               a control request; its reply is recorded too
    written                               serial: the bytes the gateway wrote to the device
                                          since the last `written`, recorded
    volatile KEY...                       data keys whose values change run to run
                                          (ids made from the time): recorded as "(volatile)"
    wait MS
"""
import difflib
import json
import os
import pty
import shlex
import sys
import termios
import threading
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
# tests/regress/ in the source tree; beside agwtest.py in the SDK's testkit
sys.path[:0] = [os.path.join(HERE, "..", "lib"), os.path.join(HERE, "..", "emulators"), HERE]

from agwtest import Gateway, HidTestbed, MockBluez, Subscriber  # noqa: E402

SETTLE_S = 1.0
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
PROFILE_PATH = ":".join(os.path.join(SOURCE, "plugins", p, "profiles")
                        for p in ("magnifier-hid", "evalpad", "announce", "scanner"))
STRIPPED = ("id", "time", "seq", "epoch", "specversion", "datacontenttype")


def hexbytes(text):
    return bytes.fromhex("".join(text.split()))


class Capture:
    def __init__(self, path):
        self.path = path
        self.config, self.script = [], []
        section = None
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if line.strip() in ("[config]", "[script]"):
                    section = line.strip()
                elif section == "[config]":
                    self.config.append(line)
                elif section == "[script]" and line.strip() and not line.lstrip().startswith("#"):
                    self.script.append((number, line.split(None, 1)))
        if not self.script:
            raise SystemExit("%s: no [script] section" % path)

    def uses(self, *words):
        return any(step[0] in words for _, step in self.script)


class SerialDevice:
    """A pty standing for the device's serial port: sends what the capture
    says the device sent, answers requests by the capture's rules."""

    def __init__(self, tmpdir):
        self.master, slave = pty.openpty()
        tty.setraw(slave)
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self.link = os.path.join(tmpdir, "tty-device")
        os.symlink(os.ttyname(slave), self.link)
        self.slave = slave
        self.rules = {}
        self.received = b""  # everything the gateway wrote, for the `written` step
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        seen = b""
        while self.running:
            try:
                import select
                if not select.select([self.master], [], [], 0.05)[0]:
                    continue
                got = os.read(self.master, 4096)
                seen += got
                with self.lock:
                    self.received += got
            except OSError:
                time.sleep(0.05)
                continue
            while True:
                with self.lock:
                    hits = [(seen.find(req), req, reply) for req, reply in self.rules.items()
                            if req in seen]
                if not hits:
                    break
                at, req, reply = min(hits)
                seen = seen[at + len(req):]
                os.write(self.master, reply)
            seen = seen[-256:]

    def on(self, request, reply):
        self.on_all([(request, reply)])

    def on_all(self, pairs):
        """Several answers changed at once: a card placed changes what find, select and
        read answer together, and a reader never answers find with "card" and then select
        with "no card" (the serving thread must not see half of the change)."""
        with self.lock:
            for request, reply in pairs:
                self.rules[request] = reply

    def send(self, data):
        os.write(self.master, data)

    def take_written(self):
        with self.lock:
            data, self.received = self.received, b""
        return data

    def close(self):
        self.running = False
        self.thread.join(1)
        os.close(self.master)
        os.close(self.slave)


class ScriptedCard:
    """A smart card that answers APDUs by the capture's rules (exact bytes)."""

    def __init__(self):
        self.rules = {}

    def answer(self, apdu):
        return self.rules.get(bytes(apdu), b"\x6D\x00")


def event_line(topic, event, volatile=(), tmpdir=None):
    if tmpdir:  # paths of the emulated devices differ run to run
        event = json.loads(json.dumps(event).replace(tmpdir, "@TMP"))
    kept = {k: v for k, v in event.items() if k not in STRIPPED}
    kept["topic"] = topic
    data = kept.get("data")
    if isinstance(data, dict):
        kept["data"] = {k: "(volatile)" if k in volatile else v for k, v in data.items()}
    return json.dumps(kept, ensure_ascii=False, sort_keys=True)


def play(capture, tmpdir):
    """Runs the gateway on the capture; the lines it published, in order."""
    serial = SerialDevice(tmpdir) if any("@PTY" in line for line in capture.config) else None
    bluez = None
    if capture.uses("bluez", "bluez-options"):
        options = next((shlex.split(step[1]) for _, step in capture.script
                        if step[0] == "bluez-options"), [])
        bluez = MockBluez(tmpdir, *options)
    pcscd, card, cards = None, ScriptedCard(), {}
    if capture.uses("card-insert"):
        from pcscd_rig import Pcscd  # tests/emulators: a real pcscd, root only
        pcscd = Pcscd(tmpdir).start()
    devices = "\n".join(capture.config)
    script = [s for s in capture.script if s[1][0] != "volatile"]
    if serial:
        devices = devices.replace("@PTY", serial.link)
        while script and script[0][1][0] == "on":  # the device answers from the start
            request, reply = script.pop(0)[1][1].split(" reply ")
            serial.on(hexbytes(request), hexbytes(reply))
    env = bluez.env if bluez else pcscd.env if pcscd else dict(os.environ,
                                                                ACCESSGW_PROFILE_PATH=PROFILE_PATH)
    gw = Gateway(tmpdir, devices, log_level="info", env=env)
    sub = Subscriber(gw.events, [""])
    testbed = None
    if capture.uses("hid-add", "hid-report", "input-add", "keys"):
        present = []
        while script and script[0][1][0] == "hid-add":  # plugged in before the gateway starts
            name, vid, pid, desc = script.pop(0)[1][1].split(None, 3)
            present.append("%s %s %s desc=%s" % (name, vid, pid, "".join(desc.split())))
        testbed = HidTestbed(tmpdir, gw, present, ACCESSGW_PROFILE_PATH=PROFILE_PATH)
    else:
        gw.start()
    sub.catch_up(gw)
    lines = []
    volatile = {key for _, step in capture.script if step[0] == "volatile"
                for key in step[1].split()}
    try:
        pending = []  # consecutive "on" lines take effect together
        for i, (number, step) in enumerate(script):
            word, rest = step[0], step[1] if len(step) > 1 else ""
            if word == "on":
                request, reply = rest.split(" reply ")
                pending.append((hexbytes(request), hexbytes(reply)))
                if i + 1 == len(script) or script[i + 1][1][0] != "on":
                    serial.on_all(pending)
                    pending = []
            elif word == "send":
                serial.send(hexbytes(rest))
            elif word == "hid-add":
                name, vid, pid, desc = rest.split(None, 3)
                testbed.do("add %s %s %s desc=%s" % (name, vid, pid, "".join(desc.split())))
            elif word == "hid-report":
                name, report = rest.split(None, 1)
                testbed.do("report %s %s" % (name, "".join(report.split())))
            elif word == "apdu":
                apdu, answer = rest.split(" reply ")
                card.rules[hexbytes(apdu)] = hexbytes(answer)
            elif word == "card-insert":
                slot = int(rest or 0)
                from sscard_vicc import VirtualCard
                cards[slot] = VirtualCard(pcscd.slot_port(slot), card).insert()
            elif word == "card-remove":
                cards.pop(int(rest or 0)).remove()
            elif word == "input-add":
                testbed.do("add-input " + rest)
            elif word == "keys":
                name, data = rest.split(None, 1)
                testbed.do("keys %s %s" % (name, "".join(data.split())))
            elif word == "bluez":
                bluez.do(rest)
            elif word == "bluez-options":
                pass
            elif word == "verb":
                parts = rest.split(None, 2)
                args = json.loads(parts[2]) if len(parts) > 2 else {}
                reply = gw.send(parts[0], parts[1], args)
                reply.pop("id", None)
                sub.collect(0.2)  # what the verb caused comes before its reply in the record
                lines += [event_line(t, e, volatile, tmpdir) for t, e in drain(sub)]
                lines.append(json.dumps({"reply": "%s %s" % (parts[0], parts[1]), **reply},
                                        ensure_ascii=False, sort_keys=True))
            elif word == "written":  # what the gateway wrote to the serial device since
                time.sleep(0.3)
                lines.append(json.dumps({"written": serial.take_written().hex(" ")}))
            elif word == "wait":
                time.sleep(int(rest) / 1000.0)
            else:
                raise SystemExit("%s:%d: unknown step %r" % (capture.path, number, word))
            lines += [event_line(t, e, volatile, tmpdir) for t, e in drain(sub)]
        sub.collect(SETTLE_S)
        lines += [event_line(t, e, volatile, tmpdir) for t, e in drain(sub)]
    finally:
        if testbed:
            testbed.close()
        else:
            gw.stop()
        sub.close()
        if serial:
            serial.close()
        if bluez:
            bluez.close()
        for c in cards.values():
            c.remove()
        if pcscd:
            pcscd.stop()
    return lines


def drain(sub):
    """The events received so far, gateway/* (heartbeats, started) left out."""
    while sub.recv(0.01):
        pass
    got = [(t, e) for t, e in sub.seen if not t.startswith("gateway/")]
    sub.seen.clear()
    return got


def published(path):
    """Plays one capture to a real gateway: the lines it published."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="agw-regress-") as tmpdir:
        return play(Capture(path), tmpdir)


def differences(path, got):
    """A unified diff of what was published against the capture's .jsonl; [] when equal."""
    expected_path = path[:-len(".capture")] + ".jsonl"
    try:
        with open(expected_path, encoding="utf-8") as f:
            expected = f.read().splitlines()
    except FileNotFoundError:
        expected = []
    return list(difflib.unified_diff([x + "\n" for x in expected], [x + "\n" for x in got],
                                     expected_path, "published"))


def main(argv):
    regenerate = "--regenerate" in argv
    paths = [a for a in argv if a != "--regenerate"]
    failed = 0
    for path in paths:
        got = published(path)
        if regenerate:
            expected_path = path[:-len(".capture")] + ".jsonl"
            with open(expected_path, "w", encoding="utf-8") as f:
                f.write("".join(line + "\n" for line in got))
            print("regenerated %s (%d lines)" % (expected_path, len(got)))
            continue
        diff = differences(path, got)
        if not diff:
            print("ok   %s (%d events)" % (os.path.basename(path), len(got)))
        else:
            failed += 1
            print("FAIL %s" % path)
            sys.stdout.writelines(diff)
    if not regenerate:
        print("%d passed, %d failed" % (len(paths) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
