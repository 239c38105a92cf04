"""Registry test helpers: run Debian's distribution registry (/usr/bin/docker-registry)
on 127.0.0.1:<random port> with a generated config — plain HTTP, TLS with a
self-signed CA, htpasswd basic auth, or token auth backed by a small token
server in this process — and a tiny v2 client to put images in it directly.

Also usable from the command line (unit tests and benchmarks):
    registrytools.py serve DIR [--tls] [--htpasswd USER:PW] [--token USER:PW]
        starts a registry, prints one JSON line {"hostport", "pid", ...}, then
        serves until stdin closes (the token server lives in this process).
    registrytools.py put-image HOSTPORT REPO TAG [--layers N] [--layer-mib M]
        [--random] [--user U:P] [--compress gzip|zstd|none] [--arch A]
        pushes an image made of generated layers; prints {"digest": ...}.
"""
import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import ssl

REGISTRY_BIN = "/usr/bin/docker-registry"
MT_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MT_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"


def available():
    return os.path.exists(REGISTRY_BIN)


def free_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sha256_digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _run(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, **kw)


def make_ca_and_cert(d, hosts=("127.0.0.1", "localhost", "::1")):
    """Self-signed CA + server cert for hosts (openssl CLI). Returns dict of paths."""
    ca_key, ca_crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    key, csr, crt = (os.path.join(d, n) for n in ("server.key", "server.csr", "server.crt"))
    ext = os.path.join(d, "san.ext")
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
          "-out", ca_crt, "-days", "2", "-subj", "/CN=berth test CA"])
    _run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
          "-subj", "/CN=berth test registry"])
    sans = ",".join(("IP:" if h[0].isdigit() or ":" in h else "DNS:") + h for h in hosts)
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n" % sans)
    _run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
          "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext])
    return {"ca": ca_crt, "cert": crt, "key": key}


