"""One GC policy for every timed map, stated, and GC's own share measured (bm_float)."""

from __future__ import annotations

import gc
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from profkit.pipeline import profile
from profkit.render import text as words
from profkit.workloads.model import Workload
from tests.fixtures.alloc import FLOATS, bm_float
from tests.fixtures.bare import agrees, agrees_in_one_of, quiet

pytestmark = pytest.mark.timeout(300)

ITEMS = list(FLOATS.items)  # type: ignore[arg-type]


def _plain(fn, gc_on: bool) -> float:
    was = gc.isenabled()
    (gc.enable if gc_on else gc.disable)()
    try:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        (gc.enable if was else gc.disable)()


def _bare_speedups(gc_on: bool, rounds: int = 3) -> list[float]:
    """A plain serial map against ProcessPoolExecutor(2).map, GC as asked on both sides."""
    context = multiprocessing.get_context("fork")
    init = gc.enable if gc_on else gc.disable
    with ProcessPoolExecutor(2, mp_context=context, initializer=init) as pool:
        list(pool.map(bm_float, ITEMS))
        out = []
        for _ in range(rounds):
            serial = _plain(lambda: [bm_float(n) for n in ITEMS], gc_on)
            parallel = _plain(lambda: list(pool.map(bm_float, ITEMS)), gc_on)
            out.append(serial / parallel)
    return out


@pytest.mark.parametrize("policy", ["off", "on"])
def test_processes_speedup_matches_the_bare_code_under_each_gc_policy(tmp_path, policy):
    gc_on = policy == "on"
    runs = []

    def attempt(k: int) -> tuple[bool, object]:
        before = _bare_speedups(gc_on)
        runs.append(profile(FLOATS, modes="sequential,processes", workers=2, gc=policy,
                            line_budget=0.05, max_time=8, out=tmp_path / f"run{k}"))
        bare = before + _bare_speedups(gc_on)
        speedup = runs[-1].analysis.modes["processes"].speedup
        return agrees(speedup, bare, 0.15), (speedup, bare)

    agrees_in_one_of(attempt)  # a burst over a few short maps can miss once; a bias every time
    run = runs[-1]
    assert run.meta.options["gc"] == policy
    html = (tmp_path / f"run{len(runs) - 1}" / "index.html").read_text(encoding="utf-8")
    assert f"GC was <b>{policy}</b> during the timed maps" in html


def _bare_gc_share() -> float:
    """GC's share of a plain GC-on serial map, timed by gc callbacks around each collection."""
    spent: list[float] = []
    started: list[float] = []

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        else:
            spent.append(time.perf_counter() - started.pop())

    gc.callbacks.append(callback)
    try:
        total = _plain(lambda: [bm_float(n) for n in ITEMS], gc_on=True)
    finally:
        gc.callbacks.remove(callback)
    return sum(spent) / total


def test_gc_share_in_sequential_matches_gc_callbacks_measured_bare(tmp_path):
    # bare shares before and after: a long session's heap and a busy machine move the share, and
    # the check allows the bare code's own spread around the run, and some slack beyond it
    bare = [_bare_gc_share() for _ in range(2)]
    run = profile(FLOATS, modes="sequential,processes", workers=2, repeat=2, line_budget=0.05,
                  out=tmp_path / "run")
    bare += [_bare_gc_share() for _ in range(2)]
    share = run.analysis.modes["sequential"].gc.share
    assert min(bare) > 0.05, "bm_float should spend a real share of its time in GC"
    # both shares are wall time over wall time, and a busy machine's preemptions land in either
    # part: beyond the bare spread, allow 10% of the share (0.05 at least)
    slack = max(0.05, 0.1 * max(bare))
    assert min(bare) - slack <= share <= max(bare) + slack, (share, bare)
    frame = run.frames["gc"]
    assert set(frame["mode"]) == {"sequential", "processes"}
    workers = set(frame.query("mode == 'processes'")["worker"])
    assert workers and all(w.startswith("pid ") for w in workers)
    assert (tmp_path / "run" / "frames" / "gc.parquet").is_file()
    import json

    trace = json.loads((tmp_path / "run" / "trace" / "processes.json").read_text())
    assert any(e.get("cat") == "gc" for e in trace["traceEvents"])
    if share > 0.10:
        assert any("Garbage collection takes" in words.advice(a) for a in run.analysis.advice)


def test_gc_on_times_the_sequential_map_as_a_plain_run(tmp_path):
    # plain maps before and after, each after a collection as profkit's are: in a long test
    # session a full collection walks the whole session's heap, and without one first,
    # whether the garbage left from before brings one on inside a map is luck on either side
    def plain() -> tuple[float, float]:
        gc.collect()
        cpu = time.process_time()
        seconds = _plain(lambda: [bm_float(n) for n in ITEMS], gc_on=True)
        return seconds, time.process_time() - cpu

    # GC's cost grows with the heap: a first small run imports what profkit's run does, so
    # the plain maps before it and after it see the same heap
    profile(Workload("warm", bm_float, [10]), modes="sequential", repeat=1, line_budget=0.05,
            out=tmp_path / "warm")

    def attempt(k: int) -> tuple[bool, object]:
        # in a long session a full collection walks the whole session's heap: whether one lands
        # inside three maps is luck, so a run that disagrees gets one more (a bias shows in both)
        bare = [plain() for _ in range(3)]
        run = profile(FLOATS, modes="sequential", gc="on", repeat=3, line_budget=0.05,
                      out=tmp_path / f"run{k}")
        bare += [plain() for _ in range(3)]
        sequential = run.analysis.modes["sequential"]
        # CPU seconds hold on a busy machine; wall seconds only where no round was set aside,
        # since profkit keeps its clean rounds and the plain maps kept whatever they got
        cpu = sequential.cpu_median_s
        ok = agrees(cpu, [c for _, c in bare], 0.10)
        if quiet(run.meta.rounds):
            ok = ok and agrees(sequential.wall_median_s, [w for w, _ in bare], 0.10)
        return ok, (cpu, sequential.wall_median_s, bare)

    agrees_in_one_of(attempt, tries=2)
