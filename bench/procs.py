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


def cpu_by_thread(pid):
    """CPU time of each thread of pid, in ns, by thread name (the device workers,
    "dev:*", together), from the scheduler's own account (/proc/PID/task/TID/schedstat),
    to the nanosecond: utime and stime in /proc/PID/stat are sampled at the clock tick,
    and work done in bursts shorter than a tick is counted by chance."""
    by_name = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                ns = int(f.read().split()[0])
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                name = f.read().strip()
        except OSError:  # a thread that ended meanwhile
            continue
        name = "dev:*" if name.startswith("dev:") else name
        by_name[name] = by_name.get(name, 0) + ns
    return by_name


def cpu_ns(pid):
    """CPU time of every thread of pid, in ns (cpu_by_thread)."""
    return sum(cpu_by_thread(pid).values())
