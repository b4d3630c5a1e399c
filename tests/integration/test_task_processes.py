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
