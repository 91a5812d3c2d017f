"""A social security card (社会保障卡) for tests and the demo: the card model
answers APDUs as docs/reference/sscard.md says a real card does (T=0: 61xx
after a SELECT of the application, 6Cxx for a wrong Le, 6A83 for a record it
lacks, 6982 for the holder file of a 3.0 card without a PSAM), and VirtualCard
puts it in a vsmartcard vpcd slot of a real pcscd, speaking vpcd's socket
protocol (vsmartcard virtualsmartcard/src/vpcd/vpcd.c: every message is a
2-byte big-endian length and its bytes; a 1-byte message is a control:
0 power off, 1 power on, 2 reset, 4 "send the ATR"; anything else an APDU).
Fake people only, never real personal data."""
import socket
import struct
import threading
import time

SSSE = bytes.fromhex("7378312E73682E") + "社会保障".encode("gbk")
# T=0, direct convention, TB1 TC1 present, 13 historical bytes (S2 table 16: chip and card
# makers, the first 4 digits of the region, the serial number) — all made up
ATR = bytes.fromhex("3B6D0000") + bytes.fromhex("8100112233440011040012345678")[:13]


def bcd(digits, size):
    digits = digits + "F" * (size * 2 - len(digits))
    return bytes.fromhex(digits)


def an(text, size, encoding="ascii"):
    raw = text.encode(encoding)
    assert len(raw) <= size, (text, size)
    return raw + b"\x00" * (size - len(raw))


HOLDERS = {
    # GB 11643's own sample number; "张三" as in the ID card's tests
    "zhang": {"ssn": "11010519491231002X", "name": "张三", "gender": "2", "nation": "01",
              "birth_place": "110108", "birth_date": "19491231"},
    "long_name": {"ssn": "450102198507040021", "name": "买买提·阿卜杜拉·艾合买提江·库尔班尼亚孜",
                  "gender": "1", "nation": "05", "birth_place": "650102",
                  "birth_date": "19850704"},
}


def records(version="2.00", holder="zhang", card_number="K12345670", valid_until="20350601"):
    """EF05 and EF06 as {fid: {tag: value}} of a card of this version."""
    h = HOLDERS[holder]
    name = h["name"].encode("gbk")
    ef05 = {
        0x01: bcd("110100", 3) + bytes.fromhex("D156000005") + bytes.fromhex("00012345")
        + bytes.fromhex("1A2B3C4D"),
        0x02: b"4",
        0x03: version.encode(),
        0x04: bytes.fromhex("9156000002") + bcd("110100", 3) + bcd("110100", 3) + b"\x01",
        0x05: bcd("20250601", 4),
        0x06: bcd(valid_until, 4) if valid_until else b"\xff" * 4,
        0x07: card_number.encode(),
    }
    ef06 = {
        0x08: an(h["ssn"], 18),
        0x09: name[:30] + b"\x00" * (30 - len(name[:30])),
        0x0A: h["gender"].encode(),
        0x0B: bcd(h["nation"], 1),
        0x0C: bcd(h["birth_place"], 3),
        0x0D: bcd(h["birth_date"], 4),
    }
    if version >= "2" or len(name) > 30:
        ef06[0x4E] = name[30:] + b"\x00" * (20 - len(name[30:]))
    return {0xEF05: ef05, 0xEF06: ef06}


