"""Containers through berthd with the stock docker CLI, docker-py and raw HTTP."""
import concurrent.futures
import json
import os
import pty
import select
import time

import pytest

from conftest import DOCKER, container_dir_leftovers, needs_docker, remove_containers


@pytest.fixture
def d(busybox_daemon):
    """busybox_daemon that force-removes every container afterwards (the shims
    outlive a stopped daemon by design, so leftovers would keep running)."""
    yield busybox_daemon
    remove_containers(busybox_daemon)


def out(r):
    return r.stdout.decode(errors="replace")


@needs_docker
def test_run_echo_round_trip(d):
    r = d.docker("run", "--rm", "busybox", "echo", "hi")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hi\n"
    # --rm leaves nothing behind: no container, no container dir, no run dir.
    assert json.loads(d.request("GET", "/containers/json?all=1")[2]) == []
    # The directory is renamed aside at once and deleted by a child process.
    deadline = time.time() + 5
    while container_dir_leftovers(d) and time.time() < deadline:
        time.sleep(0.05)
    assert container_dir_leftovers(d) == []
    leftovers = [e for e in os.listdir(d.exec_root) if len(e) >= 20]
    assert leftovers == []


@needs_docker
@pytest.mark.parametrize("cmd,code", [
    (["true"], 0),
    (["sh", "-c", "exit 3"], 3),
    (["/etc/passwd"], 126),
    (["nosuchcommand"], 127),
])
def test_exit_codes(d, cmd, code):
    r = d.docker("run", "--rm", "busybox", *cmd)
    assert r.returncode == code, r.stderr


@needs_docker
def test_exit_137_on_kill(d):
    cid = out(d.docker("run", "-d", "busybox", "sleep", "100")).strip()
    assert d.docker("kill", cid).returncode == 0
    r = d.docker("wait", cid)
    assert out(r).strip() == "137"


