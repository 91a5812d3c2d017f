#!/usr/bin/python3
"""A umockdev testbed with hotpluggable hidraw devices, driven over stdin,
for tests and the demo.  Run it under `umockdev-wrapper`, which preloads
umockdev into this process and every program it starts:

    umockdev-wrapper /usr/bin/python3 hid_testbed.py -- accessgwd --config gw.ini

Devices present before the program starts (as at boot) are given before "--":
    hid_testbed.py --add "NAME VID PID desc=HEX" -- accessgwd ...

Commands on stdin, one per line (each answered with "ok ..." on stdout):
    add NAME VID PID [USAGE_PAGE|desc=HEX]
                                    plug in a HID device (emits a udev "add"); page 0C:
                                    consumer control, 01: boot keyboard, else vendor; or
                                    the report descriptor itself (a real device's)
    type NAME TEXT                  a keyboard device types TEXT (hex digits) and Enter
    written NAME                    what the program wrote to the device (output reports), hex
    report NAME HEX                 the device sends an input report
    add-input NAME VID PID          plug in a USB keyboard (a keyboard-wedge scanner, or
                                    not): its /dev/input/eventN, answering EVIOCGRAB
    keys NAME HEX                   it sends these struct input_events
    grabbed NAME                    "ok grabbed N": EVIOCGRAB calls that asked for the grab
    remove NAME                     unplug it (udev "remove")
    quit
"""
import os
import subprocess
import sys
import time

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

# A minimal vendor-page descriptor (8-byte input and output reports), or a
# consumer-control one when the usage page is 0x0C.
VENDOR_DESC = bytes.fromhex("06 00 ff 09 01 a1 01 15 00 26 ff 00 75 08 95 08 09 01 81 02"
                            " 95 08 09 02 91 02 c0".replace(" ", ""))
KEYBOARD_DESC = bytes.fromhex(  # the boot keyboard of the HID spec, appendix B.1
    "05010906a101050719e029e71500250175019508810295017508810195057501050819012905"
    "910295017503910195067508150025650507190029658100c0")
CONSUMER_DESC = bytes.fromhex("05 0c 09 01 a1 01 15 00 26 ff 03 19 00 2a ff 03 75 10 95 01"
                              " 81 00 c0".replace(" ", ""))


EVIOCGRAB = 0x40044590  # _IOW('E', 0x90, int), linux/input.h


class GrabRecorder(UMockdev.IoctlBase):
    """Answers EVIOCGRAB on an input node and counts the grabs (an ioctl recording
    would answer it without a trace: umockdev's ioctl_tree.c); other requests fall
    back to umockdev's defaults."""

    def __init__(self):
        super().__init__()
        self.grabs = 0

    def do_handle_ioctl(self, client):
        if client.get_request() != EVIOCGRAB:
            return False
        data = bytes(client.get_arg().data or b"")
        if int.from_bytes(data[:4] or b"\1", "little"):
            self.grabs += 1
        client.complete(0, 0)
        return True


