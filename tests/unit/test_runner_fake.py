"""The runner, the executors' shared logic, the collectors and the frames, with a fake executor.

The fake runs every submitted call inline and answers ``time_map`` from a script, so
these tests start no pool and run in seconds; the integration tests cover real pools.
"""

from __future__ import annotations

import cProfile
import pickle
import pstats
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import Any, ClassVar

import pytest

from profkit.collectors import merge
from profkit.collectors.worker import CPROFILE, LINES, TASKS, run_batch
from profkit.engine.runner import run_workload
from profkit.executors import registry
from profkit.executors.base import (
    Executor,
    Handle,
    Settings,
    Task,
    plain_loop,
    timed_loop,
    warm_workers,
    worker_identity,
)
from profkit.frames import COLUMNS, build_frames
from profkit.model import MemoryLine, ModeSpec, Status, Traits, WorkerLabel
from profkit.options import Options
from profkit.rawrun import RawRun
from profkit.workloads.model import Workload

ITEMS = [3, 1, 4, 1, 5, 9, 2, 6]


def square(x: int) -> int:
    """The task: cheap, pure, picklable."""
    return x * x


def fails_on_five(x: int) -> int:
    if x == 5:
        raise ValueError("five is not allowed")
    return x


def _done(fn: Callable[..., Any], *args: Any) -> Future[Any]:
    future: Future[Any] = Future()
    try:
        future.set_result(fn(*args))
    except BaseException as exc:  # noqa: BLE001 - handed to the caller, as a pool would
        future.set_exception(exc)
    return future


class Fake(Executor):
    """A pool that is no pool: calls run inline; ``time_map`` returns the scripted walls."""

    kind = "fake"
    traits = Traits(parallel=True, ships_pickles=False, shares_memory=True, shares_gil=False,
                    worker_label=WorkerLabel.THREAD, honours_chunksize=True)
    #: seconds per scripted map, round by round (the last one repeats); CPU is twice the wall
    walls: ClassVar[list[float]] = [0.5]
    startup: ClassVar[float] = 0.25
    #: raised by time_map on the given call number (1-based), if any
    fail_map: ClassVar[tuple[int, BaseException] | None] = None
    fail_submit: ClassVar[BaseException | None] = None
    forks: ClassVar[bool] = False
    log: ClassVar[list[tuple[str, str, Any]]] = []

    def __init__(self, spec: ModeSpec, settings: Settings) -> None:
        super().__init__(spec, settings)
        self.maps = 0

    @property
    def starts_by_fork(self) -> bool:
        return self.forks

    def start(self, task: Task) -> float:
        self.log.append(("start", self.kind, self.workers))
        warm_workers(self.submit, task, 1)
        return self.startup

    def submit(self, fn: Callable[..., Any], *args: Any) -> Handle:
        batch = getattr(fn, "func", fn) is run_batch  # the tasks pass binds its sample stride
        if self.fail_submit is not None and batch:
            raise self.fail_submit
        if batch:
            self.log.append(("batch", self.kind, (args[2], [i for i, _ in args[1]])))
        return _done(fn, *args)

    def time_map(self, task: Task, items: list[Any], timeout: float | None) -> tuple[float, float]:
        self.maps += 1
        if self.fail_map is not None and self.fail_map[0] == self.maps:
            raise self.fail_map[1]
        results = plain_loop(task, items)
        assert results == [task(i) for i in items]
        wall = self.walls[min(self.maps, len(self.walls)) - 1]
        return wall, 2 * wall

    def close(self, *, kill: bool = False) -> None:
        self.log.append(("close", self.kind, kill))


