#!/usr/bin/python3
"""Time several commands in the same minutes: blocks of BLOCK runs of each,
in turn, until each has N back-to-back runs, then N more paced PACE_MS apart
(also in turn). On a VM whose speed swings by 2x from one quarter hour to the
next (this one's), rows timed one after the other compare periods as much as
engines; interleaved, the ratios hold.

    interleave.py N -- LABEL CMD... -- LABEL CMD... [-- ...]
    ("{i}" in a CMD: a unique number per run)
Prints one line per command: LABEL median_ms paced_median_ms failures
"""
import os, subprocess, sys, time

BLOCK = int(os.environ.get("BLOCK", "10"))
PACE = float(os.environ.get("PACE_MS", "100")) / 1000


def parse(argv):
    n = int(argv[1])
    groups, cur = [], None
    for a in argv[2:]:
        if a == "--":
            cur = []
            groups.append(cur)
        elif cur is not None:
            cur.append(a)
    return n, [(g[0], g[1:]) for g in groups if len(g) > 1]


counter = [0]


def once(cmd):
    counter[0] += 1
    argv = [a.replace("{i}", str(counter[0])) for a in cmd]
    t = time.perf_counter()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return time.perf_counter() - t, r.returncode


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


n, cmds = parse(sys.argv)
back = {label: [] for label, _ in cmds}
paced = {label: [] for label, _ in cmds}
fails = {label: 0 for label, _ in cmds}
for label, cmd in cmds:  # one warm-up run each, not counted
    once(cmd)
while any(len(back[label]) < n for label, _ in cmds):
    for label, cmd in cmds:
        for _ in range(min(BLOCK, n - len(back[label]))):
            dt, rc = once(cmd)
            back[label].append(dt)
            fails[label] += rc != 0
for _ in range(n):
    for label, cmd in cmds:
        time.sleep(PACE)
        dt, rc = once(cmd)
        paced[label].append(dt)
        fails[label] += rc != 0
for label, _ in cmds:
    print(label, "%.2f" % (median(back[label]) * 1000), "%.2f" % (median(paced[label]) * 1000),
          fails[label])
