"""System endpoints and daemon lifecycle against a real berthd."""
import json
import os
import subprocess

from conftest import BERTHD, DOCKER, needs_docker


@needs_docker
def test_docker_version_shows_server(berthd):
    r = berthd.docker("version", "--format", "{{json .}}", timeout=30)
    assert r.returncode == 0, r.stderr
    v = json.loads(r.stdout)
    assert v["Server"]["Version"] == "0.1.0"
    assert v["Server"]["ApiVersion"] == "1.44"
    assert v["Server"]["MinAPIVersion"] == "1.24"
    assert v["Server"]["Components"][0]["Name"] == "Engine"


@needs_docker
def test_docker_info_shows_server(berthd):
    r = berthd.docker("info", "--format", "{{json .}}", timeout=30)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["ServerVersion"] == "0.1.0"
    assert info["OSType"] == "linux"
    assert info["DockerRootDir"] == berthd.data_root
    assert info["Swarm"]["LocalNodeState"] == "inactive"
    assert len(info["ID"]) == 64
    assert info["NCPU"] >= 1 and info["MemTotal"] > 0
    assert info["Images"] == 0 and info["Containers"] == 0


def test_docker_py_version_and_ping(berthd):
    c = berthd.client()
    assert c.ping() is True
    v = c.version()
    assert v["ApiVersion"] == "1.44"
    assert v["Os"] == "linux"
    assert c.api.api_version == "1.44"
    assert c.info()["ID"] == c.info()["ID"]


def test_ping_headers_and_head(berthd):
    status, headers, body = berthd.request("GET", "/_ping")
    assert (status, body) == (200, b"OK")
    assert headers["api-version"] == "1.44"
    assert headers["ostype"] == "linux"
    assert headers["docker-experimental"] == "false"
    assert headers["builder-version"] == "1"
    assert headers["swarm"] == "inactive"
    assert "no-cache" in headers["cache-control"]
    assert headers["pragma"] == "no-cache"
    assert headers["server"].startswith("berth/")
    status, headers, body = berthd.request("HEAD", "/_ping")
    assert status == 200 and body == b""
    assert headers["content-length"] == "0"
    assert headers["api-version"] == "1.44"


def test_unknown_route_404_json(berthd):
    status, headers, body = berthd.request("GET", "/v1.44/no/such/thing")
    assert status == 404
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"message": "page not found"}


def test_wrong_method_405(berthd):
    status, headers, body = berthd.request("DELETE", "/version")
    assert status == 405
    assert "message" in json.loads(body)


def test_version_out_of_range(berthd):
    status, _, body = berthd.request("GET", "/v1.99/version")
    assert status == 400
    assert json.loads(body)["message"] == (
        "client version 1.99 is too new. Maximum supported API version is 1.44")
    status, _, body = berthd.request("GET", "/v1.10/info")
    assert status == 400
    assert json.loads(body)["message"] == (
        "client version 1.10 is too old. Minimum supported API version is 1.24, "
        "please upgrade your client to a newer version")
    status, _, _ = berthd.request("GET", "/v1.24/version")
    assert status == 200


@needs_docker
def test_docker_cli_error_text(berthd):
    env = berthd.env()
    env["DOCKER_API_VERSION"] = "1.99"
    r = subprocess.run([DOCKER, "version"], env=env, capture_output=True, timeout=30)
    assert r.returncode != 0
    assert b"is too new" in r.stderr


def test_second_daemon_same_data_root_refused(berthd, tmp_path):
    sock = str(tmp_path / "other.sock")
    r = subprocess.run([BERTHD, "-H", "unix://" + sock, "--data-root", berthd.data_root,
                        "--exec-root", str(tmp_path / "exec"), "--pidfile",
                        str(tmp_path / "p.pid"), "--no-default-image"],
                       capture_output=True, timeout=20)
    assert r.returncode != 0
    assert b"already running" in r.stderr
    assert not os.path.exists(sock)
    assert not os.path.exists(str(tmp_path / "p.pid"))
    # The first daemon is untouched.
    assert berthd.request("GET", "/_ping")[0] == 200


