"""Memory through memory_profiler, on real pools: peaks, sample coverage, mprof files, memory by line.

The workload holds 300 MiB per item (every page touched) while it computes in
pure Python, so the GIL is held and a sampler thread in the parent would starve.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from profkit.collectors.memory import MemorySampler, parse_dat
from profkit.pipeline import profile
from profkit.workloads.primes import PRIMES, is_prime
from tests.fixtures.memory_hog import HOG, HOLD_BYTES
from tests.fixtures.workloads import SMALL_PRIMES

pytestmark = pytest.mark.timeout(300)

TOLERANCE = 0.15
MIB = 2**20


def _overlap(tasks) -> int:
    """Most tasks running at once, from their start and end times."""
    events = sorted([(s, 1) for s in tasks["start_s"]] + [(e, -1) for e in tasks["end_s"]],
                    key=lambda x: (x[0], x[1]))
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


def _close(value: float, expected: float) -> bool:
    return abs(value - expected) <= TOLERANCE * expected


@pytest.fixture(scope="module")
def hog_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("hog") / "run"
    # default budgets: the line pass traces one mode only, and every mode still gets memory lines
    return profile(HOG, modes="sequential,threads,processes,pool", workers=2, repeat=1,
                   memory_lines=["hold"], out=out)


def test_the_sampler_process_is_not_starved_by_a_task_holding_the_gil():
    interval = 0.02
    with MemorySampler(interval=interval) as sampler:
        t0 = time.perf_counter()
        for n in PRIMES[:3]:
            is_prime(n)  # pure Python in this very thread: the GIL is held throughout
        held = time.perf_counter() - t0
    assert sampler.error is None
    times = sorted({s["t_s"] for s in sampler.samples})
    inside = [t for t in times if times[0] <= t]
    assert times[-1] - times[0] >= held
    assert len(inside) >= 0.9 * held / interval, (len(inside), held / interval)


@pytest.mark.parametrize("mode", ["sequential", "threads", "processes", "pool"])
def test_reported_rise_is_what_the_mode_holds(hog_run, mode):
    """Sequential and threads hold it in the parent (threads add up); a worker process holds its own."""
    assert hog_run.meta.status[mode] == "ok"
    entry = hog_run.analysis.memory.modes[mode]
    tasks = hog_run.tasks[(hog_run.tasks["mode"] == mode) & ~hog_run.tasks["sweep"]]
    if hog_run.analysis.modes[mode].traits.shares_memory:
        expected = HOLD_BYTES * _overlap(tasks)
        assert _close(entry.parent_rise_bytes, expected), (entry.parent_rise_bytes / MIB,
                                                               expected / MIB)
        assert _close(entry.total_rise_bytes, expected)
    else:
        assert entry.parent_rise_bytes < 0.05 * HOLD_BYTES
        ran = set(tasks["pid"])
        rises = {p.pid: p.rise_bytes for p in entry.processes}
        assert ran <= set(rises), (ran, rises)
        for pid in ran:
            assert _close(rises[pid], HOLD_BYTES), (pid, rises[pid] / MIB)
        assert _close(entry.worker_rise_bytes, HOLD_BYTES)


def test_memory_frame_is_the_dat_files_samples(hog_run):
    for mode in ("sequential", "processes"):
        dat = (hog_run.path / "memory" / f"{mode}.dat").read_text()
        assert dat.startswith("CMDLINE profkit memory-hog")
        rows = parse_dat(dat)
        frame = hog_run.memory[hog_run.memory["mode"] == mode]
        assert len(frame) == len(rows)
        assert sorted(frame["rss_bytes"]) == sorted(r.rss_bytes for r in rows)
        if mode == "processes":
            workers = set(frame[frame["role"] == "worker"]["pid"])
            assert len(workers) == 2 and os.getpid() not in workers
            assert set(hog_run.tasks[hog_run.tasks["mode"] == mode]["pid"]) <= workers
            assert dat.count("CHLD ") == len(frame[frame["role"] != "parent"])


def test_mprof_plot_opens_the_dat_file(hog_run, tmp_path):
    mprof = shutil.which("mprof")
    command = [mprof] if mprof else [sys.executable, "-m", "mprof"]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    png = tmp_path / "x.png"
    result = subprocess.run([*command, "plot", "--output", str(png), "memory/processes.dat"],
                            cwd=hog_run.path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert png.stat().st_size > 1000
    peak = subprocess.run([*command, "peak", "memory/processes.dat"], cwd=hog_run.path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert peak.returncode == 0
    total = hog_run.analysis.memory.modes["processes"].total_peak_bytes / MIB
    assert abs(float(re.findall(r"([\d.]+) MiB", peak.stdout)[0]) - total) < 0.01, peak.stdout


@pytest.mark.matrix
@pytest.mark.parametrize("mode", ["sequential", "threads", "processes", "pool"])
def test_memory_lines_name_the_allocating_line(hog_run, mode):
    lines = hog_run.frames["memory_lines"]
    mine = lines[lines["mode"] == mode]
    assert not mine.empty
    top = mine.sort_values("increment_bytes", ascending=False).iloc[0]
    assert "bytearray(HOLD_BYTES)" in top["source"]
    assert _close(top["increment_per_item_bytes"], HOLD_BYTES), top["increment_per_item_bytes"] / MIB
    assert top["occurrences"] == len(hog_run.meta.modes[mode].memory_line_items)
    assert hog_run.meta.modes[mode].phase_s["memory_lines"] > 0


def test_report_shows_memory_by_line_and_the_mprof_commands(hog_run):
    html = (hog_run.path / "index.html").read_text()
    assert 'id="memory-lines"' in html and "Memory by line" in html
    assert "items covered: 0, 1 (2 of 2)" in html
    assert "mprof plot memory/processes.dat" in html
    assert 'id="chart-memory"' in html  # memory moved: the chart stays
    assert hog_run.analysis.memory.moved is True


def test_sample_coverage_on_primes_in_sequential_and_threads(tmp_path):
    run = profile("primes", modes="sequential,threads", workers=2, repeat=1, line_budget=0.05)
    interval = run.meta.options["memory_interval_s"]
    for mode in ("sequential", "threads"):
        times = sorted(run.memory[run.memory["mode"] == mode]["t_s"].unique())
        wall = run.meta.modes[mode].tasks_wall_s
        assert times[-1] - times[0] >= wall  # sampling spans the whole pass
        expected = (times[-1] - times[0]) / interval + 1
        assert len(times) >= 0.9 * expected, (mode, len(times), expected)
        assert len(times) >= 0.9 * wall / interval


def test_memory_lines_refuses_an_item_that_cannot_fit_the_budget():
    t0 = time.perf_counter()
    run = profile(SMALL_PRIMES, modes="sequential", repeat=1, line_budget=0.05,
                  memory_lines=["is_prime"], memory_line_budget=0.5)
    assert time.perf_counter() - t0 < 60
    info = run.meta.modes["sequential"]
    assert info.memory_line_items == []
    assert "not run" in info.memory_lines_note and "not the task itself" in info.memory_lines_note
    assert info.memory_lines_estimate_s > 0.5
    assert run.frames["memory_lines"].empty
    assert "memory_lines" not in info.phase_s


def test_cli_flag_and_pyproject_key(tmp_path):
    from tests.fixtures.cli import run_cli

    target = "tests.fixtures.memory_hog:SMALL"
    out = tmp_path / "flag"
    result = run_cli("profile", target, "--modes", "sequential", "--repeat", "1", "--quiet",
                     "--memory-lines", "small", "--memory-line-budget", "1.5", "--out", out,
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "run.json").read_text())
    assert data["options"]["memory_line_functions"] == ["small"]
    assert data["options"]["memory_line_budget_s"] == 1.5
    assert data["modes"]["sequential"]["memory_line_items"] == [0, 1]
    assert data["artifacts"]["memory"] == {"sequential": "memory/sequential.dat"}

    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.profkit]\nmemory_lines = ["small"]\nmemory_line_budget = 3\n', encoding="utf-8")
    result = run_cli("profile", target, "--modes", "sequential", "--repeat", "1", "--quiet",
                     "--out", project / "run", cwd=project)
    assert result.returncode == 0, result.stderr
    data = json.loads((project / "run" / "run.json").read_text())
    assert data["options"]["memory_line_functions"] == ["small"]
    assert data["options"]["memory_line_budget_s"] == 3
