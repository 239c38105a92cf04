"""GET /containers/{id}/attach/ws: a websocket client written here (RFC 6455
framing by hand over the Unix socket) drives stdin and reads the output."""
import base64
import hashlib
import json
import os
import socket
import struct
import time

from test_containers import d  # noqa: F401  (fixture reuse)

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WsClient:
    def __init__(self, sock_path, path, key=None):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(sock_path)
        key = key or base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (path, key))
        self.s.sendall(req.encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        want = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        self.accept_ok = self.headers.get("sec-websocket-accept") == want

    def send(self, payload, opcode=0x2):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            hdr = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            hdr = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.s.sendall(hdr + mask + masked)

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk

    def recv(self):
        """One frame -> (opcode, payload). Server frames are never masked."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        assert b1 & 0x80 == 0, "server frames must not be masked"
        n, h = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, h = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, h = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(h + n)
        payload, self.buf = self.buf[h:h + n], self.buf[h + n:]
        return b0 & 0x0F, payload

    def read_until(self, want, timeout=10):
        """Data frames until their concatenation contains want (or a close)."""
        got = b""
        deadline = time.time() + timeout
        while want not in got and time.time() < deadline:
            op, payload = self.recv()
            if op == 0x8:
                return got, True
            assert op == 0x2, "output goes out as binary frames, got opcode %d" % op
            got += payload
        return got, False

    def close(self):
        self.s.close()


def create(d, cmd, **extra):
    body = {"Image": "busybox", "Cmd": cmd}
    body.update(extra)
    status, _, resp = d.request("POST", "/containers/create", body=json.dumps(body),
                                headers={"Content-Type": "application/json"})
    assert status == 201, resp
    return json.loads(resp)["Id"]


def start(d, cid):
    status, _, resp = d.request("POST", "/containers/%s/start" % cid)
    assert status == 204, resp


def test_attach_ws_stdin_and_output(d):
    cid = create(d, ["sh", "-c", "while read l; do echo out:$l; echo err:$l >&2; done; echo bye"],
                 OpenStdin=True, StdinOnce=True, AttachStdin=True)
    start(d, cid)
    ws = WsClient(d.sock, "/v1.44/containers/%s/attach/ws?stream=1&stdin=1&stdout=1&stderr=1"
                  % cid)
    assert ws.status == 101 and ws.accept_ok, ws.headers
    ws.send(b"hello\n")
    got, closed = ws.read_until(b"err:hello\n")
    # raw bytes: no 8-byte multiplexing headers even without a tty
    assert b"out:hello\n" in got and b"err:hello\n" in got and b"\x01\x00\x00\x00" not in got
    assert not closed
    ws.send(b"wo", opcode=0x1)  # text frames are stdin too; a line may span frames
    ws.send(b"rld\n")
    got, _ = ws.read_until(b"err:world\n")
    assert b"out:world\n" in got
    # ping is answered with a pong carrying the same payload
    ws.send(b"p1", opcode=0x9)
    op, payload = ws.recv()
    assert (op, payload) == (0xA, b"p1")
    # our close frame ends stdin (StdinOnce): the loop ends, the container exits
    ws.send(struct.pack("!H", 1000), opcode=0x8)
    ops = []
    while True:
        try:
            op, payload = ws.recv()
        except EOFError:
            break
        ops.append(op)
        if op == 0x8:
            assert payload[:2] == struct.pack("!H", 1000)
            break
    assert 0x8 in ops
    ws.close()
    status, _, body = d.request("POST", "/containers/%s/wait" % cid, timeout=15)
    assert status == 200 and json.loads(body)["StatusCode"] == 0
    status, _, logs = d.request("GET", "/containers/%s/logs?stdout=1" % cid)
    assert logs.endswith(b"bye\n")


def test_attach_ws_logs_then_stream_and_exit(d):
    cid = create(d, ["sh", "-c", "echo before; echo olderr >&2; read l; echo after:$l"],
                 OpenStdin=True)
    start(d, cid)
    deadline = time.time() + 10
    while time.time() < deadline:
        _, _, logs = d.request("GET", "/containers/%s/logs?stdout=1&stderr=1" % cid)
        if b"olderr" in logs:
            break
        time.sleep(0.05)
    # stdout only: the replayed log and the live stream both skip stderr
    ws = WsClient(d.sock, "/v1.44/containers/%s/attach/ws?logs=1&stream=1&stdin=1&stdout=1"
                  % cid)
    assert ws.status == 101
    got, _ = ws.read_until(b"before\n")
    assert got == b"before\n"
    ws.send(b"x\n")
    got, closed = ws.read_until(b"after:x\n")
    assert got == b"after:x\n"
    # the container exits: the server closes the websocket
    if not closed:
        op, _ = ws.recv()
        assert op == 0x8
    ws.close()


def test_attach_ws_logs_only_and_errors(d):
    cid = create(d, ["echo", "done"])
    start(d, cid)
    d.request("POST", "/containers/%s/wait" % cid, timeout=15)
    ws = WsClient(d.sock, "/containers/%s/attach/ws?logs=1&stdout=1" % cid)
    assert ws.status == 101
    got, closed = ws.read_until(b"never")
    assert got == b"done\n" and closed
    ws.close()
    # not a websocket handshake: 400; unknown container: 404
    status, _, _ = d.request("GET", "/containers/%s/attach/ws?stream=1" % cid)
    assert status == 400
    ws = WsClient(d.sock, "/containers/nosuch/attach/ws?stream=1")
    assert ws.status == 404
    ws.close()


def test_attach_detach_keys_with_a_tty(d):
    cid = create(d, ["sh", "-c", "while read l; do echo got:$l; done"], Tty=True, OpenStdin=True)
    start(d, cid)
    ws = WsClient(d.sock, "/v1.44/containers/%s/attach/ws?stream=1&stdin=1&stdout=1"
                  "&detachKeys=ctrl-x,q" % cid)
    assert ws.status == 101
    ws.send(b"a\x18b\n")  # ctrl-x not followed by q: both are input
    got, closed = ws.read_until(b"got:a\x18b")
    assert b"got:a\x18b" in got and not closed
    ws.send(b"\x18")
    ws.send(b"q")
    got, closed = ws.read_until(b"never", timeout=5)
    assert closed  # the server ended the attachment
    ws.close()
    status, _, body = d.request("GET", "/containers/%s/json" % cid)
    assert json.loads(body)["State"]["Running"] is True
    # the default ctrl-p,ctrl-q over a hijacked (non-websocket) attach
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(d.sock)
    s.sendall(b"POST /v1.44/containers/%s/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\n"
              b"Host: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n" % cid.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    assert data.startswith(b"HTTP/1.1 101")
    s.sendall(b"\x10\x11")
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
    s.close()
    status, _, body = d.request("GET", "/containers/%s/json" % cid)
    assert json.loads(body)["State"]["Running"] is True
    status, _, body = d.request("POST", "/containers/%s/attach?stream=1&stdin=1&detachKeys=ctrl-1"
                                % cid)
    assert status == 400 and b"Invalid detach keys (ctrl-1) provided" in body
    d.request("POST", "/containers/%s/kill" % cid)
