"""profkit used by a hostile or unlucky user. Real run folders, real subprocesses.

Each test plants one hostile input (a run folder, a target, a workload) and checks that profkit
refuses it in one line, or runs it without harm.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import pickle
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.fixtures.cli import cli_env, one_line_error, run_cli, run_main

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def saved(small_primes_run, tmp_path) -> Path:
    """A private copy of a real run (sequential, threads, processes) to tamper with."""
    copy = tmp_path / "run"
    shutil.copytree(small_primes_run.path, copy)
    return copy


def _edit_run_json(run_dir: Path, **changes: object) -> dict:
    data = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    data.update(changes)
    (run_dir / "run.json").write_text(json.dumps(data), encoding="utf-8")
    return data


# -- opening a run never unpickles ----------------------------------------------


class _Payload:
    """A pickle that, when loaded, creates a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_lprof_leaves_no_trace(saved, tmp_path, viewers):
    """report, lines, compare, view and profkit.load open the run; none runs the pickle."""
    marker = tmp_path / "PWNED"
    for lprof in (saved / "lines").glob("*.lprof"):
        lprof.write_bytes(pickle.dumps(_Payload(marker)))
    other = tmp_path / "other"
    shutil.copytree(saved, other)

    outputs = [
        run_cli("report", saved, cwd=tmp_path),
        run_cli("lines", saved, "--mode", "processes", cwd=tmp_path),
        run_cli("compare", saved, other, "--no-html", cwd=tmp_path),
        subprocess.run([sys.executable, "-c", f"import profkit; profkit.load({str(saved)!r})"],
                       env=cli_env(), capture_output=True, text=True, timeout=120),
    ]
    view = viewers(saved, "--no-browser", cwd=tmp_path)  # ended by the fixture, pass or fail
    view.wait_for("snakeviz is serving")
    view.process.send_signal(signal.SIGINT)
    assert view.process.wait(timeout=30) == 0
    for result in outputs:
        assert result.returncode == 0, result.stderr
    assert not marker.exists(), "opening the run ran the .lprof pickle"
    lines = outputs[1].stdout
    assert "is_prime" in lines and "if n % i == 0:" in lines  # read from frames/lines.parquet


def test_load_keeps_line_data_in_the_frame_not_line_stats(saved):
    import profkit

    run = profkit.load(saved)
    assert run.line_stats == {}
    assert set(run.lines["mode"]) == {"sequential", "threads", "processes"}


# -- artifact paths stay inside the run folder ----------------------------------


@pytest.mark.parametrize("where", ["absolute", "dotdot", "memory-and-trace", "symlink"])
def test_artifact_paths_outside_the_run_are_refused(saved, tmp_path, where):
    other = tmp_path / "other"
    shutil.copytree(saved, other)
    data = json.loads((saved / "run.json").read_text())
    if where == "absolute":
        data["artifacts"]["profiles"]["sequential"] = str(other / "profiles" / "sequential.prof")
        data["artifacts"]["lines"]["sequential"] = "/etc/passwd"
    elif where == "dotdot":
        data["artifacts"]["profiles"]["sequential"] = "../other/profiles/sequential.prof"
        data["artifacts"]["frames"]["lines"] = "../other/frames/lines.parquet"
    elif where == "memory-and-trace":
        data["artifacts"]["memory"]["sequential"] = "../other/memory/sequential.dat"
        data["artifacts"]["traces"]["sequential"] = str(other / "trace" / "sequential.json")
    else:
        target = saved / "profiles" / "sequential.prof"
        target.unlink()
        target.symlink_to(other / "profiles" / "sequential.prof")
    (saved / "run.json").write_text(json.dumps(data))

    for args in (["report", saved], ["lines", saved], ["compare", other, saved, "--no-html"],
                 ["view", saved, "--mode", "sequential", "--no-browser"]):
        error = one_line_error(run_main(*args, cwd=tmp_path), "outside the run folder")
        assert "/etc/passwd" not in error or where == "absolute"
    with pytest.raises(Exception, match="outside the run folder"):
        import profkit

        profkit.load(saved)


