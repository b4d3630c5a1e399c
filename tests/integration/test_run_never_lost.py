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
from profkit.record import RunMeta
from profkit.store import CLAIM_FILE
from profkit.workloads.double import WORKLOAD as DOUBLE
from tests.fixtures.cli import FIXTURES, cli_env, ended, one_line_error, run_cli, run_main
from tests.fixtures.lost_tasks import MARK_ENV

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

QUICK = ("--repeat", "2", "--line-budget", "0.01", "--workers", "2")


def _reopens(run_dir: Path, other: Path) -> None:
    """Every command that opens a run folder opens this one."""
    for args in (("report", run_dir), ("lines", run_dir), ("compare", run_dir, other, "--no-html")):
        result = run_cli(*args, timeout=120)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
    loaded = load(run_dir)
    assert loaded.meta.options["chunksize"] == "auto"


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
    """Refused before the run: pyarrow cannot name frames under a non-UTF-8 path, so a run that
    went ahead would end with nothing saved."""
    out = os.fsdecode(b"run-\xff")
    error = one_line_error(run_main("profile", "double", "--out", out, cwd=tmp_path),
                           "run-\\xff", "not UTF-8", "choose a UTF-8 --out")
    assert "Traceback" not in error
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RunDirError, match="not UTF-8"):
        profile(DOUBLE, modes="sequential", repeat=1, out=tmp_path / out)
    assert list(tmp_path.iterdir()) == []


def test_an_out_name_too_long_is_one_line(tmp_path):
    one_line_error(run_main("profile", "double", "--out", "a" * 300, cwd=tmp_path),
                   "File name too long", "choose a shorter --out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("location", ["x" * 5000 + ".py", "/".join(["d"] * 2500) + "/w.py"],
                         ids=["a-long-name", "a-deep-path"])
def test_a_target_path_too_long_is_one_line(tmp_path, location):
    one_line_error(run_main("profile", f"{location}:WORKLOAD", cwd=tmp_path),
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
    with ended(process):
        deadline = time.monotonic() + 60
        while not (tmp_path / "importing").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "profkit: interrupted"
    assert "failed" not in stderr and "Traceback" not in stderr
    assert not (tmp_path / "run").exists()


LOST_TASKS = FIXTURES / "lost_tasks.py"
THREE_MODES = ("--modes", "sequential,threads,processes")


def _profile_lost(tmp_path: Path, name: str, *extra: str) -> tuple[subprocess.CompletedProcess[str],
                                                                   Path]:
    out = tmp_path / "run"
    result = run_cli("profile", f"{LOST_TASKS}:{name}", *THREE_MODES, "--out", out, *QUICK,
                     *extra, cwd=tmp_path, timeout=240)
    return result, out


def _saved(out: Path) -> RunMeta:
    """The run folder holds a whole run that opens, and no claim is left behind."""
    assert not (out / CLAIM_FILE).exists()
    loaded = load(out)
    assert set(loaded.timings["mode"]) >= {"sequential"}
    return loaded.meta


def test_output_to_a_pipe_closed_early_does_not_lose_the_run(tmp_path):
    """``profkit profile ... 2>&1 | head -2`` exited 0 and left no folder."""
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "profkit", "profile", "double", "--modes", "sequential,processes",
         "--out", str(out), *QUICK], cwd=tmp_path, env=cli_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with ended(process):
        assert process.stdout is not None
        head = [process.stdout.readline() for _ in range(2)]
        assert process.poll() is None  # still running: what it writes next meets a closed pipe
        process.stdout.close()
        process.wait(timeout=240)
    assert all(line.startswith(b"[") for line in head), head
    assert process.returncode == 0
    meta = _saved(out)
    assert meta.status == {"sequential": "ok", "processes": "ok"}
    assert (out / "index.html").is_file()


def test_a_task_that_closes_fds_1_and_2_keeps_the_run_and_the_messages(tmp_path):
    """The run is kept, and profkit still prints its messages after the task closed stdout and stderr."""
    result, out = _profile_lost(tmp_path, "CLOSES_FDS_ONCE")
    assert result.returncode == 0, result.stderr
    meta = _saved(out)
    assert set(meta.status.values()) == {"ok"}
    # the descriptors were given back to profkit: progress and summary still reach the user
    assert "sequential: closing the pool" in result.stderr
    assert f"report:   {out / 'index.html'}" in result.stdout

    # closed on every call, the task fails from its second call on: the run is still kept
    (tmp_path / "again").mkdir()
    result, out = _profile_lost(tmp_path / "again", "CLOSES_FDS")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(
        "profkit: 3 modes failed: sequential, threads, processes;")
    meta = _saved(out)
    assert set(meta.status.values()) == {"failed"}


