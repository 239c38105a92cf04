"""--init: pid 1 looks like Docker's docker-init, forwards signals, reaps
zombies and passes the exit code on."""
import json
import os
import pty
import time

from conftest import DOCKER, needs_docker
from test_containers import d, out  # noqa: F401  (fixture reuse)
from test_containers_lifecycle import read_until


@needs_docker
def test_init_is_pid1_and_looks_like_docker_init(d):
    r = d.docker("run", "--rm", "--init", "busybox", "sh", "-c",
                 "ps -o pid,comm,args; cat /proc/1/cmdline; echo; cat /proc/1/comm")
    assert r.returncode == 0, r.stderr
    lines = out(r).splitlines()
    pid1 = [l.split(None, 2) for l in lines if l.split() and l.split()[0] == "1"]
    assert pid1 and pid1[0][1] == "docker-init", lines
    assert pid1[0][2].startswith("/sbin/docker-init -- sh -c ps -o pid,comm,args"), lines
    # the child runs the command
    assert any(l.split()[:2] == ["2", "sh"] for l in lines if l.split()), lines
    raw = [l for l in lines if l.startswith("/sbin/docker-init")][0]
    assert raw.split("\0")[:3] == ["/sbin/docker-init", "--", "sh"], repr(raw)
    assert lines[-1] == "docker-init"
    # nothing of the host (shim path, data root) shows through cmdline
    assert "berth" not in out(r) and d.base not in out(r)


@needs_docker
def test_init_long_command_line_is_cut_not_leaked(d):
    arg = "x" * 3000
    r = d.docker("run", "--rm", "--init", "busybox", "sh", "-c",
                 "cat /proc/1/cmdline; : " + arg)
    cmdline = out(r)
    assert cmdline.startswith("/sbin/docker-init -- sh -c cat /proc/1/cmdline; : xxx"), cmdline[:80]
    assert "berth" not in cmdline and "=" not in cmdline  # no environment either


def _zombies(d, name):
    r = d.docker("exec", name, "sh", "-c", "cat /proc/[0-9]*/stat")
    assert r.returncode == 0, r.stderr
    return [l for l in out(r).splitlines() if l.rpartition(")")[2].split()[0] == "Z"]


@needs_docker
def test_init_reaps_zombies(d):
    # the subshell's sleep is orphaned and reparented to pid 1
    script = "(sleep 0.1 &); exec sleep 30"
    assert d.docker("run", "-d", "--init", "--name", "reaper", "busybox", "sh", "-c",
                    script).returncode == 0
    assert d.docker("run", "-d", "--name", "noreaper", "busybox", "sh", "-c",
                    script).returncode == 0
    # control: without --init, pid 1 is `sleep`, which reaps nothing
    deadline = time.time() + 15
    while len(_zombies(d, "noreaper")) != 1 and time.time() < deadline:
        time.sleep(0.2)
    assert len(_zombies(d, "noreaper")) == 1
    # by now the orphan in "reaper" has ended too, and init reaped it
    deadline = time.time() + 5
    while _zombies(d, "reaper") and time.time() < deadline:
        time.sleep(0.2)
    assert _zombies(d, "reaper") == []


@needs_docker
def test_init_forwards_signals_and_exit_codes(d):
    cid = out(d.docker("run", "-d", "--init", "busybox", "sh", "-c",
                       "trap 'echo got-term; exit 5' TERM; echo ready; "
                       "while true; do sleep 0.1; done")).strip()
    deadline = time.time() + 10
    while b"ready" not in d.docker("logs", cid).stdout and time.time() < deadline:
        time.sleep(0.05)
    t0 = time.time()
    assert d.docker("stop", "-t", "20", cid).returncode == 0
    assert time.time() - t0 < 10  # the trap ran: no SIGKILL after the timeout
    info = json.loads(out(d.docker("inspect", cid)))[0]
    assert info["State"]["ExitCode"] == 5
    assert out(d.docker("logs", cid)) == "ready\ngot-term\n"
    assert d.docker("run", "--rm", "--init", "busybox", "sh", "-c", "exit 7").returncode == 7
    assert d.docker("run", "--rm", "--init", "busybox", "sh", "-c",
                    "kill -9 $$").returncode == 137
    assert d.docker("run", "--rm", "--init", "busybox", "nosuchcmd").returncode == 127


@needs_docker
def test_init_with_tty_puts_the_command_in_the_foreground(d):
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(DOCKER, [DOCKER, "run", "--rm", "-it", "--init", "busybox", "sh", "-c",
                           "echo stat:$(cat /proc/$$/stat)"], d.env())
    buf = read_until(fd, b"", b"<until EOF>", timeout=20)
    os.waitpid(pid, 0)
    line = [l for l in buf.decode(errors="replace").splitlines() if "stat:" in l][0]
    fields = line.split("stat:")[1].rpartition(")")[2].split()
    # fields after comm: state ppid pgrp session tty_nr tpgid
    ppid, pgrp, tpgid = int(fields[1]), int(fields[2]), int(fields[5])
    mypid = int(line.split("stat:")[1].split()[0])
    assert ppid == 1 and pgrp == mypid and tpgid == mypid, line
