#!/usr/bin/python3
"""bench/scale.py BUILD_DIR [TIMERS [PTYS]]: one gateway with many devices (default 800
timer devices and 200 serial devices on ptys, each emitting one event a second).

Reports the time until every device is up, RSS, threads, CPU while they all emit, and
the p50/p99/max latency from the event's `time` (stamped on the device's thread when its
bytes or its timer came) to a subscriber, with the machine's load and cores.
Targets (issue 14): all up < 5 s, RSS < 64 MiB, p99 < 5 ms."""
import json
import os
import pty
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tty
from datetime import datetime, timezone

# bench/scale.py [BUILD [TIMERS [PTYS]]] [--sync]: --sync aligns every timer device's counter
# to the wall clock (skeleton's align = yes), so they fire together: bursts of TIMERS events
ARGS = [a for a in sys.argv[1:] if a != "--sync"]
SYNC = "--sync" in sys.argv[1:]
BUILD = os.path.abspath(ARGS[0] if ARGS else "build")
SMOKE = bool(os.environ.get("ACCESSGW_BENCH_SMOKE"))  # seconds; its figures mean nothing
TIMERS = int(ARGS[1]) if len(ARGS) > 1 else 20 if SMOKE else 800
PTYS = int(ARGS[2]) if len(ARGS) > 2 else 5 if SMOKE else 200
MEASURE_S = 2 if SMOKE else 10
os.environ["ACCESSGW_BUILD"] = BUILD
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "lib"))


from agwtest import Gateway, Subscriber  # noqa: E402
from procs import cpu_by_thread, family  # noqa: E402  (bench/, beside this file: sys.path[0])


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def pss_kib(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return -1


def stamp_time(stamp):
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc).timestamp()


def event_time(ev):
    return stamp_time(ev["time"])


def main():
    if SMOKE:
        print("SMOKE RUN (ACCESSGW_BENCH_SMOKE): the figures below mean nothing")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    tmp = tempfile.mkdtemp(prefix="agw-scale-")
    masters, sections = [], []
    for i in range(TIMERS):
        sections.append("[device t%d]\nplugin = skeleton\ntransport = none\ninterval_ms = 1000\n%s"
                        % (i, "align = yes\n" if SYNC else ""))
    for i in range(PTYS):
        m, s = pty.openpty()
        tty.setraw(m)
        masters.append((m, s))
        sections.append("[device p%d]\nplugin = skeleton\ntransport = serial\npath = %s\n"
                        "baud = 115200\n" % (i, os.ttyname(s)))
    gw = Gateway(tmp, "".join(sections), log_level="warning")
    sub = Subscriber(gw.events, ["skeleton/", "device/"])
    t0 = time.time()
    gw.start()
    sub.catch_up(gw)  # devices may be up before this socket joined: PUB drops what came first
    up = set()
    deadline = t0 + 60
    while len(up) < TIMERS + PTYS and time.time() < deadline:
        got = sub.recv(1.0)
        if got and got[0].endswith("/state") and got[1]["data"]["state"] == "up":
            up.add(got[0])
    attach_s = time.time() - t0
    pid = gw.proc.pid

    stop = threading.Event()

    def feed_ptys():  # one line a second per pty device, spread over the second
        while not stop.is_set():
            start = time.time()
            for i, (m, _) in enumerate(masters):
                try:
                    os.write(m, b"line %d\n" % i)
                except OSError:
                    pass
                delay = start + (i + 1) / max(1, len(masters)) - time.time()
                if delay > 0:
                    stop.wait(delay)
    if masters:  # (with none, its loop would spin and hold the subscriber's GIL)
        threading.Thread(target=feed_ptys, daemon=True).start()
    time.sleep(2)
    drain_end = time.time() + 3  # what queued during the warm-up is not a latency
    while time.time() < drain_end:
        got = sub.recv(0.05)
        if got is None or (got[0].startswith("skeleton/") and time.time() - event_time(got[1]) < 0.01):
            break
    sub.seen.clear()
    # the measuring subscriber is bench/stamp_sub (C): it only notes each arrival and prints
    # them at the end; in Python, taking 1,000 messages alone costs ~7 ms, most of the p99
    stamper = subprocess.Popen([os.path.join(BUILD, "bench", "stamp_sub"), gw.events, "skeleton/",
                                str(MEASURE_S + 0.5)], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    pids = family(pid)
    threads0, w0 = {p: cpu_by_thread(p) for p in pids}, time.time()
    time.sleep(MEASURE_S)
    threads1, w1 = {p: cpu_by_thread(p) for p in pids}, time.time()
    spent = {}  # ns by process and thread name over the measurement
    for p in pids:
        for name, ns in threads1[p].items():
            key = ("accessgwd" if p == pid else "plugin host", name)
            spent[key] = spent.get(key, 0) + ns - threads0[p].get(name, 0)
    cpu = sum(spent.values()) / 1e9 / (w1 - w0)
    out, _ = stamper.communicate(timeout=30)
    arrived = [line.split("\t") for line in out.splitlines()]
    arrived = [(float(at), stamp) for at, stamp in arrived]
    lat = [at - stamp_time(stamp) for at, stamp in arrived]
    if os.environ.get("SCALE_DEBUG"):
        by_second = {}
        for (t, _), l in zip(arrived, lat):
            by_second.setdefault(int(t), []).append(l)
        for sec, ls in sorted(by_second.items()):
            ls.sort()
            print(sec % 100, len(ls), "p50 %.1f p99 %.1f max %.1f ms" % (1000 * ls[len(ls) // 2],
                  1000 * ls[int(len(ls) * 0.99)], 1000 * ls[-1]))
    stop.set()
    rss = sum(proc_status(p, "VmRSS") for p in pids)
    pss = sum(pss_kib(p) for p in pids)
    threads = sum(proc_status(p, "Threads") for p in pids)
    gw.stop()
    lat.sort()
    load = os.getloadavg()
    print("accessgw scale bench: %d timer + %d pty devices (skeleton), one event a second each%s; "
          "load %.2f %.2f %.2f on %d cores" % ((TIMERS, PTYS, ", timers firing together (--sync)"
                                                if SYNC else "") + load + (os.cpu_count(),)))
    print("all %d up after %.2f s (target < 5 s)%s" % (len(up), attach_s,
          "" if len(up) == TIMERS + PTYS else " -- NOT ALL UP"))
    print("%d processes: RSS %.1f MiB summed, PSS %.1f MiB (target < 64 MiB), %d threads, CPU "
          "%.1f%% of one core at %.0f events/s"
          % (len(pids), rss / 1024, pss / 1024, threads, 100 * cpu, len(lat) / (MEASURE_S + 0.5)))
    print("CPU by thread (ms a second): " + ", ".join(
        "%s %s %.2f" % (proc, name, ns / 1e6 / (w1 - w0))
        for (proc, name), ns in sorted(spent.items(), key=lambda kv: -kv[1]) if ns > 0))
    if lat:
        print("latency device thread -> subscriber: p50 %.2f ms, p99 %.2f ms (target < 5 ms), "
              "max %.2f ms over %d events" % (1000 * lat[len(lat) // 2],
                                              1000 * lat[int(len(lat) * 0.99)], 1000 * lat[-1],
                                              len(lat)))


if __name__ == "__main__":
    main()
