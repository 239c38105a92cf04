"""The berth CLI against a real berthd: system and image commands, errors."""
import json
import os
import tarfile

import pytest

from conftest import BERTH, BERTHD

pytestmark = pytest.mark.skipif(not (os.path.exists(BERTHD) and os.path.exists(BERTH)),
                                reason="build/berthd or build/berth not built yet")


def out(res):
    return res.stdout.decode(), res.stderr.decode()


def route_missing(d, method, path):
    """True when berthd does not serve this route yet (404 page not found)."""
    status, _, body = d.request(method, path)
    return status == 404 and b"page not found" in body


def test_version_and_info(berthd):
    r = berthd.berth("version")
    stdout, stderr = out(r)
    assert r.returncode == 0, stderr
    assert "Client:" in stdout and "Server:" in stdout
    assert "API version:       1.44" in stdout
    r = berthd.berth("version", "--format", "{{.Server.ApiVersion}}")
    assert r.returncode == 0
    assert r.stdout.decode().strip() == "1.44"
    r = berthd.berth("info")
    stdout, stderr = out(r)
    assert r.returncode == 0, stderr
    assert "Server Version:" in stdout
    r = berthd.berth("info", "--format", "json")
    assert r.returncode == 0
    info = json.loads(r.stdout)
    assert "ServerVersion" in info


def test_no_daemon_error(tmp_path):
    r = subprocess_berth(["-H", "unix://%s/none.sock" % tmp_path, "images"])
    assert r.returncode == 1
    assert b"Cannot connect to the berth daemon" in r.stderr


def subprocess_berth(args):
    import subprocess
    return subprocess.run([BERTH] + args, capture_output=True, timeout=30)


def test_usage_errors(berthd):
    r = berthd.berth("images", "--bogus")
    assert r.returncode == 125
    assert b"unknown flag: --bogus" in r.stderr
    r = berthd.berth("frobnicate")
    assert r.returncode == 125
    r = berthd.berth("rmi")
    assert r.returncode == 1
    assert b"requires at least 1 argument" in r.stderr


def test_load_images_inspect_tag_rmi(berthd, busybox_tar):
    r = berthd.berth("load", "-i", busybox_tar)
    stdout, stderr = out(r)
    assert r.returncode == 0, stderr
    assert "Loaded image: busybox:latest" in stdout

    r = berthd.berth("images")
    stdout, _ = out(r)
    lines = stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert any(l.split()[:2] == ["busybox", "latest"] for l in lines[1:])

    r = berthd.berth("images", "--format", "json")
    rows = [json.loads(l) for l in r.stdout.decode().splitlines()]
    bb = [x for x in rows if x["Repository"] == "busybox"]
    assert bb and bb[0]["Tag"] == "latest" and len(bb[0]["ID"]) == 12

    r = berthd.berth("image", "inspect", "busybox")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info[0]["Id"].startswith("sha256:" + bb[0]["ID"])
    r = berthd.berth("inspect", "-f", "{{.Id}}", "busybox")
    assert r.stdout.decode().strip() == info[0]["Id"]

    r = berthd.berth("tag", "busybox", "localhost:5000/bb:v1")
    assert r.returncode == 0, r.stderr
    r = berthd.berth("images", "-q", "--no-trunc")
    assert r.stdout.decode().split().count(info[0]["Id"]) == 2

    r = berthd.berth("rmi", "localhost:5000/bb:v1")
    assert r.returncode == 0, r.stderr
    assert "Untagged: localhost:5000/bb:v1" in r.stdout.decode()
    r = berthd.berth("images", "-q")
    assert r.stdout.decode().split() == [bb[0]["ID"]]


def test_save_load_roundtrip(busybox_daemon, tmp_path):
    d = busybox_daemon
    target = tmp_path / "out.tar"
    r = d.berth("save", "-o", str(target), "busybox")
    assert r.returncode == 0, r.stderr
    with tarfile.open(target) as tf:
        names = tf.getnames()
    assert "manifest.json" in names
    r = d.berth("save", "busybox")
    assert r.returncode == 0
    assert len(r.stdout) > 1000
    r = d.berth("rmi", "busybox")
    assert r.returncode == 0, r.stderr
    with open(target, "rb") as f:
        r = d.berth("load", input=f.read())
    assert r.returncode == 0, r.stderr
    assert b"busybox:latest" in r.stdout
    # A failed save leaves nothing behind.
    bad = tmp_path / "bad.tar"
    r = d.berth("save", "-o", str(bad), "nosuchimage")
    assert r.returncode == 1
    assert not bad.exists()
    assert not [p for p in os.listdir(tmp_path) if "berth-tmp" in p]


def test_rmi_errors(busybox_daemon):
    d = busybox_daemon
    r = d.berth("rmi", "nosuchimage")
    assert r.returncode == 1
    assert b"Error response from daemon: No such image: nosuchimage" in r.stderr
    # Several: the good one is removed, the error is still reported.
    d.berth("tag", "busybox", "other:1")
    r = d.berth("rmi", "other:1", "missing:2")
    assert r.returncode == 1
    assert b"Untagged: other:1" in r.stdout
    assert b"No such image" in r.stderr
    r = d.berth("image", "inspect", "missing:2")
    assert r.returncode == 1
    r = d.berth("inspect", "missing:2")
    assert r.returncode == 1
    assert b"No such object: missing:2" in r.stderr


