"""``profkit view``: snakeviz on 127.0.0.1 only, stopped cleanly by Ctrl-C, bad input in one line."""

from __future__ import annotations

import shutil
import signal
import socket
import urllib.error
import urllib.request

import psutil
import pytest

import profkit
from tests.fixtures import counting
from tests.fixtures.cli import one_line_error, run_main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny real run with sequential and threads profiles."""
    out = tmp_path_factory.mktemp("view") / "run"
    profkit.profile(counting.WORKLOAD, modes="sequential,threads", workers=2, repeat=1, out=out,
                    line_budget=0.01)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _non_loopback_ipv4() -> list[str]:
    return [a.address for addrs in psutil.net_if_addrs().values() for a in addrs
            if a.family == socket.AF_INET and not a.address.startswith("127.")]


@pytest.fixture
def viewer(viewers, run_dir):
    """Start ``profkit view ARGS`` beside the run; each is ended when the test ends, pass or fail."""
    return lambda *args: viewers(*args, cwd=run_dir.parent)


@pytest.mark.matrix
@pytest.mark.timeout(120)
def test_serves_on_loopback_only_and_stops_on_ctrl_c(viewer, run_dir):
    port = _free_port()
    v = viewer(run_dir, "--mode", "sequential", "--no-browser", "--port", str(port))
    line = v.wait_for("snakeviz is serving")
    url = line.split(" at ", 1)[1].strip()
    assert url.startswith(f"http://127.0.0.1:{port}/snakeviz/")
    assert "sequential.prof" in line

    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        body = response.read().decode("utf-8", "replace")
    assert "SnakeViz" in body and "<title>sequential</title>" in body
    assert "helper" in body  # the profile's own functions are in the page's data

    server = v.server()  # this viewer's own child: other snakeviz servers may run on the machine
    listening = [c for c in server.net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
    assert listening and {c.laddr.ip for c in listening} == {"127.0.0.1"}
    for address in _non_loopback_ipv4():
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=3):
            pass

    v.process.send_signal(signal.SIGINT)
    assert v.process.wait(timeout=30) == 0
    assert "Traceback" not in v.process.stderr.read()
    assert not server.is_running() or server.status() == psutil.STATUS_ZOMBIE
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=3):
        pass


@pytest.mark.timeout(120)
def test_keeps_serving_after_many_failing_requests(viewer, run_dir):
    """snakeviz logs a traceback for each failing request; an unread stderr pipe would fill
    (64 KiB, about 45 tracebacks) and freeze the server."""
    v = viewer(run_dir, "--mode", "threads", "--no-browser")
    url = v.wait_for("snakeviz is serving").split(" at ", 1)[1].strip()
    bad = url.rsplit("/snakeviz/", 1)[0] + "/snakeviz/%2Fno%2Fsuch%2Ffile.prof"
    for _ in range(80):
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(bad, timeout=10)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200


@pytest.mark.timeout(60)
def test_busy_port_is_refused(run_dir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        error = one_line_error(run_main("view", run_dir, "--no-browser", "--port", str(port),
                                        cwd=run_dir.parent))
    assert f"port {port}" in error and "busy" in error


@pytest.mark.timeout(60)
@pytest.mark.parametrize("port", ["70000", "0", "-1", "http"])
def test_bad_port_is_one_line(run_dir, port):
    error = one_line_error(run_main("view", run_dir, "--no-browser", "--port", port, cwd=run_dir.parent))
    assert "--port" in error


@pytest.mark.timeout(60)
def test_corrupt_profile_is_one_line(run_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    (broken / "profiles" / "sequential.prof").write_bytes(b"this is not marshal data")
    error = one_line_error(run_main("view", broken, "--mode", "sequential", "--no-browser", cwd=tmp_path))
    assert "sequential.prof" in error and "not a cProfile stats file" in error


@pytest.mark.timeout(60)
def test_unknown_mode_is_one_line(run_dir):
    error = one_line_error(run_main("view", run_dir, "--mode", "processes", "--no-browser",
                                    cwd=run_dir.parent))
    assert "no profile (.prof) for mode 'processes'" in error and "sequential, threads" in error


@pytest.mark.timeout(60)
def test_not_a_run_is_one_line(tmp_path):
    error = one_line_error(run_main("view", tmp_path, "--no-browser", cwd=tmp_path))
    assert "no run.json" in error
