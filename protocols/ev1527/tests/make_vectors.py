#!/usr/bin/python3
"""Writes the golden input streams (golden/*.hex) for the EV1527 receivers."""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")


def fddf(code, osc=None):
    return bytes([0xFD]) + code.to_bytes(3, "big") + (bytes([osc]) if osc is not None else b"") + b"\xdf"


def rf(code, end=0x55):
    return bytes([0xAA, 0xA4, 0x1F, 0x40, 0x01, 0x2C, 0x03, 0x84]) + code.to_bytes(3, "big") + bytes([end])


KEYS = {c: 0x04 + i for i, c in enumerate("abcdef")}
KEYS.update({str(d): 0x1E + (d - 1) for d in range(1, 10)})
KEYS["0"] = 0x27


def typed(text, hold_first=False):
    reports = []
    for i, ch in enumerate(text.lower()):
        u = 0x28 if ch == "\n" else KEYS[ch]
        reports.append(bytes([0, 0, u, 0, 0, 0, 0, 0]))
        if hold_first and i == 0:  # a held key repeats in every report
            reports.append(bytes([0, 0, u, 0, 0, 0, 0, 0]))
        reports.append(bytes(8))
    return reports


def write(name, fmt, note, data=None, reports=None):
    with open(os.path.join(OUT, name + ".hex"), "w") as f:
        f.write("# %s\n#format %s\n" % (note, fmt))
        if reports is not None:
            for r in reports:
                f.write(r.hex() + "\n")
        else:
            for i in range(0, len(data), 32):
                f.write(data[i:i + 32].hex() + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    write("fddf_repeats", "fd-df", "one press: the code three times, then a 4-byte group with an oscillator byte",
          fddf(0xA1B2C5) * 3 + fddf(0x0F00D1, osc=0x2A))
    write("fddf_garbage", "fd-df", "line noise, an FD group without DF, a frame cut at the end",
          b"\x00\x13\x37" + fddf(0xA1B2C5) + b"\xfd\x01\x02\x03\x04\x05\x06" + fddf(0x123456) + b"\xfd\xa1")
    write("rfbridge_repeats", "rfbridge", "the protocols.md example frame three times (address A1B2C, key 5)",
          rf(0xA1B2C5) * 3)
    write("rfbridge_errors", "rfbridge", "a frame not ending in 55, garbage, a good frame",
          rf(0xA1B2C5, end=0x56) + b"\x01\x02" + rf(0x0ABCD2))
    write("keyboard_typed", "keyboard", "A1B2C5 and Enter, then 0ABCD2 with the first key held",
          reports=typed("a1b2c5\n") + typed("0abcd2\n", hold_first=True))
    write("keyboard_errors", "keyboard", "too few digits, a non-hex key, a short report, then a good code",
          reports=typed("a1b\n") + [bytes([0, 0, 0x1D, 0, 0, 0, 0, 0]), bytes(8), b"\x00\x00\x04"]
          + typed("a1b2c5\n"))


if __name__ == "__main__":
    main()
