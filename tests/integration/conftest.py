"""Shared fixtures: a real berthd on a temporary socket and data root, clients
for it (docker CLI, docker-py, berth CLI), and a busybox image built here from
Debian's busybox-static."""
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_DIR = os.environ.get("BERTH_BUILD_DIR") or os.path.join(HERE, "..", "..", "build")
BERTHD = os.path.join(BUILD_DIR, "berthd")
# BERTH_CLI: another berth CLI to drive the daemon with (tests/run-all.sh
# runs the CLI tests again with the release build's static CLI).
BERTH = os.environ.get("BERTH_CLI") or os.path.join(BUILD_DIR, "berth")
DOCKER = shutil.which("docker") or ("/usr/local/bin/docker"
                                    if os.path.exists("/usr/local/bin/docker") else None)
BUSYBOX = "/bin/busybox"

needs_docker = pytest.mark.skipif(DOCKER is None, reason="docker CLI not installed")


def wait_for(pred, timeout=10):
    """pred() polled until truthy (returned) or the timeout (its last value)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


def http_unix(sock_path, method, path, body=None, headers=None, timeout=10):
    """One HTTP/1.1 request over the Unix socket; returns (status, headers, body)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    hdrs = {"Host": "api.moby.localhost", "Connection": "close"}
    hdrs.update(headers or {})
    if body is not None:
        if isinstance(body, str):
            body = body.encode()
        hdrs["Content-Length"] = str(len(body))
    req = "%s %s HTTP/1.1\r\n" % (method, path)
    req += "".join("%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n"
    s.sendall(req.encode() + (body or b""))
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    out_headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        out_headers[k.strip().lower()] = v.strip()
    if out_headers.get("transfer-encoding", "").lower() == "chunked":
        decoded = b""
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            decoded += rest[:size]
            rest = rest[size + 2:]
        rest = decoded
    return status, out_headers, rest


class Daemon:
    """A berthd process with its own socket, data root and exec root."""

    def __init__(self, base, extra_args=()):
        self.base = base
        self.sock = os.path.join(base, "berth.sock")
        self.data_root = os.path.join(base, "data")
        self.exec_root = os.path.join(base, "exec")
        self.pidfile = os.path.join(base, "berthd.pid")
        self.log_path = os.path.join(base, "berthd.log")
        self.host = "unix://" + self.sock
        self.extra_args = list(extra_args)
        self.proc = None
        self.docker_config = os.path.join(base, "docker-config")
        os.makedirs(self.docker_config, exist_ok=True)

    def start(self, timeout=15):
        log = open(self.log_path, "ab")
        args = [BERTHD, "-H", self.host, "--data-root", self.data_root,
                "--exec-root", self.exec_root, "--pidfile", self.pidfile,
                "--log-level", "debug"] + self.extra_args
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        self.proc = subprocess.Popen(args, stdout=log, stderr=log, env=env,
                                     start_new_session=True)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("berthd exited with %s:\n%s" % (self.proc.returncode,
                                                                  self.log()))
            try:
                status, _, _ = http_unix(self.sock, "GET", "/_ping", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("berthd did not answer /_ping:\n" + self.log())

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-20000:]
        except OSError:
            return ""

    def stop(self, timeout=20):
        """Graceful stop (SIGTERM); returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("berthd ignored SIGTERM:\n" + self.log())
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def request(self, method, path, body=None, headers=None, timeout=30):
        return http_unix(self.sock, method, path, body=body, headers=headers, timeout=timeout)

    def env(self):
        env = dict(os.environ)
        env["DOCKER_HOST"] = self.host
        env["BERTH_HOST"] = self.host
        env["DOCKER_CONFIG"] = self.docker_config
        env["DOCKER_BUILDKIT"] = "0"
        env.pop("DOCKER_CONTEXT", None)
        return env

    def run(self, argv, input=None, timeout=120, check=False):
        return subprocess.run(argv, input=input, capture_output=True, env=self.env(),
                              timeout=timeout, check=check)

    def docker(self, *args, **kw):
        if DOCKER is None:
            pytest.skip("docker CLI not installed")
        return self.run([DOCKER] + list(args), **kw)

    def berth(self, *args, **kw):
        return self.run([BERTH] + list(args), **kw)

    def client(self):
        import docker
        return docker.DockerClient(base_url=self.host, version="auto", timeout=60)


def container_dir_leftovers(d):
    """Entries of <data-root>/containers, except the dirs of rootfses
    prepared by idle pooled shims (".pool-<pid>-upper" and "-work",
    src/runtime/prep.c: an idle one runs at nice 19 as berthd's child, a
    taken one is back at nice 0), their shared mount point ".pool-rootfs" and
    a removed --rm container's upper/work dirs kept for the next of them
    (".pool-recycled-<hash>", rt_prep_recycled_path)."""
    cdir = os.path.join(d.data_root, "containers")
    left = []
    for name in os.listdir(cdir):
        if name in (".pool-rootfs", ".spare"):  # .spare: src/runtime/manager_spare.c
            continue
        if name.startswith(".pool-recycled-"):
            continue
        pid = name[6:].rsplit("-", 1)[0]
        if name.startswith(".pool-") and name.endswith(("-upper", "-work")) and pid.isdigit():
            try:
                with open("/proc/%s/stat" % pid) as f:
                    st = f.read().rsplit(")", 1)[1].split()
                if d.proc is not None and int(st[1]) == d.proc.pid and int(st[16]) == 19:
                    continue
            except OSError:
                pass
        left.append(name)
    return left


def _make_daemon(extra_args=()):
    base = tempfile.mkdtemp(prefix="berth-it-", dir="/tmp")
    return Daemon(base, extra_args)


def _cleanup_daemon(d):
    try:
        d.stop()
    finally:
        # Mounts under the roots are the daemon's to remove; leave a trace if any remain.
        subprocess.run(["umount", "-R", "-l", d.exec_root], capture_output=True)
        shutil.rmtree(d.base, ignore_errors=True)


@pytest.fixture
def berthd():
    """A fresh daemon for one test, with no images loaded."""
    d = _make_daemon(["--no-default-image"])
    d.start()
    yield d
    _cleanup_daemon(d)


@pytest.fixture
def daemon_factory():
    """Make daemons with custom flags: daemon_factory(['--flag']) -> started Daemon."""
    made = []

    def make(extra_args=("--no-default-image",), start=True):
        d = _make_daemon(extra_args)
        made.append(d)
        return d.start() if start else d

    yield make
    for d in made:
        _cleanup_daemon(d)


# ---- a busybox image built here from busybox-static --------------------------

def _tar_bytes(members):
    """members: list of (TarInfo, bytes|None) -> uncompressed tar bytes."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def _tinfo(name, kind=tarfile.REGTYPE, size=0, mode=0o755, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.size = size
    ti.mode = mode
    ti.mtime = 1700000000
    ti.linkname = linkname
    return ti


def busybox_layer_tar():
    """The root filesystem of our busybox image as a tar (bytes)."""
    with open(BUSYBOX, "rb") as f:
        bb = f.read()
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True,
                             check=True).stdout.decode().split()
    members = []
    for d in ("bin", "etc", "tmp", "root", "home", "var", "usr", "usr/bin", "dev", "proc",
              "sys"):
        members.append((_tinfo(d, tarfile.DIRTYPE, mode=0o1777 if d == "tmp" else 0o755),
                        None))
    members.append((_tinfo("bin/busybox", size=len(bb)), bb))
    for a in applets:
        if a != "busybox":
            members.append((_tinfo("bin/" + a, tarfile.SYMTYPE, linkname="busybox",
                                   mode=0o777), None))
    passwd = b"root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n" \
             b"nobody:x:65534:65534:nobody:/home:/bin/false\n"
    group = b"root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n"
    members.append((_tinfo("etc/passwd", size=len(passwd), mode=0o644), passwd))
    members.append((_tinfo("etc/group", size=len(group), mode=0o644), group))
    return _tar_bytes(members)