class Card:
    """The card's side of the exchange.  kind: 'sscard' (2.0), 'sscard3' (a 3.0 card: EF06
    answers 6982 without an external authentication), 'other' (a bank card: no SSSE)."""

    def __init__(self, kind="sscard", holder="zhang", **kw):
        self.kind = kind
        self.files = records("3.00" if kind == "sscard3" else "2.00", holder, **kw) \
            if kind != "other" else {}
        self.selected_app = False
        self.ef = None
        self.pending = b""
        self.log = []  # every APDU received, for tests that check what was (never) sent

    def answer(self, apdu):
        self.log.append(bytes(apdu))
        if len(apdu) < 4:
            return b"\x67\x00"
        cla, ins, p1, p2 = apdu[:4]
        if cla != 0x00:
            return b"\x6E\x00"
        if ins == 0xA4:
            return self.select(apdu, p1)
        if ins == 0xC0:
            return self.get_response(apdu)
        if ins == 0xB2:
            return self.read_record(apdu, p1, p2)
        return b"\x6D\x00"  # VERIFY, EXTERNAL AUTHENTICATE, writes: not for this card

    def select(self, apdu, p1):
        lc = apdu[4] if len(apdu) > 4 else 0
        data = bytes(apdu[5:5 + lc])
        self.pending = b""
        if p1 == 0x04:
            if data != SSSE or self.kind == "other":
                return b"\x6A\x82"
            self.selected_app, self.ef = True, None
            inner = b"\x88\x01\x1E\x9F\x0C\x03\x86\x01\x03"
            body = b"\x84" + bytes([len(SSSE)]) + SSSE + b"\xA5" + bytes([len(inner)]) + inner
            self.pending = b"\x6F" + bytes([len(body)]) + body
            return bytes([0x61, len(self.pending)])  # T=0: GET RESPONSE fetches the FCI
        if p1 in (0x00, 0x02) and self.selected_app and len(data) == 2:
            fid = data[0] << 8 | data[1]
            if fid in self.files:
                self.ef = fid
                return b"\x90\x00"
        return b"\x6A\x82"

    def get_response(self, apdu):
        le = apdu[4] if len(apdu) > 4 else 0
        if not self.pending:
            return b"\x6F\x00"
        if le != len(self.pending):
            return bytes([0x6C, len(self.pending)])
        out, self.pending = self.pending, b""
        return out + b"\x90\x00"

    def read_record(self, apdu, p1, p2):
        le = apdu[4] if len(apdu) > 4 else 0
        sfi, how = p2 >> 3, p2 & 7
        fid = {5: 0xEF05, 6: 0xEF06}.get(sfi) if sfi else self.ef
        if fid is None:
            return b"\x69\x86"
        if fid == 0xEF06 and self.kind == "sscard3":
            return b"\x69\x82"
        recs = self.files[fid]
        if how == 0:
            tag = p1
        elif how == 4:
            tags = list(recs)
            if not 1 <= p1 <= len(tags):
                return b"\x6A\x83"
            tag = tags[p1 - 1]
        else:
            return b"\x6A\x86"
        if tag not in recs:
            return b"\x6A\x83"
        rec = bytes([tag, len(recs[tag])]) + recs[tag]
        if le != len(rec):  # S4 §6.10.4: Le 00 (or a wrong Le) answers the exact length
            return bytes([0x6C, len(rec)])
        return rec + b"\x90\x00"


class VirtualCard:
    """A card in a vpcd slot: insert() connects to the slot's port, remove() pulls it.
    pull_after: the card leaves after this many APDUs (mid-read)."""

    def __init__(self, port, card, host="127.0.0.1", pull_after=None):
        self.port, self.card, self.host = port, card, host
        self.pull_after = pull_after
        self.sock = None
        self.thread = None
        self.apdus = 0

    def insert(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection((self.host, self.port), timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.sock.settimeout(None)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return self

    def remove(self):
        sock, self.sock = self.sock, None
        if sock:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self.thread:
            self.thread.join(5)

    def _recv(self, n):
        data = b""
        while len(data) < n:
            if self.sock:  # vpcd writes the length and the bytes apart: ack at once, or
                # Nagle on its side and a delayed ack on ours cost 40 ms an exchange
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            chunk = self.sock.recv(n - len(data)) if self.sock else b""
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _send(self, data):
        self.sock.sendall(struct.pack(">H", len(data)) + data)

    def _serve(self):
        try:
            while self.sock:
                (n,) = struct.unpack(">H", self._recv(2))
                msg = self._recv(n)
                if n == 1:
                    if msg[0] == 4:
                        self._send(ATR)
                    continue  # power on, off, reset: no answer
                self.apdus += 1
                if self.pull_after is not None and self.apdus > self.pull_after:
                    self.sock.close()
                    self.sock = None
                    return
                self._send(self.card.answer(msg))
        except (EOFError, OSError):
            pass


def main():
    """The demo's card: inserted into a vpcd slot and taken out again, in turn a 2.0 card
    and a 3.0 card whose holder file needs a PSAM."""
    import argparse
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--port", type=int, required=True, help="the vpcd slot's TCP port")
    ap.add_argument("--cycle", type=float, default=10, help="seconds in, then seconds out")
    args = ap.parse_args()
    kinds = ["sscard", "sscard3"]
    n = 0
    while True:
        time.sleep(args.cycle)
        vc = VirtualCard(args.port, Card(kinds[n % 2])).insert(timeout=60)
        time.sleep(args.cycle)
        vc.remove()
        n += 1


if __name__ == "__main__":
    main()
