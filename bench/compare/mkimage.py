#!/usr/bin/python3
"""Write a docker-archive tarball holding busybox:latest built from the host's
/bin/busybox (static), so every engine gets the same image and nothing is pulled.

    mkimage.py OUT.tar [ROOTFS_DIR]   (ROOTFS_DIR: also unpack the rootfs there, for runc)
"""
import hashlib, io, json, os, subprocess, sys, tarfile

BB = "/bin/busybox"


def add(tf, name, kind=tarfile.REGTYPE, data=None, mode=0o755, link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.linkname = kind, mode, 0, link
    ti.size = len(data) if data is not None else 0
    tf.addfile(ti, io.BytesIO(data) if data is not None else None)


def layer():
    bb = open(BB, "rb").read()
    applets = subprocess.run([BB, "--list"], capture_output=True, check=True).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for d in ("bin", "etc", "tmp", "root", "dev", "proc", "sys", "usr", "usr/bin", "var"):
            add(tf, d, tarfile.DIRTYPE, mode=0o1777 if d == "tmp" else 0o755)
        add(tf, "bin/busybox", data=bb)
        for a in applets:
            if a != b"busybox":
                add(tf, "bin/" + a.decode(), tarfile.SYMTYPE, mode=0o777, link="busybox")
        add(tf, "etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n", mode=0o644)
        add(tf, "etc/group", data=b"root:x:0:\n", mode=0o644)
    return buf.getvalue()


def main():
    out = sys.argv[1]
    lay = layer()
    lh = hashlib.sha256(lay).hexdigest()
    cfg = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2026-11-28T00:00:00Z",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + lh]},
        "history": [{"created": "2026-11-28T00:00:00Z", "created_by": "bench busybox"}],
    }, sort_keys=True).encode()
    ch = hashlib.sha256(cfg).hexdigest()
    man = json.dumps([{"Config": ch + ".json", "RepoTags": ["busybox:latest"],
                       "Layers": [lh + "/layer.tar"]}]).encode()
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tf:
        add(tf, ch + ".json", data=cfg, mode=0o644)
        add(tf, lh, tarfile.DIRTYPE)
        add(tf, lh + "/layer.tar", data=lay, mode=0o644)
        add(tf, "manifest.json", data=man, mode=0o644)
    if len(sys.argv) > 2:
        os.makedirs(sys.argv[2], exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(lay)) as tf:
            tf.extractall(sys.argv[2])


main()
