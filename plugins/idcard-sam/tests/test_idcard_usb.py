"""idcard-sam over USB: libusb bulk transfers answered by a umockdev
usbdevfs recording of a SAM reader (0400:C35A) with a card on it."""
import os
import subprocess
import time

from agwtest import ACCESSGWD, Gateway, Subscriber, validate_event
import samcard

DESCRIPTORS = ("120100020000004000045AC30001010203010902200001010080320904000002FF000000"
               "0705020240000007058102400000")

DEVICE = """P: /devices/pci0000:00/0000:00:14.0/usb1/1-2
N: bus/usb/001/003={d}
E: DEVNAME=/dev/bus/usb/001/003
E: DEVTYPE=usb_device
E: DRIVER=usb
E: PRODUCT=400/c35a/100
E: TYPE=0/0/0
E: BUSNUM=001
E: DEVNUM=003
E: MAJOR=189
E: MINOR=2
E: SUBSYSTEM=usb
A: idVendor=0400\\n
A: idProduct=c35a\\n
A: busnum=1\\n
A: devnum=3\\n
A: speed=12\\n
A: bNumConfigurations=1\\n
A: bConfigurationValue=1\\n
A: serial=0001\\n
H: descriptors={d}
""".format(d=DESCRIPTORS)


def command(cmd, para):
    return samcard.frame(bytes([cmd, para]))


def recording():
    """Each request (bulk OUT to 0x02) followed by its answer in 64-byte bulk IN packets."""
    lines = ["@DEV /dev/bus/usb/001/003 (usbdevfs)", "USBDEVFS_GET_CAPABILITIES 0 0F000000"]
    exchanges = [
        (command(0x11, 0xFF), samcard.response(0x90)),
        (command(0x12, 0xFF), samcard.response(0x90, samcard.SAM_ID)),
        (command(0x20, 0x01), samcard.response(0x9F, b"\0" * 4)),
        (command(0x20, 0x02), samcard.response(0x90, b"\0" * 8)),
        (command(0x30, 0x01), samcard.read_response(samcard.CARDS["resident"])),
    ]
    for out, answer in exchanges:
        lines.append("USBDEVFS_REAPURBNDELAY 0 3 2 0 0 %d %d 0 %s" % (len(out), len(out), out.hex()))
        for i in range(0, len(answer), 64):
            chunk = answer[i:i + 64]
            lines.append(" USBDEVFS_REAPURBNDELAY 0 3 129 0 0 64 %d 0 %s" % (len(chunk), chunk.hex()))
    return "\n".join(lines) + "\n"


def test_usb_reader_reads_a_card(tmp_path):
    (tmp_path / "reader.umockdev").write_text(DEVICE)
    (tmp_path / "reader.ioctl").write_text(recording())
    gw = Gateway(tmp_path, "[device reader-usb]\nplugin = idcard-sam\ntransport = usb\n"
                 "path = /dev/bus/usb/001/003\npoll_ms = 200\nlocation = Window 5\n",
                 hotplug=True)
    sub = Subscriber(gw.events, ["idcard/", "device/"])
    env = dict(os.environ, TMPDIR=str(tmp_path), ASAN_OPTIONS=os.environ.get(
        "ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
    gw.env = env
    gw.start(command=["umockdev-run", "--device", str(tmp_path / "reader.umockdev"),
                      "--ioctl", "/dev/bus/usb/001/003=%s" % (tmp_path / "reader.ioctl"), "--"])
    try:
        sub.catch_up(gw)
        st = sub.wait_for(lambda t, e: t == "device/reader-usb/state" and e["data"]["state"] == "up")
        assert "SAM ready, id 0501" in st[1]["data"]["reason"]
        ev = sub.wait_topic("idcard/reader-usb/read", 15)
        validate_event("idcard/reader-usb/read", ev)
        assert ev["data"]["name"] == "张*" and ev["data"]["masked"] is True
        assert ev["data"]["location"] == "Window 5"
        time.sleep(1.0)  # the card stays: polls go on, no second read
        assert [t for t, _ in sub.collect(0.5) if t == "idcard/reader-usb/read"] == []
        devs = gw.request({"verb": "devices"})["result"]["devices"]
        # declared in a [device] section: hotplug does not claim the same node again
        assert [d["id"] for d in devs] == ["reader-usb"], devs
        assert devs[0]["transport"] == "usb" and devs[0]["state"] == "up"
    finally:
        sub.close()
        gw.stop()
    assert "is declared in a [device] section; not claimed twice" in gw.log_text()
