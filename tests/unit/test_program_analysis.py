"""``profkit run``'s pieces on synthetic data of known truth: site facts, the registry, the
patches' undoing and the report's escaping."""

from __future__ import annotations

import concurrent.futures
import itertools
import multiprocessing.pool
import sys

import pandas as pd
import pytest

from profkit.analysis.records import Analysis
from profkit.analysis.verdict import AdviceKind, WorkClass, advised_chunksize
from profkit.frames import COLUMNS
from profkit.program.analysis import program_facts, site_facts
from tests.fixtures.records import run_meta


def tasks_frame(site: str, rows: list[tuple[str, float, float, float, float]]) -> pd.DataFrame:
    """(worker, start, end, cpu, queued) per task, as the tasks frame holds them."""
    data = [{"mode": site, "workers": 2, "sweep": False, "item": k, "item_repr": "",
             "start_s": start, "end_s": end, "duration_s": end - start, "cpu_s": cpu,
             "queued_s": queued, "pid": 1 if worker == "a" else 2, "thread": "MainThread",
             "worker": worker, "item_bytes": 10.0, "result_bytes": 5.0, "result_repr": "",
             "ok": True, "output": "", "output_bytes": 0, "error": ""}
            for k, (worker, start, end, cpu, queued) in enumerate(rows)]
    return pd.DataFrame(data, columns=list(COLUMNS["tasks"])).astype(
        {c: d for c, (d, _) in COLUMNS["tasks"].items()})


def site_record(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id": "site1", "filename": "prog.py", "lineno": 7, "function": "main", "task": "f",
        "method": "ProcessPoolExecutor.map", "processes": True, "workers": 2,
        "start_method": "fork", "chunksize": 1, "calls": 1, "first_s": 0.0, "last_s": 5.5}
    record.update(changes)
    return record


def optimum_speedup(durations: list[float], workers: int) -> float:
    best = min(max(sum(d for d, w in zip(durations, pick, strict=True) if w == k)
                   for k in range(workers))
               for pick in itertools.product(range(workers), repeat=len(durations)))
    return sum(durations) / best


def test_site_facts_against_a_known_schedule() -> None:
    # items 3, 2, 2, 1 s in order on 2 workers, started 0.5 s after the call, last back at 5.5 s
    rows = [("a", 0.5, 3.5, 3.0, 0.0), ("b", 0.5, 2.5, 2.0, 0.0), ("b", 2.5, 4.5, 2.0, 0.0),
            ("a", 3.5, 4.5, 1.0, 0.0)]
    facts = site_facts(site_record(), tasks_frame("site1", rows), cpus=2)
    assert facts.tasks == 4 and facts.wall_s == 5.5
    assert facts.task_sum_s == pytest.approx(8.0)
    assert facts.achieved_estimate == pytest.approx(8.0 / 5.5)
    assert facts.bound == pytest.approx(optimum_speedup([3, 2, 2, 1], 2))  # 2.0: 3+1 | 2+2
    assert facts.dispatch_bound == pytest.approx(8.0 / 4.0)  # greedy in order: a 3,1; b 2,2
    split = facts.overheads
    assert split is not None
    assert split.startup_s == pytest.approx(0.5)
    assert split.collect_s == pytest.approx(1.0)
    total = split.startup_s + split.dispatch_s + split.busy_s + split.imbalance_s + split.collect_s
    assert total == pytest.approx(facts.wall_s)
    assert facts.item_bytes == 40 and facts.result_bytes == 20 and facts.sized == 4


def test_the_bound_leaves_out_waits_for_a_core() -> None:
    # the same work, each task also queued for a busy core 1 s: the bound is the work's
    rows = [("a", 0.0, 4.0, 3.0, 1.0), ("b", 0.0, 3.0, 2.0, 1.0), ("b", 3.0, 6.0, 2.0, 1.0),
            ("a", 4.0, 6.0, 1.0, 1.0)]
    facts = site_facts(site_record(last_s=6.0), tasks_frame("site1", rows), cpus=2)
    assert facts.task_sum_s == pytest.approx(8.0)
    assert facts.bound == pytest.approx(optimum_speedup([3, 2, 2, 1], 2))
    # the tasks computed on 8 / 6 cores: a sequential run would have had one, and waited for none
    assert facts.cores == pytest.approx(8.0 / 6.0) and facts.sequential_s == pytest.approx(8.0)
    assert facts.achieved_estimate == pytest.approx(8.0 / 6.0)
    assert facts.queued_s == pytest.approx(4.0) and facts.machine_busy