class TokenServer:
    """Issues registry Bearer tokens (RS256 JWTs with an x5c header the registry
    checks against its rootcertbundle). users: {name: password}; anonymous
    requests get `anonymous_actions` (default none)."""

    def __init__(self, workdir, service, users, anonymous_actions=()):
        import jwt  # python3-jwt
        self.jwt = jwt
        self.service = service
        self.issuer = "berth-test-issuer"
        self.users = dict(users)
        self.anonymous_actions = list(anonymous_actions)
        self.requests = []
        key = os.path.join(workdir, "token.key")
        crt = os.path.join(workdir, "token.crt")
        _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
              "-out", crt, "-days", "2", "-subj", "/CN=berth token issuer"])
        self.cert_path = crt
        with open(key, "rb") as f:
            self.key_pem = f.read()
        der = _run(["openssl", "x509", "-in", crt, "-outform", "DER"]).stdout
        self.x5c = base64.b64encode(der).decode()
        ts = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                ts.handle(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.realm = "http://127.0.0.1:%d/token" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, req):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(req.path).query)
        user = None
        authz = req.headers.get("Authorization", "")
        if authz.startswith("Basic "):
            u, _, p = base64.b64decode(authz[6:]).decode().partition(":")
            if self.users.get(u) != p:
                body = json.dumps({"details": "incorrect username or password"}).encode()
                req.send_response(401)
                req.send_header("Content-Type", "application/json")
                req.send_header("Content-Length", str(len(body)))
                req.end_headers()
                req.wfile.write(body)
                return
            user = u
        self.requests.append({"user": user, "scope": q.get("scope", []),
                              "service": q.get("service", [None])[0]})
        access = []
        for scope in q.get("scope", []):
            parts = scope.split(":")
            if len(parts) < 3:
                continue
            typ, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            allowed = actions if user else [a for a in actions if a in self.anonymous_actions]
            access.append({"type": typ, "name": name, "actions": allowed})
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": user or "", "aud": self.service, "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(), "access": access}
        token = self.jwt.encode(claims, self.key_pem, algorithm="RS256",
                                headers={"x5c": [self.x5c]})
        if isinstance(token, bytes):
            token = token.decode()
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300,
                           "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        body = body.encode()
        req.send_response(200)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Registry:
    """One docker-registry process. mode: tls (bool), htpasswd ((user, pw) or None),
    token ({user: pw} or None; a TokenServer is started)."""

    def __init__(self, workdir=None, tls=False, htpasswd=None, token=None, host="127.0.0.1",
                 anonymous_token_actions=()):
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="berth-reg-", dir="/tmp")
        os.makedirs(self.dir, exist_ok=True)
        self.storage = os.path.join(self.dir, "storage")
        self.host = host
        self.port = free_port(host)
        self.hostport = ("[%s]:%d" % (host, self.port)) if ":" in host else \
            "%s:%d" % (host, self.port)
        self.tls = tls
        self.scheme = "https" if tls else "http"
        self.url = "%s://%s" % (self.scheme, self.hostport)
        self.certs = make_ca_and_cert(self.dir) if tls else None
        self.credentials = htpasswd
        self.token_server = None
        self.proc = None
        self.log_path = os.path.join(self.dir, "registry.log")
        cfg = ["version: 0.1",
               "log:", "  level: warn", "  accesslog:", "    disabled: true",
               "storage:", "  filesystem:", "    rootdirectory: %s" % self.storage,
               "  delete:", "    enabled: true",
               "http:", "  addr: '%s'" % self.hostport, "  secret: berth-test-secret"]
        if tls:
            cfg += ["  tls:", "    certificate: %s" % self.certs["cert"],
                    "    key: %s" % self.certs["key"]]
        if htpasswd:
            pwfile = os.path.join(self.dir, "htpasswd")
            out = _run(["htpasswd", "-Bbn", htpasswd[0], htpasswd[1]]).stdout
            with open(pwfile, "wb") as f:
                f.write(out)
            cfg += ["auth:", "  htpasswd:", "    realm: berth-test", "    path: %s" % pwfile]
        elif token is not None:
            self.token_server = TokenServer(self.dir, "berth-test-registry", token,
                                            anonymous_token_actions)
            self.credentials = next(iter(token.items())) if token else None
            cfg += ["auth:", "  token:", "    realm: %s" % self.token_server.realm,
                    "    service: %s" % self.token_server.service,
                    "    issuer: %s" % self.token_server.issuer,
                    "    rootcertbundle: %s" % self.token_server.cert_path]
        self.config_path = os.path.join(self.dir, "config.yml")
        with open(self.config_path, "w") as f:
            f.write("\n".join(cfg) + "\n")

    # ---- process ----
    def start(self, timeout=20):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", self.config_path], stdout=log,
                                     stderr=log, start_new_session=True)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("docker-registry exited:\n" + self.log())
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start:\n" + self.log())

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-5000:]
        except OSError:
            return ""

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def close(self):
        self.stop()
        if self.token_server:
            self.token_server.stop()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def blob_data_path(self, digest):
        hexd = digest.split(":", 1)[1]
        return os.path.join(self.storage, "docker", "registry", "v2", "blobs", "sha256",
                            hexd[:2], hexd, "data")

    def client(self, credentials="default"):
        creds = self.credentials if credentials == "default" else credentials
        return RegistryClient(self.url, creds, self.certs["ca"] if self.certs else None)