class FakeReference(Fake):
    kind = "fake_ref"
    traits = Traits(parallel=False, ships_pickles=False, shares_memory=True, shares_gil=True,
                    worker_label=WorkerLabel.MAIN, honours_chunksize=False, reference=True)
    walls: ClassVar[list[float]] = [1.0]
    startup: ClassVar[float] = 0.0


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, type[Fake]]]:
    """Two fresh executor classes registered for one test, and the registry restored after it."""
    monkeypatch.setattr(registry, "EXECUTORS", dict(registry.EXECUTORS))
    monkeypatch.setattr(registry, "_CLASSES", dict(registry._CLASSES))
    log: list[tuple[str, str, Any]] = []
    ref = type("Ref", (FakeReference,), {"log": log})
    par = type("Par", (Fake,), {"log": log})
    registry.register("fake_ref", ref)
    registry.register("fake", par)
    yield {"fake_ref": ref, "fake": par}


def options(**kw: Any) -> Options:
    specs = [ModeSpec("fake_ref", 1, parallel=False), ModeSpec("fake", 2)]
    base: dict[str, Any] = {"modes": specs, "repeat": 3, "collectors": ("timing", "tasks"),
                            "memory_interval_s": 0.05, "seed": 1}
    return Options(**{**base, **kw})


def run(task: Task = square, **kw: Any) -> RawRun:
    return run_workload(Workload("fake", task, list(ITEMS)), options(**kw))


def by_kind(raw: RawRun) -> dict[str, Any]:
    return {m.spec.kind: m for m in raw.modes}


def test_registered_fake_is_what_the_registry_makes(fakes):
    assert registry.traits_of("fake") is Fake.traits
    made = registry.make_executor(ModeSpec("fake", 3), Settings())
    assert isinstance(made, fakes["fake"]) and made.workers == 3
    specs = registry.parse_modes("fake_ref,fake:2", default_workers=4)
    assert specs == [ModeSpec("fake_ref", 1, False), ModeSpec("fake", 2, True)]


def test_rounds_record_each_scripted_map(fakes):
    fakes["fake"].walls = [0.5, 0.4, 0.3]
    raw = run(repeat=3)
    modes = by_kind(raw)
    assert [m.status for m in raw.modes] == [Status.OK, Status.OK]
    assert len(raw.rounds) == 3
    for r in raw.rounds:
        assert sorted(r.order) == ["fake", "fake_ref"]
    maps = [t for t in modes["fake"].timings if t.phase == "map"]
    assert [(t.round, t.wall_s, t.cpu_s) for t in maps] == [(0, 0.5, 1.0), (1, 0.4, 0.8), (2, 0.3, 0.6)]
    ref_maps = [t.wall_s for t in modes["fake_ref"].timings if t.phase == "map"]
    assert ref_maps == [1.0, 1.0, 1.0]
    startup = [t for t in modes["fake"].timings if t.phase == "startup"]
    assert [t.wall_s for t in startup] == [0.25] and modes["fake"].startup_s == 0.25
    assert modes["fake"].phases["timing"] == pytest.approx(0.5 + 0.4 + 0.3)
    # each round's two maps take distinct positions 0 and 1
    for n in range(3):
        assert sorted(t.order for m in raw.modes for t in m.timings if t.phase == "map" and t.round == n) \
            == [0, 1]


def test_probe_records_every_item_and_the_frames_carry_them(fakes):
    raw = run()
    frames = build_frames(raw)
    assert set(frames) >= {"timings", "tasks", "functions", "lines", "memory", "gc"}
    for name, frame in frames.items():
        assert list(frame.columns) == list(COLUMNS[name]), name
    tasks = frames["tasks"]
    for kind in ("fake_ref", "fake"):
        mine = tasks[tasks["mode"] == kind].sort_values("item")
        assert mine["item"].tolist() == list(range(len(ITEMS)))
        assert mine["result_repr"].tolist() == [repr(square(i)) for i in ITEMS]
        assert mine["item_repr"].tolist() == [repr(i) for i in ITEMS]
        assert mine["ok"].all() and (mine["start_s"] >= 0).all()
        assert (mine["duration_s"] == mine["end_s"] - mine["start_s"]).all()
        assert (mine["item_bytes"] == [len(pickle.dumps(i)) for i in ITEMS]).all()
    timings = frames["timings"]
    fake_maps = timings[(timings["mode"] == "fake") & (timings["phase"] == "map")]
    assert fake_maps["wall_s"].tolist() == [0.5] * 3 and fake_maps["workers"].tolist() == [2] * 3
    closes = [e for e in fakes["fake"].log if e[0] == "close"]
    assert sorted(closes) == [("close", "fake", False), ("close", "fake_ref", False)]