def test_a_task_that_lowers_the_recursion_limit_breaks_no_analysis(tmp_path):
    """sys.setrecursionlimit(50) in the task: the analysis still runs and every mode is kept."""
    result, out = _profile_lost(tmp_path, "LOW_RECURSION")
    assert result.returncode == 0, result.stderr
    meta = _saved(out)
    assert set(meta.status.values()) == {"ok"}
    analysis = json.loads((out / "run.json").read_text())["analysis"]
    assert analysis["modes"]["processes"]["wall_median_s"] > 0
    assert (out / "index.html").is_file()

    from tests.fixtures.lost_tasks import LOW_RECURSION

    # From the API, called from deep in pytest's stack: the sequential task gives the limit
    # back before this thread, deeper than 50 calls, wakes. (Threads mode cannot: its tasks
    # run while this thread collects their results, and the limit is the interpreter's.
    # Forked workers start as deep as this thread, where Python refuses a limit of 50.)
    before = sys.getrecursionlimit()
    run = profile(LOW_RECURSION, modes="sequential", repeat=2, line_budget=0.01)
    assert sys.getrecursionlimit() == before
    assert run.meta.status == {"sequential": "ok"}
    assert run.analysis.modes["sequential"].wall_median_s > 0


def test_a_failing_analysis_keeps_the_measurements(tmp_path, monkeypatch):
    """The raw measurements are saved before they are analysed."""
    import profkit.analysis.summary as summary

    def broken(frames: object, meta: object) -> dict:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(summary, "analyse", broken)
    out = tmp_path / "run"
    with pytest.warns(UserWarning, match=r"the analysis failed \(RecursionError.*"
                                         r"the measurements are saved.*profkit report"):
        run = profile(DOUBLE, modes="sequential,processes", workers=2, repeat=2,
                      line_budget=0.01, out=out)
    assert run.meta.analysis_error.startswith("RecursionError")
    data = json.loads((out / "run.json").read_text())
    assert data["analysis_error"].startswith("RecursionError") and data["analysis"] == {}
    assert not (out / "index.html").exists()
    assert (out / "frames" / "timings.parquet").is_file()
    monkeypatch.undo()
    result = run_cli("report", out, timeout=120)  # analyses the saved measurements again
    assert result.returncode == 0, result.stderr
    assert (out / "index.html").is_file()
    loaded = load(out)
    assert set(loaded.timings["mode"]) == {"sequential", "processes"}


def test_os_exit_in_every_mode_fails_the_modes_not_profkit(tmp_path):
    """os._exit(3) in the sequential probe ended profkit: exit 3, no message, only the claim."""
    result, out = _profile_lost(tmp_path, "EXITS_3")
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        "profkit: 3 modes failed: sequential, threads, processes;")
    meta = _saved(out)
    assert set(meta.status.values()) == {"failed"}
    for mode in ("sequential", "threads"):
        assert "the task called os._exit(3)" in meta.errors[mode]
    assert "died abruptly" in meta.errors["processes"]
    assert (out / "index.html").is_file()

    from profkit.engine import guard
    from tests.fixtures.lost_tasks import EXITS_3

    run = profile(EXITS_3, modes="sequential,threads", workers=2, repeat=1)
    assert run.failed_modes == ["sequential", "threads"]
    assert os._exit is guard._real_exit  # the guard is gone with the run


def test_a_failed_run_deletes_only_what_profkit_wrote(tmp_path):
    """A note saved in --out while the items callable sleeps is kept when the run fails: only the
    claim profkit wrote is removed."""
    out, mark = tmp_path / "run", tmp_path / "mark"
    process = subprocess.Popen(
        [sys.executable, "-m", "profkit", "profile", f"{LOST_TASKS}:SLOW_ITEMS_RAISE",
         "--out", str(out)], cwd=tmp_path, env=cli_env(**{MARK_ENV: str(mark)}),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with ended(process):
        deadline = time.monotonic() + 60
        while not mark.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        (out / "my-notes.txt").write_text("mine")
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2, stderr
    assert "the item source is down" in stderr
    assert [p.name for p in out.iterdir()] == ["my-notes.txt"]
    assert (out / "my-notes.txt").read_text() == "mine"


@pytest.fixture
def full_disk(tmp_path):
    """A tmpfs with room for the files of one run of ``double`` and not one more (root only)."""
    reference = tmp_path / "reference"
    result = run_cli("profile", "double", "--modes", "sequential,processes", "--out", reference,
                     *QUICK, "-q", timeout=240)
    assert result.returncode == 0, result.stderr
    # the run folder and its files, without the report; plus the tmpfs root and the claim file
    inodes = sum(1 for p in [reference, *reference.rglob("*")] if p.name != "index.html") + 2
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size=64m,nr_inodes={inodes}",
                              "tmpfs", str(disk)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}): needs root")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_at_the_report_keeps_the_data_and_says_so(full_disk):
    """ENOSPC while writing the report: no traceback, the data is kept, and the console says the
    report was not written instead of naming it."""
    out = full_disk / "run"
    result = run_cli("profile", "double", "--modes", "sequential,processes", "--out", out,
                     *QUICK, timeout=240)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert not (out / "index.html").exists()
    assert ("profkit: warning: the report could not be written (OSError: No space left on "
            f"device); the data is saved: re-render it with `profkit report {out}`"
            in result.stderr)
    assert (f"report:   not written (OSError: No space left on device): profkit report {out}"
            in result.stdout)
    assert f"report:   {out / 'index.html'}" not in result.stdout
    meta = _saved(out)
    assert meta.status == {"sequential": "ok", "processes": "ok"}
