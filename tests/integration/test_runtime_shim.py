"""Drive build/berth-shim directly (no berthd) with a busybox rootfs: output,
logs, exit codes, security defaults, limits, attach/kill over the socket, and
that nothing is left behind. Needs root (namespaces, mounts, cgroups)."""
import io
import json
import os
import shutil
import signal
import socket
import struct
import weakref
import subprocess
import tarfile
import time
import uuid

import pytest

from conftest import BUILD_DIR, busybox_layer_tar

SHIM = os.path.join(BUILD_DIR, "berth-shim")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not os.path.exists(SHIM), reason="berth-shim not built"),
]

STDIN, STDOUT, STDERR, REQUEST, REPLY, STARTED, EXIT = 0, 1, 2, 16, 17, 18, 19


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory):
    d = tmp_path_factory.mktemp("bbroot")
    with tarfile.open(fileobj=io.BytesIO(busybox_layer_tar())) as tf:
        tf.extractall(d)
    os.chmod(d, 0o755)  # an image's / is world-readable; pytest's tmp dirs are not
    (d / "etc" / "notexec").write_text("#!/bin/sh\necho no\n")
    os.chmod(d / "etc" / "notexec", 0o644)
    return str(d)


def frame(t, payload=b""):
    return struct.pack(">BxxxI", t, len(payload)) + payload


# Bytes read past the frame a call stopped at, kept for the next call on the
# same socket (one recv can carry the STARTED frame and the first output).
_leftover = weakref.WeakKeyDictionary()


def read_frames(sock, stop_type=EXIT, timeout=20):
    """Read frames until one of stop_type (or EOF). Returns list of (type, payload)."""
    sock.settimeout(timeout)
    buf, out = _leftover.pop(sock, b""), []
    while True:
        while len(buf) >= 8:
            t, n = struct.unpack(">BxxxI", buf[:8])
            if len(buf) < 8 + n:
                break
            out.append((t, buf[8:8 + n]))
            buf = buf[8 + n:]
            if t == stop_type:
                if buf:
                    _leftover[sock] = buf
                return out
        chunk = sock.recv(65536)
        if not chunk:
            return out
        buf += chunk


class Ctr:
    def __init__(self, tmp, rootfs, args, overlay=False, **kw):
        self.id = uuid.uuid4().hex + uuid.uuid4().hex
        self.bundle = tmp / ("b-" + self.id[:12])
        self.bundle.mkdir()
        self.run_dir = str(tmp / ("r-" + self.id[:12]))
        self.log = str(self.bundle / "c-json.log")
        spec = {"id": self.id, "bundle": str(self.bundle), "run_dir": self.run_dir,
                "bpf_cache_dir": str(tmp / "seccomp"), "log_path": self.log,
                "hostname": self.id[:12], "etc_hostname": self.id[:12] + "\n",
                "etc_hosts": "127.0.0.1 localhost\n",
                "process": {"args": args}}
        if overlay:
            for n in ("upper", "work", "merged"):
                (self.bundle / n).mkdir()
            spec.update(lowerdirs=[rootfs], upperdir=str(self.bundle / "upper"),
                        workdir=str(self.bundle / "work"), rootfs=str(self.bundle / "merged"),
                        volatile_overlay=True)
        else:
            spec["rootfs"] = rootfs
        process = kw.pop("process", {})
        spec["process"].update(process)
        spec.update(kw)
        (self.bundle / "runtime.json").write_text(json.dumps(spec))
        self.spec = spec

    def start(self, keep_primary=True):
        self.sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        os.set_inheritable(child.fileno(), True)
        # fd 3 of the shim is the primary connection (runtime.h).
        # The shim closes every other inherited fd itself.
        cfd = child.fileno()
        self.proc = subprocess.Popen(
            [SHIM, "run", str(self.bundle / "runtime.json")], close_fds=False,
            stderr=subprocess.PIPE, preexec_fn=lambda: os.dup2(cfd, 3))
        child.close()
        if not keep_primary:
            self.sock.close()
        return self

    def run(self, stdin=None):
        self.start()
        if stdin is not None:
            self.sock.sendall(frame(STDIN, stdin) + frame(STDIN))
        frames = read_frames(self.sock)
        self.proc.wait(timeout=20)
        self.shim_stderr = self.proc.stderr.read().decode()
        self.sock.close()
        self.frames = frames
        return self

    def __repr__(self):
        return "<Ctr frames=%r shim_stderr=%r>" % (getattr(self, "frames", None),
                                                  getattr(self, "shim_stderr", None))

    @property
    def started(self):
        return json.loads(next(p for t, p in self.frames if t == STARTED))

    @property
    def stdout(self):
        return b"".join(p for t, p in self.frames if t == STDOUT).decode()

    @property
    def stderr(self):
        return b"".join(p for t, p in self.frames if t == STDERR).decode()

    @property
    def exit(self):
        return json.loads(next(p for t, p in self.frames if t == EXIT))

    def state(self):
        with open(os.path.join(self.run_dir, "state.json")) as f:
            return json.load(f)

    def log_entries(self):
        with open(self.log) as f:
            return [json.loads(line) for line in f]


