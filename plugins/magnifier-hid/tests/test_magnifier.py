"""magnifier-hid end to end: umockdev hidraw keypads plugged into a running
gateway, read through hidraw, mapped by profiles; commands written back as
output reports."""
import os
import shutil
import subprocess
import time

from agwtest import ACCESSGWCTL, SOURCE, Gateway, HidTestbed, Subscriber, validate_event

PROFILES = os.path.join(SOURCE, "plugins", "magnifier-hid", "profiles")


def rig(tmp_path, devices="", profile_dir=PROFILES):
    gw = Gateway(tmp_path, devices, hotplug=True)
    sub = Subscriber(gw.events, ["magnifier/", "device/"])
    tb = HidTestbed(tmp_path, gw, ACCESSGW_PROFILE_PATH=profile_dir)
    sub.catch_up(gw)
    return gw, sub, tb


def controls(sub, dev, seconds):
    return [e["data"] for t, e in sub.collect(seconds) if t == "magnifier/%s/control" % dev]


def test_vendor_keypad_hotplug_keys_commands_remove(tmp_path):
    gw, sub, tb = rig(tmp_path)
    dev = "magnifier-hid-sn0000"
    try:
        tb.do("add keypad 1209 a11e")
        att = sub.wait_topic("device/%s/attached" % dev)
        assert att["data"]["plugin"] == "magnifier-hid"
        first = sub.wait_topic("magnifier/%s/state" % dev)
        validate_event("magnifier/%s/state" % dev, first)
        assert first["data"] == {"zoom_level": 1, "mode": "colour", "frozen": False, "brightness": 5}
        devs = {d["id"]: d for d in gw.request({"verb": "devices"})["result"]["devices"]}
        assert devs[dev]["info"]["profile"] == "vendor-keypad-a11e"
        # a short press: one control event, however often the report repeats
        tb.do("report keypad 0101000000000000")
        tb.do("report keypad 0101000000000000")
        tb.do("report keypad 0100000000000000")
        c = sub.wait_topic("magnifier/%s/control" % dev)
        validate_event("magnifier/%s/control" % dev, c)
        assert c["data"] == {"action": "zoom_in", "repeat": False, "level": 2}
        assert controls(sub, dev, 0.7) == []
        # a held key steps at a steady rate (400 ms delay, then every 200 ms) until released
        tb.do("report keypad 0101000000000000")
        time.sleep(1.25)
        tb.do("report keypad 0100000000000000")
        held = [d for d in controls(sub, dev, 0.6)]
        assert held[0] == {"action": "zoom_in", "repeat": False, "level": 3}
        steps = [d for d in held if d["repeat"]]
        assert 3 <= len(steps) <= 6, held
        assert [d["level"] for d in held] == list(range(3, 3 + len(held)))
        tb.do("report keypad 0301000000000000")  # mode key
        tb.do("report keypad 0000000000000000")
        c = sub.wait_topic("magnifier/%s/control" % dev)
        assert c["data"]["action"] == "mode_next" and c["data"]["mode"] == "grey"
        # set_zoom goes out as the profile's output report
        r = gw.send(dev, "magnifier.set_zoom", {"level": 7})
        assert r["ok"] and r["result"]["zoom_level"] == 7, r
        sub.wait_for(lambda t, e: t == "magnifier/%s/state" % dev and e["data"]["zoom_level"] == 7)
        time.sleep(0.2)
        assert tb.do("written keypad") == "ok written 1007000000000000"
        r = gw.send(dev, "magnifier.set_mode", {"mode": "inverted"})
        assert r["ok"] and r["result"]["mode"] == "inverted"
        r = gw.send(dev, "magnifier.set_mode", {"mode": "purple"})
        assert r["error"]["code"] == "bad_args"
        tb.do("remove keypad")
        sub.wait_topic("device/%s/detached" % dev)
    finally:
        sub.close()
        tb.close()


def test_default_profile_consumer_control_and_no_output(tmp_path):
    gw, sub, tb = rig(tmp_path, "[device mag-1]\nplugin = magnifier-hid\ntransport = hidraw\n"
                      "path = /dev/hidraw0\nlocation = Reading corner\n")
    try:
        tb.do("add remote 2222 0001 0C")  # an unknown keypad: the default profile takes it
        st = sub.wait_for(lambda t, e: t == "device/mag-1/state" and e["data"]["state"] == "up", 15)
        devs = {d["id"]: d for d in gw.request({"verb": "devices"})["result"]["devices"]}
        assert devs["mag-1"]["info"]["profile"] == "generic-consumer"
        tb.do("report remote 2d02")  # AC Zoom In (usage 0x022D) in the 16-bit array
        tb.do("report remote 0000")
        c = sub.wait_topic("magnifier/mag-1/control")
        assert c["data"]["action"] == "zoom_in" and c["data"]["location"] == "Reading corner"
        r = gw.send("mag-1", "magnifier.set_zoom", {"level": 2})
        assert r["ok"] is False and r["error"]["code"] == "unsupported"
        assert "has no [output] set_zoom" in r["error"]["message"]
    finally:
        sub.close()
        tb.close()