# -- a section of the wrong type is one line, exit 2 ----------------------------


@pytest.mark.parametrize("section, value", [
    ("artifacts", 5), ("artifacts", {"profiles": 5}), ("artifacts", {"frames": ["x"]}),
    ("artifacts", {"memory": [2]}), ("artifacts", {"traces": 5}),
    ("modes", 5), ("modes", {"processes": 5}), ("status", {"processes": 5}), ("errors", []),
    ("options", "x"), ("environment", 5),
    # the fields the report reads, found by setting each to 5, "x", None, [] and {}
    ("options", {}), ("workload", {"name": "x", "n_items": "x"}),
    ("environment", {"packages": 5}), ("environment", {"others_cpu_during_run": "x"}),
    ("modes", {"sequential": {}}), ("modes", {"sequential": {"workers": []}}),
    ("modes", {"sequential": {"workers": 1, "line_items": 5}}),
    ("modes", {"sequential": {"workers": 1, "pool": "x"}}),
])
def test_wrong_typed_section_is_one_line(saved, tmp_path, section, value):
    _edit_run_json(saved, **{section: value})
    other = tmp_path / "other"
    shutil.copytree(saved, other)
    for args in (["report", saved], ["lines", saved], ["compare", saved, other, "--no-html"],
                 ["view", saved, "--no-browser"]):
        one_line_error(run_main(*args, cwd=tmp_path), section)


@pytest.mark.parametrize("frame", ["timings", "tasks", "functions", "lines", "memory"])
def test_frame_with_wrong_columns_is_one_line(saved, tmp_path, frame):
    pd.DataFrame({"x": [1, 2]}).to_parquet(saved / "frames" / f"{frame}.parquet")
    other = tmp_path / "other"
    shutil.copytree(saved, other)
    for args in (["report", saved], ["compare", other, saved, "--no-html"]):
        one_line_error(run_main(*args, cwd=tmp_path), f"{frame}.parquet",
                       "is not a profkit")


def test_frame_with_wrong_dtype_is_one_line(saved, tmp_path):
    frame = pd.read_parquet(saved / "frames" / "timings.parquet")
    frame["wall_s"] = "fast"
    frame.to_parquet(saved / "frames" / "timings.parquet")
    one_line_error(run_main("report", saved, cwd=tmp_path), "timings.parquet",
                   "wrong type")


# -- report --output never destroys what profkit did not write -------------------


