"""berthd stays lean: libarchive, libcurl and libcrypto are not mapped at
start (image work runs in berth-imagejob, curl and crypto come by dlopen when
first needed), and a missing helper or library gives a clear error."""
import os

from conftest import make_image_archive

HEAVY = ("libarchive", "libcurl", "libcrypto", "libssl", "libxml2", "libicu")


def mapped_libs(d):
    with open("/proc/%d/maps" % d.proc.pid) as f:
        return {os.path.basename(line.split()[-1]) for line in f
                if len(line.split()) >= 6 and ".so" in line.split()[-1]}


def heavy(d):
    return sorted(lib for lib in mapped_libs(d) if lib.startswith(HEAVY))


def load(d, tags=("busybox:latest",)):
    return d.request("POST", "/images/load?quiet=1", body=make_image_archive(tags=tags),
                     headers={"Content-Type": "application/x-tar"}, timeout=60)


def test_start_maps_no_heavy_libraries(daemon_factory):
    d = daemon_factory()
    assert any(lib.startswith("libuv.so") for lib in mapped_libs(d))
    assert heavy(d) == []
    st, _, body = load(d)
    assert st == 200 and b"errorDetail" not in body, body
    # the helper did the unpacking: libarchive never entered berthd
    assert not any(lib.startswith("libarchive") for lib in mapped_libs(d))
    # a restart over a store that holds the image hashes nothing
    d.stop()
    d.start()
    assert d.docker("images").returncode == 0
    st, _, body = d.request("GET", "/images/json")
    assert st == 200 and b"busybox:latest" in body
    assert heavy(d) == []


def test_missing_imagejob_helper_is_a_clear_error(daemon_factory, monkeypatch):
    monkeypatch.setenv("BERTH_IMAGEJOB", "/nonexistent/berth-imagejob")
    d = daemon_factory()
    # small body: the daemon answers before reading it
    st, _, body = d.request("POST", "/images/load?quiet=1", body=b"\0" * 10240,
                            headers={"Content-Type": "application/x-tar"})
    assert st == 500, (st, body)
    assert b"image helper /nonexistent/berth-imagejob" in body, body
    st, _, body = d.request("GET", "/images/json")
    assert st == 200 and body.strip() == b"[]"
    assert os.listdir(os.path.join(d.data_root, "image", "tmp")) == []


def test_missing_libcurl_is_a_clear_error(daemon_factory, monkeypatch):
    monkeypatch.setenv("BERTH_LIBCURL", "/nonexistent/libcurl.so.4")
    d = daemon_factory()
    st, _, body = d.request("POST", "/images/create?fromImage=127.0.0.1%3A1%2Fx&tag=y")
    assert b"registry support unavailable" in body, (st, body)
    assert st == 500, (st, body)
    assert d.request("GET", "/_ping")[0] == 200
    assert not any(lib.startswith("libcurl") for lib in mapped_libs(d))
