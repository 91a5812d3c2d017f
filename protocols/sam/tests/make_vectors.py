#!/usr/bin/python3
"""Writes the golden input streams (golden/*.hex) from the fake cards in
tests/emulators/samcard.py.  The expected outputs (golden/*.json) come from
tests/golden.sh --regenerate, and are reviewed before they are committed."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "emulators"))
import samcard  # noqa: E402

OUT = os.path.join(HERE, "golden")


def write(name, stream, note, fingerprint=False):
    with open(os.path.join(OUT, name + ".hex"), "w") as f:
        f.write("# %s\n" % note)
        if fingerprint:
            f.write("#fingerprint\n")
        for i in range(0, len(stream), 32):
            f.write(stream[i:i + 32].hex() + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    r = samcard.response
    for key in ("resident", "hkmotw", "foreign", "foreign2023"):
        write("read_" + key, samcard.read_response(samcard.CARDS[key]),
              "a successful 30 01 read of the %s test card" % key)
    write("read_fingerprint", samcard.read_response(samcard.CARDS["resident2"], fingerprint=True),
          "a 30 10 read with a 1024-byte fingerprint", fingerprint=True)
    # the sample responses of protocols.md, verbatim
    samples = ["aaaaaa9669000400009094", "aaaaaa9669000800009f0000000097",
               "aaaaaa9669000400008084", "aaaaaa9669000c00009000000000000000009c",
               "aaaaaa9669000400008185", "aaaaaa9669000400004145"]
    write("status_samples", b"".join(bytes.fromhex(s) for s in samples),
          "SAM OK, find OK, find failed, select OK, select failed, read failed")
    ok = r(0x90)
    write("garbage_between_frames", b"\x00\xff\x13" + ok + b"AAAA\xaa\xaa" + r(0x9F, b"\0" * 4)
          + b"\xaa\xaa\xaa\x69\x96" + r(0x80), "garbage, a half preamble, the other preamble")
    bad = bytearray(r(0x90))
    bad[-1] ^= 0x5A
    write("bad_checksum", bytes(bad) + r(0x9F, b"\0" * 4), "a corrupted checksum, then a good frame")
    write("bad_length", bytes.fromhex("aaaaaa96690001") + bytes.fromhex("aaaaaa9669ffff00")
          + r(0x90), "LEN 1 and LEN 0xFFFF, then a good frame")
    short = bytearray(samcard.read_response(samcard.CARDS["resident"]))
    # a read whose length fields claim more than the frame holds
    payload = bytes([0, 0, 0x90]) + (2000).to_bytes(2, "big") + (1024).to_bytes(2, "big") + b"\x20\x00" * 10
    write("read_lengths_lie", samcard.frame(payload), "text length 2000 in a 27-byte frame")
    write("truncated_frame", bytes(short[:100]), "a read cut off after 100 bytes (reader unplugged)")
    statuses = [0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33, 0x37, 0x3F, 0x40, 0x41, 0x47,
                0x60, 0x66, 0x91, 0x55]
    write("status_codes", b"".join(r(s) for s in statuses), "every documented SW3, and one unknown")


if __name__ == "__main__":
    main()
