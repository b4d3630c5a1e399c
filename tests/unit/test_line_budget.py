"""The line pass's budget: a real line_profiler, a real watchdog, real threads."""

from __future__ import annotations

import statistics
import subprocess
import sys
import textwrap
import time

import pytest
from line_profiler import LineProfiler

from profkit.collectors.budget import ItemBudget
from profkit.collectors.worker import CPROFILE, LINES, run_batch
from profkit.workloads.primes import is_prime
from tests.conftest import REPO
from tests.fixtures.line_budget_tasks import spin, spin_swallowing, turns_for


def _hits(stats, function) -> dict[int, tuple[int, float]]:
    """line number -> (hits, seconds) of ``function`` in a LineStats."""
    code = function.__code__
    for (_filename, first, name), entries in stats.timings.items():
        if (first, name) == (code.co_firstlineno, code.co_name):
            return {lineno: (hits, t * stats.unit) for lineno, hits, t in entries}
    return {}


def test_an_item_bigger_than_the_budget_is_cut_and_its_lines_counted_until_then():
    n = turns_for(1.0)  # about 9 s under line_profiler, uncut
    profiler = LineProfiler(spin)
    t0 = time.perf_counter()
    budget = ItemBudget(0.2)
    profiler.enable_by_count()
    try:
        result, cut = budget.call(spin, n)
    finally:
        profiler.disable_by_count()
    took = time.perf_counter() - t0
    budget.close()
    assert cut and result is None
    assert budget.spent
    assert 0.15 < took < 1.5, took  # cut near 0.2 s, not after the ~9 s the item would take
    body = _hits(profiler.get_stats(), spin)[spin.__code__.co_firstlineno + 3]
    assert 0 < body[0] < n  # counted until the cut, exactly as line_profiler counts
    assert 0 < body[1] < took


def test_an_item_within_the_budget_runs_whole_and_a_spent_budget_says_so():
    budget = ItemBudget(5.0)
    assert budget.call(spin, 1000) == (spin(1000), False)
    assert not budget.spent
    budget.close()
    short = ItemBudget(0.01)
    time.sleep(0.05)
    assert short.spent
    ran = []
    assert short.call(ran.append, 10) is None  # past the deadline no item starts: none is cut
    assert ran == []
    short.close()


def test_except_exception_in_the_task_does_not_swallow_the_cut():
    n = turns_for(3.0)
    budget = ItemBudget(0.1)
    t0 = time.perf_counter()
    result, cut = budget.call(spin_swallowing, n)
    budget.close()
    assert cut and result is None
    assert time.perf_counter() - t0 < 2.0


def test_a_cut_swallowed_by_a_gc_callback_is_fired_again_and_nothing_is_printed():
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from profkit.collectors.budget import ItemBudget
        from tests.fixtures.line_budget_tasks import spin_in_gc_callbacks
        budget = ItemBudget(0.2)
        t0 = time.perf_counter()
        result, cut = budget.call(spin_in_gc_callbacks, 5.0)
        took = time.perf_counter() - t0
        budget.close()
        print(cut, result, round(took, 3))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    cut, result, took = done.stdout.split()
    assert (cut, result) == ("True", "None"), done.stdout
    assert float(took) < 2.0, took  # the 5 s item was cut near 0.2 s, not run whole
    assert "Exception ignored" not in done.stderr and "BudgetSpent" not in done.stderr



