"""Image API: load/save/list/inspect/tag/delete/prune/history through the
docker CLI, docker-py and raw HTTP; crash safety; hostile archives."""
import io
import json
import os
import subprocess
import tempfile

import pytest

from conftest import make_image_archive, needs_docker, BERTHD
from imagetools import (archive_with_layer, image_dir_entries, json_lines, layer_diff_dirs,
                        load, tmp_drained)

pytestmark = pytest.mark.skipif(not os.path.exists(BERTHD), reason="berthd not built yet")


def images_json(d, query=""):
    status, _, body = d.request("GET", "/images/json" + query)
    assert status == 200, body
    return json.loads(body)


# ---- raw API ------------------------------------------------------------------

def test_load_list_inspect_history(busybox_daemon):
    d = busybox_daemon
    imgs = images_json(d)
    assert len(imgs) == 1
    img = imgs[0]
    assert img["RepoTags"] == ["busybox:latest"]
    assert img["Id"].startswith("sha256:") and len(img["Id"]) == 71
    assert img["Size"] > 1000000 and img["SharedSize"] == -1 and img["Containers"] == -1
    assert "VirtualSize" not in img
    old = json.loads(d.request("GET", "/v1.41/images/json")[2])
    assert old[0]["VirtualSize"] == old[0]["Size"]

    status, _, body = d.request("GET", "/images/busybox/json")
    assert status == 200, body
    ins = json.loads(body)
    assert ins["Id"] == img["Id"]
    assert ins["RootFS"]["Type"] == "layers" and len(ins["RootFS"]["Layers"]) == 1
    assert ins["Config"]["Cmd"] == ["sh"]
    assert isinstance(ins["ContainerConfig"], dict)
    assert ins["GraphDriver"]["Name"] == "overlay2"
    assert ins["Os"] == "linux" and ins["Architecture"] == "amd64"
    assert os.path.isfile(os.path.join(ins["GraphDriver"]["Data"]["UpperDir"], "bin/busybox"))
    # short id and sha256: prefix lookups
    for name in (img["Id"][7:19], img["Id"], "sha256:" + img["Id"][7:15]):
        assert d.request("GET", "/images/%s/json" % name)[0] == 200

    status, _, body = d.request("GET", "/images/busybox/history")
    assert status == 200
    hist = json.loads(body)
    assert hist[0]["Id"] == img["Id"] and hist[0]["Tags"] == ["busybox:latest"]


def test_not_found_texts(berthd):
    status, hdrs, body = berthd.request("GET", "/images/nope/json")
    assert status == 404
    assert hdrs["content-type"] == "application/json"
    assert json.loads(body)["message"] == "No such image: nope:latest"
    status, _, body = berthd.request("DELETE", "/images/nope:1")
    assert status == 404 and json.loads(body)["message"] == "No such image: nope:1"


def test_tag_untag_delete_conflict(busybox_daemon):
    d = busybox_daemon
    img_id = images_json(d)[0]["Id"]
    status, _, body = d.request("POST", "/images/busybox/tag?repo=localhost:5000/a/b&tag=t1")
    assert status == 201, body
    status, _, body = d.request("POST", "/images/busybox/tag?repo=Bad&tag=x")
    assert status == 400
    tags = sorted(images_json(d)[0]["RepoTags"])
    assert tags == ["busybox:latest", "localhost:5000/a/b:t1"]
    status, _, body = d.request("DELETE", "/images/" + img_id[7:19])
    assert status == 409
    assert "referenced in multiple repositories" in json.loads(body)["message"]
    status, _, body = d.request("DELETE", "/images/localhost:5000/a/b:t1")
    assert status == 200
    assert json.loads(body) == [{"Untagged": "localhost:5000/a/b:t1"}]
    status, _, body = d.request("DELETE", "/images/busybox")
    assert status == 200
    rep = json.loads(body)
    assert rep[0] == {"Untagged": "busybox:latest"}
    assert {"Deleted": img_id} in rep
    assert images_json(d) == []
    assert image_dir_entries(d, "layers") == []


def test_prune_dangling(busybox_daemon):
    d = busybox_daemon
    img_id = images_json(d)[0]["Id"]
    status, _, body = d.request("POST", "/images/prune")
    assert status == 200 and json.loads(body)["ImagesDeleted"] is None
    # re-load under a different config so the first becomes dangling
    arch = make_image_archive(tags=("busybox:latest",), config_extra={"Cmd": ["true"]})
    assert load(d, arch)[0] == 200
    dangling = images_json(d, '?filters={"dangling":["true"]}')
    assert [i["Id"] for i in dangling] == [img_id]
    status, _, body = d.request("POST", "/images/prune?filters=%7B%22dangling%22%3A%5B%22true%22%5D%7D")
    out = json.loads(body)
    assert {"Deleted": img_id} in out["ImagesDeleted"]
    assert out["SpaceReclaimed"] == 0  # the layer is shared with the new image
    assert len(images_json(d)) == 1


