"""-t: the terminal comes from the container's own devpts, like Docker's:
tty(1) names a /dev/pts/N that exists inside, /dev/console is that pty, and
exec -t gets another pty of the same instance."""
import fcntl
import os
import pty
import struct
import termios

from conftest import DOCKER, needs_docker
from test_containers import d, out  # noqa: F401  (fixture reuse)
from test_containers_lifecycle import read_until

PROBE = ("t=$(tty); echo tty=$t; [ -c \"$t\" ] && echo exists; "
         "stat -c dev=%t:%T \"$t\" /dev/console; ls /dev/pts | tr '\\n' ' '; echo; stty size")


def _docker_in_pty(d, args, rows=24, cols=80):
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(DOCKER, [DOCKER] + args, d.env())
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    buf = read_until(fd, b"", b"<until EOF>", timeout=20)
    _, status = os.waitpid(pid, 0)
    return buf.decode(errors="replace").replace("\r\n", "\n"), os.WEXITSTATUS(status)


def _check_probe(text, want_tty):
    lines = text.splitlines()
    assert "tty=" + want_tty in lines, text
    assert "exists" in lines, text  # the path is there inside the container
    devs = [l for l in lines if l.startswith("dev=")]
    return devs


@needs_docker
def test_run_it_tty_is_a_pts_of_the_container(d):
    text, rc = _docker_in_pty(d, ["run", "--rm", "-it", "busybox", "sh", "-c", PROBE],
                              rows=31, cols=97)
    assert rc == 0, text
    devs = _check_probe(text, "/dev/pts/0")
    assert len(devs) == 2 and devs[0] == devs[1], text  # /dev/console is the same pty
    assert "0 ptmx " in text
    assert "31 97" in text


@needs_docker
def test_exec_it_tty_is_a_pts_of_the_container(d):
    assert d.docker("run", "-d", "-t", "--name", "ttyhost", "busybox", "sleep", "60").returncode == 0
    text, rc = _docker_in_pty(d, ["exec", "-it", "ttyhost", "sh", "-c", PROBE], rows=40, cols=120)
    assert rc == 0, text
    _check_probe(text, "/dev/pts/1")  # pts/0 is the container's own console
    assert "0 1 ptmx " in text and "40 120" in text
    # without -t there is no terminal
    r = d.docker("exec", "ttyhost", "tty")
    assert out(r).strip() == "not a tty"
    # the exec's pty is gone once it ended
    assert out(d.docker("exec", "ttyhost", "ls", "/dev/pts")).split() == ["0", "ptmx"]
