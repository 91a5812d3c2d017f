#!/usr/bin/python3
"""Writes the scanner codecs' golden inputs (then: golden.sh BUILD/scan_golden DIR
--regenerate, and review the .json).  Keyboard events come from tests/emulators/
wedge.py (linux's key codes, a US layout, a scanner's Shift habits); the HID POS
report descriptor is a real one: Hand Held Products (Honeywell) scanner firmware,
"USB HID POS" interface, usb2hidpos.cpp (RCS interfaces_usb2/hid_usb2/pos_usb2/, 2011,
144 bytes = the wDescriptorLength 0x90 the same file declares; found through the
project's code search, which names no repository: docs/reference/scanner.md §2)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "emulators"))
import wedge  # noqa: E402

HHP_POS = bytes.fromhex(
    "058c0902a1010912a102850215002 6ff0075089501050109 3b810295 03058c09fb09fc09fd8102"
    "953809fe82020106 66ff95020904090081 02058c250175019508 09ff8102c00914a1028504"
    "1500250175019508090009 5f0960090009000985 09869186c00666ff7508 26ff000903a10285fe"
    "95010903b28201c00901 a10285fd95010921910295 3e092292 8201c0c0".replace(" ", ""))
assert len(HHP_POS) == 144


def pos_report(data, aim=b"\0\0\0", more=False):
    """Report 2 as that descriptor lays it out: count, AIM, 56 data bytes, Code ID (2),
    the continued bit."""
    assert len(data) <= 56
    return (bytes([2, len(data)]) + aim + data + b"\0" * (56 - len(data)) + b"\0\0" +
            bytes([1 if more else 0]))


def write(name, lines):
    with open(os.path.join(HERE, "golden", name + ".hex"), "w") as f:
        f.write("\n".join(lines) + "\n")


def hx(b):
    return b.hex()


def seeds():
    """Fuzzing seeds in fuzz_scan.c's format: decoder, chunk, then its bytes."""
    corpus = os.path.join(HERE, "..", "..", "corpus", "scan")
    os.makedirs(corpus, exist_ok=True)
    w = wedge
    for name, data in [
            ("keys", b"\x00\x07" + w.typed("Ab1!]Q1X") + w.typed("T", end=None)),
            ("alt", b"\x03\x05" + w.alt_code(35760) + w.typed("-1")),
            ("lines", b"\x01\x03" + b"A\r\nB\rC\n" + "社".encode("gbk") + b"\r\n"),
            ("pos", b"\x02\x40" + bytes([len(HHP_POS) + 1]) + HHP_POS +
             pos_report(b"X" * 56, b"]Q1", more=True) + pos_report(b"Y\r"))]:
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(data)


def main():
    seeds()
    w = wedge
    write("keys_case_and_symbols", [
        "# upper and lower case, digits, every shifted symbol; Left Shift, then Right Shift",
        "#kind keys",
        hx(w.typed("Ab1!@#$%^&*()-_=+[]{};:'\",.<>/?`~\\|")),
        hx(w.typed("AppointmentA012", shift_key=w.KEY_RIGHTSHIFT)),
    ])
    write("keys_ends", [
        "# a scan ends at Enter, keypad Enter or Tab; an empty Enter is no scan",
        "#kind keys",
        hx(w.typed("ENTER1") + w.typed("KPENTER2", end="kpenter") + w.typed("TAB3", end="tab")
           + w.tap(w.KEY_ENTER)),
    ])
    write("keys_two_quick_scans_and_silence", [
        "# two scans in one burst, then one that ends by silence (end_ms), then another",
        "#kind keys",
        hx(w.typed("FIRST") + w.typed("SECOND")),
        hx(w.typed("SILENT", end=None)),
        "idle",
        hx(w.typed("AFTER", end=None)),
        "idle",
    ])
    long_code = ("https://si.12333.gov.cn/ecard?c=" + "0123456789ABCDEFabcdef" * 13)[:300]
    write("keys_long_300", ["# a 300-character code (an 电子社保卡-style URL)", "#kind keys",
                            hx(w.typed(long_code))])
    write("keys_autorepeat_and_aim", [
        "# a held key's autorepeat (value 2) types nothing; a ]Q1 prefix is the symbology",
        "#kind keys",
        hx(w.key(30, 1) + w.key(30, 2) + w.key(30, 2) + w.key(30, 0) + w.tap(w.KEY_ENTER)),
        hx(w.typed("]Q1XYZ")),
    ])
    dropped = w.typed("LOS", end=None) + w.event(w.EV_SYN, w.SYN_DROPPED, 0) + \
        w.event(w.EV_KEY, 31, 1) + w.event(w.EV_SYN, w.SYN_REPORT, 0) + w.typed("T")
    write("keys_dropped", ["# the kernel dropped events mid-scan: the scan is lost, the next one is "
                           "whole", "#kind keys", hx(dropped), hx(w.typed("NEXT"))])
    write("keys_alt_codes", [
        "# Alt + keypad decimal code points (a scanner's Chinese output): 记 U+8BB0 = 35760,",
        "# 社 U+793E = 31038, then ASCII typed normally",
        "#alt",
        "#kind keys",
        hx(w.alt_code(35760) + w.alt_code(31038) + w.typed("-01")),
    ])
    write("lines", [
        "# serial: CR, LF and CR LF end a code (CR LF once); no empty scans; a line whose end",
        "# never comes is cut at end_ms",
        "#kind lines",
        hx(b"CODE1\r\nCODE2\rCODE3\n\r\n\n"),
        hx(b"NOEND"),
        "idle",
        hx("预约码A012\r\n".encode()),
    ])
    write("lines_gbk", ["# encoding = gbk", "#gbk", "#kind lines",
                        hx("办件码:社保".encode("gbk") + b"\r\n")])
    write("lines_not_utf8", ["# GBK bytes without encoding = gbk: an error, not mojibake",
                             "#kind lines", hx("社保".encode("gbk") + b"\r\n")])
    write("lines_strip", ["# a prefix and a suffix the scanner is set to add, stripped",
                          "#strip STX ETX", "#kind lines", hx(b"STX]C1GS1DATAETX\r\n")])
    text = ("https://example.gov.cn/" + "x" * 70).encode()
    write("pos_honeywell", [
        "# HID POS: the Honeywell firmware's descriptor; one report, then a code over two",
        "# reports (Decode Data Continued), then one whose continuation never comes",
        "#kind pos",
        "#desc " + hx(HHP_POS),
        hx(pos_report(b"A012\r", b"]Q1")),
        hx(pos_report(text[:56], b"]Q1", more=True)),
        hx(pos_report(text[56:], b"]Q1")),
        hx(pos_report(b"HALF", b"]C0", more=True)),
        "idle",
        hx(pos_report("中文".encode())),
        "# a trigger report (id 4) is not a scan",
        "0401",
    ])
    write("pos_not_a_scanner", ["# a boot keyboard's descriptor is not HID POS", "#kind pos",
                                "#desc 05010906a101050719e029e715002501750195088102c0"])


if __name__ == "__main__":
    main()
