"""berthd's warm pool of idle berth-shims (BERTH_SHIM_POOL, default 2)."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import (BERTH, container_dir_leftovers, load_image, needs_docker,
                      remove_containers, wait_for)


def berth_shims(mode, ppid=None, live=False):
    """pids of `berth-shim <mode>` processes (children of ppid if given;
    not zombies if live)."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                argv = f.read().split(b"\0")
            with open("/proc/%s/stat" % p) as f:
                st = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if len(argv) >= 2 and argv[0].endswith(b"berth-shim") and argv[1] == mode:
            if (ppid is None or int(st[1]) == ppid) and not (live and st[0] in ("Z", "X")):
                found.append(int(p))
    return found


def pooled_shims(ppid=None):
    """pids of idle `berth-shim pool` processes (children of ppid if given)."""
    return berth_shims(b"pool", ppid)


def out(r):
    return r.stdout.decode(errors="replace")


@pytest.fixture
def d(busybox_daemon):
    yield busybox_daemon
    remove_containers(busybox_daemon)


@pytest.fixture
def d1(daemon_factory, busybox_tar, monkeypatch):
    """A daemon with a pool of one shim (the default is two), busybox loaded:
    for the tests that follow one pool shim through its turns."""
    monkeypatch.setenv("BERTH_SHIM_POOL", "1")
    dm = daemon_factory()
    load_image(dm, busybox_tar)
    yield dm
    remove_containers(dm)


@needs_docker
def test_pool_used_and_refilled(d1):
    d = d1
    first = wait_for(lambda: pooled_shims(d.proc.pid))
    assert len(first) == 1
    r = d.docker("run", "-d", "busybox", "sleep", "30")
    assert r.returncode == 0, r.stderr
    cid = out(r).strip()
    info = json.loads(out(d.docker("inspect", cid)))[0]
    # The container's shim is the formerly idle one (its argv still says "pool").
    with open("/proc/%d/stat" % info["State"]["Pid"]) as f:
        shim = int(f.read().rsplit(")", 1)[1].split()[1])
    assert shim == first[0]
    refilled = wait_for(lambda: [p for p in pooled_shims(d.proc.pid) if p != first[0]])
    assert len(refilled) == 1
    # Pooled shims are not containers.
    ps = [line for line in out(d.docker("ps", "-aq", "--no-trunc")).split() if line]
    assert ps == [cid]