def test_waits_for_pool_mates_are_not_a_sequential_runs() -> None:
    # 4 workers on 2 free cores: four tasks of 1 s each run 2 s, half of it waiting for a core
    # their pool mates held; in sequence they take 4 s, against the pool's 2 s
    rows = [(w, 0.0, 2.0, 1.0, 1.0) for w in "abcd"]
    facts = site_facts(site_record(workers=4, last_s=2.0), tasks_frame("site1", rows), cpus=2)
    assert facts.cores == pytest.approx(2.0) and facts.sequential_s == pytest.approx(4.0)
    assert facts.achieved_estimate == pytest.approx(2.0)  # counting the waits: 4.0, over 2 cores
    assert facts.machine_busy
    # no other program ran: shared by session or thread by thread, a lone task gets a core
    assert facts.achieved_high is None and facts.sequential_high_s is None


def test_other_programs_share_of_the_cores_counts_in_sequence() -> None:
    # other programs left the program half a core: two tasks of 1 s each ran 4 s side by side;
    # one at a time, each would have had that half core: 4 s in all, the pool's wall
    rows = [("a", 0.0, 4.0, 1.0, 3.0), ("b", 0.0, 4.0, 1.0, 3.0)]
    facts = site_facts(site_record(last_s=4.0), tasks_frame("site1", rows), cpus=2)
    assert facts.cores == pytest.approx(0.5) and facts.sequential_s == pytest.approx(4.0)
    assert facts.achieved_estimate == pytest.approx(1.0)
    # shared thread by thread instead: the two tasks, runnable 4 s each, computed 1 s each, so
    # every runnable thread had a quarter of a core and the others ran 2 / 0.25 - 2 = 6 threads;
    # a lone task beside them has 2 / 7 of a core: 3.5 s each, 7 s in sequence
    assert facts.sequential_high_s == pytest.approx(7.0)
    assert facts.achieved_high == pytest.approx(7.0 / 4.0)


def test_gil_bound_threads_are_told_to_use_processes() -> None:
    # 4 tasks of 1 s CPU on 2 threads that take turns at the GIL: each runs 2 s, one core busy
    gil = [("a", 0.0, 2.0, 1.0, 0.0), ("b", 0.0, 2.0, 1.0, 0.0), ("a", 2.0, 4.0, 1.0, 0.0),
           ("b", 2.0, 4.0, 1.0, 0.0)]
    facts = site_facts(site_record(processes=False, method="ThreadPoolExecutor.map", last_s=4.0),
                       tasks_frame("site1", gil), cpus=2)
    assert facts.work is WorkClass.CPU and facts.cpu_ratio == pytest.approx(1.0)
    assert facts.achieved_estimate == pytest.approx(1.0)  # 4 s of CPU in sequence, over 4 s
    assert facts.bound == pytest.approx(1.0)  # one GIL: one core
    assert facts.advice == (AdviceKind.USE_PROCESSES,)


def test_threads_that_release_the_gil_keep_their_cores() -> None:
    # the same tasks computing side by side: 2 cores busy, nothing to change
    free = [("a", 0.0, 1.0, 1.0, 0.0), ("b", 0.0, 1.0, 1.0, 0.0), ("a", 1.0, 2.0, 1.0, 0.0),
            ("b", 1.0, 2.0, 1.0, 0.0)]
    facts = site_facts(site_record(processes=False, last_s=2.0), tasks_frame("site1", free),
                       cpus=2)
    assert facts.work is WorkClass.GIL_RELEASING
    assert facts.achieved_estimate == pytest.approx(2.0) and facts.bound == pytest.approx(2.0)
    assert facts.advice == ()


