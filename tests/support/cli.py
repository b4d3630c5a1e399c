"""Run the profkit CLI as a real subprocess and find any process it left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
SUPPORT = REPO / "tests" / "support" / "workloads.py"


def cli_env(marker: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    if marker:
        env["PROFKIT_TEST_MARKER"] = marker
    return env


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 240,
            marker: str | None = None) -> subprocess.CompletedProcess:
    """``python -m profkit ARGS`` to completion; output captured as text."""
    return subprocess.run([sys.executable, "-m", "profkit", *args], cwd=cwd, env=cli_env(marker),
                          capture_output=True, text=True, timeout=timeout)


def new_marker() -> str:
    return uuid.uuid4().hex


def processes_with_marker(marker: str) -> list[psutil.Process]:
    """Live processes whose environment carries ``marker`` (children inherit it)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("PROFKIT_TEST_MARKER") == marker and process.status() != "zombie":
                found.append(process)
        except (psutil.Error, OSError):
            continue
    return found