def test_report_output_refuses_another_runs_files(saved, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(saved, other)
    before = {p: p.read_bytes() for p in other.rglob("*") if p.is_file()}
    for name in ("run.json", "index.html", "frames/timings.parquet"):
        one_line_error(run_main("report", saved, "--output", other / name, cwd=tmp_path),
                       "--output", "choose another --output")
    assert {p: p.read_bytes() for p in other.rglob("*") if p.is_file()} == before
    user_file = tmp_path / "notes.html"
    user_file.write_text("<p>mine</p>")
    one_line_error(run_main("report", saved, "--output", user_file, cwd=tmp_path),
                   "is not a profkit report")
    assert user_file.read_text() == "<p>mine</p>"


def test_report_output_folder_and_unwritable_are_one_line(saved, tmp_path):
    one_line_error(run_main("report", saved, "--output", tmp_path, cwd=tmp_path), "is a folder")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    one_line_error(run_main("report", saved, "--output", blocker / "r.html", cwd=tmp_path),
                   "cannot write")


def test_report_output_replaces_its_own_report(saved, tmp_path):
    target = tmp_path / "elsewhere.html"
    for _ in range(2):
        result = run_cli("report", saved, "--output", target, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert "profkit report" in target.read_text(encoding="utf-8")[:4096]


# -- profkit view: this run's profiles, to this host, and it dies with its parent


def _get(port: int, path: str, host: str | None = None) -> tuple[int, bytes]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_host=host is not None)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture
def viewing(saved, tmp_path, viewers):
    """``profkit view`` of the copy, serving; yields (viewer, port, url path, snakeviz process)."""
    viewer = viewers(saved, "--mode", "sequential", "--no-browser", cwd=tmp_path)
    url = viewer.url
    port = int(url.split(":")[2].split("/")[0])
    path = "/" + url.split("/", 3)[3]
    return viewer, port, path, viewer.server()


def test_view_serves_only_this_runs_profiles(viewing, small_primes_run, saved):
    from urllib.parse import quote

    _, port, path, _ = viewing
    status, body = _get(port, path)
    assert status == 200 and b"is_prime" in body
    assert _get(port, "/static/snakeviz.js")[0] == 200
    threads = quote(str((saved / "profiles" / "threads.prof").resolve()), safe="")
    assert _get(port, f"/snakeviz/{threads}")[0] == 200  # the run's other modes are fine
    elsewhere = quote(str(small_primes_run.path / "profiles" / "sequential.prof"), safe="")
    for refused in ("/snakeviz/%2Fetc", "/snakeviz/%2F", "/snakeviz/" + quote(str(saved), safe=""),
                    f"/snakeviz/{elsewhere}", "/snakeviz/..%2F..%2Fetc%2Fpasswd",
                    "/static/..%2F..%2F__init__.py", "/etc/passwd"):
        status, body = _get(port, refused)
        assert status in (403, 404), (refused, status)
        assert b"passwd" not in body and b"dir_entries" not in body


def test_view_refuses_a_forged_host_header(viewing):
    _, port, path, _ = viewing
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}", ""):
        assert _get(port, path, host=host)[0] in (400, 403), host
        assert _get(port, "/static/snakeviz.js", host=host)[0] in (400, 403), host
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert _get(port, path, host=host)[0] == 200, host


def test_view_server_dies_with_a_killed_parent(viewing):
    import psutil

    viewer, port, _, server = viewing
    viewer.process.kill()  # SIGKILL: no clean-up runs in profkit view
    viewer.process.wait(timeout=10)
    try:
        server.wait(timeout=5)
    except psutil.TimeoutExpired:
        server.kill()
        raise AssertionError("snakeviz outlived its SIGKILLed profkit view") from None


# -- running: bad input refused before any work, outputs where they were asked for ----

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile.py"


