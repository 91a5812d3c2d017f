#!/usr/bin/python3
"""An emulated RS-485 bus of five-key evaluation pads on a pty, speaking the
rs485-5key profile's frames (02 ADDR KEY 00 XOR 03).  It records the
prompts the gateway sends (A0 prompt, A1 thank you, A2 cancel).

As a library:  bus = PadBus(link).start(); bus.press(1, 0x01)  # pad 1: 非常满意
As a program:  pad_bus.py --link PATH [--every SECONDS]        # pads 1 and 2 rate in turn
"""
import argparse
import time

from ptydev import PtyDevice

PROMPTS = {0xA0: "prompt", 0xA1: "thanks", 0xA2: "cancel"}


def frame(address, key, corrupt=False):
    body = bytes([address, key, 0])
    x = 0
    for b in body:
        x ^= b
    return b"\x02" + body + bytes([x ^ (0x5A if corrupt else 0)]) + b"\x03"


class PadBus(PtyDevice):
    def start(self):
        return self.start_collecting()

    def press(self, address, key, corrupt=False):
        self.write(frame(address, key, corrupt))

    def prompts(self):
        """[(address, "prompt" | "thanks" | "cancel")] the gateway sent, checksums verified."""
        out, data = [], self.received
        for i in range(len(data) - 5):
            f = data[i:i + 6]
            if f[0] == 0x02 and f[5] == 0x03 and f[1] ^ f[2] ^ f[3] == f[4] and f[2] in PROMPTS:
                out.append((f[1], PROMPTS[f[2]]))
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--link", required=True)
    ap.add_argument("--every", type=float, default=0, help="a pad is pressed every N seconds")
    args = ap.parse_args()
    bus = PadBus(args.link).start()
    keys = [0x01, 0x02, 0x04, 0x01, 0x03]
    try:
        i = 0
        while True:
            time.sleep(args.every or 3600)
            if args.every:
                bus.press(1 + i % 2, keys[i % len(keys)])
                i += 1
    except KeyboardInterrupt:
        pass
    finally:
        bus.stop()


if __name__ == "__main__":
    main()
