"""A run folder whose claimant died is taken over, never blocked for good; a live claim is kept.

Real processes die holding a real claim (SIGKILL, SIGHUP, ``os._exit``); a claim left empty
(the disk filled up while it was written) and a claim whose pid now names another process
are planted, each in the test's own folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from profkit.errors import RunDirError
from profkit.store import (
    CLAIM_FILE,
    EMPTY_CLAIM_STALE_S,
    prepare_run_dir,
    release_run_dir,
)
from tests.fixtures.cli import MARKER, WORKLOADS, cli_env, new_marker, processes_with_marker, run_cli

TAKEOVER = "its claim is stale"


def _next_run(out) -> subprocess.CompletedProcess[str]:
    """A small profkit run into ``out``: it must take the folder over and finish."""
    return run_cli("profile", f"{WORKLOADS}:SLEEPY", "--modes", "sequential", "--repeat", "1",
                   "--out", str(out))


def _assert_taken_over(out, result: subprocess.CompletedProcess[str], why: str) -> None:
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if TAKEOVER in line]
    assert len(notes) == 1 and why in notes[0] and str(out) in notes[0], result.stderr
    assert notes[0].startswith("profkit: warning: taking over "), notes  # profkit's, said so
    assert "being written by another profkit run" not in result.stderr
    assert (out / "run.json").is_file() and not (out / CLAIM_FILE).exists()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGHUP])
def test_a_run_killed_mid_way_leaves_a_claim_the_next_run_takes_over(tmp_path, sig):
    out = tmp_path / "run"
    marker = new_marker()
    process = subprocess.Popen(
        [sys.executable, "-m", "profkit", "profile", f"{WORKLOADS}:SLEEPY", "--modes",
         "sequential,processes", "--repeat", "30", "--workers", "2", "--out", str(out)],
        env=cli_env(**{MARKER: marker}), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if "round 1/30" in line:
                break
        process.send_signal(sig)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for left in processes_with_marker(marker):
            left.kill()
    assert process.returncode == -sig
    assert [p.name for p in out.iterdir()] == [CLAIM_FILE]  # a killed run leaves only its claim
    _assert_taken_over(out, _next_run(out), f"process {process.pid} is not running")


def test_a_process_that_os_exits_holding_the_claim_leaves_it_stale(tmp_path):
    out = tmp_path / "run"
    code = ("import os, sys\nfrom profkit.store import prepare_run_dir\n"
            "prepare_run_dir(sys.argv[1])\nos._exit(3)\n")
    died = subprocess.Popen([sys.executable, "-c", code, str(out)], env=cli_env())
    assert died.wait(timeout=60) == 3
    assert [p.name for p in out.iterdir()] == [CLAIM_FILE]
    _assert_taken_over(out, _next_run(out), f"process {died.pid} is not running")


def test_an_empty_claim_is_stale_once_old(tmp_path):
    """A full disk leaves the claim file created but empty: no pid to check, so its age decides."""
    out = tmp_path / "run"
    out.mkdir()
    (out / CLAIM_FILE).write_bytes(b"")
    with pytest.raises(RunDirError, match="being written by another profkit run"):
        prepare_run_dir(out)  # just made: its writer may be about to fill it in
    old = time.time() - EMPTY_CLAIM_STALE_S - 5
    os.utime(out / CLAIM_FILE, (old, old))
    _assert_taken_over(out, _next_run(out), "names no process")


@pytest.fixture
def sleeper():
    """A live process of this test's own, ended after the test."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    yield process
    process.kill()
    process.wait()


def test_a_reused_pid_does_not_hold_the_claim(tmp_path, sleeper):
    """The claim names a live pid, but one started at another time than the claimant."""
    out = tmp_path / "run"
    out.mkdir()
    started = psutil.Process(sleeper.pid).create_time()
    (out / CLAIM_FILE).write_text(f"{sleeper.pid} {started - 3600!r} 0123456789abcdef")
    _assert_taken_over(out, _next_run(out), "that pid now names another process")


def test_a_live_claimant_keeps_its_folder(tmp_path, sleeper):
    out = tmp_path / "run"
    out.mkdir()
    started = psutil.Process(sleeper.pid).create_time()
    (out / CLAIM_FILE).write_text(f"{sleeper.pid} {started!r} 0123456789abcdef")
    old = time.time() - 3600
    os.utime(out / CLAIM_FILE, (old, old))  # however old: its process still runs
    result = _next_run(out)
    assert result.returncode == 2
    assert "being written by another profkit run" in result.stderr
    assert [p.name for p in out.iterdir()] == [CLAIM_FILE]


def test_a_claim_this_process_holds_is_still_its_own(tmp_path):
    path = prepare_run_dir(tmp_path / "run")
    try:
        token = (path / CLAIM_FILE).read_text()
        pid, started, _ = token.split()
        assert int(pid) == os.getpid()
        assert abs(float(started) - psutil.Process().create_time()) < 1e-6
        assert prepare_run_dir(path) == path
    finally:
        release_run_dir(path, discard=True)
