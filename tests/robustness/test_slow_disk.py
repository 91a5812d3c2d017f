"""A disk that takes seconds to flush holds up nothing that serves others: the
journal's and the audit's fdatasync run on a thread of their own (gateway/common/
syncer.c), and so do the device states plugin hosts save (gateway/daemon/
state_writer.c); accessgwd answers at once and events keep coming while the disk
works.  The slow disk is tests/lib/slow_fdatasync.c, preloaded into accessgwd."""
import json
import os
import threading
import time

from agwtest import BUILD, Gateway, Subscriber

SHIM = os.path.join(BUILD, "tests", "slow_fdatasync.so")
COUNTER = "[device counter]\nplugin = skeleton\ntransport = none\ninterval_ms = 100\n"
SAVER = "[device saver]\nplugin = skeleton\ntransport = none\ninterval_ms = 0\n"


def slow_disk_gateway(tmp_path, devices, **slow):
    """A gateway whose fsync/fdatasync wait as slow says (SLOW_*_MS, SLOW_SYNC_WHEN)."""
    gw = Gateway(tmp_path, devices, gateway_extra="command_timeout_ms = 20000\n",
                 log_level="info")
    env = os.environ.copy()
    env.update({"LD_PRELOAD": SHIM}, **slow)
    # under ASan its runtime must come first; the shim only wraps two calls
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")
    gw.env = env
    return gw


def watch_while(gw, sub, busy):
    """Pings and takes the counter's events while busy() holds: the slowest ping (s)
    and the longest gap between two events (s), and how many came."""
    slowest_ping, arrivals = 0.0, []
    while busy():
        t0 = time.time()
        assert gw.request({"verb": "ping"}, timeout=5)["ok"]
        slowest_ping = max(slowest_ping, time.time() - t0)
        got = sub.recv(0.1)
        while got:
            arrivals.append(time.time())
            got = sub.recv(0)
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])] or [float("inf")]
    print("slowest ping %.3f s, longest gap between events %.3f s, %d events"
          % (slowest_ping, max(gaps), len(arrivals)))
    return slowest_ping, max(gaps), len(arrivals)


def test_a_slow_disk_holds_up_no_answer_and_no_event(tmp_path):
    """Every fdatasync takes 5.5 s: a sync on the loop would hold a ping and the
    events that long; a sync not back after 5 s is said in the log."""
    gw = slow_disk_gateway(tmp_path, COUNTER, SLOW_FDATASYNC_MS="5500")
    sub = Subscriber(gw.events, ["skeleton/counter/"])
    gw.start()
    try:
        sub.catch_up(gw)
        end = time.time() + 7  # a sync under way for more than 5 s, and others queued behind it
        slowest_ping, longest_gap, events = watch_while(gw, sub, lambda: time.time() < end)
        assert slowest_ping < 1.0
        assert events >= 40 and longest_gap < 1.0
        assert "the disk has not finished a sync for" in gw.log_text()
    finally:
        sub.close()
        assert gw.stop(timeout=30) == 0, gw.log_text()[-2000:]


def test_a_save_on_a_slow_disk_waits_for_the_disk_not_the_loop(tmp_path):
    """A plugin host's save (agw_save_state, here skeleton.reset) is written with fsync
    off the loop: with every fsync made to take 0.6 s (a save has two: the file's and its
    directory's), the verb's answer comes only once the state is on disk (the plugin
    waits for the disk), but meanwhile accessgwd answers pings at once and the other
    device's events keep coming; the state is on disk when the gateway has stopped."""
    slow = tmp_path / "disk-is-slow"
    gw = slow_disk_gateway(tmp_path, COUNTER + SAVER, SLOW_FSYNC_MS="600",
                           SLOW_SYNC_WHEN=str(slow))
    sub = Subscriber(gw.events, ["skeleton/counter/"])
    gw.start()
    try:
        sub.catch_up(gw)
        slow.write_text("")
        answer = {}
        asking = threading.Thread(target=lambda: answer.update(
            gw.send("saver", "skeleton.reset", {"value": 4242}, timeout=30)))
        t0 = time.time()
        asking.start()
        slowest_ping, longest_gap, events = watch_while(
            gw, sub, lambda: asking.is_alive() and time.time() - t0 < 30)
        asking.join()
        took = time.time() - t0
        print("save answered after %.2f s" % took)
        assert answer.get("ok") and answer["result"] == {"count": 4242}, answer
        assert took >= 1.2          # the answer waited for the disk
        assert slowest_ping < 0.3   # the loop did not (before: 1.2 s)
        assert events >= 10 and longest_gap < 1.0
        slow.unlink()
    finally:
        sub.close()
        assert gw.stop(timeout=30) == 0, gw.log_text()[-2000:]
    with open(os.path.join(gw.state_dir, "skeleton.saver.json")) as f:
        assert json.load(f) == {"count": 4242}  # on disk, written whole


def test_an_answer_that_comes_after_its_save_gave_up_is_not_taken_for_the_next(tmp_path):
    """A save waits at most 2 s for accessgwd's answer (SAVE_WAIT_MS); on a disk that
    takes 3 s, the answer to a save that gave up comes during the next save's wait and
    must not be taken for that one's: the next save waits for its own."""
    slow = tmp_path / "disk-is-slow"
    gw = slow_disk_gateway(tmp_path, SAVER, SLOW_FSYNC_MS="1500", SLOW_SYNC_WHEN=str(slow))
    gw.start()
    try:
        slow.write_text("")
        t0 = time.time()
        assert gw.send("saver", "skeleton.reset", {"value": 1}, timeout=30)["ok"]
        first = time.time() - t0
        assert 1.9 <= first < 2.9, first  # gave up at 2 s; its answer comes at about 3 s
        t1 = time.time()
        assert gw.send("saver", "skeleton.reset", {"value": 2}, timeout=30)["ok"]
        second = time.time() - t1
        print("first save gave up after %.2f s; the second waited %.2f s" % (first, second))
        assert second >= 1.9, second  # not ended by the first one's late answer (before: 1 s)
        assert "did not confirm its saved state within 2000 ms" in gw.log_text()
        slow.unlink()
    finally:
        assert gw.stop(timeout=30) == 0, gw.log_text()[-2000:]
    with open(os.path.join(gw.state_dir, "skeleton.saver.json")) as f:
        assert json.load(f) == {"count": 2}
