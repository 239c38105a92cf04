"""berthd's API connections through io_uring (src/http/ring.c) and, with
BERTH_IO_URING=0, on plain libuv streams: both paths serve the real clients."""
import os
import socket
import threading

import pytest


def ring_fds(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "anon_inode:[io_uring]":
                n += 1
        except OSError:
            pass
    return n


def test_daemon_serves_through_io_uring(berthd):
    if "io_uring unavailable" in berthd.log():
        pytest.skip("this kernel has no usable io_uring: " + berthd.log().split("io_uring")[1][:80])
    assert ring_fds(berthd.proc.pid) == 1


def test_libuv_streams_when_disabled(daemon_factory, busybox_tar, monkeypatch):
    monkeypatch.setenv("BERTH_IO_URING", "0")
    d = daemon_factory()
    assert ring_fds(d.proc.pid) == 0
    r = d.docker("load", "-i", busybox_tar)
    assert r.returncode == 0, r.stderr.decode()
    # A hijacked stream (attach with stdin) and a plain reply on the same daemon.
    r = d.docker("run", "--rm", "-i", "busybox", "cat", input=b"through libuv\n")
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == b"through libuv\n"
    assert d.docker("images", "-q").stdout.strip()


def _burst(sock_path, n_requests, results, idx):
    """One connection, n pipelined requests written at once; count the answers."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(sock_path)
    s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n" * n_requests)
    got = b""
    while got.count(b"HTTP/1.1 200 OK") < n_requests:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    results[idx] = got.count(b"HTTP/1.1 200 OK")


def test_many_connections_bursting_at_once(berthd):
    # 300 connections each fire 20 pipelined requests in one write: more
    # arriving data than the ring's 128 receive buffers, so receives run out
    # of buffers and re-arm; every request must still be answered.
    n_conns, n_req = 300, 20
    socks = []
    for _ in range(n_conns):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(berthd.sock)
        socks.append(s)
    payload = b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n" * n_req
    for s in socks:
        s.sendall(payload)
    for s in socks:
        got = b""
        while got.count(b"HTTP/1.1 200 OK") < n_req:
            chunk = s.recv(65536)
            assert chunk, "connection closed early"
            got += chunk
        assert got.count(b"HTTP/1.1 200 OK") == n_req
        s.close()
    # And from threads, concurrently.
    results = [0] * 32
    threads = [threading.Thread(target=_burst, args=(berthd.sock, 50, results, i))
               for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [50] * 32
    status, _, _ = berthd.request("GET", "/_ping")
    assert status == 200


def test_big_upload_and_download_through_the_ring(busybox_daemon, tmp_path):
    # docker save streams a big chunked reply; docker load streams a big
    # request body: both cross the ring in many buffers.
    d = busybox_daemon
    out = tmp_path / "bb.tar"
    r = d.docker("save", "-o", str(out), "busybox")
    assert r.returncode == 0, r.stderr.decode()
    assert out.stat().st_size > 1_000_000
    assert d.docker("rmi", "busybox").returncode == 0
    r = d.docker("load", "-i", str(out))
    assert r.returncode == 0, r.stderr.decode()
    assert b"busybox:latest" in r.stdout
