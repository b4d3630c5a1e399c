"""`profkit profile` progress: live in a pseudo-terminal, plain lines in a pipe, none with -q."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(240)

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CURSOR_UP = "\x1b[1A"
ERASE_LINE = "\x1b[2K"


def _command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "profkit", "profile", "double", "--modes", "sequential,threads:2",
            "--repeat", "3", "--line-budget", "0.05", "--out", str(out), *extra]


def _env() -> dict[str, str]:
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="120", LINES="30")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("NO_COLOR", None)
    return env


def _run_in_pty(command: list[str]) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal (stdout to a pipe); return the code and what the terminal got."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    process = subprocess.Popen(command, stdin=slave, stdout=subprocess.PIPE, stderr=slave,
                               env=_env(), cwd=REPO, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 200
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    os.close(master)
    assert process.stdout is not None
    process.stdout.read()
    return process.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


def test_terminal_gets_a_display_that_updates_in_place(tmp_path):
    code, screen = _run_in_pty(_command(tmp_path / "run"))
    assert code == 0, screen[-2000:]
    # redrawn in place: the cursor goes back up and the old lines are erased, many times
    assert screen.count(CURSOR_UP) >= 5 and screen.count(ERASE_LINE) >= 5
    text = ANSI.sub("", screen)
    assert "round 3/3" in text                          # the round, of how many
    assert "threads:2 · warm-up" in text                # the mode and the pass
    assert "sequential · cProfile pass" in text
    assert re.search(r"\d+\.\d s elapsed", text)        # elapsed time
    assert "time left known after the first round" in text
    assert re.search(r"about \d+ s left|finishing", text)  # an estimate once the rounds began
    # no plain log lines on a terminal
    assert not re.search(r"^\[\s*\d+\.\ds\] ", text, re.M)


def test_auto_repeat_shows_the_precision_so_far(tmp_path):
    command = [sys.executable, "-m", "profkit", "profile", "primes", "--modes", "sequential",
               "--max-rounds", "4", "--max-time", "5", "--line-budget", "0.05", "--precision", "3%",
               "--out", str(tmp_path / "run")]
    code, screen = _run_in_pty(command)
    assert code == 0, screen[-2000:]
    text = ANSI.sub("", screen)
    assert "(auto, at most 4)" in text
    assert re.search(r"precision ±[\d.]+% \(target ±3%\)", text) or "set aside" in text


def test_pipe_gets_plain_lines(tmp_path):
    result = subprocess.run(_command(tmp_path / "run"), capture_output=True, text=True, env=_env(),
                            cwd=REPO, timeout=200)
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stderr and "\r" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("profkit: warning")]
    assert lines and all(re.match(r"^\[\s*\d+\.\ds\] \S", line) for line in lines), lines
    assert any("round 3/3" in line for line in lines)
    assert any(line.endswith("threads:2: starting 2 workers") for line in lines)


def test_quiet_shows_no_progress(tmp_path):
    code, screen = _run_in_pty(_command(tmp_path / "run", "--quiet"))
    assert code == 0
    text = ANSI.sub("", screen)
    assert "round" not in text and "elapsed" not in text
