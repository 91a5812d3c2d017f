#!/usr/bin/python3
"""An emulated EV1527 call-button receiver on a pty: fd-df decoder modules
or RF bridges.  A press sends the code several times, as transmitters do.

As a library:  rx = RfReceiver(link, "rfbridge").start(); rx.press(0xA1B2C5)
As a program:  rf_receiver.py --link PATH --format fd-df [--every SECONDS --code A1B2C5]
"""
import argparse
import time

from ptydev import PtyDevice


def fddf_frame(code):
    return bytes([0xFD]) + code.to_bytes(3, "big") + b"\xdf"


def rfbridge_frame(code):
    return bytes([0xAA, 0xA4, 0x1F, 0x40, 0x01, 0x2C, 0x03, 0x84]) + code.to_bytes(3, "big") + b"\x55"


class RfReceiver(PtyDevice):
    def __init__(self, link, fmt="fd-df"):
        super().__init__(link)
        self.format = fmt  # self.received collects the gateway's RF-bridge acks

    def start(self):
        return self.start_collecting()

    def frame(self, code):
        return fddf_frame(code) if self.format == "fd-df" else rfbridge_frame(code)

    def press(self, code, repeats=3, gap_s=0.05, garbage=b""):
        for _ in range(repeats):
            self.write(garbage + self.frame(code))
            time.sleep(gap_s)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--link", required=True)
    ap.add_argument("--format", default="fd-df", choices=["fd-df", "rfbridge"])
    ap.add_argument("--every", type=float, default=0, help="press every N seconds")
    ap.add_argument("--code", default="A1B2C5")
    args = ap.parse_args()
    rx = RfReceiver(args.link, args.format).start()
    try:
        while True:
            if args.every:
                time.sleep(args.every)
                rx.press(int(args.code, 16))
            else:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        rx.stop()


if __name__ == "__main__":
    main()