def make_image_archive(tags=("busybox:latest",), layers=None, config_extra=None):
    """A docker-archive (docker save format) tarball as bytes.

    layers: list of uncompressed layer tar bytes (default: the busybox rootfs)."""
    if layers is None:
        layers = [busybox_layer_tar()]
    diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-11-28T00:00:00Z",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                                          "/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2026-11-28T00:00:00Z",
                     "created_by": "berth tests: busybox-static layer %d" % i}
                    for i in range(len(layers))],
    }
    if config_extra:
        config["config"].update(config_extra)
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_hex = hashlib.sha256(config_bytes).hexdigest()
    members = [(_tinfo(config_hex + ".json", size=len(config_bytes), mode=0o644), config_bytes)]
    layer_paths = []
    for layer in layers:
        h = hashlib.sha256(layer).hexdigest()
        members.append((_tinfo(h, tarfile.DIRTYPE), None))
        members.append((_tinfo(h + "/layer.tar", size=len(layer), mode=0o644), layer))
        layer_paths.append(h + "/layer.tar")
    manifest = json.dumps([{"Config": config_hex + ".json", "RepoTags": list(tags),
                            "Layers": layer_paths}]).encode()
    members.append((_tinfo("manifest.json", size=len(manifest), mode=0o644), manifest))
    return _tar_bytes(members)


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory):
    """Path of a docker-archive tarball holding busybox:latest."""
    path = tmp_path_factory.mktemp("images") / "busybox.tar"
    path.write_bytes(make_image_archive())
    return str(path)


def load_image(d, path):
    """POST /images/load of the archive at path, checked."""
    with open(path, "rb") as f:
        status, _, body = d.request("POST", "/images/load?quiet=1", body=f.read(),
                                    headers={"Content-Type": "application/x-tar"}, timeout=60)
    assert status == 200, body
    assert b"error" not in body.lower(), body


def remove_containers(d):
    """Force-remove every container of a running daemon (the shims outlive a
    stopped daemon by design, so leftovers would keep running)."""
    if d.proc is None:
        return
    status, _, body = d.request("GET", "/containers/json?all=1")
    if status == 200:
        for c in json.loads(body):
            d.request("DELETE", "/containers/%s?force=1" % c["Id"])


@pytest.fixture
def busybox_daemon(berthd, busybox_tar):
    """A fresh daemon with busybox:latest loaded through the API."""
    load_image(berthd, busybox_tar)
    return berthd


@pytest.fixture
def registry():
    """registry(**kw) starts a docker-registry (registrytools.Registry) on a
    loopback port; every one started is stopped after the test."""
    import registrytools as rt

    made = []

    def make(**kw):
        r = rt.Registry(**kw).start()
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()