def test_garbage_load_is_rejected(berthd):
    status, body = load(berthd, b"this is not a tar file" * 100)
    assert status >= 400 or b"errorDetail" in body
    assert images_json(berthd) == []
    assert tmp_drained(berthd)


@pytest.mark.parametrize("members,needle", [
    ([{"name": "../pwned"}], "escapes the layer"),
    ([{"name": "a/../../pwned"}], "escapes the layer"),
    ([{"name": "esc", "type": "symlink", "target": "/tmp"},
      {"name": "esc/berth-pwned-symlink"}], "symlink"),
    ([{"name": "up", "type": "symlink", "target": "../../../../../../tmp"},
      {"name": "up/berth-pwned-symlink"}], "symlink"),
    ([{"name": "h", "type": "hardlink", "target": "../../../../etc/passwd"}], "escapes the layer"),
    ([{"name": "l", "type": "symlink", "target": "/etc"},
      {"name": "h", "type": "hardlink", "target": "l/passwd"}], "symlink"),
])
def test_hostile_layers(berthd, members, needle):
    status, body = load(berthd, archive_with_layer(members))
    text = body.decode(errors="replace")
    assert status >= 400 or "errorDetail" in text, text
    assert needle in text
    assert not os.path.exists("/tmp/berth-pwned-symlink")
    assert images_json(berthd) == []
    assert tmp_drained(berthd)
    assert image_dir_entries(berthd, "layers") == []


def test_absolute_paths_stay_inside_the_layer(berthd):
    # Docker strips the leading "/" of tar names; so do we.
    status, body = load(berthd, archive_with_layer([{"name": "/tmp/berth-abs-test", "data": b"in"}]))
    assert status == 200, body
    assert not os.path.exists("/tmp/berth-abs-test")
    dirs = layer_diff_dirs(berthd)
    assert len(dirs) == 1
    with open(os.path.join(dirs[0], "tmp/berth-abs-test"), "rb") as f:
        assert f.read() == b"in"


def test_whiteouts_become_overlay_whiteouts(berthd):
    members = [{"name": "etc", "type": "dir"}, {"name": "etc/.wh.passwd", "data": b""},
               {"name": "opq", "type": "dir"}, {"name": "opq/.wh..wh..opq", "data": b""}]
    status, body = load(berthd, archive_with_layer(members))
    assert status == 200, body
    diff = layer_diff_dirs(berthd)[0]
    st = os.lstat(os.path.join(diff, "etc/passwd"))
    import stat
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(os.path.join(diff, "opq"), "trusted.overlay.opaque") == b"y"


def test_kill9_after_load_keeps_image(busybox_daemon):
    d = busybox_daemon
    before = images_json(d)
    d.kill9()
    d.start()
    assert images_json(d) == before
    assert d.request("GET", "/images/busybox:latest/json")[0] == 200