def _profile(cwd: Path, name: str, *extra: str | Path, modes: str = "sequential",
             timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli("profile", f"{HOSTILE}:{name}", "--modes", modes, "--repeat", "1",
                   "--workers", "2", *extra, cwd=cwd, timeout=timeout, env=cli_env(**env))


def _refused(cwd: Path, name: str, *extra: str | Path,
             modes: str = "sequential") -> subprocess.CompletedProcess[str]:
    """:func:`_profile` in this process, for input refused before anything runs."""
    return run_main("profile", f"{HOSTILE}:{name}", "--modes", modes, "--repeat", "1", "--workers", "2",
                    *extra, cwd=cwd)


def test_task_that_chdirs_saves_where_it_was_asked(tmp_path):
    """Relative --out and the default reports/ folder resolve before the first task."""
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    for extra in (["--out", "out"], []):
        result = _profile(home, "WANDER", *extra, HOSTILE_CHDIR_TO=str(elsewhere))
        assert result.returncode == 0, result.stderr
        report = Path(result.stdout.split("report:", 1)[1].split()[0])
        assert report.is_absolute() and report.is_file(), result.stdout
        assert report.parent.parent in (home, home / "reports")
        assert (report.parent / "run.json").is_file()
    assert list(elsewhere.iterdir()) == []


def test_same_out_at_once_is_refused_before_any_work(tmp_path):
    """The second run given the same --out is refused at once; the first is unharmed."""
    out = tmp_path / "shared"
    first = subprocess.Popen(
        [sys.executable, "-m", "profkit", "profile", f"{HOSTILE}:SLEEPY", "--modes",
         "sequential,threads", "--repeat", "2", "--workers", "2", "--out", str(out), "-q"],
        cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (out / ".profkit-claim").exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        t0 = time.monotonic()
        second = _profile(tmp_path, "SLEEPY", "--out", out)
        assert time.monotonic() - t0 < 15
        one_line_error(second, str(out), "another profkit run", "choose another --out")
        assert first.poll() is None, "the second run should be refused while the first works"
        _, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["frames", "index.html", "lines", "memory",
                                                    "profiles", "run.json", "trace"]


# -- a task with its own multiprocessing.Pool ---------------------------------


def _own_pool_run(tmp_path: Path, name: str, modes: str, method: str, *extra: str):
    from tests.fixtures.cli import MARKER, new_marker, processes_with_marker

    marker = new_marker()
    out = tmp_path / f"{name}-{method}"
    # a temporary folder of the test's own, with a short path: a forkserver's socket is made in
    # it, and a socket's path must fit in 107 bytes (a pytest-xdist worker's tmp_path is longer)
    temp = Path(tempfile.mkdtemp(prefix="pk-"))
    try:
        result = _profile(tmp_path, name, "--out", out, *extra, modes=modes, timeout=150,
                          HOSTILE_START_METHOD=method, TMPDIR=str(temp), **{MARKER: marker})
        # The file target's import shims go with profkit, even when it exits around a stuck task.
        assert list(temp.glob("profkit-targets-*")) == []
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    deadline = time.monotonic() + 5
    while processes_with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [(p.pid, p.cmdline()) for p in processes_with_marker(marker)]
    for process in processes_with_marker(marker):
        process.kill()
    assert left == [], "a task's own pool outlived profkit"
    assert "Traceback" not in _without_orphaned_spawn(result.stderr), result.stderr
    return result, json.loads((out / "run.json").read_text(encoding="utf-8"))


def _without_orphaned_spawn(stderr: str) -> str:
    """stderr less the tracebacks profkit cannot stop: a spawn child that the task's own Pool
    started just before that Pool ended (the task's ``with Pool()`` exit, or profkit exiting
    around a stuck task) finds its parent or the Pool's semaphores gone before it could read its
    orders (EOFError, or FileNotFoundError rebuilding a SemLock, in multiprocessing/spawn.py).
    CPython prints it from the task's pool's child; that child exits at once, and no process
    is left (checked above)."""
    return re.sub(r"Traceback \(most recent call last\):\n(?:  .*\n)*?.*spawn\.py.*\n"
                  r"(?:  .*\n)*(?:EOFError: Ran out of input|"
                  r"FileNotFoundError: \[Errno 2\] No such file or directory)\n?", "", stderr)


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_a_task_with_its_own_pool_runs_in_every_mode(tmp_path, method):
    """The inner pool's workers import the file target (spawn, forkserver); forked ones
    get default signal handlers, so Pool.terminate() ends them (it hung 3 runs in 5)."""
    modes = "sequential,threads,processes"
    result, data = _own_pool_run(tmp_path, "OWN_POOL", modes, method)
    assert result.returncode == 0, result.stderr
    assert data["status"] == dict.fromkeys(modes.split(","), "ok")
    tasks = pd.read_parquet(tmp_path / f"OWN_POOL-{method}" / "frames" / "tasks.parquet")
    assert tasks["ok"].all() and not tasks.empty


def test_a_file_target_with_a_dotted_name_in_a_spaced_folder(tmp_path):
    """'hostile.v2.py' must not become the module name 'profkit_target_hostile.v2_…', a package
    path pickle cannot import even in profkit; the inner spawn pool must import it too."""
    folder = tmp_path / "it's a folder"
    folder.mkdir()
    target = folder / "hostile.v2.py"
    shutil.copy(HOSTILE, target)
    out = tmp_path / "run"
    result = run_cli("profile", f"{target}:OWN_POOL", "--modes", "sequential,processes",
                     "--repeat", "1", "--workers", "2", "--out", out, cwd=tmp_path, timeout=150,
                     env=cli_env(HOSTILE_START_METHOD="spawn"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    data = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert data["status"] == {"sequential": "ok", "processes": "ok"}
    assert "hostile.v2.py:with_own_pool" in (out / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("modes", ["sequential", "processes"])
def test_a_task_whose_own_pool_hangs_leaves_no_process(tmp_path, modes):
    """--timeout ends the task, and the processes its pool started go with it."""
    result, data = _own_pool_run(tmp_path, "STUCK_POOL", modes, "spawn", "--timeout", "5")
    assert result.returncode == 1, result.stderr
    assert data["status"] == {modes: "timeout"}


@pytest.mark.parametrize("name, needles", [
    ("nosuch", ["--lines nosuch", "no such function"]),
    ("os:getcwd", ["--lines os:getcwd", "not a Python function"]),
])
def test_lines_naming_no_function_is_one_line_before_any_work(tmp_path, name, needles):
    """A misspelt --lines name is refused before the timing rounds, not as a failure of every mode."""
    result = _refused(tmp_path, "QUICK", "--out", tmp_path / "run", "--lines", name)
    one_line_error(result, *needles)
    assert not (tmp_path / "run").exists()


def test_a_killed_profkits_import_shims_are_removed_by_the_next_run(tmp_path):
    """kill -9 skips every cleanup; the next run removes the shim folder of a dead profkit
    (and leaves a live one's alone)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = temp / f"profkit-targets-{gone.pid}-abcd1234"
    live = temp / f"profkit-targets-{os.getpid()}-abcd1234"
    for folder in (stale, live):
        folder.mkdir()
        (folder / "profkit_target_x_00000000.py").write_text("")
    result = _profile(tmp_path, "QUICK", "--out", tmp_path / "run", TMPDIR=str(temp))
    assert result.returncode == 0, result.stderr
    assert sorted(temp.glob("profkit-targets-*")) == [live]


def test_the_cli_ends_every_child_it_started_but_the_ones_it_keeps():
    """What a task left is ended at exit, detached into a session of its own or not; what the
    caller had before, and a browser that ``--open`` started (kept), are not profkit's."""
    from profkit.executors.base import child_processes, end_new_children, keep_new_children

    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    before_run = subprocess.Popen(sleeper)
    try:
        before = child_processes()
        left_by_task = subprocess.Popen(sleeper)
        detached = subprocess.Popen(sleeper, start_new_session=True)
        kept_from = child_processes()
        browser = subprocess.Popen(sleeper, start_new_session=True)
        keep_new_children(kept_from)
        try:
            end_new_children(before)
            assert left_by_task.wait(timeout=5) is not None
            assert detached.wait(timeout=5) is not None
            assert before_run.poll() is None and browser.poll() is None
        finally:
            for process in (detached, browser):
                process.kill()
                process.wait()
    finally:
        before_run.kill()
        before_run.wait()


def test_one_parallel_mode_alone_prints_its_summary(tmp_path):
    """A run of one mode has no recommendation; the summary still names its profile."""
    result = _profile(tmp_path, "QUICK", "--out", tmp_path / "one", modes="threads")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"snakeviz {tmp_path / 'one' / 'profiles' / 'threads.prof'}" in result.stdout


@pytest.mark.parametrize("args, needles", [
    (["--workers", "99999999"], ["--workers", "too many", "at most", "per CPU"]),
    (["--modes", "processes:99999999"], ["processes:99999999", "too many"]),
    (["--timeout", "inf"], ["--timeout", "finite"]),
    (["--timeout", "nan"], ["--timeout"]),
    (["--timeout", "1e300"], ["--timeout", "at most"]),
    (["--modes", ""], ["no modes given"]),  # an empty "$MODES" ran the default modes
])
def test_limits_are_one_line(tmp_path, args, needles):
    """An absurd pool or timeout is refused at once, not after a hang or an overflow."""
    t0 = time.monotonic()
    one_line_error(_refused(tmp_path, "QUICK", *args), *needles)
    assert time.monotonic() - t0 < 30
    assert list(tmp_path.iterdir()) == []


def test_limits_hold_for_the_api_too(tmp_path):
    import profkit
    from tests.fixtures.hostile import QUICK

    for kwargs in ({"workers": 10**8, "modes": "threads"}, {"timeout": float("inf")},
                   {"timeout": -1.0}):
        with pytest.raises(profkit.ProfkitError):
            profkit.profile(QUICK, repeat=1, out=tmp_path / "run", **kwargs)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content, needles", [
    (b"tool = 5\n", ["'tool' must be a table"]),
    (b'[tool.profkit]\nmodes = ["sequential", 3]\n', ["modes", "a mode must be text"]),
    (b"[tool.profkit]\nlines = [3]\n", ["lines", "list of strings"]),
    (b"[tool.profkit]\nworkloads = [3]\n", ["workloads", "list of strings"]),
    (b"[tool.profkit]\ntimeout = -1\n", ["timeout", "> 0"]),
    (b"[tool.profkit]\ntimeout = inf\n", ["timeout", "finite"]),
    (b"[tool.profkit]\nworkers = 0\n", ["workers", ">= 1"]),
    (b"[tool.profkit]\nworkers = 99999999\n", ["workers", "too many"]),
    (b"[tool.profkit]\nrepeat = 0\n", ["repeat", ">= 1"]),
    (b'[tool.profkit]\nstart_method = "vfork"\n', ["start_method", "fork"]),
    (b'[tool.profkit]\nmodes = "sequential"\n# caf\xe9\n', ["not UTF-8"]),
])
def test_bad_pyproject_is_one_line(tmp_path, content, needles):
    """Every bad [tool.profkit] is refused at once, by profile and by list."""
    (tmp_path / "pyproject.toml").write_bytes(content)
    for args in (["profile", "primes", "--repeat", "1"], ["list"]):
        one_line_error(run_main(*args, cwd=tmp_path), "pyproject.toml", *needles)


@pytest.mark.parametrize("name, needles", [
    ("ITEMS_RAISE", ["items callable raised RuntimeError", "the item source is down"]),
    ("ITEMS_INT", ["items are a int", "give a list"]),
    ("ITEMS_EMPTY", ["has no items", "at least one item"]),
    ("ITEMS_CALLABLE_EMPTY", ["has no items"]),
])
def test_bad_items_are_one_line_and_leave_no_folder(tmp_path, name, needles):
    """Items that cannot be had, or none at all, are bad input: exit 2, no run folder."""
    for extra in (["--out", tmp_path / "run"], []):
        one_line_error(_refused(tmp_path, name, *extra, modes="sequential,threads"), *needles)
    assert list(tmp_path.iterdir()) == []


def test_printed_commands_are_quoted(tmp_path):
    """A run folder with spaces and quotes still gives commands a shell can run."""
    import html
    import re
    import shlex

    out = tmp_path / "it's a \"run\" $HOME"
    result = _profile(tmp_path, "QUICK", "--out", out)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("snakeviz:"))
    argv = shlex.split(line.split(":", 1)[1])
    assert argv[0] == "snakeviz" and Path(argv[1]) == out / "profiles" / "sequential.prof"
    page = (out / "index.html").read_text(encoding="utf-8")
    commands = [html.unescape(c) for c in re.findall(r'<code class="cmd"[^>]*>(.*?)</code>', page)]
    cd = next(c for c in commands if c.startswith("cd "))
    assert shlex.split(cd) == ["cd", str(out)]  # then the commands run from inside the folder
    view = next(c for c in commands if c.startswith("profkit view "))
    assert shlex.split(view)[2] == "."


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_every_file_gets_the_umasks_mode(tmp_path, umask):
    """All files of a run get the mode the umask gives (run.json, index.html and .lprof too, not
    0600); a sequential-only run prints no matplotlib legend warning."""
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "profkit", "profile", f"{HOSTILE}:QUICK", "--modes", "sequential",
         "--repeat", "1", "--out", str(out), "-q"],
        cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=120,
        preexec_fn=lambda: os.umask(umask))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no "No artists with labels found to put in legend"
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".json", ".html", ".prof", ".lprof", ".parquet", ".dat"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path