@pytest.fixture
def ctr(tmp_path, rootfs):
    made = []

    def make(args, root=None, **kw):
        c = Ctr(tmp_path, root or rootfs, args, **kw)
        made.append(c)
        return c
    yield make
    for c in made:
        p = getattr(c, "proc", None)
        if p and p.poll() is None:
            p.kill()
            p.wait()


def test_echo_output_log_and_state(ctr):
    c = ctr(["sh", "-c", "echo hi; echo oops >&2"]).run()
    assert c.started["pid"] > 0
    assert c.stdout == "hi\n" and c.stderr == "oops\n"
    assert c.exit["exit_code"] == 0 and c.exit["oom_killed"] is False
    entries = c.log_entries()
    assert [(e["log"], e["stream"]) for e in entries] == [("hi\n", "stdout"), ("oops\n", "stderr")]
    assert entries[0]["time"].endswith("Z") and len(entries[0]["time"].split(".")[1]) == 10
    st = c.state()
    assert st["status"] == "exited" and st["exit_code"] == 0
    assert st["finished_ns"] >= st["started_ns"] > 0


@pytest.mark.parametrize("args,code,text", [
    (["sh", "-c", "exit 3"], 3, None),
    (["nosuchcmd"], 127, 'exec: "nosuchcmd": executable file not found in $PATH'),
    (["/bin/nope"], 127, "no such file or directory"),
    (["/etc/notexec"], 126, "permission denied"),
])
def test_exit_codes(ctr, args, code, text):
    c = ctr(args).run()
    if text is None:
        assert c.exit["exit_code"] == code
    else:
        st = c.started
        assert st["exit_code"] == code and text in st["error"]
        assert c.state()["exit_code"] == code and text in c.state()["error"]


def test_default_caps_and_privileged(ctr):
    c = ctr(["grep", "Cap", "/proc/self/status"]).run()
    assert "CapEff:\t00000000a80425fb" in c.stdout
    assert "CapBnd:\t00000000a80425fb" in c.stdout
    assert "CapInh:\t0000000000000000" in c.stdout
    c = ctr(["grep", "CapEff", "/proc/self/status"], cap_drop=["ALL"], cap_add=["KILL"]).run()
    assert "CapEff:\t0000000000000020" in c.stdout
    c = ctr(["grep", "CapEff", "/proc/self/status"], process={"user": "nobody"}).run()
    assert "CapEff:\t0000000000000000" in c.stdout
    with open("/proc/self/status") as f:
        ours = next(line for line in f if line.startswith("CapEff:"))
    c = ctr(["grep", "CapEff", "/proc/self/status"], privileged=True).run()
    assert c.stdout == ours  # everything we have ourselves


def test_masked_and_readonly_paths(ctr):
    # /proc/kcore and friends do not exist on every kernel: use ones this host has.
    assert os.path.getsize("/proc/keys") == 0 or True
    c = ctr(["sh", "-c", "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; "
             "echo 0 > /proc/sys/kernel/printk || echo ro-ok; "
             "grep -c Seccomp:.2 /proc/self/status; touch /sys/x || echo sys-ro"]).run()
    lines = c.stdout.split("\n")
    assert lines[0].strip() == "0" and lines[1].strip() == "0"
    assert "ro-ok" in c.stdout and "sys-ro" in c.stdout
    assert "1" in lines  # seccomp filter mode active