def test_broken_profile_is_named_and_others_still_load(tmp_path):
    pdir = tmp_path / "profiles"
    shutil.copytree(PROFILES, pdir)
    (pdir / "broken.ini").write_text("[profile]\nname = broken\nclass = magnifier\nmatch = *\n"
                                     "[input]\nconsumer:0x022D = teleport\n")
    (pdir / "typo.ini").write_text("[profile]\nname = typo\nclass = magnifier\nmatch = 12:34:56\n")
    gw, sub, tb = rig(tmp_path, profile_dir=str(pdir))
    try:
        tb.do("add keypad 1209 a11e")
        sub.wait_topic("magnifier/magnifier-hid-sn0000/state")
        assert "profile skipped: %s/broken.ini:6: unknown action 'teleport'" % pdir in gw.log_text()
        assert "profile skipped: %s/typo.ini:4: match: '12:34:56'" % pdir in gw.log_text()
        # accessgwctl profiles: what is on disk, its errors, and who uses what
        out = subprocess.run([ACCESSGWCTL, "--control", gw.control, "profiles", "--profile-dir",
                              str(pdir)], capture_output=True, text=True)
        assert out.returncode == 1  # a profile has an error
        assert "ERROR %s/typo.ini:4: match: '12:34:56'" % pdir in out.stdout
        assert "vendor-keypad-a11e" in out.stdout and "generic-consumer" in out.stdout
        assert "used by device magnifier-hid-sn0000 (up)" in out.stdout
    finally:
        sub.close()
        tb.close()


def test_profile_matched_by_product_name(tmp_path):
    pdir = tmp_path / "profiles"
    shutil.copytree(PROFILES, pdir)
    (pdir / "by-name.ini").write_text("[profile]\nname = by-name\nclass = magnifier\nmatch = *\n"
                                      "product = remote\n[input]\nconsumer:0x022D = zoom_out\n")
    (pdir / "other.ini").write_text("[profile]\nname = other\nclass = magnifier\nmatch = *\n"
                                    "priority = 50\nproduct = Some Other Keypad\n")
    gw, sub, tb = rig(tmp_path, "[device mag-1]\nplugin = magnifier-hid\ntransport = hidraw\n"
                      "path = /dev/hidraw0\n", profile_dir=str(pdir))
    try:
        tb.do("add remote 2222 0001 0C")  # its HID name is "remote"
        sub.wait_for(lambda t, e: t == "device/mag-1/state" and e["data"]["state"] == "up", 15)
        devs = {d["id"]: d for d in gw.request({"verb": "devices"})["result"]["devices"]}
        assert devs["mag-1"]["info"]["profile"] == "by-name"
        tb.do("report remote 2d02")
        assert sub.wait_topic("magnifier/mag-1/control")["data"]["action"] == "zoom_out"
    finally:
        sub.close()
        tb.close()


def test_the_shipped_profiles_are_readable_in_the_sandbox_and_an_unreadable_dir_is_said(tmp_path):
    """Issue 26, item 2: installed to a prefix outside /usr (/opt/accessgw), the shipped
    profiles were outside what the plugin host's Landlock rules let it read, and the
    keypad said only "no profile matches 1209:0c0c (0 loaded)".  The compiled-in
    profile directory is among what every plugin host may read, whatever the prefix;
    and a profile directory that cannot be read is said, with its path and the
    reason, instead of counting as empty."""
    from agwtest import BUILD
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        shipped = [l.split("=", 1)[1].strip() for l in f if l.startswith("ACCESSGW_PROFILE_DIR:")][0]
    missing = str(tmp_path / "no-such-profiles")
    gw, sub, tb = rig(tmp_path, profile_dir=PROFILES + ":" + missing)
    try:
        tb.do("add keypad 1209 a11e")
        sub.wait_topic("magnifier/magnifier-hid-sn0000/state")
        hosts = []
        for pid in os.listdir("/proc"):
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    argv = f.read().decode().split("\0")
            except (OSError, UnicodeDecodeError):
                continue
            if argv[0].endswith("accessgw-plugin-host") and any("magnifier-hid" in a for a in argv):
                hosts.append(argv)
        assert hosts, "no plugin host for magnifier-hid"
        reads = [hosts[0][i + 1] for i, a in enumerate(hosts[0]) if a == "--read"]
        assert shipped in reads, (shipped, reads)
        assert ("profile directory %s cannot be read: No such file or directory" % missing
                in gw.log_text())
    finally:
        sub.close()
        tb.close()
