"""Shared timers (SDK 2.2, AGW_TIMERS_SHARED): a plugin that declares its on_timer
never waits has it called from one thread shared by its devices, never beside
another callback of the same device; a timer that falls due while its device is
busy runs on the device's own thread afterwards; a plugin without the flag keeps
every on_timer on the device's thread.  The test plugin (tests/plugins/timerplugin.c)
counts where each on_timer ran and any callback that began while another ran."""
import os
import shutil
import signal
import time

import pytest

from agwtest import BUILD, PLUGIN_DIR, Gateway, Subscriber

TIMER_PLUGINS = os.path.join(BUILD, "test-plugins-timers")


def start(tmp_path, devices, isolation):
    plugins = tmp_path / "plugins"
    plugins.mkdir(mode=0o755)
    for name in ("testshared.so", "testowntimers.so"):
        shutil.copy(os.path.join(TIMER_PLUGINS, name), plugins / name)
    shutil.copy(os.path.join(PLUGIN_DIR, "skeleton.so"), plugins / "skeleton.so")
    gw = Gateway(tmp_path, devices, gateway_extra="isolation = %s\n" % isolation,
                 plugin_dir=str(plugins), log_level="info")
    gw.start()
    return gw


def stats(gw, device):
    reply = gw.request({"verb": "timers.stats", "device": device})
    assert reply["ok"], reply
    return reply["result"]


def wait_until_up(gw, ids, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        devs = {d["id"]: d["state"] for d in gw.request({"verb": "devices"})["result"]["devices"]}
        if all(devs.get(i) == "up" for i in ids):
            return
        time.sleep(0.05)
    raise AssertionError("not up: %r" % devs)


@pytest.mark.parametrize("isolation", ["process", "none"])
def test_shared_timers_run_on_one_thread_never_beside_a_callback(tmp_path, isolation):
    ids = ["s%d" % i for i in range(20)]
    devices = "".join("[device %s]\nplugin = testshared\ntransport = none\ninterval_ms = 20\n" % i
                      for i in ids)
    devices += "[device own]\nplugin = testowntimers\ntransport = none\ninterval_ms = 20\n"
    gw = start(tmp_path, devices, isolation)
    try:
        wait_until_up(gw, ids + ["own"])
        time.sleep(1.0)
        seen = {i: stats(gw, i) for i in ids}
        for i, s in seen.items():
            assert s["ticks"] >= 20, (i, s)  # every 20 ms for a second: ~50
            assert s["overlaps"] == 0, (i, s)
            # on the shared thread, not the device's own (which waits in poll meanwhile)
            assert s["on_other_thread"] >= s["ticks"] - 3, (i, s)
            assert s["other_thread"] != s["worker"], (i, s)
        threads = {s["other_thread"] for s in seen.values()}
        assert len(threads) == 1, seen  # one thread for all of them
        own = stats(gw, "own")
        assert own["ticks"] >= 20 and own["on_other_thread"] == 0 and own["overlaps"] == 0, own
        assert own["on_own_thread"] == own["ticks"], own
    finally:
        assert gw.stop() == 0, gw.log_text()[-3000:]


@pytest.mark.parametrize("isolation", ["process", "none"])
def test_a_busy_device_runs_its_timer_after_and_the_others_keep_time(tmp_path, isolation):
    devices = "".join("[device s%d]\nplugin = testshared\ntransport = none\ninterval_ms = 20\n" % i
                      for i in range(3))
    gw = start(tmp_path, devices, isolation)
    try:
        wait_until_up(gw, ["s0", "s1", "s2"])
        before = {i: stats(gw, i)["ticks"] for i in ("s1", "s2")}
        slow_before = stats(gw, "s0")
        t0 = time.time()
        reply = gw.request({"verb": "timers.slow", "device": "s0", "args": {"ms": 600}}, timeout=5)
        took = time.time() - t0
        assert reply["ok"], reply
        assert took >= 0.6
        after = {i: stats(gw, i)["ticks"] for i in ("s1", "s2")}
        for i in ("s1", "s2"):  # their timers went on while s0 was busy for 0.6 s
            assert after[i] - before[i] >= 10, (i, before, after)
        time.sleep(0.2)
        s0 = stats(gw, "s0")
        assert s0["overlaps"] == 0, s0
        # what fell due during the command ran on s0's own thread, after it
        assert s0["on_own_thread"] > slow_before["on_own_thread"], (slow_before, s0)
        assert s0["ticks"] > slow_before["ticks"], s0
    finally:
        assert gw.stop() == 0, gw.log_text()[-3000:]


def test_devices_come_and_go_while_their_timers_fire(tmp_path):
    """Removing devices whose timers are in the shared thread's hands (SIGHUP with a
    config without them) frees them only after the batch: nothing crashes, under ASan
    nothing is used after it was freed, and the devices that stay keep ticking."""
    keep = "[device keep]\nplugin = testshared\ntransport = none\ninterval_ms = 1\n"
    many = "".join("[device m%d]\nplugin = testshared\ntransport = none\ninterval_ms = 1\n" % i
                   for i in range(40))
    gw = start(tmp_path, keep + many, "process")
    sub = Subscriber(gw.events, ["device/"])
    try:
        wait_until_up(gw, ["keep"] + ["m%d" % i for i in range(40)])
        for round_ in range(7):  # without them, with them, ... and without them at last
            gw.write_config(keep if round_ % 2 == 0 else keep + many,
                            gateway_extra="isolation = process\n", log_level="info")
            gw.proc.send_signal(signal.SIGHUP)
            time.sleep(0.3)
        deadline = time.time() + 10
        while time.time() < deadline:
            ids = {d["id"] for d in gw.request({"verb": "devices"})["result"]["devices"]}
            if ids == {"keep"}:
                break
            time.sleep(0.1)
        assert ids == {"keep"}, ids
        first = stats(gw, "keep")["ticks"]
        time.sleep(0.3)
        assert stats(gw, "keep")["ticks"] > first
        assert "crashed" not in gw.log_text()
    finally:
        sub.close()
        assert gw.stop() == 0, gw.log_text()[-3000:]
