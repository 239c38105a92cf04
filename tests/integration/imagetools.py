"""Helpers for image tests: layer tars (including hostile ones) and
docker-archives around them, built with tarfile."""
import io
import json
import os
import tarfile

from conftest import make_image_archive


def layer_tar(members):
    """members: list of dicts {name, type: file|dir|symlink|hardlink, data, target, mode}."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for m in members:
            ti = tarfile.TarInfo(m["name"])
            ti.mtime = 1700000000
            ti.mode = m.get("mode", 0o644)
            kind = m.get("type", "file")
            data = None
            if kind == "file":
                data = m.get("data", b"x")
                ti.size = len(data)
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = m.get("mode", 0o755)
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = m["target"]
            elif kind == "hardlink":
                ti.type = tarfile.LNKTYPE
                ti.linkname = m["target"]
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def archive_with_layer(members, tag="hostile:latest"):
    return make_image_archive(tags=(tag,), layers=[layer_tar(members)])


def load(daemon, data, quiet=True):
    """POST /images/load; returns (status, body bytes)."""
    status, _, body = daemon.request("POST", "/images/load?quiet=%d" % int(quiet), body=data,
                                     headers={"Content-Type": "application/x-tar"}, timeout=60)
    return status, body


def json_lines(body):
    return [json.loads(l) for l in body.decode().splitlines() if l.strip()]


def image_dir_entries(daemon, sub):
    path = os.path.join(daemon.data_root, "image", sub)
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


def layer_diff_dirs(daemon):
    return [os.path.join(daemon.data_root, "image", "layers", h, "diff")
            for h in image_dir_entries(daemon, "layers")]


def tmp_drained(daemon, timeout=10.0):
    """True once the store's tmp/ is empty (temp data is removed by a helper
    process after the reply, so give it a moment)."""
    import time
    deadline = time.time() + timeout
    while time.time() < deadline:
        if image_dir_entries(daemon, "tmp") == []:
            return True
        time.sleep(0.05)
    return image_dir_entries(daemon, "tmp") == []
