"""A run is never lost and can always be reopened, whatever the task or the terminal does.

Each test reproduces one case where a finished run was lost, or could not be
reopened, or where a user mistake gave a traceback instead of one line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from profkit import load
from profkit.errors import RunDirError
from profkit.pipeline import profile
from profkit.workloads.double import WORKLOAD as DOUBLE
from tests.fixtures.cli import cli_env, one_line_error, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

QUICK = ("--repeat", "2", "--line-budget", "0.01", "--workers", "2")


def _reopens(run_dir: Path, other: Path) -> None:
    """Every command that opens a run folder opens this one."""
    for args in (("report", run_dir), ("lines", run_dir), ("compare", run_dir, other, "--no-html")):
        result = run_cli(*args, timeout=120)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
    loaded = load(run_dir)
    assert loaded.meta["options"]["chunksize"] == "auto"


def test_chunksize_auto_runs_reopen_from_the_cli_the_config_and_the_api(tmp_path):
    cli_run = tmp_path / "cli"
    result = run_cli("profile", "double", "--modes", "sequential,processes", "--chunksize",
                     "auto", "--out", cli_run, *QUICK, timeout=240)
    assert result.returncode == 0, result.stderr

    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.profkit]\nchunksize = "auto"\n')
    config_run = project / "run"
    result = run_cli("profile", "double", "--modes", "sequential,processes", "--out", config_run,
                     *QUICK, cwd=project, timeout=240)
    assert result.returncode == 0, result.stderr

    api_run = tmp_path / "api"
    profile(DOUBLE, modes="sequential,processes", workers=2, repeat=2, chunksize="auto",
            line_budget=0.01, out=api_run)

    for run_dir in (cli_run, config_run, api_run):
        assert json.loads((run_dir / "run.json").read_text())["options"]["chunksize"] == "auto"
        _reopens(run_dir, cli_run)


def test_an_out_that_is_not_utf8_is_refused_before_the_run(tmp_path):
    """It ran to the end, then pyarrow could not name the frames and nothing was saved."""
    out = os.fsdecode(b"run-\xff")
    error = one_line_error(run_cli("profile", "double", "--out", out, cwd=tmp_path, timeout=60),
                           "run-\\xff", "not UTF-8", "choose a UTF-8 --out")
    assert "Traceback" not in error
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RunDirError, match="not UTF-8"):
        profile(DOUBLE, modes="sequential", repeat=1, out=tmp_path / out)
    assert list(tmp_path.iterdir()) == []


def test_an_out_name_too_long_is_one_line(tmp_path):
    one_line_error(run_cli("profile", "double", "--out", "a" * 300, cwd=tmp_path, timeout=60),
                   "File name too long", "choose a shorter --out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("location", ["x" * 5000 + ".py", "/".join(["d"] * 2500) + "/w.py"],
                         ids=["a-long-name", "a-deep-path"])
def test_a_target_path_too_long_is_one_line(tmp_path, location):
    one_line_error(run_cli("profile", f"{location}:WORKLOAD", cwd=tmp_path, timeout=60),
                   "cannot open the workload file", "File name too long", "give a shorter path")


SLOW_IMPORT = """\
import pathlib, time
import profkit

pathlib.Path(__file__).with_name("importing").write_text("now")
time.sleep(60)
WORKLOAD = profkit.Workload("slow", abs, [1, 2])
"""


def test_ctrl_c_during_a_slow_import_exits_130(tmp_path):
    """It said "importing ... failed: KeyboardInterrupt" and exited 2, as for a broken file."""
    (tmp_path / "slow.py").write_text(SLOW_IMPORT)
    process = subprocess.Popen(
        [sys.executable, "-m", "profkit", "profile", "slow.py:WORKLOAD", "--out", "run"],
        cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "importing").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "profkit: interrupted"
    assert "failed" not in stderr and "Traceback" not in stderr
    assert not (tmp_path / "run").exists()
