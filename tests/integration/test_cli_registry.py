"""berth pull/push/login/logout against Debian's docker-registry."""
import base64
import json
import os
import shutil

import pytest

import registrytools as rt
from conftest import BERTH, BERTHD, make_image_archive

pytestmark = [
    pytest.mark.skipif(not (os.path.exists(BERTHD) and os.path.exists(BERTH)),
                       reason="berthd/berth not built"),
    pytest.mark.skipif(not rt.available(), reason="docker-registry not installed"),
]


def _need_registry_api(d):
    st, _, body = d.request("POST", "/images/create?fromImage=127.0.0.1%3A1%2Fx&tag=y")
    if b"127.0.0.1:1" not in body:
        pytest.skip("registry endpoints not wired in this berthd (%d %r)" % (st, body[:100]))


def _load(d, tags):
    st, _, body = d.request("POST", "/images/load?quiet=1", body=make_image_archive(tags=tags),
                            headers={"Content-Type": "application/x-tar"}, timeout=60)
    assert st == 200, body


def test_push_pull_plain(berthd, registry):
    reg = registry()
    _need_registry_api(berthd)
    name = "%s/cli/bb:1" % reg.hostport
    _load(berthd, [name])
    r = berthd.berth("push", name)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    assert "The push refers to repository [%s/cli/bb]" % reg.hostport in out
    assert "digest: sha256:" in out
    r = berthd.berth("rmi", name)
    assert r.returncode == 0, r.stderr
    r = berthd.berth("pull", name)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    assert "Pull complete" in out or "Already exists" in out
    assert "Status: Downloaded newer image for %s" % name in out
    r = berthd.berth("images", "--format", "{{.Repository}}:{{.Tag}}")
    assert name in r.stdout.decode().split()
    r = berthd.berth("pull", "-q", name)
    assert r.returncode == 0
    assert r.stdout.decode().strip() == name
    # Errors: a tag that does not exist.
    r = berthd.berth("pull", "%s/cli/bb:nope" % reg.hostport)
    assert r.returncode != 0
    assert r.stderr.strip()


def test_login_push_pull_with_stored_auth(daemon_factory, registry):
    reg = registry(tls=True, htpasswd=("alice", "s3cret"))
    d = daemon_factory()
    _need_registry_api(d)
    r = d.berth("login", "-u", "alice", "--password-stdin", reg.hostport, input=b"wrong\n")
    assert r.returncode == 1
    assert r.stderr.decode().startswith("Error response from daemon:")
    cfg = os.path.join(d.docker_config, "config.json")
    assert not os.path.exists(cfg) or reg.hostport not in open(cfg).read()
    r = d.berth("login", "-u", "alice", "--password-stdin", reg.hostport, input=b"s3cret\n")
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode().strip() == "Login Succeeded"
    with open(cfg) as f:
        auths = json.load(f)["auths"]
    assert base64.b64decode(auths[reg.hostport]["auth"]) == b"alice:s3cret"

    name = "%s/private/bb:1" % reg.hostport
    _load(d, [name])
    r = d.berth("push", name)
    assert r.returncode == 0, r.stderr.decode()

    fresh = daemon_factory()
    r = fresh.berth("pull", name)
    assert r.returncode != 0  # no stored login for this client config
    # The same config.json (as docker writes it) gives the credentials.
    shutil.copy(cfg, os.path.join(fresh.docker_config, "config.json"))
    r = fresh.berth("pull", name)
    assert r.returncode == 0, r.stderr.decode()

    r = fresh.berth("logout", reg.hostport)
    assert r.returncode == 0
    assert "Removing login credentials for %s" % reg.hostport in r.stdout.decode()
    with open(os.path.join(fresh.docker_config, "config.json")) as f:
        assert reg.hostport not in json.load(f).get("auths", {})
    r = fresh.berth("logout", reg.hostport)
    assert "Not logged in to %s" % reg.hostport in r.stdout.decode()