def test_profilers_run_in_the_fake_workers_and_merge(fakes):
    raw = run(collectors=("timing", "tasks", "cprofile", "lines"))
    modes = by_kind(raw)
    frames = build_frames(raw)
    for kind in ("fake_ref", "fake"):
        stats = modes[kind].profile
        assert isinstance(stats, pstats.Stats)
        calls = {key[2]: value[1] for key, value in stats.stats.items()}  # type: ignore[attr-defined]
        assert calls["square"] == len(ITEMS)
        fn = frames["functions"]
        row = fn[(fn["mode"] == kind) & (fn["name"] == "square")]
        assert row["ncalls"].tolist() == [len(ITEMS)]
        lines = frames["lines"]
        mine = lines[(lines["mode"] == kind) & (lines["function"] == "square")]
        covered = len(modes[kind].line_items)
        assert covered >= 1 and mine["hits"].sum() == covered
    batches = [entry[2] for entry in fakes["fake"].log if entry[0] == "batch" and entry[1] == "fake"]
    collectors = [c for c, _ in batches]
    assert collectors[0] == TASKS and CPROFILE in collectors and LINES in collectors
    # the budgeted cProfile pass hands out one batch per profiling worker; tiny items all fit
    profiled = [idx for c, idx in batches if c == CPROFILE]
    assert sorted(i for b in profiled for i in b) == list(range(len(ITEMS)))
    assert 1 <= len(profiled) <= 2
    assert list(modes["fake"].profile_items) == list(range(len(ITEMS)))


def test_a_task_that_fails_fails_its_mode_with_the_item(fakes):
    raw = run(task=fails_on_five)
    for m in raw.modes:
        assert m.status is Status.FAILED
        assert m.failed_item == ITEMS.index(5)
        assert "failed on item 4 (5)" in (m.error or "") and "five is not allowed" in (m.error or "")
        assert not [t for t in m.timings if t.phase == "map"]  # no rounds for a failed mode
    assert raw.rounds == []
    closes = [e for e in fakes["fake"].log if e[0] == "close"]
    assert ("close", "fake", True) in closes  # a failed mode's pool is killed


@pytest.mark.parametrize(("error", "status", "words"), [
    (TimeoutError(), Status.TIMEOUT, "a task did not finish"),
    (BrokenProcessPool(), Status.FAILED, "a worker process died abruptly"),
    (RuntimeError("boom"), Status.FAILED, "RuntimeError: boom"),
])
def test_a_map_that_breaks_ends_only_its_mode(fakes, error, status, words):
    fakes["fake"].fail_map = (2, error)
    raw = run(repeat=4)
    modes = by_kind(raw)
    assert modes["fake"].status is status and words in (modes["fake"].error or "")
    assert modes["fake_ref"].status is Status.OK
    assert len([t for t in modes["fake_ref"].timings if t.phase == "map"]) == 4
    assert len([t for t in modes["fake"].timings if t.phase == "map"]) == 1
    assert ("close", "fake", True) in fakes["fake"].log


def _echo_of_ctrl_c() -> RuntimeError:
    """What a lock's cleanup raises when Ctrl-C lands inside its wait."""
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("cannot release un-acquired lock") from None
    except RuntimeError as exc:
        return exc


@pytest.mark.parametrize("error", [KeyboardInterrupt(), _echo_of_ctrl_c()],
                         ids=["ctrl-c", "an error raised while ctrl-c unwinds"])
