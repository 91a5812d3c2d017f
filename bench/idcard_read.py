#!/usr/bin/python3
"""Benchmark: a card placed on an emulated SAM reader (115200 baud; the
emulator spends each byte's wire time, both ways) to idcard/<dev>/read at a
subscriber, with the reader's default (adaptive) poll, against the wire time
of the read (find, select, read, commands and answers) plus one find round
trip.  Target (issue 14): median within 1.25x of that, and the idle link
(no card) at most 5% busy.  Also: the find command that found the card to
the event (the gateway's own share), within 1.1x of the read's wire time.
Usage: bench/idcard_read.py [BUILD_DIR]"""
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
SMOKE = bool(os.environ.get("ACCESSGW_BENCH_SMOKE"))  # seconds; its figures mean nothing
RUNS = 2 if SMOKE else 20


def find_round_trip_seconds():
    return (len(samcard.frame(bytes([0x20, 0x01]))) + len(samcard.response(0x80))) * 10.0 / BAUD


def wire_seconds():
    card = samcard.CARDS["resident"]
    exchanged = [samcard.frame(bytes([0x20, 0x01])), samcard.response(0x9F, b"\0" * 4),
                 samcard.frame(bytes([0x20, 0x02])), samcard.response(0x90, b"\0" * 8),
                 samcard.frame(bytes([0x30, 0x01])), samcard.read_response(card)]
    return sum(len(b) for b in exchanged) * 10.0 / BAUD, sum(len(b) for b in exchanged)


def main():
    if SMOKE:
        print("SMOKE RUN (ACCESSGW_BENCH_SMOKE): the figures below mean nothing")
    tmp = tempfile.mkdtemp(prefix="agw-idbench-")
    reader = SamReader(os.path.join(tmp, "ttySAM"), baud=BAUD).start()
    gw = Gateway(tmp, "[device reader-1]\nplugin = idcard-sam\ntransport = serial\npath = %s\n"
                 "baud = %d\n" % (reader.link, BAUD), log_level="warning")
    sub = Subscriber(gw.events, ["idcard/"])
    gw.start()
    times, placed = [], []
    try:
        time.sleep(1.0)
        before, t0 = reader.wire_bytes, time.time()
        time.sleep(0.5 if SMOKE else 3.0)  # no card: only the polling
        idle_load = (reader.wire_bytes - before) * 10.0 / BAUD / (time.time() - t0)
        for i in range(RUNS):
            time.sleep(0.037 * (i % 7))  # placements fall anywhere in the poll cycle
            reader.find_ok_at = None
            t_place = time.time()
            reader.place("resident")
            sub.wait_topic("idcard/reader-1/read", 10)
            now = time.time()
            times.append(now - reader.find_ok_at)
            placed.append(now - t_place)
            reader.remove()
            sub.wait_topic("idcard/reader-1/removed", 10)
    finally:
        sub.close()
        gw.stop()
        reader.stop()
    wire, nbytes = wire_seconds()
    target = 1.25 * (wire + find_round_trip_seconds())
    print("ID-card read over an emulated %d-baud link, %d runs; load %.2f %.2f %.2f on %d cores"
          % ((BAUD, RUNS) + os.getloadavg() + (os.cpu_count(),)))
    print("card placed to event at the subscriber: median %.1f ms, max %.1f ms; target median "
          "<= %.1f ms (1.25 x (read %.1f ms + find round trip %.1f ms)): %s" % (
              statistics.median(placed) * 1000, max(placed) * 1000, target * 1000, wire * 1000,
              find_round_trip_seconds() * 1000,
              "met" if statistics.median(placed) <= target else "NOT met"))
    print("link busy while no card is present: %.1f%% (target <= 5%%): %s" % (
        idle_load * 100, "met" if idle_load <= 0.05 else "NOT met"))
    print("bytes exchanged (find+select+read, both ways): %d = %.1f ms of wire time" % (nbytes, wire * 1000))
    print("find command to published event: median %.1f ms, max %.1f ms" % (
        statistics.median(times) * 1000, max(times) * 1000))
    print("ratio to wire time: median %.3fx, max %.3fx (target <= 1.1x)" % (
        statistics.median(times) / wire, max(times) / wire))


if __name__ == "__main__":
    main()