def test_kill9_during_load_leaves_nothing(busybox_daemon, busybox_tar):
    import socket
    d = busybox_daemon
    before = images_json(d)
    data = make_image_archive(tags=("other:1",), config_extra={"Cmd": ["echo", "x"]})
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.sock)
    s.sendall(("POST /images/load HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\n"
               "Content-Length: %d\r\n\r\n" % len(data)).encode() + data[:len(data) // 2])
    import time
    time.sleep(0.3)
    d.kill9()
    s.close()
    d.start()
    assert images_json(d) == before
    assert tmp_drained(d)


# ---- docker CLI ---------------------------------------------------------------

@needs_docker
def test_docker_cli_load_images_tag_rmi(berthd, busybox_tar):
    d = berthd
    r = d.docker("load", "-i", busybox_tar)
    assert r.returncode == 0, r.stderr
    assert b"Loaded image: busybox:latest" in r.stdout
    r = d.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().startswith("busybox:latest ")
    assert d.docker("tag", "busybox", "foo/bar:2").returncode == 0
    r = d.docker("image", "inspect", "--format", "{{json .RepoTags}}", "foo/bar:2")
    assert sorted(json.loads(r.stdout)) == ["busybox:latest", "foo/bar:2"]
    r = d.docker("rmi", "foo/bar:2")
    assert r.returncode == 0 and b"Untagged: foo/bar:2" in r.stdout
    r = d.docker("rmi", "nope")
    assert r.returncode != 0 and b"No such image: nope:latest" in r.stderr


@needs_docker
def test_docker_save_load_roundtrip(daemon_factory, busybox_tar):
    a = daemon_factory()
    b = daemon_factory()
    assert a.docker("load", "-i", busybox_tar).returncode == 0
    img_id = a.docker("image", "inspect", "--format", "{{.Id}}", "busybox").stdout.strip()
    with tempfile.NamedTemporaryFile(suffix=".tar") as f:
        r = a.docker("save", "-o", f.name, "busybox:latest")
        assert r.returncode == 0, r.stderr
        r = b.docker("load", "-i", f.name)
        assert r.returncode == 0, r.stderr
        assert b"Loaded image: busybox:latest" in r.stdout
    assert b.docker("image", "inspect", "--format", "{{.Id}}", "busybox").stdout.strip() == img_id


# ---- docker-py ----------------------------------------------------------------

def test_docker_py_images_api(berthd, busybox_tar):
    c = berthd.client()
    with open(busybox_tar, "rb") as f:
        loaded = c.images.load(f.read())
    assert [i.tags for i in loaded] == [["busybox:latest"]]
    img = c.images.get("busybox")
    assert img.tags == ["busybox:latest"]
    assert img.tag("docker.io/me/copy", "v1")
    assert "me/copy:v1" in c.images.get("me/copy:v1").tags
    assert len(c.images.list()) == 1
    assert [i.id for i in c.images.list(name="me/copy")] == [img.id]
    data = b"".join(img.save(named=True))
    assert len(data) > 1000000
    c.images.remove("me/copy:v1")
    c.images.remove("busybox:latest")
    assert c.images.list() == []
    import docker
    with pytest.raises(docker.errors.ImageNotFound):
        c.images.get("busybox")
    loaded = c.images.load(data)
    assert loaded[0].id == img.id


def test_blob_named_members_are_verified(berthd):
    """A layer stored as blobs/sha256/<hex> must hash to <hex>."""
    import hashlib
    import tarfile
    from imagetools import layer_tar
    layer = layer_tar([{"name": "a", "data": b"hello"}])
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    cfg_hex = hashlib.sha256(cfg).hexdigest()
    wrong = "0" * 64
    manifest = json.dumps([{"Config": "blobs/sha256/" + cfg_hex, "RepoTags": ["x:1"],
                            "Layers": ["blobs/sha256/" + wrong]}]).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        for name, data in (("blobs/sha256/" + cfg_hex, cfg), ("blobs/sha256/" + wrong, layer),
                           ("manifest.json", manifest)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    status, body = load(berthd, out.getvalue())
    assert status >= 400, body
    assert b"digest mismatch" in body
    assert images_json(berthd) == []
    assert tmp_drained(berthd)
    assert image_dir_entries(berthd, "layers") == []


def test_non_quiet_load_streams_progress(berthd, busybox_tar):
    with open(busybox_tar, "rb") as f:
        status, body = load(berthd, f.read(), quiet=False)
    assert status == 200, body
    msgs = json_lines(body)
    assert msgs[0]["status"] == "Loading layer" and len(msgs[0]["id"]) == 12
    assert msgs[0]["progressDetail"]["current"] == msgs[0]["progressDetail"]["total"]
    assert msgs[-1] == {"stream": "Loaded image: busybox:latest\n"}
    # an error after progress began arrives as errorDetail in the stream
    from imagetools import layer_tar
    bad_layer = layer_tar([{"name": "../escape"}])
    two = make_image_archive(tags=("two:1",), layers=[layer_tar([{"name": "ok"}]), bad_layer])
    status, body = load(berthd, two, quiet=False)
    text = body.decode()
    assert ("errorDetail" in text and status == 200) or status == 400, text
    assert "escapes the layer" in text
    assert [i for i in images_json(berthd) if "two:1" in i["RepoTags"]] == []


def test_client_gone_mid_upload(busybox_daemon):
    import socket
    import time
    d = busybox_daemon
    data = make_image_archive(tags=("gone:1",), config_extra={"Cmd": ["gone"]})
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(d.sock)
    s.sendall(("POST /images/load HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\n"
               "Content-Length: %d\r\n\r\n" % len(data)).encode() + data[:len(data) // 3])
    time.sleep(0.3)
    s.close()
    assert tmp_drained(d)
    assert [i["RepoTags"] for i in images_json(d)] == [["busybox:latest"]]
    # the daemon still works
    assert load(d, make_image_archive(tags=("after:1",)))[0] == 200