def test_ctrl_c_marks_the_run_interrupted_and_keeps_what_was_measured(fakes, error):
    fakes["fake"].fail_map = (2, error)
    raw = run(repeat=4)
    modes = by_kind(raw)
    assert raw.interrupted
    assert modes["fake"].status is Status.INTERRUPTED
    assert modes["fake_ref"].status is Status.INTERRUPTED
    assert len([t for t in modes["fake"].timings if t.phase == "map"]) == 1
    # the run is closed even when interrupted: its end is stamped, not left at the default ""
    finished = datetime.fromisoformat(raw.finished_at)
    assert finished.tzinfo is not None and finished >= datetime.fromisoformat(raw.started_at)


def test_a_broken_worker_in_the_probe_fails_the_mode(fakes):
    fakes["fake"].fail_submit = BrokenProcessPool()
    raw = run()
    modes = by_kind(raw)
    assert modes["fake"].status is Status.FAILED and "died abruptly" in (modes["fake"].error or "")
    assert len(modes["fake"].tasks) == 0
    assert not [t for t in modes["fake"].timings if t.phase == "map"]
    assert modes["fake_ref"].status is Status.OK
    assert len([t for t in modes["fake_ref"].timings if t.phase == "map"]) == 3


def test_forking_executors_start_first(fakes):
    fakes["fake"].forks = True
    run(repeat=1)
    starts = [e[1] for e in fakes["fake"].log if e[0] == "start"]
    assert starts == ["fake", "fake_ref"]


def test_an_unpicklable_item_fails_only_the_modes_that_ship_pickles(fakes):
    shipping = type("Shipping", (fakes["fake"],), {
        "traits": Traits(parallel=True, ships_pickles=True, shares_memory=False, shares_gil=False,
                         worker_label=WorkerLabel.PID, honours_chunksize=True)})
    registry.register("fake", shipping)
    items = [1, 2, lambda: 3]
    raw = run_workload(Workload("fake", lambda x: 0, items), options())
    modes = by_kind(raw)
    assert modes["fake"].status is Status.FAILED
    assert "item 2" in (modes["fake"].error or "") and "cannot be pickled" in (modes["fake"].error or "")
    assert modes["fake_ref"].status is Status.OK
    assert [e for e in shipping.log if e[0] == "start" and e[1] == "fake"] == []


# -- the executors' shared logic ------------------------------------------------


def test_warm_workers_waits_until_each_worker_has_answered():
    answers = iter([1, 1, 1, 2, 1, 3])
    calls: list[Any] = []

    def submit(fn: Callable[..., Any], *args: Any) -> Handle:
        calls.append(args)
        return _done(lambda: next(answers))

    warm_workers(submit, square, 3)
    assert len(calls) == 6  # two rounds of three: workers 1 and 2, then 3 answered


def test_worker_identity_names_this_thread_of_this_process():
    import os
    import threading

    assert worker_identity() == worker_identity()
    other: list[int] = []
    t = threading.Thread(target=lambda: other.append(worker_identity()))
    t.start()
    t.join()
    assert other[0] != worker_identity()
    assert worker_identity() // 1_000_003 == os.getpid()


def test_timed_loop_agrees_with_an_independent_clock():
    def spin() -> None:
        end = time.perf_counter() + 0.05
        while time.perf_counter() < end:
            pass

    t0 = time.perf_counter()
    wall, cpu = timed_loop(spin)
    outer = time.perf_counter() - t0
    assert 0.05 <= wall <= outer
    assert 0 < cpu <= outer + 0.01


def test_dispatch_chunksize_follows_the_trait():
    assert Fake.dispatch_chunksize(7, 100, 2) == 7
    assert Fake.dispatch_chunksize(None, 100, 2) == 1
    assert FakeReference.dispatch_chunksize(7, 100, 2) == 1


# -- collectors -----------------------------------------------------------------


def test_run_batch_records_results_errors_and_its_clock():
    ticks = iter(float(t) for t in range(100))
    tasks = run_batch(fails_on_five, [(0, 1), (1, 5), (2, 2)], TASKS,
                      clock=lambda: next(ticks)).tasks
    assert tasks is not None
    assert [i for i, _ in tasks.failures()] == [1]
    assert list(zip(tasks.start, tasks.end, strict=True)) == [(0.0, 1.0), (2.0, 3.0), (4.0, 5.0)]
    assert tasks.notes[0].result == 1 and tasks.notes[2].result == 2
    bad = tasks.notes[1]
    assert bad.error_type == "ValueError" and "five is not allowed" in (bad.error or "")