def test_only_std_fds_inside(ctr):
    c = ctr(["sh", "-c", "ls /proc/$$/fd; true"]).run()
    assert c.stdout.split() == ["0", "1", "2"]


def test_seccomp_blocks_unshare(ctr):
    c = ctr(["unshare", "-u", "true"]).run()
    assert c.exit["exit_code"] != 0
    c = ctr(["unshare", "-u", "true"], seccomp="unconfined", cap_add=["SYS_ADMIN"]).run()
    assert c.exit["exit_code"] == 0


def test_memory_limit_oom(ctr):
    c = ctr(["sh", "-c", "tail /dev/zero"],
            resources={"memory": 16 << 20, "memory_swap": 16 << 20}).run()
    assert c.exit["exit_code"] == 137 and c.exit["oom_killed"] is True
    assert c.state()["oom_killed"] is True


def test_pids_limit(ctr):
    c = ctr(["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 3 & done 2>&1; wait"],
            resources={"pids_limit": 5}).run()
    assert "fork" in c.stdout + c.stderr


def test_readonly_rootfs_hostname_etc(ctr):
    c = ctr(["sh", "-c", "touch /x 2>&1; hostname; cat /etc/hosts; touch /dev/shm/ok && echo shm"],
            readonly_rootfs=True).run()
    assert "Read-only file system" in c.stdout
    assert c.spec["hostname"] in c.stdout and "127.0.0.1 localhost" in c.stdout
    assert "shm" in c.stdout


def test_net_none_has_lo_up(ctr):
    c = ctr(["sh", "-c", "cat /sys/class/net/lo/flags; ls /sys/class/net"]).run()
    assert c.stdout.split() == ["0x9", "lo"]


def test_user_cwd_env(ctr):
    c = ctr(["sh", "-c", "id -u; id -g; pwd; echo $HOME $FOO; echo $PATH"],
            process={"user": "daemon", "cwd": "/work/dir", "env": ["FOO=bar"]}).run()
    out = c.stdout.split("\n")
    assert out[0] == "1" and out[1] == "1" and out[2] == "/work/dir"
    assert out[3] == "/usr/sbin bar" and out[4].startswith("/usr/local/sbin")


def test_init_mode(ctr):
    c = ctr(["sh", "-c", "echo $$"], init=True).run()
    assert c.stdout.strip() == "2" and c.exit["exit_code"] == 0
    c = ctr(["sh", "-c", "echo $$"]).run()
    assert c.stdout.strip() == "1"


def test_stdin_attach_and_tty(ctr):
    c = ctr(["sh", "-c", "read x; echo got $x"],
            process={"open_stdin": True, "stdin_once": True}).run(stdin=b"hello\n")
    assert c.stdout == "got hello\n"
    c = ctr(["sh", "-c", "echo hi; [ -t 1 ] && echo tty"], process={"tty": True}).run()
    assert c.stdout == "hi\r\ntty\r\n"
    assert c.log_entries()[0] ["log"] == "hi\r\n"


def test_kill_and_state_over_socket(ctr):
    c = ctr(["sleep", "100"]).start()
    assert json.loads(read_frames(c.sock, STARTED)[-1][1])["pid"] > 0
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.path.join(c.run_dir, "shim.sock"))
    s.sendall(frame(REQUEST, b'{"op":"state"}'))
    rep = json.loads(read_frames(s, REPLY)[-1][1])
    assert rep["ok"] and rep["state"]["status"] == "running"
    s.sendall(frame(REQUEST, b'{"op":"attach","stdout":true}'))
    s.sendall(frame(REQUEST, b'{"op":"kill","signal":9}'))
    frames = read_frames(s, EXIT)
    ex = json.loads(frames[-1][1])
    assert ex["exit_code"] == 137 and ex["signal"] == 9
    c.proc.wait(timeout=10)
    assert c.state()["signal"] == 9


