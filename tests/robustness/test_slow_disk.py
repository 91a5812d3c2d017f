"""A disk that takes seconds to flush holds up nothing that serves others: the
journal's and the audit's fdatasync run on a thread of their own (gateway/common/
syncer.c), so while each sync waits 5.5 s, accessgwd answers at once and events keep
coming; a sync that has not come back for 5 s is said in the log.  The slow disk is
tests/lib/slow_fdatasync.c, preloaded into accessgwd."""
import os
import time

from agwtest import BUILD, Gateway, Subscriber

SHIM = os.path.join(BUILD, "tests", "slow_fdatasync.so")


def test_a_slow_disk_holds_up_no_answer_and_no_event(tmp_path):
    gw = Gateway(tmp_path, "[device counter]\nplugin = skeleton\ntransport = none\n"
                 "interval_ms = 100\n", log_level="info")
    env = os.environ.copy()
    env["LD_PRELOAD"] = SHIM
    env["SLOW_FDATASYNC_MS"] = "5500"
    # under ASan its runtime must come first; the shim only wraps one call
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0").lstrip(":")
    gw.env = env
    sub = Subscriber(gw.events, ["skeleton/counter/"])
    gw.start()
    try:
        sub.catch_up(gw)
        slowest_ping, arrivals = 0.0, []
        end = time.time() + 7  # a sync under way for more than 5 s, and others queued behind it
        while time.time() < end:
            t0 = time.time()
            assert gw.request({"verb": "ping"}, timeout=5)["ok"]
            slowest_ping = max(slowest_ping, time.time() - t0)
            got = sub.recv(0.1)
            while got:
                arrivals.append(time.time())
                got = sub.recv(0)
        gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
        print("slowest ping %.3f s, longest gap between events %.3f s, %d events"
              % (slowest_ping, max(gaps), len(arrivals)))
        # a sync on the loop would hold a ping and the events for 5.5 s
        assert slowest_ping < 1.0
        assert len(arrivals) >= 40 and max(gaps) < 1.0
        assert "the disk has not finished a sync for" in gw.log_text()
    finally:
        sub.close()
        assert gw.stop(timeout=30) == 0, gw.log_text()[-2000:]
