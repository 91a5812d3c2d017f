#!/usr/bin/python3
"""Benchmark: a HID device's worker at idle and under verbs.  A magnifier keypad
(a umockdev hidraw node, its profile's output reports) on a running gateway:

- idle wake-ups: context switches of the device's worker thread over IDLE_S
  seconds with nothing happening (/proc/<pid>/task/<tid>/status); target 0/s;
- a verb answered: magnifier.set_zoom (an output report written to the device)
  round trip at a DEALER client, RUNS times; target < 5 ms.

Usage: bench/hid_latency.py [BUILD_DIR]   (prints the machine's load and cores)"""
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
if len(sys.argv) > 1:
    os.environ["ACCESSGW_BUILD"] = os.path.abspath(sys.argv[1])

import zmq  # noqa: E402

from agwtest import SOURCE, Gateway, HidTestbed  # noqa: E402
from procs import family  # noqa: E402  (bench/, beside this file: sys.path[0])

SMOKE = bool(os.environ.get("ACCESSGW_BENCH_SMOKE"))  # seconds; its figures mean nothing
IDLE_S = 1 if SMOKE else 10
RUNS = 10 if SMOKE else 200
HEARTBEAT_MS = 1000
PROFILES = os.path.join(SOURCE, "plugins", "magnifier-hid", "profiles")


def gateway_pid(config):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"accessgwd") and config.encode() in argv:
            return int(pid)
    raise SystemExit("accessgwd not found")


def worker_switches(pid, device):
    """The context switches of the device's worker thread, in whichever process of
    the gateway runs it (a plugin host with isolation = process, the default)."""
    for proc in family(pid):
        for tid in os.listdir("/proc/%d/task" % proc):
            with open("/proc/%d/task/%s/comm" % (proc, tid)) as f:
                if f.read().strip() != ("dev:" + device)[:15]:
                    continue
            counts = {}
            with open("/proc/%d/task/%s/status" % (proc, tid)) as f:
                for line in f:
                    if "ctxt_switches" in line:
                        key, value = line.split(":")
                        counts[key] = int(value)
            return counts["voluntary_ctxt_switches"] + counts["nonvoluntary_ctxt_switches"]
    raise SystemExit("worker thread of %s not found in accessgwd or its plugin hosts" % device)


def all_voluntary_switches(pid):
    """Waits that ended, in every thread of accessgwd and its plugin hosts."""
    total = 0
    for proc in family(pid):
        for tid in os.listdir("/proc/%d/task" % proc):
            with open("/proc/%d/task/%s/status" % (proc, tid)) as f:
                total += sum(int(l.split(":")[1]) for l in f
                             if l.startswith("voluntary_ctxt_switches"))
    return total


def main():
    load = os.getloadavg()
    if SMOKE:
        print("SMOKE RUN (ACCESSGW_BENCH_SMOKE): the figures below mean nothing")
    print("machine: %d cores, load %.2f %.2f %.2f" % (os.cpu_count(), *load))
    tmp = tempfile.mkdtemp(prefix="agw-hidbench-")
    gw = Gateway(tmp, "[device kbd-1]\nplugin = magnifier-hid\ntransport = hidraw\n"
                 "path = /dev/hidraw0\n", log_level="warning")
    text = open(gw.config).read().replace("heartbeat_ms = 500", "heartbeat_ms = %d" % HEARTBEAT_MS)
    with open(gw.config, "w") as f:  # the default, as a hall runs it
        f.write(text)
    tb = HidTestbed(tmp, gw, ["keypad 1209 a11e"], ACCESSGW_PROFILE_PATH=PROFILES)
    try:
        deadline = time.time() + 10
        while gw.send("kbd-1", "magnifier.state").get("ok") is not True:
            if time.time() > deadline:
                raise SystemExit("the keypad never came up")
            time.sleep(0.1)
        pid = gateway_pid(gw.config)
        time.sleep(1)
        before, all_before = worker_switches(pid, "kbd-1"), all_voluntary_switches(pid)
        time.sleep(IDLE_S)
        after, all_after = worker_switches(pid, "kbd-1"), all_voluntary_switches(pid)
        print("idle: %.1f wake-ups/s of accessgwd and its plugin hosts together, heartbeat_ms = "
              "%s (target <= 2/s)" % ((all_after - all_before) / IDLE_S, HEARTBEAT_MS))
        print("idle: %d wake-ups of the HID worker in %d s = %.1f/s (target 0/s)"
              % (after - before, IDLE_S, (after - before) / IDLE_S))
        client = zmq.Context.instance().socket(zmq.DEALER)  # one connection, as an app keeps
        client.setsockopt(zmq.LINGER, 0)
        client.connect(gw.control)
        times = []
        for i in range(RUNS):
            request = {"id": str(i), "verb": "magnifier.set_zoom", "device": "kbd-1",
                       "args": {"level": 1 + i % 4}}
            t0 = time.perf_counter()
            client.send(json.dumps(request).encode())
            reply = json.loads(client.recv())
            times.append((time.perf_counter() - t0) * 1000)
            assert reply["ok"], reply
        client.close()
        times.sort()
        print("verb magnifier.set_zoom (output report written): median %.2f ms, p99 %.2f ms, "
              "max %.2f ms over %d (target < 5 ms)" % (statistics.median(times),
                                                      times[int(len(times) * 0.99) - 1],
                                                      times[-1], RUNS))
    finally:
        tb.close()


if __name__ == "__main__":
    main()