def test_run_batch_fails_an_unpicklable_result_only_when_it_must_travel():
    def make_lambda(x: int) -> Callable[[], int]:
        return lambda: x

    kept = run_batch(make_lambda, [(0, 1)], TASKS, ships_results=False).tasks
    assert kept is not None and kept.notes[0].ok and callable(kept.notes[0].result)
    shipped = run_batch(make_lambda, [(0, 1)], TASKS, ships_results=True).tasks
    assert shipped is not None
    assert not shipped.notes[0].ok and shipped.notes[0].error_type == "PicklingError"


def test_merge_profiles_sums_the_calls_of_each_batch():
    payloads = []
    for n in (3, 4):
        p = cProfile.Profile()
        p.enable()
        for i in range(n):
            square(i)
        p.disable()
        p.create_stats()
        payloads.append(p.stats)  # type: ignore[attr-defined]
    merged = merge.merge_profiles(payloads)
    assert merged is not None
    calls = {key[2]: value[1] for key, value in merged.stats.items()}  # type: ignore[attr-defined]
    assert calls["square"] == 7
    assert merge.merge_profiles([]) is None


def test_merge_memory_lines_sums_increments_and_keeps_the_largest_peak():
    row = {"filename": "f.py", "function": "g", "func_lineno": 1, "lineno": 2}
    merged = merge.merge_memory_lines([
        [MemoryLine(**row, increment_mib=1.0, peak_mib=10.0, occurrences=1)],
        [MemoryLine(**row, increment_mib=2.5, peak_mib=8.0, occurrences=2)],
    ])
    assert len(merged) == 1
    assert (merged[0].increment_mib, merged[0].peak_mib, merged[0].occurrences) == (3.5, 10.0, 3)


def test_auto_rounds_end_at_the_first_look_that_settles_the_decision(fakes):
    """--repeat auto: a clear 2x settles at the first look (3 rounds); pools whose rounds
    disagree go on to a later look, and --precision asks for its own target instead."""
    from profkit.analysis.decision import Reason, looks

    fakes["fake"].walls = [0.5]
    raw = run(repeat=None, max_rounds=25, max_rounds_s=60.0, spoiled_cores=1e9)
    assert len(raw.rounds) == 3 and raw.stops[0].reason is Reason.SETTLED
    assert raw.stops[0].decision is not None and raw.stops[0].decision.choice == "fake"
    fakes["fake"].walls = [0.6, 0.9, 0.7, 0.85, 0.6, 0.62]  # a noisy start, then steady
    raw = run(repeat=None, max_rounds=25, max_rounds_s=60.0, spoiled_cores=1e9)
    assert raw.stops[0].reason is Reason.SETTLED and len(raw.rounds) > 3
    assert len(raw.rounds) in looks(3, 25)
    fakes["fake"].walls = [0.5, 0.5, 0.51]
    raw = run(repeat=None, precision=0.001, max_rounds=6, max_rounds_s=60.0, spoiled_cores=1e9)
    assert raw.stops[0].reason is Reason.ROUNDS and len(raw.rounds) == 6



def naps(x: int) -> int:
    """A task long enough (6 ms) for the tasks pass's bookkeeping to be lost in its time."""
    time.sleep(0.006)
    return x


def naps_big_result(x: int) -> bytes:
    time.sleep(0.006)
    return bytes(50_000)