def test_shim_survives_parent_and_berthd_connection(ctr, tmp_path):
    c = ctr(["sh", "-c", "sleep 1; echo done"])
    # A parent that starts the shim and is then SIGKILLed; our end of fd 3 closes too.
    parent = subprocess.Popen(["sh", "-c", '"$0" run "$1" 3</dev/null & echo $!; sleep 100',
                               SHIM, str(c.bundle / "runtime.json")],
                              stdout=subprocess.PIPE, start_new_session=True)
    shim_pid = int(parent.stdout.readline())
    state = os.path.join(c.run_dir, "state.json")
    deadline = time.time() + 10
    while time.time() < deadline and not (os.path.exists(state) and
                                          c.state()["status"] == "running"):
        time.sleep(0.02)
    # The whole process group of the parent dies; the shim has its own session.
    os.killpg(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 15
    while time.time() < deadline:
        if os.path.exists(os.path.join(c.run_dir, "state.json")) and \
                c.state()["status"] == "exited":
            break
        time.sleep(0.1)
    assert c.state()["status"] == "exited" and c.state()["exit_code"] == 0
    assert [e["log"] for e in c.log_entries()] == ["done\n"]
    assert c.state()["shim_pid"] == shim_pid


def test_nothing_left_behind_overlay(ctr):
    c = ctr(["sh", "-c", "echo x > /newfile; mount | grep -c ' / '"], overlay=True).run()
    assert c.exit["exit_code"] == 0
    assert (c.bundle / "upper" / "newfile").read_text() == "x\n"
    with open("/proc/self/mountinfo") as f:
        mi = f.read()
    assert str(c.bundle) not in mi
    for ctrl in ("memory", "pids", "cpu", "freezer"):
        assert not os.path.exists(f"/sys/fs/cgroup/{ctrl}/berth/{c.id}")
    assert not os.path.exists(os.path.join(c.run_dir, "shim.sock"))


def test_overlay_many_long_lowerdirs(ctr, tmp_path, rootfs):
    """60 layers with long paths: far past the 4 KiB mount option limit."""
    layers = []
    for i in range(60):
        d = tmp_path / ("layer-%02d-" % i + "x" * 80)
        d.mkdir()
        (d / ("f%02d" % i)).write_text(str(i))
        layers.append(str(d))
    c = ctr(["sh", "-c", "ls / | grep -c '^f'; cat /f00 /f59"], overlay=True)
    spec = c.spec
    spec["lowerdirs"] = layers + [rootfs]
    (c.bundle / "runtime.json").write_text(json.dumps(spec))
    c.run()
    assert c.stdout == "60\n059"


def test_ulimit_nnp_tmpfs_and_binds(ctr, tmp_path):
    host = tmp_path / "hostdata"
    host.mkdir()
    (host / "hello").write_text("from host\n")
    c = ctr(["sh", "-c", "ulimit -n; grep NoNewPrivs /proc/self/status; cat /data/hello; "
             "touch /data/x 2>&1; grep ' /scratch ' /proc/mounts; touch /scratch/ok && echo tmpfs-rw"],
            ulimits=[{"name": "nofile", "soft": 321, "hard": 321}], no_new_privileges=True,
            mounts=[{"type": "bind", "source": str(host), "destination": "/data",
                     "readonly": True},
                    {"type": "tmpfs", "destination": "/scratch", "options": "size=1m"}]).run()
    out = c.stdout
    assert out.startswith("321\n") and "NoNewPrivs:\t1" in out and "from host" in out
    assert "Read-only file system" in out and "tmpfs-rw" in out
    assert "size=1024k" in out
    assert not (host / "x").exists()


def test_bind_destination_symlink_stays_in_rootfs(ctr, tmp_path, rootfs):
    """An image symlink pointing out of the rootfs must resolve inside it."""
    evil_root = tmp_path / "evilroot"
    shutil.copytree(rootfs, evil_root, symlinks=True)
    if os.path.lexists(evil_root / "data"):  # other tests' mount points
        os.rmdir(evil_root / "data")
    os.symlink("/../../../../../../tmp/berth-escape-target", evil_root / "data")
    host = tmp_path / "hostdata"
    host.mkdir()
    (host / "hello").write_text("bound\n")
    c = ctr(["sh", "-c", "cat /tmp/berth-escape-target/hello"], root=str(evil_root),
            mounts=[{"type": "bind", "source": str(host), "destination": "/data"}]).run()
    assert c.stdout == "bound\n", c
    assert (evil_root / "tmp" / "berth-escape-target").is_dir()
    assert not os.path.exists("/tmp/berth-escape-target")


def test_join_network_namespace(ctr):
    a = ctr(["sleep", "30"]).start()
    pid = json.loads(read_frames(a.sock, STARTED)[-1][1])["pid"]
    b = ctr(["readlink", "/proc/self/ns/net"], net_mode="join",
            net_path="/proc/%d/ns/net" % pid).run()
    assert b.stdout.strip() == os.readlink("/proc/%d/ns/net" % pid)
    a.sock.sendall(frame(REQUEST, b'{"op":"kill","signal":9}'))
    a.proc.wait(timeout=10)


def test_cwd_through_leaked_fd_is_refused(ctr):
    """CVE-2024-21626: no host fd survives, so /proc/self/fd/N cannot be a cwd."""
    for n in (3, 4, 5, 6, 7, 8):
        c = ctr(["pwd"], process={"cwd": "/proc/self/fd/%d" % n}).run()
        assert c.started.get("exit_code") == 125, c


def test_init_forwards_sigterm(ctr):
    c = ctr(["sleep", "30"], init=True).start()
    assert json.loads(read_frames(c.sock, STARTED)[-1][1])["pid"] > 0
    c.sock.sendall(frame(REQUEST, b'{"op":"kill","signal":15}'))
    ex = json.loads(read_frames(c.sock, EXIT)[-1][1])
    assert ex["exit_code"] == 143  # without --init, pid 1 would ignore SIGTERM
    c.proc.wait(timeout=10)


def test_cgroup_view_inside(ctr):
    c = ctr(["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
             "/sys/fs/cgroup/pids/pids.max; cat /proc/self/cgroup | grep memory; "
             "touch /sys/fs/cgroup/x 2>&1 | grep -c Read-only"],
            resources={"memory": 32 << 20, "pids_limit": 42}).run()
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        pytest.skip("v1 layout check")
    lines = c.stdout.split("\n")
    assert lines[0] == str(32 << 20) and lines[1] == "42", c
    assert lines[2].endswith(":memory:/"), c  # cgroup ns: we are at its root
    assert lines[3] == "1", c


def test_tty_initial_size_and_resize(ctr):
    c = ctr(["sh", "-c", "stty size; read x; stty size"],
            process={"tty": True, "open_stdin": True, "console_rows": 20,
                     "console_cols": 70}).start()
    frames = read_frames(c.sock, STARTED)
    while b"70" not in b"".join(p for t, p in frames if t == STDOUT):
        frames += read_frames(c.sock, STDOUT)
    c.sock.sendall(frame(REQUEST, b'{"op":"resize","rows":33,"cols":111}'))
    frames += read_frames(c.sock, REPLY)
    assert json.loads(frames[-1][1]) == {"ok": True}
    c.sock.sendall(frame(STDIN, b"go\r"))
    frames += read_frames(c.sock, EXIT)
    out = b"".join(p for t, p in frames if t == STDOUT).decode()
    assert "20 70\r\n" in out and "33 111\r\n" in out, out
    c.proc.wait(timeout=10)


def test_spec_that_does_not_load_leaves_dev_null_alone(tmp_path):
    # The start error of a spec that cannot be read has no state file to go
    # to; it once went to a stand-in "/dev/null", and the replace-by-rename
    # of state writes turned the host's /dev/null into a regular file.
    import stat
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    os.set_inheritable(child.fileno(), True)
    cfd = child.fileno()
    proc = subprocess.Popen([SHIM, "run", str(tmp_path / "missing" / "runtime.json")],
                            close_fds=False, stderr=subprocess.PIPE,
                            preexec_fn=lambda: os.dup2(cfd, 3))
    child.close()
    frames = read_frames(sock, STARTED)
    proc.wait(timeout=20)
    sock.close()
    started = json.loads(frames[-1][1])
    assert frames[-1][0] == STARTED and started["exit_code"] == 125, frames
    assert "runtime.json" in started["error"]
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode), "the host's /dev/null was replaced"