def test_engine_id_persists(daemon_factory):
    d = daemon_factory()
    first = d.client().info()["ID"]
    d.restart()
    assert d.client().info()["ID"] == first
    with open(os.path.join(d.data_root, "engine-id")) as f:
        assert f.read().strip() == first


def test_sigterm_removes_socket_and_pidfile(daemon_factory):
    d = daemon_factory()
    with open(d.pidfile) as f:
        assert int(f.read()) == d.proc.pid
    assert os.path.exists(d.sock)
    assert d.stop() == 0
    assert not os.path.exists(d.sock)
    assert not os.path.exists(d.pidfile)


def test_tcp_refused_without_flag(tmp_path):
    r = subprocess.run([BERTHD, "-H", "tcp://127.0.0.1:23751", "--data-root",
                        str(tmp_path / "d"), "--exec-root", str(tmp_path / "e")],
                       capture_output=True, timeout=20)
    assert r.returncode != 0
    assert b"--allow-insecure-tcp" in r.stderr


def test_malformed_config_file(tmp_path):
    cfg = tmp_path / "daemon.json"
    cfg.write_text('{"data-root": ')
    r = subprocess.run([BERTHD, "--config-file", str(cfg), "-H",
                        "unix://" + str(tmp_path / "s.sock")], capture_output=True, timeout=20)
    assert r.returncode != 0
    assert str(cfg).encode() in r.stderr and b"malformed" in r.stderr
    cfg.write_text('{"bogus-key": 1}')
    r = subprocess.run([BERTHD, "--config-file", str(cfg)], capture_output=True, timeout=20)
    assert r.returncode != 0 and b"bogus-key" in r.stderr


def test_config_file_values_and_flag_override(daemon_factory, tmp_path):
    cfg = tmp_path / "daemon.json"
    other_root = str(tmp_path / "from-config")
    cfg.write_text(json.dumps({"data-root": other_root, "log-level": "warn",
                               "insecure-registries": ["myreg:5000"]}))
    # --data-root from the fixture overrides the file; the rest applies.
    d = daemon_factory(["--no-default-image", "--config-file", str(cfg)])
    info = d.client().info()
    assert info["DockerRootDir"] == d.data_root
    assert "myreg:5000" in info["RegistryConfig"]["IndexConfigs"]
    assert not os.path.exists(other_root)


def test_version_and_help_flags():
    r = subprocess.run([BERTHD, "--version"], capture_output=True, timeout=10)
    assert r.returncode == 0 and b"0.1.0" in r.stdout
    r = subprocess.run([BERTHD, "-h"], capture_output=True, timeout=10)
    assert r.returncode == 0 and b"--data-root" in r.stdout
    r = subprocess.run([BERTHD, "--no-such-flag"], capture_output=True, timeout=10)
    assert r.returncode != 0 and b"unknown flag" in r.stderr


def test_socket_mode(berthd):
    import stat
    st = os.stat(berthd.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660


def test_tcp_with_flag(daemon_factory):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = daemon_factory(["--no-default-image", "--allow-insecure-tcp", "-H",
                        "tcp://127.0.0.1:%d" % port])
    assert "WITHOUT TLS" in d.log()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"OK")


def test_config_file_debug_and_bad_types(tmp_path):
    cfg = tmp_path / "daemon.json"
    cfg.write_text('{"debug": "yes"}')
    r = subprocess.run([BERTHD, "--config-file", str(cfg)], capture_output=True, timeout=20)
    assert r.returncode != 0 and b'"debug"' in r.stderr
    cfg.write_text('{"max-concurrent-downloads": 0}')
    r = subprocess.run([BERTHD, "--config-file", str(cfg)], capture_output=True, timeout=20)
    assert r.returncode != 0 and b"max-concurrent-downloads" in r.stderr
    cfg.write_text('{"hosts": "unix:///x"}')
    r = subprocess.run([BERTHD, "--config-file", str(cfg)], capture_output=True, timeout=20)
    assert r.returncode != 0 and b"hosts" in r.stderr
