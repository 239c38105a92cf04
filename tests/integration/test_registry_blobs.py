"""Pulled layer blobs are kept as received: save exports tars matching the
diff_ids, push sends the original blobs (mounted / already existing, same
digests in the manifest), load -> save -> load keeps the image ID, and a
daemon killed mid-pull leaves nothing half-imported."""
import hashlib
import io
import json
import os
import tarfile
import threading
import time

import pytest

import registrytools as rt
from conftest import BERTHD, make_image_archive

pytestmark = [
    pytest.mark.skipif(not os.path.exists(BERTHD), reason="berthd not built"),
    pytest.mark.skipif(not rt.available(), reason="docker-registry not installed"),
]


def _sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _save(d, name):
    # Through the docker CLI into a file: the conftest's raw HTTP helper decodes
    # chunked bodies quadratically, far too slow for tens of MiB.
    path = os.path.join(d.base, "save.tar")
    r = d.docker("save", "-o", path, name, timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    with open(path, "rb") as f:
        body = f.read()
    os.unlink(path)
    return body


def _save_layers(archive):
    """docker-archive -> (config dict, [layer tar bytes]) of its single image."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))
        assert len(manifest) == 1
        config = json.load(tf.extractfile(manifest[0]["Config"]))
        layers = [tf.extractfile(p).read() for p in manifest[0]["Layers"]]
    return config, layers


def _layer_digests(cl, repo, tag):
    st, _, body = cl.get_manifest(repo, tag)
    assert st == 200, body
    m = json.loads(body)
    return [(l["digest"], l["size"], l["mediaType"]) for l in m["layers"]]


def _push(d, name):
    r = d.docker("push", name)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode() + out
    return out


@pytest.mark.parametrize("compress", ["gzip", "zstd"])
def test_save_after_pull_gives_diff_id_tars(berthd, registry, compress):
    reg = registry()
    cl = reg.client()
    layers = [rt.tar_layer({"a/one.txt": b"one" * 1000}),
              rt.tar_layer({"b/two.bin": os.urandom(200 * 1024)})]
    cl.put_image("keep/img", "v1", layers, compress=compress)
    name = "%s/keep/img:v1" % reg.hostport
    r = berthd.docker("pull", name)
    assert r.returncode == 0, r.stderr.decode()
    config, saved = _save_layers(_save(berthd, name))
    assert [_sha(t) for t in saved] == config["rootfs"]["diff_ids"]
    assert saved == layers  # byte for byte the tars behind the pulled blobs


def test_push_after_pull_keeps_original_blobs(berthd, registry):
    reg = registry()
    cl = reg.client()
    layers = [rt.random_layer(i, 100 * 1024) for i in range(3)]
    cl.put_image("orig/img", "v1", layers, compress="gzip")
    orig = _layer_digests(cl, "orig/img", "v1")
    src = "%s/orig/img:v1" % reg.hostport
    assert berthd.docker("pull", src).returncode == 0

    # Another repository of the same registry: mounted, nothing uploaded.
    dst = "%s/other/copy:v2" % reg.hostport
    assert berthd.docker("tag", src, dst).returncode == 0
    out = _push(berthd, dst)
    assert out.count("Mounted from orig/img") == 3, out
    assert "Pushed" not in out
    assert _layer_digests(cl, "other/copy", "v2") == orig
    out = _push(berthd, dst)
    assert out.count("Layer already exists") == 3, out

    # A registry that has none of the blobs: the kept bytes go up unchanged.
    reg2 = registry()
    dst2 = "%s/fresh/copy:v3" % reg2.hostport
    assert berthd.docker("tag", src, dst2).returncode == 0
    out = _push(berthd, dst2)
    assert out.count("Pushed") == 3, out
    assert _layer_digests(reg2.client(), "fresh/copy", "v3") == orig

    # The blob metadata survives a restart.
    berthd.restart()
    dst3 = "%s/third/copy:v4" % reg.hostport
    assert berthd.docker("tag", src, dst3).returncode == 0
    out = _push(berthd, dst3)
    assert "Pushed" not in out, out
    assert _layer_digests(cl, "third/copy", "v4") == orig


def test_load_save_load_keeps_id_and_push_compresses_once(daemon_factory, registry):
    reg = registry()
    d = daemon_factory()
    layers = [rt.tar_layer({"x/%d" % i: os.urandom(50 * 1024)}) for i in range(2)]
    st, _, body = d.request("POST", "/images/load?quiet=1",
                            body=make_image_archive(tags=("loaded:1",), layers=layers),
                            headers={"Content-Type": "application/x-tar"}, timeout=60)
    assert st == 200 and b"errorDetail" not in body, body
    image_id = d.docker("image", "inspect", "-f", "{{.Id}}", "loaded:1").stdout.decode().strip()
    archive = _save(d, "loaded:1")
    config, saved = _save_layers(archive)
    assert saved == layers

    other = daemon_factory()
    st, _, body = other.request("POST", "/images/load?quiet=1", body=archive,
                                headers={"Content-Type": "application/x-tar"}, timeout=60)
    assert st == 200 and b"errorDetail" not in body, body
    again = other.docker("image", "inspect", "-f", "{{.Id}}", "loaded:1").stdout.decode().strip()
    assert again == image_id

    # No blob yet: the first push gzips the layers, later pushes send the same bytes.
    name = "%s/loaded/img:1" % reg.hostport
    assert d.docker("tag", "loaded:1", name).returncode == 0
    out = _push(d, name)
    assert out.count("Pushed") == 2, out
    first = _layer_digests(reg.client(), "loaded/img", "1")
    assert all(mt.endswith("diff.tar.gzip") for _, _, mt in first)
    reg2 = registry()
    name2 = "%s/loaded/img:1" % reg2.hostport
    assert d.docker("tag", "loaded:1", name2).returncode == 0
    _push(d, name2)
    assert _layer_digests(reg2.client(), "loaded/img", "1") == first
    # After the push, save still gives the exact tars (diff_ids unchanged).
    _, saved = _save_layers(_save(d, "loaded:1"))
    assert saved == layers
    # And the pushed image pulls back with the same ID.
    fresh = daemon_factory()
    assert fresh.docker("pull", name2).returncode == 0
    got = fresh.docker("image", "inspect", "-f", "{{.Id}}", name2).stdout.decode().strip()
    assert got == image_id


def test_kill9_mid_pull_leaves_nothing_half_imported(daemon_factory, registry):
    reg = registry()
    cl = reg.client()
    layers = [rt.random_layer(i, 16 * 1024 * 1024) for i in range(3)]
    cl.put_image("big/img", "v1", layers, compress="gzip")
    name = "%s/big/img:v1" % reg.hostport
    d = daemon_factory()
    api = d.client().api
    seen = threading.Event()

    def pull():
        try:
            for m in api.pull(name, stream=True, decode=True):
                # Mid-download: some bytes in, most not (a fast machine
                # finishes 3x16 MiB within a few tens of ms).
                p = m.get("progressDetail") or {}
                if m.get("status") == "Downloading" and 0 < p.get("current", 0) < p.get(
                        "total", 0) // 2:
                    seen.set()
        except Exception:
            pass

    t = threading.Thread(target=pull, daemon=True)
    t.start()
    assert seen.wait(60)
    d.kill9()
    t.join(30)
    d.start()
    assert d.docker("image", "inspect", name).returncode != 0
    image_root = os.path.join(d.data_root, "image")
    tmp = os.path.join(image_root, "tmp")
    deadline = time.time() + 10
    while os.path.isdir(tmp) and os.listdir(tmp) and time.time() < deadline:
        time.sleep(0.1)  # leftovers are removed at open (possibly in a child)
    assert not os.path.isdir(tmp) or os.listdir(tmp) == []
    # Every placed layer is complete: metadata, and a blob only with its record.
    layers_dir = os.path.join(image_root, "layers")
    for chain in os.listdir(layers_dir) if os.path.isdir(layers_dir) else []:
        files = os.listdir(os.path.join(layers_dir, chain))
        assert "layer.json" in files, files
        assert ("layer.blob" in files) == ("blob.json" in files), files
    r = d.docker("pull", name)
    assert r.returncode == 0, r.stderr.decode()
    config, saved = _save_layers(_save(d, name))
    assert saved == layers