@needs_docker
def test_pooled_start_isolation(d):
    wait_for(lambda: pooled_shims(d.proc.pid))
    script = ("hostname; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; "
              "grep -E '^(CapEff|Seccomp):' /proc/self/status; "
              "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes "
              "2>/dev/null || cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max")
    r = d.docker("run", "--rm", "--network", "none", "--hostname", "pooled", "--pids-limit", "7",
                 "-m", "64m", "busybox", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    lines = out(r).split()
    assert lines[0] == "pooled"
    assert lines[1] == "lo" and "eth0" not in lines
    assert lines[2:6] == ["CapEff:", "00000000a80425fb", "Seccomp:", "2"]
    assert lines[6:] == ["7", str(64 << 20)]


def test_stop_leaves_no_pooled_shim(berthd):
    pool = wait_for(lambda: pooled_shims(berthd.proc.pid))
    assert pool
    assert berthd.stop() == 0
    assert wait_for(lambda: all(not os.path.exists("/proc/%d" % p) for p in pool), 5)


@needs_docker
def test_kill9_pooled_shim_dies_and_is_not_adopted(d):
    pool = wait_for(lambda: pooled_shims(d.proc.pid))
    assert pool
    d.kill9()
    assert wait_for(lambda: all(not os.path.exists("/proc/%d" % p) for p in pool), 5)
    d.start()
    assert out(d.docker("ps", "-aq")).split() == []
    assert wait_for(lambda: pooled_shims(d.proc.pid)), d.log()


def zygotes(ppid):
    """pids of live `berth-shim zygote` children of ppid."""
    return berth_shims(b"zygote", ppid, live=True)


def raw_cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read()


@needs_docker
def test_pool_shims_are_forked_by_the_zygote(d1):
    d = d1
    zs = wait_for(lambda: zygotes(d.proc.pid))
    assert len(zs) == 1, d.log()
    with open("/proc/%d/stat" % zs[0]) as f:
        assert int(f.read().rsplit(")", 1)[1].split()[16]) == 19  # nice: works ahead of need
    r = d.docker("run", "--rm", "--network", "none", "busybox", "true")
    assert r.returncode == 0, r.stderr
    # The refill: berthd's child (CLONE_PARENT), its argv the zygote's with
    # "zygote" retitled "pool" (a spawned one has no padding after "pool").
    # (the taken shim, argv "pool" too, may still be exiting: wait for it)
    pool = wait_for(lambda: len(pooled_shims(d.proc.pid)) == 1 and pooled_shims(d.proc.pid))
    assert pool and len(pool) == 1
    assert raw_cmdline(pool[0]).endswith(b"\0pool\0\0\0")
    r = d.docker("run", "--rm", "--network", "none", "busybox", "echo", "forked")
    assert r.returncode == 0 and out(r) == "forked\n", r.stderr


@needs_docker
def test_pool_refills_without_the_zygote(d):
    zs = wait_for(lambda: zygotes(d.proc.pid))
    assert zs
    os.kill(zs[0], 9)
    assert wait_for(lambda: dead(zs[0]) and not os.path.exists("/proc/%d" % zs[0]), 5), \
        "the killed zygote was not reaped"
    for i in range(3):
        r = d.docker("run", "--rm", "--network", "none", "busybox", "echo", str(i))
        assert r.returncode == 0 and out(r) == "%d\n" % i, r.stderr
    assert wait_for(lambda: pooled_shims(d.proc.pid)), d.log()
    assert "the zygote exited" in d.log()


def test_stop_and_kill9_leave_no_zygote(daemon_factory):
    dm = daemon_factory()
    zs = wait_for(lambda: zygotes(dm.proc.pid))
    assert zs
    assert dm.stop() == 0
    assert wait_for(lambda: not os.path.exists("/proc/%d" % zs[0]), 5)
    dm.start()
    zs = wait_for(lambda: zygotes(dm.proc.pid))
    assert zs
    dm.kill9()
    assert wait_for(lambda: dead(zs[0]), 5)


def test_pool_disabled(daemon_factory, monkeypatch):
    monkeypatch.setenv("BERTH_SHIM_POOL", "0")
    dm = daemon_factory()
    time.sleep(0.5)
    assert pooled_shims(dm.proc.pid) == []


CG = "/sys/fs/cgroup"
V1 = not os.path.exists(CG + "/cgroup.controllers")


def dead(pid):
    """Gone, or a zombie nobody reaped yet."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def pool_cgroups(pids):
    """v1 memory-controller pool cgroup dirs of the given pool shim pids that exist."""
    return [p for p in pids if os.path.isdir("%s/memory/berth/.pool-%d" % (CG, p))]


@needs_docker
@pytest.mark.skipif(not V1, reason="pool cgroups are a cgroup v1 feature")
def test_pooled_cgroup_becomes_the_containers(d):
    idle = wait_for(lambda: pool_cgroups(pooled_shims(d.proc.pid)))
    assert idle, "an idle pooled shim keeps its init in berth/.pool-<pid>"
    r = d.docker("run", "-d", "--network", "none", "-m", "32m", "busybox", "sleep", "30")
    assert r.returncode == 0, r.stderr
    cid = out(r).strip()
    pid = json.loads(out(d.docker("inspect", cid)))[0]["State"]["Pid"]
    with open("/proc/%d/cgroup" % pid) as f:
        groups = dict(line.strip().split(":", 2)[1:] for line in f)
    for ctrl in ("memory", "pids", "freezer", "cpuset"):
        assert groups[ctrl] == "/berth/" + cid, groups
    with open("%s/memory/berth/%s/memory.limit_in_bytes" % (CG, cid)) as f:
        assert int(f.read()) == 32 << 20
    # The taken shim's pool cgroup was renamed, not left behind.
    assert not os.path.exists("%s/memory/berth/.pool-%d" % (CG, idle[0]))
    assert d.docker("rm", "-f", cid).returncode == 0
    assert wait_for(lambda: not os.path.exists("%s/memory/berth/%s" % (CG, cid)))


@needs_docker
@pytest.mark.skipif(not V1, reason="pool cgroups are a cgroup v1 feature")
def test_pool_cgroups_removed_on_stop_and_after_kill9(d):
    pool = wait_for(lambda: pool_cgroups(pooled_shims(d.proc.pid)))
    assert pool
    d.kill9()  # the idle shims die with berthd and cannot clean up
    assert wait_for(lambda: all(dead(p) for p in pool), 5)
    d.start()  # sweeps the dead shims' pool cgroups
    assert wait_for(lambda: pool_cgroups(pool) == [], 5), pool_cgroups(pool)
    fresh = wait_for(lambda: pool_cgroups(pooled_shims(d.proc.pid)))
    assert fresh
    assert d.stop() == 0
    assert wait_for(lambda: pool_cgroups(fresh) == [], 5)


@needs_docker
def test_dev_nodes_pooled_and_fresh(d):
    wait_for(lambda: pooled_shims(d.proc.pid))
    want = ["crw-rw-rw- 1,3", "crw-rw-rw- 1,5", "crw-rw-rw- 1,7", "crw-rw-rw- 1,8",
            "crw-rw-rw- 1,9", "crw-rw-rw- 5,0"]
    script = ("for n in null zero full random urandom tty; do "
              "stat -c '%A %t,%T' /dev/$n; done; echo ok > /dev/null && echo written")
    for net in ("none", "bridge"):  # a pooled init, a fresh clone
        r = d.docker("run", "--rm", "--network", net, "-u", "1000", "busybox", "sh", "-c", script)
        assert r.returncode == 0, r.stderr
        assert out(r).split("\n")[:7] == want + ["written"], (net, out(r))


def nice_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


def shim_of(d, cid):
    pid = json.loads(out(d.docker("inspect", cid)))[0]["State"]["Pid"]
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


@needs_docker
def test_shim_goes_back_to_the_pool_when_there_is_room(d1):
    d = d1
    # A pool shim whose container exited idles in the pool again, instead of
    # exiting, when the pool has room; else it exits as before.
    first = wait_for(lambda: pooled_shims(d.proc.pid))
    assert len(first) == 1
    r = d.docker("run", "-d", "--network", "none", "busybox", "sleep", "30")
    assert r.returncode == 0, r.stderr
    cid = out(r).strip()
    shim = shim_of(d, cid)
    assert shim == first[0]
    refill = wait_for(lambda: [p for p in berth_shims(b"pool", d.proc.pid, live=True)
                               if p != shim])
    assert len(refill) == 1
    # Room: the idle one dies (after a death the pool waits 1 s to refill).
    os.kill(refill[0], signal.SIGKILL)
    assert wait_for(lambda: berth_shims(b"pool", d.proc.pid, live=True) == [shim])
    assert d.docker("stop", "-t", "0", cid).returncode == 0
    # The same process, idle again (nice 19), runs the next container.
    assert wait_for(lambda: nice_of(shim) == 19), nice_of(shim)
    assert berth_shims(b"pool", d.proc.pid, live=True) == [shim]
    r = d.docker("run", "-d", "--network", "none", "busybox", "sh", "-c",
                 "ls /proc/self/fd; sleep 30")
    assert r.returncode == 0, r.stderr
    cid2 = out(r).strip()
    assert shim_of(d, cid2) == shim
    # Nothing of the first container's reaches the second.
    assert wait_for(lambda: out(d.docker("logs", cid2)).split()) == ["0", "1", "2", "3"]
    assert json.loads(out(d.docker("inspect", cid)))[0]["State"]["ExitCode"] == 137
    # Refilled meanwhile, the pool is full: this time the shim exits.
    assert wait_for(lambda: [p for p in berth_shims(b"pool", d.proc.pid, live=True)
                             if p != shim])
    assert d.docker("stop", "-t", "0", cid2).returncode == 0
    assert wait_for(lambda: dead(shim)), "the shim stayed though the pool was full"


@needs_docker
def test_pool_idles_at_low_priority_container_runs_normal(d):
    idle = wait_for(lambda: pooled_shims(d.proc.pid))
    assert idle and all(nice_of(p) == 19 for p in idle), [(p, nice_of(p)) for p in idle]
    r = d.docker("run", "-d", "--network", "none", "busybox", "sleep", "30")
    assert r.returncode == 0, r.stderr
    pid = json.loads(out(d.docker("inspect", out(r).strip())))[0]["State"]["Pid"]
    with open("/proc/%d/stat" % pid) as f:
        shim = int(f.read().rsplit(")", 1)[1].split()[1])
    assert shim in idle  # the pooled one
    assert nice_of(pid) == 0 and nice_of(shim) == 0


@needs_docker
def test_removed_containers_are_reaped(d):
    containers = os.path.join(d.data_root, "containers")
    ids = []
    for _ in range(3):
        r = d.docker("run", "--rm", "--network", "none", "busybox", "sh", "-c",
                     "echo data > /big; cat /proc/self/cgroup >/dev/null")
        assert r.returncode == 0, r.stderr
    r = d.docker("run", "-d", "--network", "none", "busybox", "true")
    ids.append(out(r).strip())
    d.docker("wait", ids[0])
    assert d.docker("rm", ids[0]).returncode == 0
    # The dirs go in the background (the reaper helper): nothing is left.
    assert wait_for(lambda: container_dir_leftovers(d) == [], 10), os.listdir(containers)
    assert wait_for(lambda: [e for e in os.listdir(d.exec_root) if len(e) == 64] == [], 10)


# ---- rootfs prepared ahead by the pooled init (src/runtime/prep.c) ----

def pool_dirs(d):
    """The pools with prepared dirs: ".pool-<pid>" for ".pool-<pid>-upper"
    and "-work" (the shared mount point ".pool-rootfs" stays)."""
    cdir = os.path.join(d.data_root, "containers")
    return sorted({n.rsplit("-", 1)[0] for n in os.listdir(cdir)
                   if n.startswith(".pool-") and n != ".pool-rootfs"
                   and not n.startswith(".pool-recycled-")})


def root_upperdir(d, *run_args):
    """upperdir= of the container's root overlay, as the container sees it."""
    r = d.docker("run", "--rm", *run_args, "busybox", "sh", "-c",
                 "grep ' / / ' /proc/self/mountinfo | tr , '\\n' | grep upperdir=")
    assert r.returncode == 0, r.stderr
    return out(r).strip()


def ino(path):
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def upper_inodes(d):
    """Inodes of the pool's upper dirs, prepared or kept for the next one."""
    cdir = os.path.join(d.data_root, "containers")
    found = set()
    for n in os.listdir(cdir):
        for p in ([os.path.join(cdir, n)] if n.endswith("-upper") else
                  [os.path.join(cdir, n, "upper")] if n.startswith(".pool-recycled-") else []):
            try:
                found.add(os.stat(p).st_ino)
            except FileNotFoundError:
                pass
    return found


@needs_docker
def test_removed_rm_containers_upper_dir_is_recycled_when_untouched(d):
    # A --rm container that wrote nothing outside its bind mounts leaves its
    # upper and work dirs to the pool's next prepared rootfs (prep.c); one
    # that wrote a file, or changed /etc's mode, does not.
    def run_rm(script):
        r = d.docker("run", "-d", "--rm", "--network", "none", "--privileged", "busybox", "sh",
                     "-c", script + "; sleep 30")
        assert r.returncode == 0, r.stderr
        cid = out(r).strip()
        ino = os.stat(os.path.join(d.data_root, "containers", cid, "upper")).st_ino
        time.sleep(0.3)  # its script done
        assert d.docker("rm", "-f", cid).returncode == 0
        return ino
    d.docker("run", "--rm", "--network", "none", "busybox", "true")  # the pool's image
    clean = run_rm("cat /etc/hostname >/dev/null")
    assert wait_for(lambda: clean in upper_inodes(d)), "an untouched upper dir was not kept"
    run_rm("echo x > /file")
    run_rm("chmod 700 /etc")
    # An /etc remade by a privileged container: opaque, the same files.
    run_rm("umount /etc/hosts /etc/hostname /etc/resolv.conf && rm -rf /etc && mkdir -m 755 /etc"
           " && touch /etc/hostname /etc/hosts /etc/resolv.conf")
    for _ in range(5):  # the pool takes its dirs for its next preparations
        r = d.docker("run", "--rm", "--network", "none", "busybox", "sh", "-c",
                     "ls /file 2>&1; stat -c %a /etc; ls /etc/passwd")
        assert r.returncode == 0, r.stderr
        assert out(r).split("\n")[1:4] == ["755", "/etc/passwd", ""], out(r)
        assert "No such file" in out(r), out(r)


@needs_docker
def test_pooled_start_takes_the_prepared_rootfs(d1):
    d = d1
    wait_for(lambda: pooled_shims(d.proc.pid))
    # The first pooled start tells the pool which image to prepare.
    assert d.docker("run", "--rm", "--network", "none", "busybox", "true").returncode == 0
    prepared = wait_for(lambda: pool_dirs(d))
    assert len(prepared) == 1, pool_dirs(d)
    up = root_upperdir(d, "--network", "none")
    assert "/" + prepared[0] + "-upper" in up
    # What the container writes is in its own dir (the pool's upper moved
    # there: gone from the pool's name while it runs).
    wait_for(lambda: pool_dirs(d))
    r = d.docker("run", "-d", "--rm", "--network", "none", "busybox", "sh", "-c",
                 "echo kept > /written; sleep 30")
    assert r.returncode == 0, r.stderr
    cid = out(r).strip()
    r = d.docker("exec", cid, "sh", "-c", "grep ' / / ' /proc/self/mountinfo | tr , '\\n'")
    taken = [o.split("=", 1)[1] for o in out(r).split() if o.startswith("upperdir=")]
    assert taken and "/.pool-" in taken[0] and not os.path.exists(taken[0]), out(r)
    info = json.loads(out(d.docker("inspect", cid)))[0]
    upper = info["GraphDriver"]["Data"]["UpperDir"]
    assert wait_for(lambda: os.path.exists(os.path.join(upper, "written")))
    with open(os.path.join(upper, "written")) as f:
        assert f.read() == "kept\n"
    assert d.docker("rm", "-f", cid).returncode == 0
    assert not os.path.exists(os.path.dirname(upper))
    # --read-only fits too, and stays read-only, its /etc files too.
    wait_for(lambda: pool_dirs(d))
    r = d.docker("run", "--rm", "--read-only", "--network", "none", "busybox", "touch", "/x")
    assert r.returncode != 0 and "Read-only file system" in r.stderr.decode()
    wait_for(lambda: pool_dirs(d))
    r = d.docker("run", "--rm", "--read-only", "--network", "none", "busybox", "sh", "-c",
                 "echo x >> /etc/hosts")
    assert r.returncode != 0 and "Read-only file system" in r.stderr.decode()


@needs_docker
def test_prepared_rootfs_unused_when_the_start_differs(d1, tmp_path):
    d = d1
    assert d.docker("run", "--rm", "--network", "none", "busybox", "true").returncode == 0
    assert wait_for(lambda: pool_dirs(d))
    # A bind mount (or --privileged, a tty, another image) mounts differently:
    # the usual setup runs and the pool dir goes.
    up = root_upperdir(d, "--network", "none", "-v", "%s:/mnt" % tmp_path)
    assert ".pool-" not in up and up.endswith("/upper")
    up = root_upperdir(d, "--network", "none", "--privileged")
    assert ".pool-" not in up
    assert wait_for(lambda: len(pool_dirs(d)) == 1), pool_dirs(d)


@needs_docker
def test_no_pool_dir_left_after_stop_or_kill9(d):
    assert d.docker("run", "--rm", "--network", "none", "busybox", "true").returncode == 0
    assert wait_for(lambda: pool_dirs(d))
    assert d.stop() == 0
    assert pool_dirs(d) == []
    assert not [n for n in os.listdir(os.path.join(d.data_root, "containers"))
                if n.startswith(".pool-recycled-")]
    d.start()
    assert d.docker("run", "--rm", "--network", "none", "busybox", "true").returncode == 0
    old = wait_for(lambda: pool_dirs(d))
    assert old
    d.kill9()
    d.start()  # sweeps what the killed berthd's pool left
    assert wait_for(lambda: not set(old) & set(pool_dirs(d))), pool_dirs(d)


@needs_docker
def test_image_removal_drops_the_prepared_rootfs(d, busybox_tar):
    # A prepared overlay keeps the layers it shows: removing the image drops
    # it at once (disk space back), and loading the image again works.
    assert d.docker("run", "--rm", "--network", "none", "busybox", "true").returncode == 0
    assert wait_for(lambda: pool_dirs(d))
    assert d.docker("rmi", "busybox").returncode == 0
    assert pool_dirs(d) == []
    with open(busybox_tar, "rb") as f:
        status, _, body = d.request("POST", "/images/load?quiet=1", body=f.read(),
                                    headers={"Content-Type": "application/x-tar"}, timeout=60)
    assert status == 200, body
    r = d.docker("run", "--rm", "--network", "none", "busybox", "ls", "/bin/busybox")
    assert r.returncode == 0 and out(r) == "/bin/busybox\n", r.stderr
    assert wait_for(lambda: pool_dirs(d))


@needs_docker
def test_prepared_rootfs_not_used_when_a_layer_dir_was_replaced(d1):
    d = d1
    # The shim takes a prepared rootfs only over the very layer directories
    # it was prepared from (file handles), not over new ones at those paths.
    r = d.docker("run", "--rm", "--network", "none", "busybox", "sh", "-c",
                 "grep ' / / ' /proc/self/mountinfo")
    assert r.returncode == 0, r.stderr
    lower = [o.split("=", 1)[1] for o in out(r).split()[-1].split(",")
             if o.startswith("lowerdir")]
    assert lower
    prepared = wait_for(lambda: pool_dirs(d))
    assert prepared
    cdir = os.path.join(d.data_root, "containers")
    old = ino(os.path.join(cdir, prepared[0] + "-upper"))
    layer = lower[0]
    assert subprocess.run(["cp", "-a", layer, layer + ".new"]).returncode == 0
    os.rename(layer, layer + ".old")
    os.rename(layer + ".new", layer)
    up = root_upperdir(d, "--network", "none")
    assert prepared[0] not in up
    # That prep removed (a shim's next one may have its name: other dirs).
    assert wait_for(lambda: ino(os.path.join(cdir, prepared[0] + "-upper")) != old)


def caps_of(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.split(":\t") for line in f.read().splitlines() if line.startswith("Cap"))


@needs_docker
def test_pooled_start_capabilities(d):
    # A pooled init holds only Docker's 14 default capabilities in its
    # bounding set from the pool on; starts that need others clone afresh.
    everything = caps_of(os.getpid())["CapBnd"].strip()  # --privileged: all we have
    cases = [([], "00000000a80425fb"),
             (["--cap-drop", "CHOWN"], "00000000a80425fa"),
             (["--cap-add", "NET_ADMIN"], "00000000a80435fb"),
             (["--privileged"], everything),
             ([], "00000000a80425fb")]
    for args, want in cases:
        idle = wait_for(lambda: pooled_shims(d.proc.pid))
        r = d.docker("run", "-d", "--network", "none", *args, "busybox", "sleep", "30")
        assert r.returncode == 0, r.stderr
        cid = out(r).strip()
        assert shim_of(d, cid) in idle  # a pooled shim ran it, its init or a fresh one
        pid = json.loads(out(d.docker("inspect", cid)))[0]["State"]["Pid"]
        caps = caps_of(pid)
        assert caps["CapBnd"].strip() == want, (args, caps)
        assert caps["CapEff"].strip() == want, (args, caps)
        assert d.docker("rm", "-f", cid).returncode == 0


def gone_cgroups():
    return [n for n in os.listdir("%s/memory/berth" % CG) if n.startswith(".gone-")]


@needs_docker
@pytest.mark.skipif(not V1, reason="cgroup renames are a cgroup v1 path")
def test_exited_containers_cgroups_renamed_then_removed(d):
    # The shim renames a finished container's cgroups to .gone-<pid> before it
    # reports the exit (the id is free for a restart at once) and removes them
    # after; a restarted container gets a cgroup of its own under its id.
    for _ in range(3):
        r = d.docker("run", "--rm", "--network", "none", "busybox", "true")
        assert r.returncode == 0, r.stderr
    r = d.docker("run", "-d", "--network", "none", "-m", "32m", "busybox", "sleep", "30")
    cid = out(r).strip()
    for _ in range(3):
        assert d.docker("restart", "-t", "0", cid).returncode == 0
        pid = json.loads(out(d.docker("inspect", cid)))[0]["State"]["Pid"]
        with open("/proc/%d/cgroup" % pid) as f:
            assert any(line.strip().endswith(":/berth/" + cid) for line in f if ":memory:" in line)
        with open("%s/memory/berth/%s/memory.limit_in_bytes" % (CG, cid)) as f:
            assert int(f.read()) == 32 << 20
    assert d.docker("rm", "-f", cid).returncode == 0
    assert wait_for(lambda: gone_cgroups() == [] and not os.path.exists("%s/memory/berth/%s" % (CG, cid)))


@pytest.mark.skipif(not V1, reason="cgroup renames are a cgroup v1 path")
def test_gone_cgroups_of_dead_shims_swept_at_start(d):
    # A shim killed between its exit report and the removal leaves .gone-<pid>.
    with open("/proc/sys/kernel/pid_max") as f:
        dead_pid = int(f.read()) + 1  # no process has it
    left = "%s/memory/berth/.gone-%d" % (CG, dead_pid)
    os.mkdir(left)
    d.restart()
    assert wait_for(lambda: not os.path.exists(left), 5)


def cg_ino(name):
    try:
        return os.stat("%s/memory/berth/%s" % (CG, name)).st_ino
    except FileNotFoundError:
        return None


class OneShim:
    """The one pool shim of a d1 daemon, followed from container to
    container: the pool's refill is killed while it runs one, so that it
    goes back to the pool when that container exits."""

    def __init__(self, d):
        self.d = d
        self.pid = wait_for(lambda: pooled_shims(d.proc.pid))[0]

    def make_room(self):
        refill = wait_for(lambda: [p for p in berth_shims(b"pool", self.d.proc.pid, live=True)
                                   if p != self.pid])
        assert refill
        os.kill(refill[0], signal.SIGKILL)
        assert wait_for(lambda: berth_shims(b"pool", self.d.proc.pid, live=True) == [self.pid])

    def run(self, *args, cmd=("sleep", "30"), ready=lambda: True):
        """Start a container on it once it idles again (and ready()): its id."""
        assert wait_for(lambda: nice_of(self.pid) == 19 and cg_ino(".pool-%d" % self.pid)
                        and ready())
        time.sleep(0.2)  # its init set up
        r = self.d.docker("run", "-d", "--network", "none", *args, "busybox", *cmd)
        assert r.returncode == 0, r.stderr
        cid = out(r).strip()
        assert shim_of(self.d, cid) == self.pid
        self.make_room()
        return cid


@needs_docker
@pytest.mark.skipif(not V1, reason="pool cgroups are a cgroup v1 feature")
def test_short_runs_cgroups_recycled_by_their_pool_shim(d1):
    # A pool shim keeps a short run's cgroups (no limits set) for its next
    # init, renamed to its pool name (rt_cgroup_recycle); a run with limits
    # gets its cgroups removed, and the next init a fresh, unlimited one.
    d = d1
    one = OneShim(d)
    shim = one.pid

    def run_in_pool(*args, cmd=("sleep", "30")):
        cid = one.run(*args, cmd=cmd)
        return cid, cg_ino(cid)

    # 8 MiB at its peak, all freed at its exit.
    cid, ino = run_in_pool(cmd=("sh", "-c", "dd if=/dev/zero of=/dev/null bs=8M count=1; sleep 30"))
    assert wait_for(lambda: "records out" in out(d.docker("logs", cid)) + d.docker("logs", cid).stderr.decode())
    assert d.docker("rm", "-f", cid).returncode == 0
    assert wait_for(lambda: cg_ino(".pool-%d" % shim) == ino), "not recycled"
    assert gone_cgroups() == []
    # Its counters start over for the next one (its init counts already).
    with open("%s/cpuacct/berth/.pool-%d/cpuacct.usage" % (CG, shim)) as f:
        assert int(f.read()) < 250 * 10**6
    with open("%s/memory/berth/.pool-%d/memory.max_usage_in_bytes" % (CG, shim)) as f:
        assert int(f.read()) < 4 << 20
    # The recycled cgroups hold the next container: no limit of anyone's.
    cid, ino2 = run_in_pool()
    assert ino2 == ino
    r = d.docker("exec", cid, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                 "/sys/fs/cgroup/freezer/freezer.state")
    assert out(r).split() == [str(2**63 - 4096), "THAWED"], out(r)
    # Removed while paused: recycled too, thawed for the next one.
    assert d.docker("pause", cid).returncode == 0
    assert d.docker("rm", "-f", cid).returncode == 0
    assert wait_for(lambda: cg_ino(".pool-%d" % shim) == ino)
    # With a limit: removed, and the next init gets a new, unlimited cgroup.
    cid, ino3 = run_in_pool("-m", "32m")
    assert ino3 == ino
    r = d.docker("exec", cid, "cat", "/sys/fs/cgroup/freezer/freezer.state")
    assert out(r).split() == ["THAWED"], out(r)
    assert d.docker("rm", "-f", cid).returncode == 0
    assert wait_for(lambda: cg_ino(".pool-%d" % shim) not in (None, ino))
    cid, _ = run_in_pool()
    r = d.docker("exec", cid, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert out(r).split() == [str(2**63 - 4096)], out(r)
    # A shim that does not go back to the pool (full again: refilled) takes
    # its pool cgroups along.
    assert wait_for(lambda: [p for p in berth_shims(b"pool", d.proc.pid, live=True)
                             if p != shim])
    assert d.docker("rm", "-f", cid).returncode == 0
    assert wait_for(lambda: dead(shim))
    assert wait_for(lambda: cg_ino(".pool-%d" % shim) is None)


@needs_docker
@pytest.mark.skipif(not V1, reason="rootfses are prepared on the v1 pool path")
def test_rm_containers_overlay_mount_kept_by_its_pool_shim(d1):
    # A pool shim keeps the overlay it mounted for its prepared rootfs while
    # its --rm containers leave their dirs untouched: the next container's
    # root is that same mount (prep.c). A new mount would have emptied the
    # work dir's "work" (overlay does at every mount): the marker left there
    # shows which.
    d = d1
    one = OneShim(d)
    cdir = os.path.join(d.data_root, "containers")
    mine = os.path.join(cdir, ".pool-%d" % one.pid)
    one.run("--rm", cmd=("sleep", "1"))  # the image the pool prepares from now on

    def prepared():
        return os.path.isdir(mine + "-work/work")

    cid = one.run("--rm", ready=prepared)
    upper = os.stat(os.path.join(cdir, cid, "upper")).st_ino
    marker = os.path.join(cdir, cid, "work", "work", "marker")
    open(marker, "w").close()
    assert d.docker("rm", "-f", cid).returncode == 0
    # Its dirs come back to it, the marker with them.
    assert wait_for(lambda: os.path.exists(mine + "-work/work/marker")), os.listdir(cdir)
    assert os.stat(mine + "-upper").st_ino == upper
    cid = one.run("--rm", cmd=("sh", "-c", "echo hi > /etc/x; cat /etc/x; ls /bin/busybox; "
                               "rm /etc/x; sleep 30"), ready=prepared)
    assert os.path.exists(os.path.join(cdir, cid, "work", "work", "marker"))
    assert wait_for(lambda: out(d.docker("logs", cid)) == "hi\n/bin/busybox\n")
    assert d.docker("rm", "-f", cid).returncode == 0
    assert wait_for(lambda: os.path.exists(mine + "-work/work/marker"))
    # One that leaves a file behind: its dirs go, and so does the mount.
    cid = one.run("--rm", cmd=("sh", "-c", "touch /left; sleep 30"), ready=prepared)
    assert wait_for(lambda: os.path.exists(os.path.join(cdir, cid, "upper", "left")))
    assert d.docker("rm", "-f", cid).returncode == 0
    assert wait_for(lambda: prepared() and ino(mine + "-upper") not in (None, upper))
    assert not os.path.exists(mine + "-work/work/marker")
    r = d.docker("run", "--rm", "--network", "none", "busybox", "ls", "/left")
    assert r.returncode != 0
    # Nor does a container that is not --rm keep it (its dirs are its own).
    cid = one.run(ready=prepared)
    marker = os.path.join(cdir, cid, "work", "work", "marker")
    open(marker, "w").close()
    assert d.docker("stop", "-t", "0", cid).returncode == 0
    assert d.docker("start", cid).returncode == 0
    assert not os.path.exists(marker)  # mounted anew over its own dirs


def ctxt_switches(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            return sum(int(line.split()[1]) for line in f if "ctxt_switches" in line)
    except FileNotFoundError:
        return 0


@needs_docker
def test_pool_hands_out_the_shim_idle_longest(d):
    # Two idle shims by default; a shim whose container exited goes back at
    # once but is still making its next init, so the next start takes the
    # other one (the shim idle the longest).
    def two_idle():
        s = pooled_shims(d.proc.pid)
        return s if len(s) == 2 else None
    prev, alternated, repeated = None, 0, 0
    for _ in range(8):
        idle = wait_for(two_idle)
        assert idle, "the default pool holds two idle shims"
        time.sleep(0.3)  # both done setting up
        before = {p: ctxt_switches(p) for p in idle}
        r = d.run([BERTH, "run", "--rm", "--network", "none", "busybox", "true"])
        assert r.returncode == 0, r.stderr
        ran = max(idle, key=lambda p: ctxt_switches(p) - before[p])
        if prev in idle:  # the last one came back: it idled the shortest
            alternated += ran != prev
            repeated += ran == prev
        prev = ran
    # (A refill that spawned a shim after the last one came back makes that
    # one the newest: slow builds see it now and then.)
    assert alternated >= 2 and alternated > repeated, (alternated, repeated)
