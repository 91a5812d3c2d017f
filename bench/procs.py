"""What the benchmarks read of the gateway's processes in /proc."""
import os


def family(pid):
    """accessgwd and its plugin host processes (isolation = process)."""
    pids = [pid]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        pids.append(int(d))
            except OSError:
                pass
    return pids
