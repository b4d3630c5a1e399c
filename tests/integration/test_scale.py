"""A run of 100,000 tiny items: every task kept, a report of bounded size that says what it samples."""

from __future__ import annotations

import pickle
import re
import time

import pandas as pd
import pytest

from profkit.engine.runner import CPROFILE_ITEMS, run_workload, sample_every
from profkit.model import ModeSpec
from profkit.options import Options
from profkit.pipeline import build_run
from profkit.render.report.scale import EDGE_ROWS
from profkit.workloads.model import Workload
from tests.fixtures.tiny import dbl

N = 100_000
REPORT_LIMIT = 2 * 2**20


@pytest.fixture(scope="module")
def big_run(tmp_path_factory):
    """Sequential and processes over 100,000 items, every collector but the line pass
    (tests/integration/test_line_budget.py bounds that one), saved to disk."""
    items = list(range(N))
    workload = Workload(name="big", task=dbl, items=items)
    options = Options(modes=[ModeSpec("sequential", 1, parallel=False), ModeSpec("processes", 2)],
                      repeat=1, chunksize=1000, seed=1,
                      collectors=("timing", "tasks", "cprofile", "memory"))
    raw = run_workload(workload, options)
    run = build_run(raw, None)
    run.save(tmp_path_factory.mktemp("scale") / "run")
    return run, items


def test_every_task_is_in_the_tasks_frame(big_run):
    run, _ = big_run
    saved = pd.read_parquet(run.path / "frames" / "tasks.parquet")
    for mode in ("sequential", "processes"):
        mine = saved[saved["mode"] == mode]
        assert len(mine) == N
        assert sorted(mine["item"]) == list(range(N))
        assert (mine["end_s"] >= mine["start_s"]).all()
        assert mine["ok"].all()
    assert saved.loc[saved["mode"] == "processes", "pid"].nunique() == 2


def test_reprs_and_sizes_cover_a_bounded_sample_and_the_totals_cover_everything(big_run):
    run, items = big_run
    tasks = run.tasks[run.tasks["mode"] == "sequential"]
    every = sample_every(N)
    sampled = tasks[tasks["item_repr"] != ""]
    assert set(range(0, N, every)) <= set(sampled["item"])
    assert len(sampled) <= N // every + 2 * EDGE_ROWS * 64
    for row in sampled.head(50).itertuples():
        assert row.item_repr == repr(items[row.item])
        assert row.result_repr == repr(dbl(items[row.item]))
        assert row.item_bytes == len(pickle.dumps(items[row.item]))
    assert tasks.loc[tasks["item_repr"] == "", "item_bytes"].isna().all()
    overheads = run.analysis.modes["processes"].overheads
    assert overheads.items_bytes == len(pickle.dumps(items))
    whole = len(pickle.dumps([dbl(i) for i in items]))
    assert abs(overheads.results_bytes - whole) <= 0.01 * whole  # pickled per batch


def test_cprofile_covers_the_sample_it_states(big_run):
    run, _ = big_run
    covered = run.meta.modes["sequential"].cprofile_items
    # every k-th item, until the pass's budget (0.2 s) ran out: on a busy machine, before the
    # last of them; the report states the number covered, and that is what cProfile counted
    assert 0 < covered <= len(range(0, N, sample_every(N, CPROFILE_ITEMS)))
    functions = run.functions
    for mode in ("sequential", "processes"):
        row = functions[(functions["mode"] == mode) & (functions["name"] == "dbl")]
        assert int(row["ncalls"].iloc[0]) == covered


def test_the_report_is_small_and_says_what_it_samples(big_run):
    run, _ = big_run
    html = (run.path / "index.html").read_text(encoding="utf-8")
    assert len(html.encode("utf-8")) < REPORT_LIMIT
    note = re.search(r'<div class="sampled small" id="sampled">(.*?)</div>', html, re.S)
    assert note, "the report must state what it samples"
    text = note.group(1)
    assert f"every {sample_every(N):,}th item" in text
    covered = run.meta.modes["sequential"].cprofile_items
    assert f"cProfile (sequential): {covered:,} of {N:,} items" in text
    assert f"Timelines (processes {N:,} tasks)" in text
    assert f"slowest and fastest {EDGE_ROWS} of {N:,} items" in text
    assert 'id="rest-items"' not in html or len(html) < REPORT_LIMIT


def test_the_item_table_starts_with_the_slowest_item(big_run):
    run, _ = big_run
    html = (run.path / "index.html").read_text(encoding="utf-8")
    table = html[html.index('id="tbl-items"'):]
    first = int(re.search(r'<td class="num" data-v="(\d+)">', table).group(1))
    tasks = run.tasks[run.tasks["mode"] == "sequential"]
    slowest = tasks.sort_values(["duration_s", "item"], ascending=[False, True])["item"].iloc[0]
    assert first == slowest
    assert f"the other {N - 2 * EDGE_ROWS:,} items are in frames/tasks.parquet" in html


def test_the_probe_costs_little_per_task_against_the_bare_bookkeeping(big_run):
    run, items = big_run
    probe = run.meta.modes["sequential"].phase_s["warmup"]
    clock = time.perf_counter
    t0 = clock()
    floor = [(clock(), dbl(i), clock()) for i in items]  # two clock reads per task, no more
    bare = clock() - t0
    del floor
    # arrays, batches and a sample cost a few times the two clock reads, not the 17 µs of a dict
    assert probe < 12 * bare, (probe, bare)
