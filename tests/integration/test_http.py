"""HTTP server behaviour of a real berthd over its Unix socket."""
import json
import resource
import socket
import time

import pytest


def connect(d, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(d.sock)
    return s


def read_response(s, buf=b""):
    """Read one Content-Length response from s; returns (status, headers, body, leftover)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError(buf)
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError(rest)
        rest += chunk
    return int(lines[0].split()[1]), headers, rest[:n], rest[n:]


def read_to_eof(s):
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk


GET_PING = b"GET /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\n\r\n"
GET_VERSION = b"GET /v1.44/version HTTP/1.1\r\nHost: api.moby.localhost\r\n\r\n"


def test_keep_alive_reuse(berthd):
    s = connect(berthd)
    left = b""
    for _ in range(5):
        s.sendall(GET_PING)
        status, headers, body, left = read_response(s, left)
        assert (status, body) == (200, b"OK")
        assert headers.get("connection", "") != "close"
    s.close()


def test_pipelining_two_requests_one_write(berthd):
    s = connect(berthd)
    s.sendall(GET_VERSION + GET_PING)
    status1, _, body1, left = read_response(s)
    status2, _, body2, left = read_response(s, left)
    assert status1 == 200 and json.loads(body1)["ApiVersion"] == "1.44"
    assert (status2, body2) == (200, b"OK")
    assert left == b""
    s.close()


def test_chunked_request_body_parsed(berthd):
    s = connect(berthd)
    body = b'{"hello": "world"}'
    req = (b"POST /v1.44/no/such/route HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
           b"Content-Type: application/json\r\n\r\n")
    req += b"%x\r\n%s\r\n" % (5, body[:5]) + b"%x\r\n%s\r\n" % (len(body) - 5, body[5:])
    req += b"0\r\n\r\n"
    s.sendall(req + GET_PING)
    status, _, resp, left = read_response(s)
    assert status == 404 and json.loads(resp) == {"message": "page not found"}
    # The body was consumed exactly: the next request on the connection works.
    status, _, resp, _ = read_response(s, left)
    assert (status, resp) == (200, b"OK")
    s.close()


def test_oversized_headers_431(berthd):
    s = connect(berthd)
    s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (80 * 1024) + b"\r\n\r\n")
    data = read_to_eof(s)
    assert data.startswith(b"HTTP/1.1 431 ")
    assert b'"message"' in data
    s.close()


def test_garbage_400_and_close(berthd):
    s = connect(berthd)
    s.sendall(b"THIS IS NOT HTTP\x00\x01\r\n\r\n")
    data = read_to_eof(s)  # the server closes the connection
    assert data.startswith(b"HTTP/1.1 400 ")
    assert b"application/json" in data
    s.close()
    # The daemon is fine.
    assert berthd.request("GET", "/_ping")[0] == 200


def test_half_closed_client_gets_response(berthd):
    s = connect(berthd)
    s.sendall(GET_VERSION)
    s.shutdown(socket.SHUT_WR)
    data = read_to_eof(s)
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert b'"ApiVersion":"1.44"' in data
    s.close()


def daemon_rss_kb(d):
    with open("/proc/%d/status" % d.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_thousand_idle_connections(berthd):
    want = 1100 + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        if hard < want:
            pytest.skip("RLIMIT_NOFILE hard limit too low")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    rss_before = daemon_rss_kb(berthd)
    socks = []
    try:
        for _ in range(1000):
            socks.append(connect(berthd))
        # Every one of them is accepted and still usable.
        time.sleep(0.3)
        t0 = time.time()
        for s in socks[::100]:
            s.sendall(GET_PING)
            status, _, body, _ = read_response(s)
            assert (status, body) == (200, b"OK")
        status, _, _ = berthd.request("GET", "/v1.44/version")
        assert status == 200
        elapsed = time.time() - t0
        assert elapsed < 2.0, elapsed
        rss_after = daemon_rss_kb(berthd)
        # Idle connections must be cheap: well under 4 KiB each (ASan builds
        # inflate allocations, hence the generous bound).
        per_conn = (rss_after - rss_before) * 1024 / 1000
        print("idle connection cost: %.0f bytes" % per_conn)
        assert per_conn < 4096, "%.0f bytes per idle connection" % per_conn
    finally:
        for s in socks:
            s.close()
    assert berthd.request("GET", "/_ping")[0] == 200


def test_daemon_rss_small(berthd):
    rss = daemon_rss_kb(berthd)
    assert rss > 0
    # An ASan build carries a large shadow; a release build sits far below this.
    assert rss < 64 * 1024, rss


def test_random_garbage_never_kills_daemon(berthd):
    import random
    rnd = random.Random(1234)
    base = [GET_PING, GET_VERSION,
            b"POST /v1.44/images/load HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n0\r\n\r\n",
            b"POST /exec/x/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
            b"Content-Length: 2\r\n\r\n{}"]
    for i in range(300):
        msg = bytearray(rnd.choice(base))
        for _ in range(rnd.randint(1, 8)):
            pos = rnd.randrange(len(msg))
            op = rnd.randrange(3)
            if op == 0:
                msg[pos] = rnd.randrange(256)
            elif op == 1:
                del msg[pos]
            else:
                msg[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 16)))
        s = connect(berthd, timeout=5)
        try:
            s.sendall(bytes(msg))
            if i % 2:
                s.shutdown(socket.SHUT_WR)
            s.settimeout(0.2)
            try:
                s.recv(65536)
            except (socket.timeout, ConnectionError):
                pass
        finally:
            s.close()
    assert berthd.proc.poll() is None, berthd.log()
    assert berthd.request("GET", "/_ping")[0] == 200