class Testbed:
    def __init__(self):
        self.tb = UMockdev.Testbed.new()
        self.devices = {}
        self.slots = {}
        self.next_minor = 0

    def add(self, name, vid, pid, usage_page=0xFF00, desc=None):
        # re-plugged into the same port: same port and serial number, a new hidraw node
        slot = self.slots.setdefault(name, len(self.slots))
        n = self.next_minor
        self.next_minor += 1
        if desc is None:
            desc = {0x0C: CONSUMER_DESC, 0x01: KEYBOARD_DESC}.get(usage_page, VENDOR_DESC)
        port = "1-%d" % (slot + 1)
        usb = "/devices/pci0000:00/0000:00:14.0/usb1/%s" % port
        hid = "%s/%s:1.0/0003:%04X:%04X.%04X" % (usb, port, vid, pid, n + 1)
        serial = "SN%04d" % slot
        raw = "%s/hidraw/hidraw%d" % (hid, n)
        # parents first, as the kernel announces them: the hidraw uevent finds its USB parent
        record = "\n".join([
            "P: " + usb, "E: SUBSYSTEM=usb", "E: DEVTYPE=usb_device",
            "E: PRODUCT=%x/%x/100" % (vid, pid), "A: idVendor=%04x\\n" % vid,
            "A: idProduct=%04x\\n" % pid, "A: serial=%s\\n" % serial, "A: busnum=1\\n",
            "A: devnum=%d\\n" % (n + 2), "",
            "P: " + hid, "E: SUBSYSTEM=hid", "E: HID_ID=0003:%08X:%08X" % (vid, pid),
            "E: HID_NAME=%s" % name, "H: report_descriptor=%s" % desc.hex().upper(), "",
            "P: " + raw, "N: hidraw%d" % n, "E: DEVNAME=/dev/hidraw%d" % n,
            "E: SUBSYSTEM=hidraw", "E: MAJOR=241", "E: MINOR=%d" % n, "A: dev=241:%d\\n" % n,
            "L: device=../../../0003:%04X:%04X.%04X" % (vid, pid, n + 1), ""])
        ioctl = ("@DEV /dev/hidraw%d\nHIDIOCGRDESCSIZE 0 %s\nHIDIOCGRDESC 0 %s%s\n" %
                 (n, len(desc).to_bytes(4, "little").hex(), len(desc).to_bytes(4, "little").hex(),
                  desc.hex()))
        path = os.path.join(self.tb.get_root_dir(), "hidraw%d.ioctl" % n)
        with open(path, "w") as f:
            f.write(ioctl)
        self.tb.load_ioctl("/dev/hidraw%d" % n, path)
        self.tb.add_from_string(record)
        self.devices[name] = ("/sys" + usb, "/sys" + hid, "/sys" + raw, n)
        return "/dev/hidraw%d" % n

    def add_input(self, name, vid, pid):
        """A USB keyboard's evdev node, as the kernel lays it out (usb device, hid,
        input/inputN, input/inputN/eventN; udev's ID_INPUT_KEYBOARD)."""
        slot = self.slots.setdefault(name, len(self.slots))
        n = self.next_minor
        self.next_minor += 1
        port = "1-%d" % (slot + 1)
        usb = "/devices/pci0000:00/0000:00:14.0/usb1/%s" % port
        hid = "%s/%s:1.0/0003:%04X:%04X.%04X" % (usb, port, vid, pid, n + 1)
        inp = "%s/input/input%d" % (hid, n)
        ev = "%s/event%d" % (inp, n)
        record = "\n".join([
            "P: " + usb, "E: SUBSYSTEM=usb", "E: DEVTYPE=usb_device",
            "E: PRODUCT=%x/%x/100" % (vid, pid), "A: idVendor=%04x\\n" % vid,
            "A: idProduct=%04x\\n" % pid, "A: serial=KB%04d\\n" % slot, "", "P: " + hid,
            "E: SUBSYSTEM=hid", "E: HID_ID=0003:%08X:%08X" % (vid, pid), "",
            "P: " + inp, "E: SUBSYSTEM=input", "E: ID_INPUT=1", "E: ID_INPUT_KEYBOARD=1",
            "E: NAME=\"%s\"" % name, "",
            "P: " + ev, "N: input/event%d" % n, "E: DEVNAME=/dev/input/event%d" % n,
            "E: SUBSYSTEM=input", "E: MAJOR=13", "E: MINOR=%d" % (64 + n),
            "E: ID_INPUT=1", "E: ID_INPUT_KEYBOARD=1", "A: dev=13:%d\\n" % (64 + n), ""])
        node = "/dev/input/event%d" % n
        recorder = GrabRecorder()
        self.tb.add_from_string(record)
        self.tb.attach_ioctl(node, recorder)
        self.devices[name] = ("/sys" + usb, "/sys" + hid, "/sys" + inp, "/sys" + ev, node, recorder)
        return node

    def keys(self, name, data):
        fd = self.tb.get_dev_fd(self.devices[name][4])
        for at in range(0, len(data), 24 * 16):  # a pty's buffer is small: a burst in slices
            os.write(fd, data[at:at + 24 * 16])

    def grabs(self, name):
        return self.devices[name][5].grabs

    def report(self, name, data):
        _, _, raw, n = self.devices[name]
        fd = self.tb.get_dev_fd("/dev/hidraw%d" % n)
        os.write(fd, data)

    def written(self, name):
        _, _, _, n = self.devices[name]
        fd = self.tb.get_dev_fd("/dev/hidraw%d" % n)
        os.set_blocking(fd, False)
        try:
            return os.read(fd, 4096)
        except BlockingIOError:
            return b""

    def remove(self, name):
        paths = [p for p in self.devices.pop(name) if isinstance(p, str) and p.startswith("/sys")]
        for syspath in reversed(paths):
            self.tb.uevent(syspath, "remove")
            self.tb.remove_device(syspath)


