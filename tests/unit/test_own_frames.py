"""profkit's own frames stay out of the tables, and nested line time is counted once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import profkit
from profkit.analysis import own_frames
from profkit.frames import COLUMNS
from profkit.render import render, user_view
from tests.fixtures.records import run_meta

PKG = Path(profkit.__file__).resolve().parent
DISABLE = "<method 'disable' of '_lsprof.Profiler' objects>"


@pytest.mark.parametrize(("filename", "name", "own"), [
    ("~", DISABLE, True),
    ("~", "<method 'enable' of '_lsprof.Profiler' objects>", True),
    ("~", "<method 'disable_by_count' of 'line_profiler._line_profiler.LineProfiler' objects>", True),
    (str(PKG / "collectors" / "worker.py"), "run_batch", True),
    (str(PKG / "runner.py"), "run_workload", True),
    ("/venv/lib/python3.11/site-packages/profkit/collectors/worker.py", "run_batch", True),
    (str(PKG / "workloads" / "primes.py"), "is_prime", False),
    ("/home/me/profkit-fork/app/main.py", "task", False),
    ("/home/you/src/profkit/profkit/collectors/budget.py", "call", True),  # another checkout
    ("C:\\src\\profkit\\profkit\\engine\\runner.py", "run_workload", True),
    ("/home/you/src/profkit/profkit/workloads/primes.py", "is_prime", False),
    ("/home/me/profkit/analysis.py", "main", False),  # a user's folder named profkit
    ("/home/me/profkit/collectors/mine.py", "collect", False),
    ("~", "<built-in method math.sqrt>", False),
    ("/usr/lib/python3.11/timeit.py", "inner", False),
])
def test_is_own(filename, name, own):
    assert own_frames.is_own(filename, name) is own


@pytest.mark.parametrize("dtype", [object, "string"])
def test_own_mask_checks_each_row_by_file_and_name(dtype):
    filenames = pd.Series(["~", str(PKG / "collectors" / "worker.py"), "/home/me/app.py", "~"],
                          index=[7, 3, 5, 1], dtype=dtype)
    names = pd.Series([DISABLE, "run_batch", "task", "<built-in method math.sqrt>"],
                      index=[7, 3, 5, 1], dtype=dtype)
    mask = own_frames.own_mask(filenames, names)
    assert mask.dtype == bool
    assert mask.to_dict() == {7: True, 3: True, 5: False, 1: False}


def _typed(name: str, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)[list(COLUMNS[name])].astype({c: t for c, (t, _) in COLUMNS[name].items()})


def test_bottlenecks_leave_out_the_profiler_switch_and_rerank(small_primes_run):
    functions = small_primes_run.frames["functions"]
    assert (functions["name"] == DISABLE).any()  # the collectors do record it
    view = user_view(small_primes_run)
    assert not (view.frames["functions"]["name"] == DISABLE).any()
    assert all(b.name != DISABLE for b in small_primes_run.analysis.bottlenecks)
    for _, group in view.frames["functions"].groupby("mode"):
        assert group["self_pct"].sum() == pytest.approx(100.0)
    assert small_primes_run.frames["functions"] is functions  # the run itself is untouched
    html = render(small_primes_run, "html")
    assert "_lsprof.Profiler" not in html


def test_nested_line_time_is_counted_once_and_the_wrapper_leaves_the_hot_lines():
    meta = run_meta(task="profkit.workloads.containers:time_builder")
    base = {"mode": "sequential", "filename": "/x/containers.py", "pct": 0.0, "source": ""}
    lines = _typed("lines", [
        {**base, "function": "time_builder", "func_lineno": 68, "lineno": 70, "hits": 8, "time_s": 0.004},
        {**base, "function": "time_builder", "func_lineno": 68, "lineno": 71, "hits": 8, "time_s": 3.0},
        {**base, "function": "build_set_add", "func_lineno": 34, "lineno": 37, "hits": 10, "time_s": 0.9},
        {**base, "function": "build_list", "func_lineno": 22, "lineno": 23, "hits": 10, "time_s": 0.1},
    ])
    assert own_frames.nesting_task(lines, meta) == "time_builder"
    assert own_frames.line_time_once(lines, meta) == pytest.approx(3.004)  # not 4.004
    top = own_frames.top_lines(lines, meta)
    assert [r.function for r in top] == ["build_set_add", "build_list"]
    alone = lines[lines["function"] == "time_builder"]
    assert own_frames.nesting_task(alone, meta) is None  # a task alone nests nothing
    assert own_frames.line_time_once(alone, meta) == pytest.approx(3.004)