def test_the_probe_round_counts_as_the_first_round_when_items_are_long(fakes):
    """Items of 6 ms: each mode's tasks pass is its map of round 0 (its wall and the round's
    load), --repeat 3 times two more maps, and the warm-up is not counted again as timing."""
    raw = run(naps, repeat=3)
    modes = by_kind(raw)
    assert [r.round for r in raw.rounds] == [0, 1, 2]
    assert sorted(raw.rounds[0].order) == ["fake", "fake_ref"]
    for mode in modes.values():
        maps = [t for t in mode.timings if t.phase == "map"]
        assert [t.round for t in maps] == [0, 1, 2]
        assert maps[0].wall_s == mode.tasks_wall_s == mode.phases["warmup"]
        assert maps[0].others_cpu == raw.rounds[0].others_cpu
        assert mode.phases["timing"] == pytest.approx(sum(t.wall_s for t in maps[1:]))
        # every item ran once in the pass, as in a map
        assert sorted(mode.tasks.index) == list(range(len(ITEMS)))
    assert sorted(t.order for m in raw.modes for t in m.timings
                  if t.phase == "map" and t.round == 0) == [0, 1]
    scripted = [t.wall_s for t in modes["fake"].timings if t.phase == "map"][1:]
    assert scripted == [0.5, 0.5]  # the executor timed two maps, not three
    said: list[str] = []
    run_workload(Workload("fake", naps, list(ITEMS)), options(repeat=3), said.append)
    rounds = [line.split(":")[0] for line in said if line.startswith("round ")]
    assert rounds == ["round 1/3", "round 2/3", "round 3/3"]  # progress counts the probe round


@pytest.mark.parametrize("task", [square, naps_big_result], ids=["tiny items", "big results"])
def test_the_probe_round_does_not_count_when_its_bookkeeping_may_show(fakes, task):
    """Tiny items (the per-item clock reads are a share of them) or big results (the pass
    pickles them, a map in this process does not): every round is a bare map."""
    raw = run(task, repeat=3)
    for mode in raw.modes:
        maps = [t for t in mode.timings if t.phase == "map"]
        assert [t.round for t in maps] == [0, 1, 2]
        assert all(t.wall_s in (0.5, 1.0) for t in maps)  # the scripted bare maps


def test_the_probe_round_does_not_count_when_collections_take_a_share_of_the_items(fakes):
    """The rounds run with GC off: a pass whose collections took over 1% of the items' time
    timed work the maps do not do; with --gc on the maps do it too. A pass scheduled unlike
    the map (other batches, more tasks at once than workers) does not count either."""
    from array import array

    from profkit.engine.mode import Mode, ProbeMap
    from profkit.engine.runner import probe_counts
    from profkit.model import GcEvent, TaskColumns

    n = len(ITEMS)
    items_s = 0.1 * n

    def counts(gc_s: float, gc_timed: bool, batch_size: int = 1, gap: float = 0.1) -> bool:
        """Whether a live 2-worker pool's pass of 8 items of 0.1 s, one every ``gap`` seconds,
        that collected for ``gc_s``, counts."""
        opts = options(gc_timed=gc_timed)
        mode = Mode(ModeSpec("fake", 2), Settings(), opts)
        mode.live = True
        mode.probe = ProbeMap(wall_s=0.4, cpu_s=0.8, thread_cpu_s=float("nan"),
                              batch_size=batch_size)
        mode.result.tasks = TaskColumns(index=array("q", range(n)),
                                        start=array("d", [gap * k for k in range(n)]),
                                        end=array("d", [gap * k + 0.1 for k in range(n)]))
        mode.result.gc = [GcEvent(pid=1, thread="t", start=0.0, duration=gc_s, generation=2,
                                  collected=0)]
        return probe_counts(mode, n, opts)

    assert counts(0.009 * items_s, gc_timed=False)
    assert not counts(0.02 * items_s, gc_timed=False)
    assert counts(0.02 * items_s, gc_timed=True)
    # a pool whose pass handed out items two at a time scheduled them unlike its map
    assert not counts(0.0, gc_timed=False, batch_size=2)
    # two items at once on two workers is the map's schedule; eight at once is not
    assert counts(0.0, gc_timed=False, gap=0.05)
    assert not counts(0.0, gc_timed=False, gap=0.0)
