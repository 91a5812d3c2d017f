#!/usr/bin/python3
"""bench/uplink.py BUILD_DIR: sustained events/s from a device through the gateway and
accessgw-uplink to a subscriber on a real Mosquitto, beside mosquitto_pub -> mosquitto_sub
alone with the same payload size, QoS 1, in the same run (the ratio).

The device is the skeleton plugin on a pty (one event per line). Prints the machine's
load and cores: the figures depend on them."""
import os
import pty
import subprocess
import sys
import tempfile
import time
import tty

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "lib"))
os.environ.setdefault("ACCESSGW_BUILD", BUILD)

from agwtest import Gateway  # noqa: E402
from mqtt_rig import Broker, Uplink, uplink_section  # noqa: E402

SMOKE = bool(os.environ.get("ACCESSGW_BENCH_SMOKE"))  # seconds; its figures mean nothing
N = 500 if SMOKE else 20000


def mqtt_sub(port, topic, count):
    return subprocess.Popen(["mosquitto_sub", "-p", str(port), "-q", "1", "-t", topic,
                             "-C", str(count), "-W", "300"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def through_gateway(tmp, broker):
    master, slave = pty.openpty()
    tty.setraw(master)
    device = ("[device bench-1]\nplugin = skeleton\ntransport = serial\npath = %s\n"
              "baud = 115200\n" % os.ttyname(slave))
    gw = Gateway(tmp, device + uplink_section(broker.port, "forward = skeleton/\n"
                                                          "max_inflight = 1000\n"),
                 log_level="warning", gateway_id="bench",
                 gateway_extra="plugin_events_per_s = 0\n")  # a flood is what this measures
    gw.start()
    up = Uplink(gw.config, os.path.join(tmp, "uplink.log")).start()
    time.sleep(1.5)  # connected, caught up
    sub = mqtt_sub(broker.port, "accessgw/bench/skeleton/#", N)
    time.sleep(0.5)
    start = time.time()
    line = b"t=%019d;%040d\n"
    for i in range(N):
        os.write(master, line % (i, i))
    sub.wait()
    elapsed = time.time() - start
    cpu = {}
    for name, pid in (("accessgwd", gw.proc.pid), ("accessgw-uplink", up.proc.pid)):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu[name] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    up.stop()
    gw.stop()
    os.close(master)
    os.close(slave)
    return N / elapsed, cpu


def mosquitto_alone(broker, size):
    sub = mqtt_sub(broker.port, "bench/alone", N)
    time.sleep(0.5)
    payload = b"x" * (size - 1) + b"\n"
    start = time.time()
    pub = subprocess.Popen(["mosquitto_pub", "-p", str(broker.port), "-q", "1",
                            "-t", "bench/alone", "-l"], stdin=subprocess.PIPE)
    pub.stdin.write(payload * N)
    pub.stdin.close()
    sub.wait()
    elapsed = time.time() - start
    pub.wait()
    return N / elapsed


def main():
    if SMOKE:
        print("SMOKE RUN (ACCESSGW_BENCH_SMOKE): the figures below mean nothing")
    tmp = tempfile.mkdtemp(prefix="agw-bench-uplink-")
    broker = Broker(tmp).start()
    try:
        rate, cpu = through_gateway(tmp, broker)
        alone = mosquitto_alone(broker, 330)  # the size of a skeleton event's envelope
    finally:
        broker.stop()
    load = os.getloadavg()
    print("accessgw uplink bench: %d events, QoS 1, Mosquitto %s; load %.2f %.2f %.2f on %d cores"
          % (N, subprocess.run(["mosquitto", "-h"], capture_output=True, text=True)
             .stdout.split("\n")[0].split()[-1], *load, os.cpu_count()))
    print("%-46s %10.0f events/s" % ("pty -> gateway -> uplink -> broker -> sub", rate))
    print("%-46s %10.0f messages/s" % ("mosquitto_pub -> broker -> mosquitto_sub", alone))
    print("ratio: %.0f%%" % (100.0 * rate / alone))
    print("CPU: accessgwd %.2f s, accessgw-uplink %.2f s for %d events (%.1f us/event in the uplink)"
          % (cpu["accessgwd"], cpu["accessgw-uplink"], N, 1e6 * cpu["accessgw-uplink"] / N))


if __name__ == "__main__":
    main()
