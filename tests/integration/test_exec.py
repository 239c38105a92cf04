"""docker exec through berthd: output, exit code, stdin, tty, inspect."""
import json
import os
import pty
import select
import time

import pytest

from conftest import DOCKER, needs_docker
from test_containers import d, out  # noqa: F401


@pytest.fixture
def running(d):
    cid = out(d.docker("run", "-d", "--name", "box", "-e", "FROM_CTR=1", "busybox",
                       "sleep", "1000")).strip()
    return d, cid


@needs_docker
def test_exec_output_and_exit_code(running):
    d, cid = running
    r = d.docker("exec", cid, "sh", "-c", "echo out; echo err >&2; exit 4")
    assert r.returncode == 4
    assert r.stdout == b"out\n" and r.stderr == b"err\n"
    r = d.docker("exec", "-e", "X=2", "-w", "/etc", cid, "sh", "-c", "echo $FROM_CTR$X; pwd")
    assert r.stdout == b"12\n/etc\n"
    assert d.docker("exec", cid, "nosuchcmd").returncode == 127


@needs_docker
def test_exec_stdin(running):
    d, cid = running
    r = d.docker("exec", "-i", cid, "cat", input=b"piped\n", timeout=30)
    assert r.returncode == 0 and r.stdout == b"piped\n"


def test_exec_inspect_docker_py(running):
    d, cid = running
    c = d.client()
    res = c.api.exec_create(cid, ["sh", "-c", "exit 9"])
    info = c.api.exec_inspect(res["Id"])
    assert info["Running"] is False and info["ContainerID"] == cid
    c.api.exec_start(res["Id"])
    info = c.api.exec_inspect(res["Id"])
    assert info["ExitCode"] == 9 and info["ProcessConfig"]["entrypoint"] == "sh"
    code, output = c.containers.get(cid).exec_run(["echo", "viapy"])
    assert code == 0 and output == b"viapy\n"


def test_exec_in_stopped_container_is_409(d):
    status, _, body = d.request("POST", "/containers/create", body=json.dumps(
        {"Image": "busybox", "Cmd": ["true"]}), headers={"Content-Type": "application/json"})
    cid = json.loads(body)["Id"]
    status, _, body = d.request("POST", "/containers/%s/exec" % cid, body=json.dumps(
        {"Cmd": ["true"]}), headers={"Content-Type": "application/json"})
    assert status == 409 and b"is not running" in body
    assert d.request("GET", "/exec/nope/json")[0] == 404


@needs_docker
def test_exec_it_pty(running):
    d, cid = running
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(DOCKER, [DOCKER, "exec", "-it", cid, "sh"], d.env())
    buf = b""
    deadline = time.time() + 15
    sent = False
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                buf += os.read(fd, 4096)
            except OSError:
                break
        if b"# " in buf and not sent:
            os.write(fd, b"[ -t 0 ] && echo IS_A_TTY; exit 6\n")
            sent = True
    _, status = os.waitpid(pid, 0)
    assert b"IS_A_TTY\r\n" in buf, buf
    assert os.WEXITSTATUS(status) == 6
