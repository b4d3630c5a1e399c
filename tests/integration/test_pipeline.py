"""A real run of the small prime list: merged worker stats, line stats, frames, analysis."""

import linecache
import pstats

import line_profiler
import pandas as pd
import pytest

from profkit.frames import COLUMNS
from profkit.render import text as words
from profkit.store import FORMAT_VERSION
from tests.fixtures.bare import gil_cores, quiet


def test_processes_profile_holds_the_work_done_in_the_workers(small_primes_run):
    stats = pstats.Stats(str(small_primes_run.path / "profiles" / "processes.prof"))
    by_name = {name: v for (_, _, name), v in stats.stats.items()}
    assert by_name["is_prime"][1] == 6  # six calls, duplicate included
    total_self = sum(v[2] for v in stats.stats.values())
    assert by_name["is_prime"][2] / total_self > 0.9
    assert not any("acquire" in name for name in by_name)  # not a parent-side profile


@pytest.mark.matrix
@pytest.mark.parametrize("mode", ["sequential", "threads", "processes"])
def test_every_mode_saves_a_loadable_profile_and_line_file(small_primes_run, mode):
    stats = pstats.Stats(str(small_primes_run.path / "profiles" / f"{mode}.prof"))
    assert any(name == "is_prime" for (_, _, name) in stats.stats)
    lines = line_profiler.load_stats(str(small_primes_run.path / "lines" / f"{mode}.lprof"))
    (key, entries), = [(k, v) for k, v in lines.timings.items() if k[2] == "is_prime"]
    # each line's code without its comment, so a reworded comment in primes.py changes nothing here
    hits = {linecache.getline(key[0], lineno).split("#")[0].strip(): n for lineno, n, _ in entries}
    assert hits["for i in range(3, sqrt_n + 1, 2):"] > 1000
    assert hits["if n % i == 0:"] > 1000


def test_line_pass_in_processes_merges_both_workers(small_primes_run):
    tasks = small_primes_run.tasks
    assert tasks[tasks["mode"] == "processes"]["pid"].nunique() == 2
    assert len(small_primes_run.meta.modes["processes"].line_items) >= 2


def test_frames_round_trip_through_parquet_with_the_documented_schema(small_primes_run):
    for name, columns in COLUMNS.items():
        frame = pd.read_parquet(small_primes_run.path / "frames" / f"{name}.parquet")
        assert list(frame.columns) == list(columns)
        if "mode" in columns:  # line_source holds source lines, of no one mode
            assert set(frame["mode"]) <= {"sequential", "threads", "processes"}
        if name in ("gc", "memory_lines"):  # gc: is_prime allocates nothing (test_gc.py has
            continue                        # some); memory_lines: only with --memory-lines
        assert len(frame) > 0, name
    tasks = small_primes_run.tasks
    assert sorted(tasks.groupby("mode").size().tolist()) == [6, 6, 6]


def test_analysis_has_speedups_bounds_and_overheads_that_add_up(small_primes_run):
    a = small_primes_run.analysis
    processes = a.modes["processes"]
    # the speedup itself is checked against a bare ProcessPoolExecutor in test_executors.py
    lo, hi = processes.speedup_ci
    assert lo <= processes.speedup <= hi
    assert 1.0 < processes.bound <= 2.0
    assert processes.efficiency == pytest.approx(processes.speedup / 2)
    o = processes.overheads
    parts = o.startup_s + o.dispatch_s + o.busy_s + o.imbalance_s + o.collect_s
    assert parts == pytest.approx(o.startup_s + o.pass_wall_s, rel=1e-6)
    assert o.error_pct is not None
    if quiet(small_primes_run.meta.rounds):
        assert a.classification.kind == "cpu-bound"
    else:  # waiting for a core looks like waiting: the run says its CPU/wait split may be off
        assert any("set aside" in words.note(w) for w in a.warnings + a.notes), a
    assert a.bottlenecks[0].name == "is_prime"
    assert any(row.source.strip().startswith("if n % i == 0") for row in a.hot_lines)


def test_a_loaded_run_has_the_analysis_it_was_saved_with(small_primes_run):
    """The typed analysis of a real run (bottlenecks, hot lines, prediction, memory) round-trips
    through run.json unchanged."""
    import profkit

    loaded = profkit.load(small_primes_run.path)
    made = small_primes_run.analysis
    assert made.bottlenecks and made.hot_lines and made.prediction and made.memory.modes
    assert loaded.analysis == made


def test_threads_show_no_real_gain_on_pure_python(small_primes_run):
    threads = small_primes_run.analysis.modes["threads"]
    if quiet(small_primes_run.meta.rounds):
        assert threads.speedup < 1.15
        assert small_primes_run.analysis.classification.gil_bound
    # on any machine: CPU seconds over wall seconds of each threads map, the cores it kept busy
    assert max(gil_cores(small_primes_run.frames["timings"])) < 1.15


@pytest.mark.matrix
def test_run_json_records_status_start_method_and_format(small_primes_run):
    import json

    data = json.loads((small_primes_run.path / "run.json").read_text())
    assert data["format_version"] == FORMAT_VERSION
    assert data["status"] == {"sequential": "ok", "threads": "ok", "processes": "ok"}
    assert data["environment"]["start_method"] in ("fork", "forkserver", "spawn")
    assert data["artifacts"]["profiles"]["processes"] == "profiles/processes.prof"
    modes = data["analysis"]["modes"]
    rec = data["analysis"]["recommendation"]
    # a pool is recommended only when its interval excludes no gain, and never for the GIL
    clear = [m for m in modes.values() if m.get("speedup_ci") and m["speedup_ci"][0] > 1
             and m["speedup"] >= 1.1 and m.get("cause") not in ("the GIL", "noise", "overhead")]
    if rec["mode"] == "sequential":
        assert not clear
    else:
        assert modes[rec["mode"]] in clear


def test_the_item_size_card_describes_the_pool_whose_workers_compute_side_by_side(small_primes_run):
    """threads and processes both have 2 workers: the card is the processes pool's, not the GIL's 1x."""
    a = small_primes_run.analysis
    grain, processes = a.granularity, a.modes["processes"]
    assert grain.workers == 2
    assert grain.bound == pytest.approx(processes.bound)
    if quiet(small_primes_run.meta.rounds):  # the GIL's 1x cap needs the work called CPU-bound
        assert grain.bound > a.modes["threads"].bound


def test_a_run_saved_before_queued_s_loads_with_it_unknown(small_primes_run, tmp_path):
    """A run folder from an older profkit (its tasks frame has no queued_s) still opens."""
    import shutil

    import profkit

    old = tmp_path / "old"
    shutil.copytree(small_primes_run.path, old)
    tasks = old / "frames" / "tasks.parquet"
    pd.read_parquet(tasks).drop(columns=["queued_s"]).to_parquet(tasks)
    run = profkit.load(old)
    assert list(run.frames["tasks"].columns) == list(COLUMNS["tasks"])
    assert run.frames["tasks"]["queued_s"].isna().all()
    assert run.frames["tasks"]["cpu_s"].tolist() == small_primes_run.frames["tasks"]["cpu_s"].tolist()
