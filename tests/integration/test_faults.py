"""Faults in the workload: the run finishes in bounded time, keeps the other modes,
marks the failed one in run.json, the report and the exit code, and leaves no process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from profkit.render import text as words
from tests.fixtures.cli import (
    MARKER,
    WORKLOADS,
    cli_env,
    kill_9_leaves_nothing,
    new_marker,
    processes_with_marker,
    run_cli,
)

pytestmark = pytest.mark.timeout(180)


def _profile(tmp_path, name: str, modes: str, *extra: str, timeout: float = 120):
    marker = new_marker()
    out = tmp_path / "run"
    t0 = time.monotonic()
    result = run_cli("profile", f"{WORKLOADS}:{name}", "--modes", modes, "--repeat", "1",
                     "--workers", "2", "--out", str(out), *extra, env=cli_env(**{MARKER: marker}),
                     timeout=timeout)
    elapsed = time.monotonic() - t0
    time.sleep(0.2)
    assert processes_with_marker(marker) == [], "orphan processes left behind"
    assert "Traceback" not in result.stderr, result.stderr
    data = json.loads((out / "run.json").read_text())
    report = (out / "index.html").read_text()
    return result, data, report, elapsed


def test_task_raising_in_every_mode_names_the_item_and_keeps_the_traceback(tmp_path):
    result, data, report, _ = _profile(tmp_path, "RAISES", "sequential,threads,processes")
    assert result.returncode == 1
    assert data["status"] == {"sequential": "failed", "threads": "failed", "processes": "failed"}
    for mode in data["status"]:
        assert "item 3" in data["errors"][mode] and "bad item 3" in data["errors"][mode]
        assert data["modes"][mode]["failed_item"] == 3
    import pandas as pd

    tasks = pd.read_parquet(tmp_path / "run" / "frames" / "tasks.parquet")
    failed = tasks[~tasks["ok"]]
    assert set(failed["item"]) == {3}
    assert failed["error"].str.contains("Traceback").all()
    assert "bad item 3" in report and "raise_on_three" in report


def test_task_raising_in_one_mode_keeps_the_others(tmp_path):
    result, data, report, _ = _profile(tmp_path, "RAISES_IN_WORKERS", "sequential,threads,processes")
    assert result.returncode == 1
    assert data["status"] == {"sequential": "ok", "threads": "ok", "processes": "failed"}
    assert data["analysis"]["modes"]["sequential"]["wall_median_s"] > 0
    assert data["analysis"]["modes"]["threads"]["speedup"] is not None
    assert "item 3 fails in the worker" in data["errors"]["processes"]
    assert (tmp_path / "run" / "profiles" / "sequential.prof").is_file()


@pytest.mark.parametrize("name", ["EXITS", "SEGFAULTS"])
def test_worker_process_dying_mid_map_fails_only_that_mode(tmp_path, name):
    result, data, report, _ = _profile(tmp_path, name, "sequential,processes")
    assert result.returncode == 1
    assert data["status"] == {"sequential": "ok", "processes": "failed"}
    assert "died" in data["errors"]["processes"]
    assert "processes: failed" in words.worded_json(data["analysis"])["verdict"]
    assert (tmp_path / "run" / "frames" / "timings.parquet").is_file()


@pytest.mark.matrix
def test_hanging_worker_is_stopped_by_the_timeout(tmp_path):
    result, data, report, elapsed = _profile(tmp_path, "HANGS_IN_WORKERS", "sequential,processes",
                                             "--timeout", "4")
    assert result.returncode == 1
    assert data["status"] == {"sequential": "ok", "processes": "timeout"}
    assert "--timeout 4" in data["errors"]["processes"]
    assert elapsed < 60


def test_task_hanging_in_every_mode_still_finishes_in_bounded_time(tmp_path):
    result, data, report, elapsed = _profile(tmp_path, "HANGS", "sequential,threads,processes",
                                             "--timeout", "3")
    assert result.returncode == 1
    assert set(data["status"].values()) == {"timeout"}
    assert elapsed < 60


def test_unpicklable_result_is_named(tmp_path):
    result, data, report, _ = _profile(tmp_path, "UNPICKLABLE_RESULT", "sequential,processes")
    assert result.returncode == 1
    assert data["status"]["sequential"] == "ok"
    assert data["status"]["processes"] == "failed"
    assert "lock" in data["errors"]["processes"].lower()
    assert "item 2" in data["errors"]["processes"]


def test_unpicklable_item_is_named(tmp_path):
    result, data, report, _ = _profile(tmp_path, "UNPICKLABLE_ITEM", "sequential,threads,processes")
    assert result.returncode == 1
    assert data["status"] == {"sequential": "ok", "threads": "ok", "processes": "failed"}
    assert "item 2" in data["errors"]["processes"] and "lock" in data["errors"]["processes"]


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["SIGINT", "SIGTERM"])
def test_interrupt_saves_what_finished_and_exits_128_plus_the_signal(tmp_path, sig, code):
    marker = new_marker()
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "profkit", "profile", f"{WORKLOADS}:SLEEPY", "--modes",
         "sequential,processes", "--repeat", "30", "--workers", "2", "--out", str(out)],
        env=cli_env(**{MARKER: marker}), stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            if "round 3/30" in line:
                break
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 5
    while processes_with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with_marker(marker) == []
    data = json.loads((out / "run.json").read_text())
    assert data["interrupted"] is True
    # The rounds interleave the modes, so both were in progress, and both keep their rounds:
    # the 3 timed before the signal at least. (The analysis may set some aside when other
    # programs load the machine, so the saved timings are what is counted.)
    assert data["status"] == {"sequential": "interrupted", "processes": "interrupted"}
    # the rounds timed before the signal are recorded, and the summary counts them
    completed = [r for r in data["rounds"] if not r["cut"]]
    assert len(completed) >= 3 and data["analysis"]["rounds"]["completed"] == len(completed)
    assert f"(20 items, {len(completed)} interleaved rounds" in stdout
    import pandas as pd

    timings = pd.read_parquet(out / "frames" / "timings.parquet")
    maps = timings[timings["phase"] == "map"]
    for mode in ("sequential", "processes"):
        walls = maps[maps["mode"] == mode]["wall_s"]
        assert len(walls) >= 3 and (walls > 0).all(), maps
    assert "incomplete" in (out / "index.html").read_text().lower()


@pytest.mark.parametrize("modes, method", [
    ("sequential,processes", "fork"), ("sequential,pool", "fork"),
    ("sequential,processes", "spawn"),
    # A forkserver's workers hold its "alive" pipe: it outlived profkit while they lived, and
    # they (PR_SET_PDEATHSIG names the forkserver) while it lived. They now watch profkit.
    ("sequential,processes", "forkserver"), ("sequential,pool", "forkserver"),
])
def test_kill_9_of_profkit_leaves_no_worker_alive(tmp_path, modes, method):
    """Pool workers die with profkit (PR_SET_PDEATHSIG or a pidfd watch), even after SIGKILL;
    so do the forkserver and the resource tracker."""
    assert kill_9_leaves_nothing(modes, tmp_path / "run", "--start-method", method) == []


def test_sys_exit_in_a_task_is_a_failed_task_in_every_mode(tmp_path):
    result, data, report, _ = _profile(tmp_path, "EXITS_SYSTEM", "sequential,threads,processes,pool")
    assert result.returncode == 1
    assert set(data["status"].values()) == {"failed"}
    for mode in data["status"]:
        assert "item 3" in data["errors"][mode] and "SystemExit: 4" in data["errors"][mode]


def test_a_task_that_prints_megabytes_stays_out_of_profkit_output(tmp_path):
    """What tasks print is captured in every mode: --json still parses; first and last lines kept."""
    out = tmp_path / "run"
    result = run_cli("profile", f"{WORKLOADS}:LOUD", "--modes", "sequential,threads,processes,pool",
                     "--repeat", "2", "--workers", "2", "--out", str(out), "--json", timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(result.stdout) < 2_000_000 and len(result.stderr) < 100_000
    json.loads(result.stdout)
    import pandas as pd

    tasks = pd.read_parquet(out / "frames" / "tasks.parquet")
    assert set(tasks["mode"]) == {"sequential", "threads", "processes", "pool"}
    assert (tasks["output_bytes"] > 2_000_000).all()
    first = tasks[tasks["item"] == 1]["output"].iloc[0].splitlines()
    assert first[0].startswith("1:0:") and first[-1] == "item 1 done" and "…" in first
    assert "printed 2.0 MiB" in (out / "index.html").read_text(encoding="utf-8")


#: Progress lines that open each phase of a processes run: SIGTERM lands in every one of them.
PHASES = ["starting 2 worker", "warm-up", "round 1/", "cProfile inside", "line_profiler on",
          "closing the pool"]


@pytest.mark.parametrize("phase", PHASES)
def test_sigterm_in_any_phase_of_processes_mode_is_quiet(tmp_path, phase):
    """SIGTERM while a process pool works (the executor's threads too) gives no
    InvalidStateError or other traceback, exit 143, and leaves no process behind."""
    marker = new_marker()
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "profkit", "profile", f"{WORKLOADS}:SLEEPY", "--modes",
         "sequential,processes", "--repeat", "2", "--workers", "2", "--out", str(out)],
        env=cli_env(**{MARKER: marker}), stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    seen = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            seen.append(line)
            if phase in line:
                break
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = "".join(seen) + stderr
    assert any(phase in line for line in seen), stderr
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr and "InvalidStateError" not in stderr, stderr
    assert stderr.rstrip().splitlines()[-1].startswith("profkit: interrupted"), stderr
    deadline = time.monotonic() + 5
    while processes_with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with_marker(marker) == []