USAGES = {c: 0x04 + i for i, c in enumerate("abcdef")}
USAGES.update({str(d): 0x1E + d - 1 for d in range(1, 10)})
USAGES["0"] = 0x27


def typed_reports(text):
    """Boot keyboard reports for TEXT then Enter: each key down, then all up."""
    out = []
    for ch in text.lower() + "\n":
        usage = 0x28 if ch == "\n" else USAGES[ch]
        out += [bytes([0, 0, usage, 0, 0, 0, 0, 0]), bytes(8)]
    return out


def add_device(tb, words):
    """NAME VID PID [USAGE_PAGE|desc=HEX]: the new /dev/hidrawN"""
    extra = words[3] if len(words) > 3 else "ff00"
    desc = bytes.fromhex(extra[5:]) if extra.startswith("desc=") else None
    page = 0xFF00 if desc else int(extra, 16)
    return tb.add(words[0], int(words[1], 16), int(words[2], 16), page, desc)


def main():
    args = sys.argv[1:]
    tb = Testbed()
    while len(args) >= 2 and args[0] == "--add":  # plugged in before the program starts
        add_device(tb, args[1].split())
        args = args[2:]
    if args and args[0] == "--":
        args = args[1:]
    child = subprocess.Popen(args) if args else None
    print("ok ready %s" % tb.tb.get_root_dir(), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "add":
                print("ok added %s" % add_device(tb, words[1:]), flush=True)
            elif words[0] == "add-input":
                print("ok added %s" % tb.add_input(words[1], int(words[2], 16), int(words[3], 16)),
                      flush=True)
            elif words[0] == "keys":
                tb.keys(words[1], bytes.fromhex(words[2]))
                print("ok keys", flush=True)
            elif words[0] == "grabbed":
                print("ok grabbed %d" % tb.grabs(words[1]), flush=True)
            elif words[0] == "report":
                tb.report(words[1], bytes.fromhex(words[2]))
                time.sleep(0.02)  # a real hidraw read returns one report; keep them apart
                print("ok reported", flush=True)
            elif words[0] == "type":
                for report in typed_reports(words[2]):
                    tb.report(words[1], report)
                    time.sleep(0.02)  # separate reads, as a real keyboard's reports are
                print("ok typed", flush=True)
            elif words[0] == "written":
                print("ok written %s" % tb.written(words[1]).hex(), flush=True)
            elif words[0] == "remove":
                tb.remove(words[1])
                print("ok removed", flush=True)
            elif words[0] == "quit":
                break
            else:
                print("error unknown command %s" % words[0], flush=True)
        except Exception as e:  # report, keep serving
            print("error %s" % e, flush=True)
    if child:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
        print("ok exit %d" % child.returncode, flush=True)


if __name__ == "__main__":
    main()
