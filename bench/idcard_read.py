#!/usr/bin/python3
"""Benchmark: a full ID-card read over an emulated 115200-baud serial link
(the emulator spends each byte's wire time, both ways) compared with the
wire time of the bytes exchanged: find, select and read, commands and
answers.  Target: within 1.1x.  Usage: bench/idcard_read.py [BUILD_DIR]"""
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "emulators"))
if len(sys.argv) > 1:
    os.environ["ACCESSGW_BUILD"] = os.path.abspath(sys.argv[1])

from agwtest import Gateway, Subscriber  # noqa: E402
from sam_reader import SamReader  # noqa: E402
import samcard  # noqa: E402

BAUD = 115200
RUNS = 10


def wire_seconds():
    card = samcard.CARDS["resident"]
    exchanged = [samcard.frame(bytes([0x20, 0x01])), samcard.response(0x9F, b"\0" * 4),
                 samcard.frame(bytes([0x20, 0x02])), samcard.response(0x90, b"\0" * 8),
                 samcard.frame(bytes([0x30, 0x01])), samcard.read_response(card)]
    return sum(len(b) for b in exchanged) * 10.0 / BAUD, sum(len(b) for b in exchanged)


def main():
    tmp = tempfile.mkdtemp(prefix="agw-idbench-")
    reader = SamReader(os.path.join(tmp, "ttySAM"), baud=BAUD).start()
    gw = Gateway(tmp, "[device reader-1]\nplugin = idcard-sam\ntransport = serial\npath = %s\n"
                 "baud = %d\npoll_ms = 50\n" % (reader.link, BAUD), log_level="warning")
    sub = Subscriber(gw.events, ["idcard/"])
    gw.start()
    times = []
    try:
        time.sleep(1.0)
        for _ in range(RUNS):
            reader.find_ok_at = None
            reader.place("resident")
            sub.wait_topic("idcard/reader-1/read", 10)
            times.append(time.time() - reader.find_ok_at)
            reader.remove()
            sub.wait_topic("idcard/reader-1/removed", 10)
    finally:
        sub.close()
        gw.stop()
        reader.stop()
    wire, nbytes = wire_seconds()
    print("ID-card read over an emulated %d-baud link, %d runs" % (BAUD, RUNS))
    print("bytes exchanged (find+select+read, both ways): %d = %.1f ms of wire time" % (nbytes, wire * 1000))
    print("find command to published event: median %.1f ms, max %.1f ms" % (
        statistics.median(times) * 1000, max(times) * 1000))
    print("ratio to wire time: median %.3fx, max %.3fx (target <= 1.1x)" % (
        statistics.median(times) / wire, max(times) / wire))


if __name__ == "__main__":
    main()
