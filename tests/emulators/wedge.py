"""What a keyboard-wedge scanner sends, as evdev events: for tests, the golden
vectors and the demo.  Key codes from linux include/uapi/linux/input-event-codes.h;
a US layout, Shift pressed for each character that needs it and released after
(as scanners do), each change reported as MSC_SCAN (the HID usage) + EV_KEY +
SYN_REPORT, as hid-input does for a boot keyboard (docs/reference/scanner.md)."""
import struct

EV_SYN, EV_KEY, EV_MSC = 0, 1, 4
SYN_REPORT, SYN_DROPPED, MSC_SCAN = 0, 3, 4
KEY_ENTER, KEY_TAB, KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_LEFTALT, KEY_KPENTER = 28, 15, 42, 54, 56, 96
KP = {"0": 82, "1": 79, "2": 80, "3": 81, "4": 75, "5": 76, "6": 77, "7": 71, "8": 72, "9": 73}

_ROWS = [("1234567890", 2), ("qwertyuiop", 16), ("asdfghjkl", 30), ("zxcvbnm", 44)]
US = {}
for chars, first in _ROWS:
    for i, c in enumerate(chars):
        US[c] = (first + i, False)
        if c.isalpha():
            US[c.upper()] = (first + i, True)
for c, s, code in [("-", "_", 12), ("=", "+", 13), ("[", "{", 26), ("]", "}", 27),
                   (";", ":", 39), ("'", '"', 40), ("`", "~", 41), ("\\", "|", 43),
                   (",", "<", 51), (".", ">", 52), ("/", "?", 53), (" ", None, 57)]:
    US[c] = (code, False)
    if s:
        US[s] = (code, True)
for c, s in zip("1234567890", "!@#$%^&*()"):
    US[s] = (US[c][0], True)

# HID usages (keyboard page) of the keys, for MSC_SCAN: a..z 4.., 1..0 0x1E.., and the rest
USAGE = {28: 0x28, 15: 0x2B, 42: 0xE1, 54: 0xE5, 56: 0xE2, 57: 0x2C, 12: 0x2D, 13: 0x2E,
         26: 0x2F, 27: 0x30, 43: 0x31, 39: 0x33, 40: 0x34, 41: 0x35, 51: 0x36, 52: 0x37,
         53: 0x38, 96: 0x58}
for i, c in enumerate("abcdefghijklmnopqrstuvwxyz"):
    USAGE[US[c][0]] = 4 + i
for i, c in enumerate("1234567890"):
    USAGE[US[c][0]] = 0x1E + i
for d, code in KP.items():
    USAGE[code] = 0x62 if d == "0" else 0x59 + int(d) - 1


def event(type_, code, value, sec=0, usec=0):
    """One struct input_event (64-bit: timeval of two longs, u16, u16, s32)."""
    return struct.pack("@qqHHi", sec, usec, type_, code, value)


def key(code, value):
    out = b""
    if code in USAGE:
        out += event(EV_MSC, MSC_SCAN, 0x70000 | USAGE[code])
    return out + event(EV_KEY, code, value) + event(EV_SYN, SYN_REPORT, 0)


def tap(code, shift=False, shift_key=KEY_LEFTSHIFT):
    out = key(shift_key, 1) if shift else b""
    out += key(code, 1) + key(code, 0)
    return out + (key(shift_key, 0) if shift else b"")


def typed(text, end="enter", shift_key=KEY_LEFTSHIFT):
    """The events of a scan of text (ASCII a US keyboard can type), then its end key."""
    out = b""
    for c in text:
        code, shift = US[c]
        out += tap(code, shift, shift_key)
    if end == "enter":
        out += tap(KEY_ENTER)
    elif end == "kpenter":
        out += tap(KEY_KPENTER)
    elif end == "tab":
        out += tap(KEY_TAB)
    return out


def alt_code(code_point):
    """A character as Alt + its decimal code point on the keypad."""
    out = key(KEY_LEFTALT, 1)
    for d in str(code_point):
        out += tap(KP[d])
    return out + key(KEY_LEFTALT, 0)
