"""Each mode's profile holds the task's own thread, whatever runs beside it.

From CPython 3.12 cProfile runs on ``sys.monitoring``: one profiler per interpreter,
whose events come from every thread. A Dask worker's event loop, another thread of
the parent, or the budget's watchdog must not take the task's time away.
"""

from __future__ import annotations

import time

import pytest

from profkit.analysis.own_frames import own_mask
from profkit.model import Status
from profkit.pipeline import profile
from profkit.workloads.primes import is_prime
from tests.fixtures.workloads import SMALL_NUMBERS, SMALL_PRIMES

pytestmark = pytest.mark.matrix

MODES = ("sequential", "threads", "processes", "pool", "dask")


@pytest.fixture(scope="module")
def every_mode_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("every-mode") / "run"
    # "all": every item profiled, the threads' batches on both threads of the pool
    return profile(SMALL_PRIMES, modes=",".join(MODES), workers=2, repeat=1, out=out,
                   profile_budget="all", line_budget="all")


def _bare_cpu_seconds() -> float:
    """The six items, plainly, in this thread: the least CPU time of three (CPU, not wall
    time, which other programs on the machine stretch by a different amount each time)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.thread_time()
        for n in SMALL_NUMBERS:
            is_prime(n)
        best = min(best, time.thread_time() - t0)
    return best


@pytest.mark.parametrize("mode", MODES)
def test_the_task_s_time_is_in_its_mode_s_profile(every_mode_run, mode):
    assert every_mode_run.meta.status[mode] is Status.OK
    functions = every_mode_run.functions
    functions = functions[functions["mode"] == mode]
    functions = functions[~own_mask(functions["filename"], functions["name"])]
    task = functions[functions["name"] == "is_prime"]
    assert int(task["ncalls"].iloc[0]) == len(SMALL_NUMBERS)
    # is_prime is pure Python: its self time is nearly the mode's, and about the bare code's CPU
    # time or more (cProfile slows it, a busy core stretches it), never a share of it
    self_s = float(task["self_s"].iloc[0])
    assert self_s >= 0.9 * functions["self_s"].sum(), functions.nlargest(5, "self_s")
    assert self_s >= 0.7 * _bare_cpu_seconds()


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_s_line_pass_counts_every_item(every_mode_run, mode):
    lines = every_mode_run.frames["lines"]
    lines = lines[(lines["mode"] == mode) & (lines["function"] == "is_prime")]
    entry = lines[lines["lineno"] == lines["lineno"].min()]  # the first line runs once per call
    assert int(entry["hits"].iloc[0]) == len(SMALL_NUMBERS)