def _cut_in_a_subprocess(setup: str, task: str, items: int, budget_s: float) -> str:
    """Run ``items`` budgets of ``budget_s`` on ``task`` (defined by ``setup``) in a fresh
    process, so a hang fails the test; check every item ended by the cut; return stderr."""
    script = textwrap.dedent(setup) + textwrap.dedent(f"""
        from profkit.collectors.budget import ItemBudget
        outcomes = []
        for _ in range({items}):
            budget = ItemBudget({budget_s})
            ran = budget.call({task}, None)
            budget.close()
            outcomes.append("skipped" if ran is None else "cut" if ran[1] else "whole")
        print(outcomes.count("cut"), outcomes.count("skipped"), outcomes.count("whole"))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    cut, skipped, whole = map(int, done.stdout.split())
    assert whole == 0 and cut + skipped == items and cut >= 1, done.stdout
    assert "Exception ignored" not in done.stderr and "BudgetSpent" not in done.stderr, done.stderr
    return done.stderr


def test_the_cut_never_lands_in_dasks_gc_diagnosis():
    """distributed's GC diagnosis (on in any process running a scheduler or worker) reads /proc
    inside its gc callback, so the watchdog often wakes just then. A cut delivered there left
    its timer started: every later full collection printed "Exception ignored ... assert
    self._cur_start is None", and a swallowed cut could leave the item running uncut."""
    stderr = _cut_in_a_subprocess("""
        from distributed.gc import enable_gc_diagnosis

        class Node:
            def __init__(self, other):
                self.me, self.other = self, other

        def churn(_):
            junk = []
            while True:  # cyclic garbage: frequent full collections
                junk.append(Node(Node(None)))
                if len(junk) > 5000:
                    junk = []

        enable_gc_diagnosis()
        keep = [[i] for i in range(50_000)]  # a heap that makes full collections last
    """, "churn", items=60, budget_s=0.003)
    assert "AssertionError" not in stderr, stderr


def test_a_task_that_starts_threads_is_cut_not_hung():
    """Until a new thread's OS thread begins, CPython 3.11 gives its state the id of the
    thread starting it, so the cut could be raised in the new thread: it died before telling
    Thread.start() it had begun, and the task waited there forever (a task that makes its own
    multiprocessing.Pool starts three threads, and hung so about once in 30 runs)."""
    _cut_in_a_subprocess("""
        import threading

        def starts_threads(_):
            while True:
                thread = threading.Thread(target=lambda: None)
                thread.start()
                thread.join()
    """, "starts_threads", items=300, budget_s=0.002)


def test_the_task_s_own_exception_is_raised_again():
    budget = ItemBudget(5.0)
    with pytest.raises(ZeroDivisionError):
        budget.call(lambda x: 1 / x, 0)
    budget.close()


def test_run_batch_stops_at_the_budget_and_reports_the_cut_item():
    n = turns_for(0.5)
    t0 = time.perf_counter()
    payload = run_batch(spin, [(0, 10), (1, n), (2, n), (3, n)], LINES, (), False, 0.2)
    took = time.perf_counter() - t0
    assert took < 2.0, took  # four items would take about 13 s traced
    assert [r.index for r in payload.records] == [0, 1]  # item 0 whole, item 1 cut, 2-3 left out
    assert list(payload.cut) == [1]
    record = payload.records[1]
    assert payload.cut[1] == pytest.approx(record.end - record.start)
    assert 0.1 < payload.cut[1] < 1.5
    assert all(r.ok for r in payload.records)


def test_the_cut_item_s_hottest_line_and_share_match_a_full_line_profiler_run():
    """Accuracy: a partial trace of one big prime against line_profiler on the whole item."""
    prime = 1000000000000037  # about 0.4 s plain; 3-4 s traced in full
    full = LineProfiler(is_prime)
    full.runcall(is_prime, prime)

    def shares(stats) -> dict[int, float]:
        lines = _hits(stats, is_prime)
        total = sum(t for _, t in lines.values())
        return {lineno: 100 * t / total for lineno, (_, t) in lines.items()}

    # three cut traces, median share: on a busy machine a line's time includes waits for a
    # core, and in 0.3 s one long wait can move a share by 15 points
    cuts = []
    for _ in range(3):
        payload = run_batch(is_prime, [(0, prime)], LINES, (), False, 0.3)
        assert list(payload.cut) == [0]
        cuts.append(shares(payload.lines))
    want = shares(full.get_stats())
    hottest = max(want, key=want.__getitem__)
    assert [max(got, key=got.__getitem__) for got in cuts].count(hottest) >= 2, (cuts, want)
    share = statistics.median(got.get(hottest, 0.0) for got in cuts)
    assert abs(share - want[hottest]) < 10, (cuts, want)


def test_no_exception_escapes_a_pool_thread_and_later_tracing_does_not_spin():
    """The cut races the end of tiny items thousands of times, then the thread runs on under
    cProfile and line_profiler. In a subprocess, so a hang fails instead of stalling the suite.

    (Clearing a pending exception with ``PyThreadState_SetAsyncExc(id, NULL)`` leaves CPython
    3.11's pending flag set, and traced code then spins at its next call: this caught that.)
    """
    script = textwrap.dedent("""
        import cProfile, time
        from concurrent.futures import ThreadPoolExecutor
        from line_profiler import LineProfiler
        from profkit.collectors.budget import ItemBudget
        from tests.fixtures.line_budget_tasks import spin

        def many(seconds):
            profiler = LineProfiler(spin)
            cuts = runs = 0
            for _ in range(500):
                budget = ItemBudget(seconds)
                while not budget.spent:
                    profiler.enable_by_count()
                    try:
                        ran = budget.call(spin, 50 + runs * 3797 % 60000)
                        cuts += ran[1] if ran is not None else 0
                    finally:
                        profiler.disable_by_count()
                    runs += 1
                budget.close()
            return cuts, runs

        with ThreadPoolExecutor(2) as pool:
            cuts, runs = pool.submit(many, 0.005).result(timeout=60)
            for _ in range(50):
                assert pool.submit(sum, [1, 2]).result(timeout=10) == 3
            profile = cProfile.Profile()
            profile.enable()
            assert pool.submit(spin, 100_000).result(timeout=10) == spin(100_000)
            profile.disable()
        print(cuts, runs)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    cuts, runs = map(int, done.stdout.split())
    assert runs > cuts >= 1  # the race was run: items cut, and others not


def test_run_batch_cuts_a_cprofile_item_at_the_budget_and_its_calls_are_counted_until_then():
    n = turns_for(3.0)  # about 4.5 s under cProfile, uncut
    t0 = time.perf_counter()
    payload = run_batch(spin, [(0, 10), (1, n), (2, n)], CPROFILE, (), False, 0.3)
    took = time.perf_counter() - t0
    assert took < 2.0, took
    assert [r.index for r in payload.records] == [0, 1]  # item 0 whole, item 1 cut, 2 left out
    assert list(payload.cut) == [1] and 0.25 < payload.cut[1] < 1.5
    stats = {(key[2], key[1]): value for key, value in payload.profile.items()}
    calls, _, self_s, _, _ = stats[("spin", spin.__code__.co_firstlineno)]
    assert calls == 2  # both items entered spin; the cut one returned by the exception
    # the self time cProfile counted agrees with the wall time until the cut
    assert 0.5 < self_s / payload.cut[1] < 1.1, (self_s, payload.cut)


def test_a_budgeted_cprofile_pass_records_the_task_s_calls_only():
    """A task that takes no lock: the profile under a budget holds its calls, and none of the
    budget's own lock calls (each item's would show as the task's, 2 per item)."""
    from profkit.analysis.own_frames import is_own

    payload = run_batch(spin, [(i, 1000) for i in range(20)], CPROFILE, (), False, 5.0)
    assert [r.index for r in payload.records] == list(range(20)) and not payload.cut
    seen = {(key[0], key[2]): value[0] for key, value in payload.profile.items()
            if not is_own(key[0], key[2])}
    assert seen == {(spin.__code__.co_filename, "spin"): 20}, seen
