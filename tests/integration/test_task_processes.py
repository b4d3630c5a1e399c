"""No process a task starts outlives the run, however it detaches; a spinning task's run ends
promptly after its timeout. Each test counts only processes that carry its own marker."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time

import psutil
import pytest

from tests.fixtures.cli import FIXTURES, MARKER, cli_env, new_marker, processes_with_marker

DETACHING = FIXTURES / "detaching.py"


@pytest.fixture
def marker():
    """A marker every process of the test's run inherits; what carries it is ended after."""
    value = new_marker()
    yield value
    for process in processes_with_marker(value):
        with contextlib.suppress(psutil.Error):
            process.kill()


def _left_behind(marker: str, wait_s: float = 5.0) -> list[psutil.Process]:
    deadline = time.monotonic() + wait_s
    while processes_with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    return processes_with_marker(marker)


def test_detached_children_of_a_task_do_not_outlive_the_run(tmp_path, marker):
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "profkit", "profile", f"{DETACHING}:DETACHES", "--modes",
         "sequential,threads,processes", "--repeat", "1", "--workers", "2", "--out", str(out)],
        env=cli_env(**{MARKER: marker}), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "run.json").read_text())["status"] == {
        "sequential": "ok", "threads": "ok", "processes": "ok"}
    left = _left_behind(marker)
    assert left == [], [(p.pid, p.cmdline()) for p in left]


def test_a_spinning_task_ends_promptly_after_its_timeout_and_keeps_every_mode(tmp_path, marker):
    """``while True: pass`` in every mode with ``--timeout 3``: each mode is marked timed out,
    the run is saved, and profkit exits within seconds of the last timeout, not when spinning task
    threads would end on their own (never)."""
    out = tmp_path / "run"
    t0 = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "profkit", "profile", f"{DETACHING}:HANGS_SPINNING", "--modes",
         "sequential,threads,processes", "--timeout", "3", "--workers", "2", "--out", str(out)],
        env=cli_env(**{MARKER: marker}), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    last_phase = None
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if "warm-up" in line:
                last_phase = time.monotonic()  # the last mode to start its timed phase
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    exited = time.monotonic()
    assert process.returncode == 1
    assert last_phase is not None
    data = json.loads((out / "run.json").read_text())
    assert data["status"] == {"sequential": "timeout", "threads": "timeout", "processes": "timeout"}
    assert data["environment"]["abandoned_threads"] is False  # the spinning threads were ended
    # The last mode times out 3 s after its warm-up began; closing, analysis and the save follow.
    assert exited - (last_phase + 3) < 10, (exited - t0, last_phase - t0)
    assert _left_behind(marker) == []
