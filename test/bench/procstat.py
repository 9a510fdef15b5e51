#!/usr/bin/python3
"""procstat.py - CPU time of process trees, for test/bench/run.sh.

Usage: procstat.py SERVER_PID [POOL_PID]
       procstat.py --tree PID...   (the pids of those trees, one per line)

Prints four numbers in microseconds, space separated:
  - the CPU time used so far by SERVER_PID (a postmaster) and all its
    descendants: utime + stime of every live process in the tree plus
    cutime + cstime (the time of children that have exited and been
    reaped).  The difference between two samples is the CPU the tree used
    in between, including backends that started and ended meanwhile;
  - the same for POOL_PID (pgpool's main process), or 0;
  - the busy CPU time of the whole machine (all CPUs, /proc/stat: user,
    nice, system, irq, softirq, steal);
  - the steal time of the whole machine (CPU taken by the hypervisor).

Before sampling it waits (up to 5 s) until no PostgreSQL client backend
connected over the Unix socket ("[local]" in its process title) is left
among the descendants: run.sh's pgbench and psql connect that way, while
pgpool's pooled backend connections use TCP and stay.  A backend that exits
while the tree is read would otherwise be counted twice or not at all.
"""

import os
import sys
import time

TICK_US = 1_000_000 / os.sysconf("SC_CLK_TCK")


def children(pid):
    """Direct children of pid (all threads)."""
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(c) for c in f.read().split())
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def tree(pid):
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(children(p))
    return seen


def ticks(pid):
    """utime + stime + cutime + cstime of one process, 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    # fields after "pid (comm)"; comm may contain spaces and parentheses
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17
    return sum(int(fields[i]) for i in (11, 12, 13, 14))


def has_local_backend(pids):
    for p in pids:
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                if b"[local]" in f.read():
                    return True
        except (FileNotFoundError, ProcessLookupError):
            pass
    return False


def machine():
    """(busy, steal) ticks of all CPUs since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice;
    # guest time is already included in user
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7], v[7]


def main():
    if sys.argv[1:2] == ["--tree"]:
        for r in sys.argv[2:]:
            print("\n".join(str(p) for p in tree(int(r))))
        return
    roots = [int(a) for a in sys.argv[1:]]
    if not 1 <= len(roots) <= 2:
        sys.exit("usage: procstat.py SERVER_PID [POOL_PID]")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not any(has_local_backend(tree(r)[1:]) for r in roots):
            break
        time.sleep(0.01)
    totals = [sum(ticks(p) for p in tree(r)) for r in roots] + [0] * (2 - len(roots))
    busy, steal = machine()
    print(" ".join(str(round(t * TICK_US)) for t in totals + [busy, steal]))


if __name__ == "__main__":
    main()