def test_waiting_tasks() -> None:
    naps = [("a" if k % 2 else "b", 0.05 * (k // 2), 0.05 * (k // 2 + 1), 1e-4, 0.0)
            for k in range(8)]
    threads = site_facts(site_record(processes=False, last_s=0.2), tasks_frame("site1", naps),
                         cpus=2)
    assert threads.work is WorkClass.IO and threads.advice == ()
    assert threads.achieved_estimate == pytest.approx(2.0)
    sleepy = [("a", 0.0, 1.0, 0.01, 0.0), ("b", 0.0, 1.0, 0.01, 0.0)]
    waits = site_facts(site_record(last_s=1.0), tasks_frame("site1", sleepy), cpus=2)
    assert waits.work is WorkClass.IO and waits.advice == (AdviceKind.USE_THREADS,)


def test_tiny_tasks_on_processes_are_batched() -> None:
    tiny = [("a" if k % 2 else "b", k * 1e-4, k * 1e-4 + 5e-5, 5e-5, 0.0) for k in range(40)]
    short = site_facts(site_record(last_s=0.004), tasks_frame("site1", tiny), cpus=2)
    assert AdviceKind.BATCH in short.advice
    assert short.advised_chunksize == 5 == advised_chunksize(40, 2)  # four chunks per worker
    assert short.per_task_s == pytest.approx(5e-5)
    batched = site_facts(site_record(last_s=0.004, chunksize=8), tasks_frame("site1", tiny), cpus=2)
    assert AdviceKind.BATCH not in batched.advice and batched.advised_chunksize is None
    threads = site_facts(site_record(last_s=0.004, processes=False), tasks_frame("site1", tiny),
                         cpus=2)
    assert AdviceKind.BATCH not in threads.advice  # a thread pool has no chunksize to pass


def test_order_and_item_sizes() -> None:
    # 1, 1, 1, 1, 4 s in order on 2 workers: the 4 s item starts at 2 s, ends at 6 s; sorted
    # longest first the pool ends at 4 s, 50% sooner
    late = [("a", 0.0, 1.0, 1.0, 0.0), ("b", 0.0, 1.0, 1.0, 0.0), ("a", 1.0, 2.0, 1.0, 0.0),
            ("b", 1.0, 2.0, 1.0, 0.0), ("a", 2.0, 6.0, 4.0, 0.0)]
    facts = site_facts(site_record(last_s=6.0), tasks_frame("site1", late), cpus=2)
    assert facts.sort_gain == pytest.approx(0.5)
    assert facts.advice == (AdviceKind.SORT_LONGEST_FIRST,)
    assert facts.items_cap == pytest.approx(optimum_speedup([1, 1, 1, 1, 4], 2))  # 2.0
    # 6, 1, 1 s: no schedule beats 6 s, so 8/6 = 1.33x on 2 workers: split the large item
    big = [("a", 0.0, 6.0, 6.0, 0.0), ("b", 0.0, 1.0, 1.0, 0.0), ("b", 1.0, 2.0, 1.0, 0.0)]
    split = site_facts(site_record(last_s=6.0), tasks_frame("site1", big), cpus=2)
    assert split.items_cap == pytest.approx(optimum_speedup([6, 1, 1], 2))
    assert split.advice == (AdviceKind.SPLIT_ITEMS,)


def test_a_pool_slower_than_its_tasks_keeps_the_loop() -> None:
    # four 0.1 s tasks, but 1 s from the call to the last result: 0.4x as estimated
    slow = [("a", 0.3, 0.4, 0.1, 0.0), ("b", 0.3, 0.4, 0.1, 0.0), ("a", 0.6, 0.7, 0.1, 0.0),
            ("b", 0.6, 0.7, 0.1, 0.0)]
    facts = site_facts(site_record(last_s=1.0), tasks_frame("site1", slow), cpus=2)
    assert facts.achieved_estimate == pytest.approx(0.4)
    assert facts.advice == (AdviceKind.KEEP_LOOP,)


def test_program_facts_count_the_time_under_pools_once() -> None:
    rows = [("a", 1.0, 2.0, 1.0, 0.0)]
    sites = [site_record(first_s=1.0, last_s=3.0), site_record(id="site2", first_s=2.0,
                                                                last_s=4.0)]
    frame = pd.concat([tasks_frame("site1", rows), tasks_frame("site2", rows)])
    facts = program_facts({"command": "p.py", "exit_code": 0, "wall_s": 5.0,
                           "start_method": "fork", "interrupted": False}, sites, frame, 2)
    assert facts.in_sites_s == pytest.approx(3.0)  # 1-4 s, the overlap counted once
    assert [s.id for s in facts.sites] == ["site1", "site2"]


def test_a_site_called_twice_leaves_out_its_idle_time() -> None:
    # two calls of a pool in a function: tasks 0.1-0.5 s, nothing under way from 0.6 s (the
    # last result back) to 1.6 s (the next call), then tasks 1.7-2.1 s, the last back at 2.2 s
    rows = [("a", 0.1, 0.5, 0.4, 0.0), ("b", 0.1, 0.5, 0.4, 0.0), ("a", 1.7, 2.1, 0.4, 0.0),
            ("b", 1.7, 2.1, 0.4, 0.0)]
    record = site_record(first_s=0.0, last_s=2.2, calls=2, idle=[[0.6, 1.6]])
    facts = site_facts(record, tasks_frame("site1", rows), cpus=2)
    assert facts.idle_s == pytest.approx(1.0) and facts.wall_s == pytest.approx(1.2)
    assert facts.achieved_estimate == pytest.approx(1.6 / 1.2)
    assert AdviceKind.KEEP_LOOP not in facts.advice  # 1.6 s of tasks in 1.2 s under way
    split = facts.overheads
    assert split is not None
    total = split.startup_s + split.dispatch_s + split.busy_s + split.imbalance_s + split.collect_s
    assert total == pytest.approx(1.2) and split.busy_s == pytest.approx(0.8)
    program = program_facts({"command": "p.py", "exit_code": 0, "wall_s": 3.0,
                             "start_method": "fork", "interrupted": False}, [record],
                            tasks_frame("site1", rows), 2)
    assert program.in_sites_s == pytest.approx(1.2)


def _called(registry: object, items: int | None) -> object:
    """One call site for every call (the same line each time)."""
    return registry.site(abs, "Pool.map", processes=True, workers=2,  # type: ignore[attr-defined]
                         start_method="fork", chunksize=1, items=items)


def test_registry_tells_idle_time_between_calls() -> None:
    from profkit.program.sites import Registry
    from profkit.program.worker import SiteTask

    registry = Registry(profile=False)
    site = _called(registry, 2)
    task = SiteTask(abs, site.number, profile=False, sizes=False)  # type: ignore[attr-defined]
    registry.receive(task(-1))
    assert _called(registry, 1) is site and site.idle == []  # one of two still under way
    registry.receive(task(-2))
    registry.receive(task(-3))
    _called(registry, 1)  # all three back: the time since the last is idle
    assert len(site.idle) == 1 and site.idle[0][0] == site.last_received < site.idle[0][1]
    registry.receive(task(-4))
    _called(registry, None)  # an iterator of unknown length: idle times can no longer be told
    _called(registry, 1)
    assert len(site.idle) == 1 and not site.counted and site.calls == 5


def test_registry_takes_each_record_once() -> None:
    from profkit.program.sites import Registry
    from profkit.program.worker import RECORD_ATTR, SiteTask

    registry = Registry(profile=True)
    site = registry.site(len, "Pool.map", processes=True, workers=2, start_method="fork",
                         chunksize=1, items=2)
    assert (site.filename, site.function) == (__file__, "test_registry_takes_each_record_once")
    assert site.lineno == sys._getframe().f_lineno - 3
    task = SiteTask(len, site.number, profile=True, sizes=True)
    outcome = task([1, 2, 3])
    assert registry.unwrap(outcome) == 3 and len(site.records) == 0  # nothing kept
    assert registry.receive(outcome) == 3 and registry.receive("plain") == "plain"
    pid, _thread, start, end, _cpu, _queued, item_bytes, result_bytes, error = site.records[0]
    assert len(site.records) == 1 and start <= end and item_bytes and result_bytes
    assert error is None and site.profiled == 1
    stats = site.stats()
    assert stats is not None
    assert any(name == "<built-in method builtins.len>" for _f, _l, name in stats.stats)  # type: ignore[attr-defined]
    with pytest.raises(TypeError) as caught:
        SiteTask(len, site.number, profile=False, sizes=False)(5)
    registry.receive_error(caught.value)
    assert not hasattr(caught.value, RECORD_ATTR)
    assert len(site.records) == 2 and site.failed == 1 and site.records[1][8]


def test_workers_send_stats_now_and_then_and_count_what_they_cover() -> None:
    """Each sending of stats says how many tasks it covers: the counts add up to the calls."""
    from profkit.program import worker
    from profkit.program.sites import Registry
    from profkit.program.worker import SEND_FIRST, SiteTask

    worker._profiling.clear()  # a worker's state, per site number: fresh, as in a new worker
    registry = Registry(profile=True)
    site = registry.site(abs, "Pool.map", processes=True, workers=1, start_method="fork",
                         chunksize=1, items=SEND_FIRST + 500)
    task = SiteTask(abs, site.number, profile=True, sizes=False)
    outcomes = [task(-k) for k in range(SEND_FIRST + 500)]
    sent = [o for o in outcomes if o[4]]
    assert SEND_FIRST <= len(sent) < len(outcomes)  # every task at first, then now and then
    for outcome in outcomes:
        registry.receive(outcome)
    stats = site.stats()
    assert stats is not None
    calls = sum(v[1] for (_f, _l, name), v in stats.stats.items() if "abs" in name)  # type: ignore[attr-defined]
    assert calls == site.profiled <= len(outcomes)
    worker._profiling.clear()


def test_patches_are_undone_exactly() -> None:
    from profkit.program import patches
    from profkit.program.sites import Registry

    pool, ppe, tpe = (multiprocessing.pool.Pool, concurrent.futures.ProcessPoolExecutor,
                      concurrent.futures.ThreadPoolExecutor)
    before = {(cls, name): cls.__dict__.get(name) for cls in (pool, ppe, tpe)
              for name in ("map", "submit", "imap", "imap_unordered", "apply_async", "starmap")}
    patches.install(Registry(profile=False))
    try:
        assert "map" in tpe.__dict__
        with concurrent.futures.ThreadPoolExecutor(2) as executor:
            assert list(executor.map(abs, [-1, -2])) == [1, 2]
            assert executor.submit(abs, -3).result() == 3
    finally:
        patches.uninstall()
    after = {key: key[0].__dict__.get(key[1]) for key in before}
    assert after == before


def test_the_report_escapes_what_the_program_named() -> None:
    from profkit.program.analysis import program_facts
    from profkit.render.program import render
    from profkit.run import Run

    hostile = "<script>alert(1)</script>"
    rows = [("a", 0.0, 1.0, 1.0, 0.0)]
    sites = [site_record(task=hostile, filename=f"/tmp/{hostile}.py", function=hostile)]
    frame = tasks_frame("site1", rows)
    frame["worker"] = hostile
    facts = program_facts({"command": f"{hostile}.py", "exit_code": 0, "wall_s": 6.0,
                           "start_method": "fork", "interrupted": False}, sites, frame, 2)
    functions = pd.DataFrame(columns=list(COLUMNS["functions"])).astype(
        {c: d for c, (d, _) in COLUMNS["functions"].items()})
    run = Run(meta=run_meta(kind="program"), analysis=Analysis(program=facts.to_json()),
              frames={"tasks": frame, "functions": functions})
    html = render(run)
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# -- item-size advice from one noisy timing of each task: simulated runs of known truth --------

_ITEM_ADVICE = {AdviceKind.SPLIT_ITEMS, AdviceKind.SORT_LONGEST_FIRST}


def _gil_walls(rng: object, cpu: list[float], workers: int) -> list[tuple[str, float, float]]:
    """(thread, start, end) of tasks of ``cpu`` seconds on ``workers`` threads that take turns at
    one GIL, each switch handing it to a running thread at random (fair only on average)."""
    import numpy as np

    assert isinstance(rng, np.random.Generator)
    tick = min(cpu) / 20
    left = [0.0] * workers
    running: list[int | None] = [None] * workers
    started = [0.0] * workers
    out: list[tuple[str, float, float]] = [("", 0.0, 0.0)] * len(cpu)
    queue, now = list(range(len(cpu))), 0.0
    while True:
        for w in range(workers):
            if running[w] is None and queue:
                running[w], started[w] = queue.pop(0), now
                left[w] = cpu[running[w]]  # type: ignore[index]
        busy = [w for w in range(workers) if running[w] is not None]
        if not busy:
            return out
        w = busy[int(rng.integers(len(busy)))]
        step = min(tick, left[w])
        now += step
        left[w] -= step
        if left[w] <= 1e-12:
            out[running[w]] = (str(w), started[w], now)  # type: ignore[index]
            running[w] = None


def _noisy_site(rng: object, truth: list[float], workers: int, *, own_noise: float,
                shared_noise: float, wait_share: float = 0.0, gil: bool = False) -> object:
    """The facts of a site whose tasks' true times are ``truth``, each timed once: its time off
    waits moves by ``own_noise`` alone and by ``shared_noise`` with its CPU (both lognormal);
    each waited about ``wait_share`` of its time for a core (counted). ``gil``: threads taking
    turns at one GIL, each task's time stretched by waits for it that depend on the schedule."""
    import numpy as np

    assert isinstance(rng, np.random.Generator)
    cpu = [true * float(np.exp(rng.normal(0.0, shared_noise))) for true in truth]
    rows = []
    if gil:
        rows = [(w, start, end, c, 0.0)
                for (w, start, end), c in zip(_gil_walls(rng, cpu, workers), cpu, strict=True)]
    else:
        free = [0.0] * workers
        for c in cpu:
            own = c * float(np.exp(rng.normal(0.0, own_noise)))
            queued = own * wait_share / (1 - wait_share) * float(rng.uniform(0.5, 1.5))
            w = min(range(workers), key=free.__getitem__)
            start = free[w]
            free[w] = start + own + queued
            rows.append((str(w), start, free[w], c, queued))
    record = site_record(workers=workers, last_s=max(end for _, _, end, _, _ in rows),
                         processes=not gil,
                         method="ThreadPool.imap" if gil else "ProcessPoolExecutor.map")
    frame = tasks_frame("site1", rows).assign(pid=[int(r[0]) for r in rows])
    return site_facts(record, frame, cpus=workers)


@pytest.mark.parametrize(("workers", "items", "noise"), [
    (2, 4, {"own_noise": 0.10, "shared_noise": 0.03}),  # a quiet machine
    (4, 8, {"own_noise": 0.10, "shared_noise": 0.03}),
    (2, 4, {"own_noise": 0.20, "shared_noise": 0.05, "wait_share": 0.3}),  # a busy one
    (4, 8, {"own_noise": 0.20, "shared_noise": 0.05, "wait_share": 0.3}),
    (2, 4, {"own_noise": 0.0, "shared_noise": 0.05, "gil": True}),  # GIL-bound threads
    (4, 8, {"own_noise": 0.0, "shared_noise": 0.05, "gil": True}),
])
def test_equal_items_timed_once_rarely_get_item_size_advice(workers: int, items: int,
                                                            noise: dict[str, float]) -> None:
    """Equal items, each timed once with known noise: split or sort advice in at most 5% of runs."""
    import numpy as np

    rng = np.random.default_rng(20 + workers + int(100 * noise["shared_noise"]))
    trials = 300
    advised = sum(bool(_ITEM_ADVICE & set(_noisy_site(rng, [1.0] * items, workers,
                                                      **noise).advice))  # type: ignore[attr-defined]
                  for _ in range(trials))
    assert advised / trials <= 0.05, advised / trials


@pytest.mark.parametrize("noise", [
    {"own_noise": 0.10, "shared_noise": 0.03},
    {"own_noise": 0.10, "shared_noise": 0.05, "wait_share": 0.3},
])
def test_one_item_three_times_the_others_still_gets_the_advice(noise: dict[str, float]) -> None:
    """7 equal items and, last, one 3x the others on 4 workers, timed once with the same noise:
    split (it caps the pool at 10/3 of 4) and sort (longest first ends at 3, not 4) in >= 90%."""
    import numpy as np

    rng = np.random.default_rng(31 + int(100 * noise["shared_noise"]))
    trials, split, sort = 300, 0, 0
    for _ in range(trials):
        advice = set(_noisy_site(rng, [1.0] * 7 + [3.0], 4, **noise).advice)  # type: ignore[attr-defined]
        split += AdviceKind.SPLIT_ITEMS in advice
        sort += AdviceKind.SORT_LONGEST_FIRST in advice
    assert split / trials >= 0.9 and sort / trials >= 0.9, (split / trials, sort / trials)