def test_image_prune(busybox_daemon):
    d = busybox_daemon
    r = d.berth("image", "prune", "-f")
    assert r.returncode == 0, r.stderr
    assert b"Total reclaimed space:" in r.stdout
    r = d.berth("images", "-q")
    assert r.stdout.strip()  # tagged busybox stays


def test_login_stores_config(berthd):
    if route_missing(berthd, "POST", "/auth"):
        pytest.skip("POST /auth not served yet")
    r = berthd.berth("login", "-u", "u", "-p", "p", "127.0.0.1:1")
    # No registry listens there: the daemon must refuse, and nothing is stored.
    assert r.returncode != 0
    cfg = os.path.join(berthd.docker_config, "config.json")
    if os.path.exists(cfg):
        with open(cfg) as f:
            assert "127.0.0.1:1" not in json.load(f).get("auths", {})


def test_run_echo(busybox_daemon):
    d = busybox_daemon
    if route_missing(d, "POST", "/containers/create"):
        pytest.skip("container endpoints not served yet")
    r = d.berth("run", "--rm", "busybox", "echo", "hi")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"hi\n"
    r = d.berth("run", "--rm", "busybox", "sh", "-c", "exit 3")
    assert r.returncode == 3
    r = d.berth("run", "--rm", "busybox", "/nonexistent")
    assert r.returncode in (126, 127)


def test_container_lifecycle(busybox_daemon):
    d = busybox_daemon
    if route_missing(d, "POST", "/containers/create"):
        pytest.skip("container endpoints not served yet")
    r = d.berth("run", "-d", "--name", "c1", "busybox", "sleep", "100")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.decode().strip()
    assert len(cid) == 64
    r = d.berth("ps", "--format", "json")
    rows = [json.loads(l) for l in r.stdout.decode().splitlines()]
    assert any(x["Names"] == "c1" for x in rows)
    r = d.berth("ps", "-q", "--no-trunc")
    assert cid in r.stdout.decode().split()
    r = d.berth("stop", "-t", "1", "c1")
    assert r.returncode == 0, r.stderr
    r = d.berth("ps", "-a", "--filter", "name=c1", "--format", "{{.Names}} {{.State}}")
    assert r.stdout.decode().strip() == "c1 exited"
    r = d.berth("rm", "c1")
    assert r.returncode == 0, r.stderr
    r = d.berth("rm", "c1")
    assert r.returncode == 1
    assert b"No such container: c1" in r.stderr


def test_container_commands(busybox_daemon):
    d = busybox_daemon
    if route_missing(d, "POST", "/containers/create"):
        pytest.skip("container endpoints not served yet")
    script = "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"
    r = d.berth("run", "-d", "--name", "t1", "-e", "FOO=bar", "-l", "k=v", "busybox",
                "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    try:
        import time
        time.sleep(0.5)
        r = d.berth("logs", "--tail", "1", "t1")
        assert r.returncode == 0, r.stderr
        assert r.stdout.decode().startswith("tick ")
        assert len(r.stdout.decode().splitlines()) == 1
        r = d.berth("exec", "t1", "sh", "-c", "echo $FOO; exit 5")
        assert r.returncode == 5
        assert r.stdout == b"bar\n"
        r = d.berth("exec", "-i", "t1", "cat", input=b"through stdin\n")
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"through stdin\n"
        r = d.berth("top", "t1")
        assert r.returncode == 0, r.stderr
        assert "PID" in r.stdout.decode().splitlines()[0]
        r = d.berth("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "t1")
        assert r.returncode == 0, r.stderr
        assert r.stdout.decode().split()[0] == "t1"
        r = d.berth("ps", "--filter", "label=k=v", "--format", "{{.Names}} {{.Labels}}")
        assert r.stdout.decode().strip() == "t1 k=v"
        assert d.berth("pause", "t1").returncode == 0
        r = d.berth("ps", "--format", "{{.Status}}")
        assert "(Paused)" in r.stdout.decode()
        assert d.berth("unpause", "t1").returncode == 0
        r = d.berth("rename", "t1", "t2")
        assert r.returncode == 0, r.stderr
        r = d.berth("restart", "-t", "1", "t2")
        assert r.returncode == 0, r.stderr
        r = d.berth("inspect", "-f", "{{.Name}} {{.State.Running}}", "t2")
        assert r.stdout.decode().strip() == "/t2 true"
    finally:
        d.berth("rm", "-f", "t1", "t2")
    r = d.berth("run", "-d", "busybox", "sh", "-c", "sleep 2; exit 6")
    cid = r.stdout.decode().strip()
    r = d.berth("wait", cid)
    assert r.stdout.decode().strip() == "6"
    r = d.berth("container", "prune", "-f")
    assert r.returncode == 0, r.stderr
    assert cid in r.stdout.decode()
    r = d.berth("ps", "-aq")
    assert r.stdout.strip() == b""


def test_run_stdin_and_signals(busybox_daemon):
    d = busybox_daemon
    if route_missing(d, "POST", "/containers/create"):
        pytest.skip("container endpoints not served yet")
    r = d.berth("run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo err >&2",
                input=b"abc\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"abc\n"
    assert b"err\n" in r.stderr
    # A signal to the foreground CLI reaches the container.
    import signal
    import subprocess
    import time
    p = subprocess.Popen([BERTH, "run", "--rm", "busybox", "sh", "-c",
                          "trap 'echo got-term; exit 7' TERM; while true; do sleep 0.1; done"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=d.env())
    time.sleep(1.5)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 7, err
    assert out == b"got-term\n"