def test_speedup_chart_of_sequential_only_warns_nothing():
    """In this process: the chart with no labelled artist calls no legend."""
    import warnings

    from profkit.analysis.records import ModeSummary
    from profkit.model import Status
    from profkit.render.charts import speedup_chart
    from tests.fixtures.records import PROCESS_TRAITS

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert speedup_chart([ModeSummary(mode="sequential", workers=1, traits=PROCESS_TRAITS,
                                          status=Status.OK, speedup=1.0)])


# -- Ctrl-C while saving: the run is saved whole (or not at all), and exit is 130 -----

#: profkit's CLI, with every parquet write preceded by two Ctrl-Cs from the 2nd one on:
#: the signals arrive while the run is being saved.
_CTRL_C_WHILE_SAVING = """
import os, signal, sys, time
import pandas as pd

original, calls = pd.DataFrame.to_parquet, []

def to_parquet(self, *args, **kwargs):
    calls.append(1)
    if len(calls) == 2:
        for _ in range(2):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
    return original(self, *args, **kwargs)

pd.DataFrame.to_parquet = to_parquet
from profkit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_twice_while_saving_keeps_the_run_and_exits_130(tmp_path):
    import profkit

    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-c", _CTRL_C_WHILE_SAVING, "profile", f"{HOSTILE}:QUICK", "--modes",
         "sequential,threads", "--repeat", "1", "--workers", "2", "--out", str(out), "-q"],
        cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr and "Fatal" not in result.stderr, result.stderr
    assert "saving the run first" in result.stderr
    run = profkit.load(out)  # whole: run.json, every frame, every profile
    assert set(run.timings["mode"]) == {"sequential", "threads"}
    assert (out / "index.html").is_file()
    assert not (out / ".profkit-claim").exists()


def test_a_save_that_fails_rolls_back(small_primes_run, tmp_path, monkeypatch):
    """Disk full halfway: one clear error, and no half-written folder that looks like a run."""
    import errno

    import profkit

    original, calls = pd.DataFrame.to_parquet, []

    def full_disk(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full_disk)
    out = tmp_path / "parent" / "run"
    run = dataclasses.replace(small_primes_run, meta=copy.deepcopy(small_primes_run.meta))
    with pytest.raises(profkit.ProfkitError, match="No space left on device"):
        run.save(out)
    assert not (tmp_path / "parent").exists()


def test_run_json_is_written_before_the_report(small_primes_run, tmp_path, monkeypatch):
    """A report that fails to render loses nothing: run.json says why, profkit report redoes it."""
    import profkit.render.html

    seen = []

    def broken(run):
        seen.append((run.path / "run.json").is_file())
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(profkit.render.html, "render", broken)
    out = tmp_path / "run"
    run = dataclasses.replace(small_primes_run, meta=copy.deepcopy(small_primes_run.meta))
    with pytest.warns(UserWarning, match="profkit report"):
        run.save(out)
    assert seen == [True], "run.json must exist before the report is rendered"
    data = json.loads((out / "run.json").read_text())
    assert data["report_error"] == "RuntimeError: renderer bug"
    assert not (out / "index.html").exists()
    monkeypatch.undo()
    result = run_cli("report", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (out / "index.html").is_file()
