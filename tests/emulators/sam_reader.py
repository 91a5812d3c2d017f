#!/usr/bin/python3
"""An emulated SAM ID-card reader on a pty: it answers the real GA/T 467
frames for the fake cards in samcard.py, and misbehaves on demand.

As a library (tests):  r = SamReader(link_path); r.start(); r.place("resident")
As a program (demo):   sam_reader.py --link PATH [--cycle SECONDS]
"""
import argparse
import os
import random
import select
import threading
import time

import samcard
from ptydev import PtyDevice

MODES = ("normal", "garbage", "bytewise", "silent")


class SamReader(PtyDevice):
    def __init__(self, link, baud=0):
        super().__init__(link)
        self.baud = baud        # > 0: bytes take their wire time (10 bits each), as on a real link
        self.find_ok_at = None  # when the last find that found a card arrived (for the benchmark)
        self.wire_bytes = 0     # bytes on the link both ways (the benchmark's link load)
        self.card = None
        self.mode = "normal"
        self.next_status = {}   # cmd -> sw3 to answer once (e.g. {0x30: 0x41})
        self.corrupt_next = 0   # number of responses to send with a bad checksum
        self.unplug_on_read = False
        self.commands = []      # (cmd, para) seen, for assertions
        self.lock = threading.Lock()

    def start(self):
        self.open_pty()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopped.set()
        if self.thread:
            self.thread.join(2)
        self.close_pty()

    def replug(self):
        """A new pty behind the same link: what a USB adapter re-plugged looks like."""
        self.stop()
        self.stopped.clear()
        self.unplug_on_read = False
        self.start()

    # -- the card -------------------------------------------------------------
    def place(self, key_or_card):
        with self.lock:
            self.card = samcard.CARDS[key_or_card] if isinstance(key_or_card, str) else key_or_card

    def remove(self):
        with self.lock:
            self.card = None

    # -- protocol -------------------------------------------------------------
    def _answer(self, cmd, para):
        with self.lock:
            card = self.card
            forced = self.next_status.pop(cmd, None)
        if forced is not None:
            return samcard.response(forced)
        if cmd in (0x10, 0x11):
            return samcard.response(0x90)
        if cmd == 0x12:
            return samcard.response(0x90, samcard.SAM_ID)
        if cmd == 0x20 and para == 0x01:
            return samcard.response(0x9F, b"\0" * 4) if card else samcard.response(0x80)
        if cmd == 0x20 and para == 0x02:
            return samcard.response(0x90, b"\0" * 8) if card else samcard.response(0x81)
        if cmd == 0x30 and para in (0x01, 0x10):
            if not card:
                return samcard.response(0x41)
            return samcard.read_response(card, fingerprint=(para == 0x10))
        if cmd == 0x30 and para == 0x03:
            return samcard.response(0x91)
        return samcard.response(0x21)

    def _send(self, data):
        self.wire_bytes += len(data)
        if self.corrupt_next:
            self.corrupt_next -= 1
            data = data[:-1] + bytes([data[-1] ^ 0x5A])
        if self.mode == "garbage":
            data = bytes(random.randrange(256) for _ in range(random.randrange(1, 9))) + data
        if self.unplug_on_read and len(data) > 100:
            os.write(self.master, data[:len(data) // 2])
            time.sleep(0.05)
            self.stopped.set()  # mid-frame: the reader vanishes
            self.close_pty(unlink=True)
            return
        if self.baud:  # paced against a fixed schedule, so sleep overshoots do not add up
            start = time.monotonic()
            for i in range(0, len(data), 16):
                due = start + (i + len(data[i:i + 16])) * 10.0 / self.baud
                if due > time.monotonic():  # bytes arrive when their last bit has
                    time.sleep(due - time.monotonic())
                os.write(self.master, data[i:i + 16])
            return
        if self.mode == "bytewise":
            for i in range(len(data)):
                os.write(self.master, data[i:i + 1])
                if i % 64 == 0:
                    time.sleep(0.0005)
            return
        os.write(self.master, data)

    def _run(self):
        buf = b""
        while not self.stopped.is_set():
            try:
                r, _, _ = select.select([self.master], [], [], 0.1)
            except (OSError, ValueError):
                return
            if not r:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                time.sleep(0.05)
                continue
            buf += chunk
            while True:
                i = buf.find(samcard.PREAMBLE)
                if i < 0:
                    buf = buf[-4:]
                    break
                buf = buf[i:]
                if len(buf) < 7:
                    break
                n = (buf[5] << 8) | buf[6]
                if len(buf) < 7 + n:
                    break
                frame, buf = buf[:7 + n], buf[7 + n:]
                chk = 0
                for b in frame[5:]:
                    chk ^= b
                if chk != 0 or n < 3:
                    self._send(samcard.response(0x10))
                    continue
                cmd, para = frame[7], frame[8]
                self.commands.append((cmd, para))
                self.wire_bytes += len(frame)
                if (cmd, para) == (0x20, 0x01) and self.card is not None and self.find_ok_at is None:
                    self.find_ok_at = time.time()  # the find command started on the wire now
                if self.baud:  # the command's own time on the wire
                    time.sleep(len(frame) * 10.0 / self.baud)
                if self.mode == "silent":
                    continue
                self._send(self._answer(cmd, para))
                if self.master is None:
                    return


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--link", required=True, help="symlink to create for the pty")
    ap.add_argument("--cycle", type=float, default=0,
                    help="place each test card for this many seconds, then remove it")
    args = ap.parse_args()
    reader = SamReader(args.link).start()
    cards = ["resident", "hkmotw", "foreign", "foreign2023"]
    try:
        i = 0
        while True:
            if args.cycle:
                time.sleep(args.cycle / 2)
                reader.place(cards[i % len(cards)])
                time.sleep(args.cycle)
                reader.remove()
                i += 1
            else:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        reader.stop()


if __name__ == "__main__":
    main()