@needs_docker
def test_stdin_piping(d):
    r = d.docker("run", "--rm", "-i", "busybox", "cat", input=b"x\ny\n", timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"x\ny\n"


@needs_docker
def test_name_conflict_and_lookup(d):
    assert d.docker("create", "--name", "web", "busybox", "true").returncode == 0
    r = d.docker("create", "--name", "web", "busybox", "true")
    assert r.returncode != 0
    cid = json.loads(out(d.docker("inspect", "web")))[0]["Id"]
    assert 'Conflict. The container name "/web" is already in use by container "%s". You have ' \
           'to remove (or rename) that container to be able to reuse that name.' % cid \
           in r.stderr.decode()
    status, _, body = d.request("GET", "/containers/%s/json" % cid[:6])
    assert status == 200 and json.loads(body)["Name"] == "/web"
    status, _, body = d.request("GET", "/containers/nope/json")
    assert status == 404 and json.loads(body)["message"] == "No such container: nope"
    status, _, body = d.request("POST", "/containers/create",
                                body=json.dumps({"Image": "nosuch:latest"}),
                                headers={"Content-Type": "application/json"})
    assert status == 404 and "No such image" in json.loads(body)["message"]


@needs_docker
def test_inspect_fields(d):
    cid = out(d.docker("run", "-d", "--name", "insp", "-e", "A=1", "--label", "k=v",
                       "-w", "/tmp", "busybox", "sleep", "100")).strip()
    info = json.loads(out(d.docker("inspect", cid)))[0]
    assert info["Id"] == cid and info["Name"] == "/insp"
    assert info["State"]["Status"] == "running" and info["State"]["Running"] is True
    assert info["State"]["Pid"] > 0
    assert info["Path"] == "sleep" and info["Args"] == ["100"]
    assert "A=1" in info["Config"]["Env"]
    assert info["Config"]["Labels"]["k"] == "v"
    assert info["Config"]["WorkingDir"] == "/tmp"
    assert info["HostConfig"]["LogConfig"]["Type"] == "json-file"
    assert info["LogPath"].endswith("-json.log")
    assert info["Image"].startswith("sha256:")
    # exec inherits the working directory; pid 1 is the container's command.
    r = d.docker("exec", cid, "sh", "-c", "pwd; cat /proc/1/cmdline")
    assert out(r).split("\n")[0] == "/tmp"
    assert "sleep" in out(r)
    # The /etc files are the shim's, rewritten at each start in the run dir
    # (the exec root's tmpfs), and bound over the container's.
    inside = out(d.docker("exec", cid, "sh", "-c", "cat /etc/hostname /etc/hosts /etc/resolv.conf"))
    files = ""
    for key in ("HostnamePath", "HostsPath", "ResolvConfPath"):
        assert info[key].startswith(d.exec_root + "/"), (key, info[key])
        with open(info[key]) as f:
            files += f.read()
    assert inside == files and inside.startswith(cid[:12] + "\n")
    d.docker("rm", "-f", cid)


@needs_docker
def test_ps_filters(d):
    d.docker("run", "-d", "--name", "alpha", "--label", "app=a", "busybox", "sleep", "100")
    d.docker("run", "--name", "beta", "--label", "app=b", "busybox", "sh", "-c", "exit 2")
    names = lambda *a: sorted(out(d.docker("ps", "--format", "{{.Names}}", *a)).split())
    assert names() == ["alpha"]
    assert names("-a") == ["alpha", "beta"]
    assert names("-a", "--filter", "label=app=b") == ["beta"]
    assert names("-a", "--filter", "status=exited") == ["beta"]
    assert names("-a", "--filter", "exited=2") == ["beta"]
    assert names("-a", "--filter", "name=alp") == ["alpha"]
    assert names("-a", "--filter", "ancestor=busybox") == ["alpha", "beta"]
    # docker-py sends the list form of filters.
    c = d.client()
    assert [x.name for x in c.containers.list(all=True, filters={"label": ["app=a"]})] == ["alpha"]
    assert len(c.containers.list(all=True, limit=1)) == 1


@needs_docker
def test_stop_ignoring_sigterm_takes_timeout(d):
    cid = out(d.docker("run", "-d", "busybox", "sh", "-c",
                       "trap '' TERM; while true; do sleep 0.1; done")).strip()
    t0 = time.time()
    r = d.docker("stop", "-t", "2", cid)
    took = time.time() - t0
    assert r.returncode == 0, r.stderr
    assert 1.8 <= took < 8, took
    info = json.loads(out(d.docker("inspect", cid)))[0]
    assert info["State"]["ExitCode"] == 137 and info["State"]["Running"] is False
    assert d.docker("stop", cid).returncode == 0  # 304: already stopped


@needs_docker
def test_memory_limit_oom(d):
    r = d.docker("run", "--name", "oom", "-m", "8m", "busybox", "sh", "-c",
                 "x=a; while true; do x=$x$x; done", timeout=60)
    assert r.returncode == 137, r.stderr
    info = json.loads(out(d.docker("inspect", "oom")))[0]
    assert info["State"]["OOMKilled"] is True
    assert info["State"]["ExitCode"] == 137


@needs_docker
def test_rm_running_needs_force(d):
    cid = out(d.docker("run", "-d", "busybox", "sleep", "100")).strip()
    r = d.docker("rm", cid)
    assert r.returncode != 0 and "cannot remove container" in r.stderr.decode()
    assert d.docker("rm", "-f", cid).returncode == 0
    assert d.request("GET", "/containers/%s/json" % cid)[0] == 404


@needs_docker
def test_pause_unpause_rename_restart(d):
    cid = out(d.docker("run", "-d", "--name", "p1", "busybox", "sleep", "100")).strip()
    assert d.docker("pause", cid).returncode == 0
    assert json.loads(out(d.docker("inspect", cid)))[0]["State"]["Status"] == "paused"
    assert d.docker("unpause", cid).returncode == 0
    assert d.docker("rename", "p1", "p2").returncode == 0
    assert json.loads(out(d.docker("inspect", "p2")))[0]["Id"] == cid
    pid1 = json.loads(out(d.docker("inspect", cid)))[0]["State"]["Pid"]
    assert d.docker("restart", "-t", "0", cid).returncode == 0
    st = json.loads(out(d.docker("inspect", cid)))[0]["State"]
    assert st["Running"] and st["Pid"] != pid1


@needs_docker
def test_restart_policy_on_failure(d):
    cid = out(d.docker("run", "-d", "--restart", "on-failure:2", "busybox", "sh", "-c",
                       "exit 1")).strip()
    deadline = time.time() + 15
    while time.time() < deadline:
        info = json.loads(out(d.docker("inspect", cid)))[0]
        if info["RestartCount"] == 2 and info["State"]["Status"] == "exited":
            break
        time.sleep(0.2)
    assert info["RestartCount"] == 2 and info["State"]["Status"] == "exited"


@needs_docker
def test_top_and_stats(d):
    cid = out(d.docker("run", "-d", "busybox", "sleep", "100")).strip()
    r = d.docker("top", cid)
    assert r.returncode == 0 and "sleep 100" in out(r)
    r = d.docker("stats", "--no-stream", cid)
    assert r.returncode == 0, r.stderr
    assert cid[:12] in out(r)


@needs_docker
def test_prune(d):
    d.docker("create", "--name", "dead1", "busybox", "true")
    keep = out(d.docker("run", "-d", "busybox", "sleep", "100")).strip()
    r = d.docker("container", "prune", "-f")
    assert r.returncode == 0
    assert [c["Id"] for c in json.loads(d.request("GET", "/containers/json?all=1")[2])] == [keep]


def test_wait_headers_flushed_at_once(d):
    """The CLI starts the container only after wait's headers arrive."""
    import socket
    status, _, body = d.request("POST", "/containers/create",
                                body=json.dumps({"Image": "busybox", "Cmd": ["sh", "-c", "exit 4"]}),
                                headers={"Content-Type": "application/json"})
    cid = json.loads(body)["Id"]
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(d.sock)
    s.sendall(("POST /containers/%s/wait?condition=next-exit HTTP/1.1\r\nHost: x\r\n"
               "Content-Length: 0\r\n\r\n" % cid).encode())
    head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 200")
    assert d.request("POST", "/containers/%s/start" % cid)[0] == 204
    data = head
    while b"0\r\n\r\n" not in data:
        data += s.recv(4096)
    assert b'"StatusCode":4' in data
    s.close()


def test_concurrent_docker_py_50(d):
    c = d.client()

    def one(i):
        cl = d.client()
        return cl.containers.run("busybox", ["echo", "n%d" % i], remove=True)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
        results = list(ex.map(one, range(50)))
    assert sorted(results) == sorted(("n%d\n" % i).encode() for i in range(50))
    assert c.containers.list(all=True) == []


@needs_docker
def test_daemon_restart_readopts(d):
    alive = out(d.docker("run", "-d", "busybox", "sh", "-c",
                         "while true; do echo a; sleep 0.2; done")).strip()
    dies = out(d.docker("run", "-d", "busybox", "sh", "-c", "sleep 1.5; exit 7")).strip()
    d.kill9()
    time.sleep(2.5)
    d.start()
    info = json.loads(out(d.docker("inspect", alive, dies)))
    assert info[0]["State"]["Running"] is True
    assert info[1]["State"]["Status"] == "exited" and info[1]["State"]["ExitCode"] == 7
    # Logs kept flowing while berthd was down, and the adopted one can be stopped.
    assert out(d.docker("logs", alive)).count("a\n") >= 10
    assert d.docker("stop", "-t", "0", alive).returncode == 0
    assert json.loads(out(d.docker("inspect", alive)))[0]["State"]["Running"] is False


@needs_docker
def test_run_it_through_pty_with_resize(d):
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(DOCKER, [DOCKER, "run", "--rm", "-it", "busybox", "sh"], d.env())
    buf = b""

    def read_until(token, timeout=15):
        nonlocal buf
        deadline = time.time() + timeout
        while token not in buf and time.time() < deadline:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    buf += os.read(fd, 4096)
                except OSError:
                    break
        return token in buf

    assert read_until(b"# ")
    import fcntl
    import struct
    import termios
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    os.kill(pid, 28)  # SIGWINCH makes the CLI send a resize
    time.sleep(0.5)
    os.write(fd, b"stty size\n")
    assert read_until(b"33 101"), buf
    os.write(fd, b"exit 5\n")
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 5


@needs_docker
def test_hostconfig_options_reach_the_container(d, tmp_path):
    run = lambda *a: d.docker("run", "--rm", *a)
    r = run("--read-only", "busybox", "touch", "/x")
    assert r.returncode != 0 and b"Read-only file system" in r.stderr
    assert run("--read-only", "--tmpfs", "/x", "busybox", "touch", "/x/y").returncode == 0
    assert b"00000000a80425fb" in run("busybox", "grep", "CapEff", "/proc/self/status").stdout
    assert b"0000000000000000" in run("--cap-drop", "ALL", "busybox", "grep", "CapEff",
                                      "/proc/self/status").stdout
    (tmp_path / "f").write_text("hostfile\n")
    r = run("-v", "%s:/v:ro" % tmp_path, "busybox", "sh", "-c", "cat /v/f; touch /v/g")
    assert r.stdout == b"hostfile\n" and r.returncode != 0
    assert run("-u", "1000:1000", "busybox", "id").stdout == b"uid=1000 gid=1000\n"
    assert run("--network", "host", "busybox", "hostname").stdout.decode().strip() == \
        os.uname().nodename
    assert run("--security-opt", "seccomp=unconfined", "busybox", "grep", "Seccomp:",
               "/proc/self/status").stdout.split()[-1] == b"0"
    assert run("--security-opt", "no-new-privileges", "busybox", "grep", "NoNewPrivs",
               "/proc/self/status").stdout.split()[-1] == b"1"
    r = run("--pids-limit", "5", "busybox", "sh", "-c",
            "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait")
    assert b"can't fork" in r.stderr
    r = run("-e", "FOO=bar", "--entrypoint", "env", "busybox")
    assert b"FOO=bar\n" in r.stdout and b"PATH=" in r.stdout


def test_lifecycle_events(d):
    t0 = int(time.time()) - 1
    c = d.client()
    out_ = c.containers.run("busybox", ["sh", "-c", "exit 3"], name="ev1", labels={"k": "v"},
                            remove=False, detach=True)
    out_.wait()
    out_.remove()
    evs = list(c.events(since=t0, until=int(time.time()) + 1, decode=True,
                        filters={"type": "container"}))
    mine = [e for e in evs if e.get("Actor", {}).get("Attributes", {}).get("name") == "ev1"]
    actions = [e["Action"] for e in mine]
    assert actions[:3] == ["create", "start", "die"] and actions[-1] == "destroy", actions
    die = mine[2]["Actor"]["Attributes"]
    assert die["exitCode"] == "3" and die["k"] == "v" and die["image"] == "busybox"