class RegistryClient:
    """Minimal distribution v2 client (urllib): enough to populate test registries."""

    def __init__(self, url, credentials=None, ca_file=None):
        self.url = url.rstrip("/")
        self.credentials = credentials
        self.ctx = ssl.create_default_context(cafile=ca_file) if ca_file else None
        self.tokens = {}

    def _auth_header(self, challenge, scope):
        scheme, _, params = challenge.partition(" ")
        if scheme.lower() == "basic":
            if not self.credentials:
                raise RuntimeError("registry wants credentials")
            return "Basic " + base64.b64encode(("%s:%s" % self.credentials).encode()).decode()
        fields = dict((k.strip(), v.strip('"')) for k, _, v in
                      (p.partition("=") for p in params.split(",")))
        q = {"service": fields.get("service", "")}
        if scope:
            q["scope"] = scope
        req = urllib.request.Request(fields["realm"] + "?" + urllib.parse.urlencode(q))
        if self.credentials:
            req.add_header("Authorization", "Basic " + base64.b64encode(
                ("%s:%s" % self.credentials).encode()).decode())
        with urllib.request.urlopen(req, timeout=30) as r:
            return "Bearer " + json.loads(r.read())["token"]

    def request(self, method, path, data=None, headers=None, scope=None, raw_url=None):
        url = raw_url or self.url + path
        hdrs = dict(headers or {})
        if scope in self.tokens:
            hdrs["Authorization"] = self.tokens[scope]
        for attempt in range(2):
            req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
            try:
                with urllib.request.urlopen(req, timeout=120, context=self.ctx) as r:
                    return r.status, dict(r.headers), r.read()
            except urllib.error.HTTPError as e:
                if e.code == 401 and attempt == 0:
                    self.tokens[scope] = self._auth_header(e.headers["WWW-Authenticate"], scope)
                    hdrs["Authorization"] = self.tokens[scope]
                    continue
                return e.code, dict(e.headers), e.read()
        raise AssertionError("unreachable")

    def put_blob(self, repo, data):
        digest = sha256_digest(data)
        scope = "repository:%s:pull,push" % repo
        st, _, _ = self.request("HEAD", "/v2/%s/blobs/%s" % (repo, digest), scope=scope)
        if st == 200:
            return digest
        st, h, body = self.request("POST", "/v2/%s/blobs/uploads/" % repo, data=b"",
                                   scope=scope)
        assert st == 202, (st, body)
        loc = h["Location"]
        if loc.startswith("/"):
            loc = self.url + loc
        loc += ("&" if "?" in loc else "?") + "digest=" + urllib.parse.quote(digest)
        st, _, body = self.request("PUT", None, data=data, raw_url=loc, scope=scope,
                                   headers={"Content-Type": "application/octet-stream"})
        assert st == 201, (st, body)
        return digest

    def put_manifest(self, repo, ref, body, media_type):
        scope = "repository:%s:pull,push" % repo
        st, h, resp = self.request("PUT", "/v2/%s/manifests/%s" % (repo, ref), data=body,
                                   headers={"Content-Type": media_type}, scope=scope)
        assert st == 201, (st, resp)
        return sha256_digest(body)

    def put_image(self, repo, tag, layers, compress="gzip", arch="amd64", os_name="linux",
                  oci=False, config_extra=None):
        """layers: uncompressed tar bytes. Returns (manifest_digest, manifest_bytes, config)."""
        descs, diff_ids = [], []
        for layer in layers:
            diff_ids.append(sha256_digest(layer))
            if compress == "gzip":
                blob = gzip.compress(layer, compresslevel=1, mtime=0)
                mt = MT_LAYER_GZIP
            elif compress == "zstd":
                blob = subprocess.run(["zstd", "-q", "-c", "-1"], input=layer,
                                      capture_output=True, check=True).stdout
                mt = MT_OCI_LAYER_ZSTD
            else:
                blob, mt = layer, MT_OCI_LAYER
            descs.append({"mediaType": mt, "size": len(blob), "digest": self.put_blob(repo, blob)})
        config = {"architecture": arch, "os": os_name, "created": "2026-11-28T00:00:00Z",
                  "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/bin:/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids},
                  "history": [{"created_by": "registrytools layer %d" % i}
                              for i in range(len(layers))]}
        if config_extra:
            config["config"].update(config_extra)
        cfg = json.dumps(config, sort_keys=True).encode()
        cfg_digest = self.put_blob(repo, cfg)
        manifest = {"schemaVersion": 2,
                    "mediaType": MT_OCI_MANIFEST if oci else MT_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json" if oci
                               else MT_CONFIG, "size": len(cfg), "digest": cfg_digest},
                    "layers": descs}
        body = json.dumps(manifest, indent=3).encode()
        digest = self.put_manifest(repo, tag, body, manifest["mediaType"])
        return digest, body, config

    def put_index(self, repo, tag, entries, oci=True):
        """entries: list of (manifest_digest, manifest_bytes, os, arch[, variant])."""
        mans = []
        for e in entries:
            plat = {"os": e[2], "architecture": e[3]}
            if len(e) > 4 and e[4]:
                plat["variant"] = e[4]
            mans.append({"mediaType": MT_OCI_MANIFEST if oci else MT_MANIFEST,
                         "size": len(e[1]), "digest": e[0], "platform": plat})
        mt = MT_OCI_INDEX if oci else MT_LIST
        body = json.dumps({"schemaVersion": 2, "mediaType": mt, "manifests": mans}).encode()
        return self.put_manifest(repo, tag, body, mt), body

    def get_manifest(self, repo, ref):
        st, h, body = self.request(
            "GET", "/v2/%s/manifests/%s" % (repo, ref),
            headers={"Accept": ", ".join([MT_MANIFEST, MT_LIST, MT_OCI_MANIFEST, MT_OCI_INDEX])},
            scope="repository:%s:pull" % repo)
        return st, h, body


