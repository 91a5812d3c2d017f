#!/usr/bin/python3
"""Writes the golden input streams for the evaluation-pad frames (rs485-5key)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "emulators"))
from pad_bus import frame  # noqa: E402  (the emulator's frames are the golden inputs)

OUT = os.path.join(HERE, "golden")
PROFILE = "../../../../plugins/evalpad/profiles/rs485-5key.ini"


def write(name, note, data):
    with open(os.path.join(OUT, name + ".hex"), "w") as f:
        f.write("# %s\n#profile %s\n#pads 1 2\n" % (note, PROFILE))
        for i in range(0, len(data), 32):
            f.write(data[i:i + 32].hex() + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    write("two_pads_every_key", "pads 1 and 2 on one bus, every key",
          b"".join(frame(a, k) for a in (1, 2) for k in range(1, 6)))
    write("errors", "a bad checksum, garbage, an unknown address, an unknown key, a bad end byte",
          frame(1, 1, corrupt=True) + b"\xff\x00" + frame(7, 2) + frame(2, 9)
          + frame(1, 3)[:-1] + b"\x04" + frame(2, 4))


if __name__ == "__main__":
    main()
