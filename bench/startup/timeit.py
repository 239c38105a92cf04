#!/usr/bin/python3
"""Time a command: N sequential runs back to back (median, p99 in ms), N more
paced PACE_MS apart (default 100: each run on an idle machine, as one command
typed by hand; back to back, a run also shares the CPUs with the teardown of
the last), then TOTAL runs spread over CONC concurrent clients (containers
started per second).

    timeit.py LABEL N CONC TOTAL -- CMD...   ("{i}" in CMD: a unique number per run)
Prints: LABEL median_ms p99_ms per_s failures paced_median_ms
(one line; '-' where not measured)
"""
import os, subprocess, sys, threading, time

label, n, conc, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cmd = sys.argv[sys.argv.index("--") + 1:]
fails = 0
counter = [0]
clock = threading.Lock()


def once():
    # "{i}" in the command becomes a unique number (runc needs distinct ids)
    with clock:
        counter[0] += 1
        i = counter[0]
    argv = [a.replace("{i}", str(i)) for a in cmd]
    t = time.perf_counter()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    dt = time.perf_counter() - t
    return dt, r.returncode, r.stderr


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


# one warm-up run, not counted; bail out early if the command cannot work at all
dt, rc, err = once()
if rc != 0:
    sys.stderr.write("%s: warm-up failed rc=%d: %s\n" % (label, rc, err.decode()[-300:]))
    print(label, "-", "-", "-", "fail")
    sys.exit(0)

lat = []
for _ in range(n):
    dt, rc, err = once()
    if rc != 0:
        fails += 1
        if fails == 1:
            sys.stderr.write("%s: rc=%d %s\n" % (label, rc, err.decode()[-300:]))
    lat.append(dt)

pace = float(os.environ.get("PACE_MS", "100")) / 1000
paced = []
for _ in range(n if pace > 0 else 0):
    time.sleep(pace)
    dt, rc, err = once()
    if rc != 0:
        fails += 1
    paced.append(dt)

per_s = "-"
if total > 0:
    lock = threading.Lock()
    left = [total]

    def worker():
        global fails
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            _, rc2, _ = once()
            if rc2 != 0:
                with lock:
                    fails += 1

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker) for _ in range(conc)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    per_s = "%.1f" % (total / (time.perf_counter() - t0))

print(label, "%.2f" % (pct(lat, 50) * 1000), "%.2f" % (pct(lat, 99) * 1000), per_s, fails,
      "%.2f" % (pct(paced, 50) * 1000) if paced else "-")