# ---- layer generators ------------------------------------------------------

def tar_layer(files):
    """files: {path: bytes} -> uncompressed tar bytes (deterministic)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path, data in sorted(files.items()):
            ti = tarfile.TarInfo(path)
            ti.size = len(data)
            ti.mode = 0o644
            ti.mtime = 1700000000
            tf.addfile(ti, io.BytesIO(data))
    return out.getvalue()


def random_layer(index, size):
    return tar_layer({"data/layer%d.bin" % index: os.urandom(size)})


# ---- command line ------------------------------------------------------------

def _main(argv):
    import argparse
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("dir")
    s.add_argument("--tls", action="store_true")
    s.add_argument("--htpasswd")
    s.add_argument("--token")
    s.add_argument("--host", default="127.0.0.1")
    p = sub.add_parser("put-image")
    p.add_argument("url")
    p.add_argument("repo")
    p.add_argument("tag")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--layer-kib", type=int, default=64)
    p.add_argument("--compress", default="gzip")
    p.add_argument("--user")
    p.add_argument("--ca")
    p.add_argument("--arch", default="amd64")
    m = sub.add_parser("put-multiarch")
    m.add_argument("url")
    m.add_argument("repo")
    m.add_argument("tag")
    m.add_argument("--user")
    m.add_argument("--ca")
    a = ap.parse_args(argv)
    if a.cmd == "serve":
        token = None
        if a.token:
            u, _, pw = a.token.partition(":")
            token = {u: pw}
        reg = Registry(a.dir, tls=a.tls,
                       htpasswd=tuple(a.htpasswd.split(":", 1)) if a.htpasswd else None,
                       token=token, host=a.host)
        reg.start()
        print(json.dumps({"hostport": reg.hostport, "url": reg.url, "pid": reg.proc.pid,
                          "ca": reg.certs["ca"] if reg.certs else None,
                          "storage": reg.storage}), flush=True)
        try:
            sys.stdin.read()
        finally:
            reg.close()
        return 0
    creds = tuple(a.user.split(":", 1)) if a.user else None
    url = a.url if "://" in a.url else "http://" + a.url
    cl = RegistryClient(url, creds, a.ca)
    if a.cmd == "put-multiarch":
        out = {}
        entries = []
        for arch in ("amd64", "arm64"):
            layer = tar_layer({"etc/arch": arch.encode() + b"\n"})
            d, body, cfg = cl.put_image(a.repo, "%s-%s" % (a.tag, arch), [layer], arch=arch,
                                        oci=True)
            entries.append((d, body, "linux", arch))
            out[arch] = {"digest": d, "config": json.loads(body)["config"]["digest"]}
        out["index"], _ = cl.put_index(a.repo, a.tag, entries)
        print(json.dumps(out), flush=True)
        return 0
    layers = [random_layer(i, a.layer_kib * 1024) for i in range(a.layers)]
    digest, body, _ = cl.put_image(a.repo, a.tag, layers, compress=a.compress, arch=a.arch)
    print(json.dumps({"digest": digest, "manifest": json.loads(body)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
