"""The executor interface on real pools: multiprocessing.Pool (as the concurrent.futures lesson uses
it) as a mode, a toy executor added from a test module, interleaved rounds, --repeat auto, rounds
set aside under load, and GC off in every worker while a map is timed."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest

from profkit.collectors.worker import TASKS, run_batch
from profkit.executors import registry
from profkit.executors.base import Executor, Handle, Settings, Task, time_in_parent
from profkit.model import ModeSpec, Traits, WorkerLabel
from profkit.pipeline import profile
from profkit.render import text as words
from profkit.run import load
from profkit.workloads.model import Workload
from profkit.workloads.primes import PRIMES, is_prime
from tests.fixtures.bare import (
    BareRound,
    agrees,
    agrees_in_one_of,
    like_for_like,
    metered_ratios,
    paired_ratios,
)
from tests.fixtures.workloads import SMALL_PRIMES

pytestmark = pytest.mark.timeout(240)

PRIMES_WORKLOAD = Workload("primes", is_prime, PRIMES)


def nap(seconds: float) -> float:
    """Sleeps: its speedup does not depend on free cores."""
    time.sleep(seconds)
    return seconds


NAPS = Workload("naps", nap, [0.02] * 8)


# -- the pool mode: multiprocessing.Pool --


def test_pool_mode_matches_a_bare_multiprocessing_pool(tmp_path):
    """On primes, the pool mode's speedup is within 10% of a bare Pool(2).map timed here.

    A burst of host slowness over a few of profkit's rounds can miss once (measured in CI:
    1.47x against bare rounds of 1.58-1.87x, no round flagged busy), so a run that disagrees
    gets a second one (``agrees_in_one_of``); a bias misses in both."""
    def bare(pool: multiprocessing.pool.Pool) -> list[BareRound]:
        return metered_ratios(lambda: [is_prime(n) for n in PRIMES],
                              lambda: pool.map(is_prime, PRIMES), rounds=3)

    runs = []

    def attempt(k: int) -> tuple[bool, object]:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            before = bare(pool)
        run = profile(PRIMES_WORKLOAD, modes="sequential,pool", workers=2, line_budget=0.05,
                      out=tmp_path / f"run{k}", max_time=15)
        assert run.meta.status == {"sequential": "ok", "pool": "ok"}, run.meta.errors
        runs.append(run)
        with multiprocessing.get_context("fork").Pool(2) as pool:
            after = bare(pool)
            # the bare rounds as quiet as the rounds profkit counted; every one of them counts:
            # one disturbed round cannot pass for the truth (a bare 2.02x, over the 1.79x these
            # items allow, failed CI), and the tolerance widens to the bare's own spread
            speedup, ratios = like_for_like(run, "pool", before + after, lambda: bare(pool))
        return agrees(speedup, ratios, 0.10), (speedup, ratios, before, after,
                                               [(r.others_cpu, r.spoiled) for r in run.meta.rounds])

    agrees_in_one_of(attempt)
    run = runs[-1]
    assert run.meta.modes["pool"].pool["kind"] == "pool"
    tasks = run.frames["tasks"].query("mode == 'pool'")
    assert sorted(tasks["item"]) == list(range(6)) and tasks["worker"].str.startswith("pid ").all()
    assert len(set(tasks["pid"])) == 2 and os.getpid() not in set(tasks["pid"])
    assert run.profiles["pool"] is not None
    # no whole item fits the line budget: the first mode traced one for all, and pool says so
    assert (tmp_path / f"run{len(runs) - 1}" / "lines" / "pool.lprof").is_file() or \
        run.meta.modes["pool"].line_deferred


def test_pool_mode_runs_the_lessons_double(tmp_path):
    """The concurrent.futures lesson's Pool.map(double, ...): results carry the worker pids,
    chunksize is honoured."""
    from profkit.workloads.double import WORKLOAD as DOUBLE

    run = profile(DOUBLE, modes="sequential,pool", workers=2, repeat=2, chunksize=50,
                  line_budget=0.01, out=tmp_path / "run")
    assert run.meta.status == {"sequential": "ok", "pool": "ok"}, run.meta.errors
    assert run.meta.modes["pool"].pool["chunksize"] == 50
    tasks = run.frames["tasks"].query("mode == 'pool'")
    assert len(tasks) == run.meta.workload.n_items
    assert set(tasks["pid"]) - {os.getpid()}


# -- a new executor is one class and one registry entry --


class ToyExecutor(Executor):
    """Two plain threads taking items from a shared queue: defined here, registered in the test."""

    kind = "toy"
    traits = Traits(parallel=True, ships_pickles=False, shares_memory=True, shares_gil=True,
                    worker_label=WorkerLabel.THREAD, honours_chunksize=False)

    def start(self, task: Task) -> float:
        self._lock = threading.Lock()
        return 0.0

    def submit(self, fn: Callable[..., Any], *args: Any) -> Handle:
        future: Future[Any] = Future()

        def run() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001
                future.set_exception(exc)

        threading.Thread(target=run, name="toy-worker").start()
        return future

    def time_map(self, task: Task, items: list[Any], timeout: float | None) -> tuple[float, float]:
        def run() -> None:
            half = len(items) // 2
            handles = [self.submit(lambda part: [task(i) for i in part], part)
                       for part in (items[:half], items[half:])]
            for handle in handles:
                handle.result(timeout)

        return time_in_parent(run, [])

    def close(self, *, kill: bool = False) -> None:
        pass


def test_a_toy_executor_runs_through_the_whole_pipeline(tmp_path):
    registry.register("toy", ToyExecutor)
    try:
        run = profile(NAPS, modes="sequential,toy:2", repeat=3, line_budget=0.05,
                      out=tmp_path / "run")
    finally:
        registry.EXECUTORS.pop("toy")
        registry._CLASSES.pop("toy")
    assert run.meta.status == {"sequential": "ok", "toy": "ok"}, run.meta.errors
    assert run.meta.modes["toy"].traits.worker_label == "thread"
    toy = run.analysis.modes["toy"]
    assert 1.5 < toy.speedup < 2.2  # two threads sleeping side by side
    assert set(run.frames["tasks"].query("mode == 'toy'")["worker"]) == {"toy-worker"}
    assert "toy" in (tmp_path / "run" / "index.html").read_text(encoding="utf-8")
    assert load(tmp_path / "run").analysis.modes["toy"].speedup == toy.speedup


# -- interleaved rounds --


def test_rounds_interleave_the_modes_in_a_random_order(tmp_path):
    run = profile(NAPS, modes="sequential,threads,processes", workers=2, repeat=4, seed=3,
                  line_budget=0.02, out=tmp_path / "run")
    timings = run.frames["timings"].query("phase == 'map'")
    assert sorted(timings["repeat"].unique()) == [0, 1, 2, 3]
    for _, one in timings.groupby("repeat"):
        assert sorted(one["mode"]) == ["processes", "sequential", "threads"]
        assert sorted(one["order"]) == [0, 1, 2]
    rounds = json.loads((tmp_path / "run" / "run.json").read_text())["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2, 3]
    assert len({tuple(r["order"]) for r in rounds}) > 1
    for r in rounds:
        ordered = timings[timings["repeat"] == r["round"]].sort_values("order")["mode"].tolist()
        assert ordered == r["order"]
    # the speedup is the geometric mean of the per-round ratios, as the frame lets anyone check
    wide = timings.pivot(index="repeat", columns="mode", values="wall_s")
    clean = timings.groupby("repeat")["spoiled"].any()
    use = wide[~clean] if (~clean).sum() >= 2 else wide
    ratios = use["sequential"] / use["threads"]
    expected = float(ratios.apply("log").mean())
    assert run.analysis.modes["threads"].speedup == pytest.approx(2.718281828 ** expected)


def test_repeat_auto_stops_when_the_speedup_is_precise(tmp_path):
    run = profile(NAPS, modes="sequential,threads", workers=4, precision="5%", line_budget=0.02,
                  out=tmp_path / "run", max_rounds=12)
    threads = run.analysis.modes["threads"]
    rounds = [r for r in run.meta.rounds if not r.sweep]
    assert run.meta.options["repeat"] == "auto"
    assert 3 <= len(rounds) <= 12
    if threads.precision_reached:
        assert threads.precision <= 0.05
        assert len(rounds) < 12 or threads.precision <= 0.05
    else:  # a busy machine: the cap, or the rounds the pilot planned, fell short, and the report says so
        warned = [words.note(w) for w in run.analysis.warnings]
        assert any("Not within the --precision asked: threads" in w for w in warned)
    assert 3.0 < threads.speedup < 4.4  # four threads sleeping side by side


def test_repeat_n_means_exactly_n_rounds(tmp_path):
    run = profile(NAPS, modes="sequential,threads", workers=2, repeat=2, line_budget=0.02)
    maps = run.frames["timings"].query("phase == 'map'")
    assert len(maps) == 4 and len(run.meta.rounds) == 2


def _burn(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_rounds_spoiled_by_other_programs_are_set_aside(tmp_path):
    """Two CPU burners outside profkit's process tree make every round 'spoiled'."""
    code = "import time\nend = time.monotonic() + 180\nwhile time.monotonic() < end: pass\n"
    burners = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2)]
    try:
        time.sleep(0.3)
        run = profile(NAPS, modes="sequential,threads", workers=2, repeat=3, line_budget=0.02,
                      out=tmp_path / "run")
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    maps = run.frames["timings"].query("phase == 'map'")
    assert maps["spoiled"].all() and (maps["others_cpu"] > 0.35).all()
    assert all(r.spoiled for r in run.meta.rounds)
    # the load is in the report's notes; a warning only if it leaves the recommendation open
    said = " ".join(words.note(n) for n in run.analysis.warnings + run.analysis.notes)
    assert "3 of 3 timing rounds were set aside" in said
    assert "The machine was busy" in said
    assert len(run.analysis.warnings) <= 1
    assert "set aside" in (tmp_path / "run" / "index.html").read_text(encoding="utf-8")


# -- GC is off in every worker while a map is timed, on in the passes --


def gc_state(path: str) -> bool:
    """Appends whether GC is on, and in which process, to ``path``."""
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{os.getpid()} {int(gc.isenabled())}\n")
    return True


@pytest.mark.parametrize("kind", ["sequential", "threads", "processes", "pool"])
def test_gc_is_off_in_every_worker_while_timed(tmp_path, kind):
    timed, probed = tmp_path / "timed.txt", tmp_path / "probed.txt"
    executor = registry.make_executor(ModeSpec(kind, 1 if kind == "sequential" else 2),
                                      Settings(start_method="fork"))
    try:
        executor.start(gc_state)
        executor.time_map(gc_state, [str(timed)] * 6, timeout=30)
        executor.submit(run_batch, gc_state, [(0, str(probed))], TASKS).result(timeout=30)
    finally:
        executor.close()
    states = [line.split() for line in timed.read_text().splitlines()]
    assert len(states) == 6 and {s for _, s in states} == {"0"}
    assert probed.read_text().split()[1] == "1"
    assert gc.isenabled()  # the parent's GC is back on after the timed map


def test_pool_mode_turns_a_dead_worker_into_a_failed_mode(tmp_path):
    from tests.fixtures.workloads import exit_on_three

    run = profile(Workload("exits", exit_on_three, list(range(6))), modes="sequential,pool",
                  workers=2, repeat=2, line_budget=0.02, timeout=60, out=tmp_path / "run")
    assert run.meta.status == {"sequential": "ok", "pool": "failed"}
    assert "worker process died" in run.meta.errors["pool"]


def test_unknown_and_oversized_modes_are_usage_errors():
    from profkit.errors import UsageError

    with pytest.raises(UsageError, match="did you mean 'pool'"):
        registry.parse_modes("poo", 2)
    with pytest.raises(UsageError, match="at most"):
        registry.parse_modes("processes:99999999", 2)


def test_small_primes_processes_match_a_bare_process_pool(tmp_path):
    """The processes speedup agrees with a bare ProcessPoolExecutor timed here, just before
    and just after the run (a busy machine's load moves between minutes, not seconds)."""
    from concurrent.futures import ProcessPoolExecutor

    numbers = list(SMALL_PRIMES.items)  # type: ignore[arg-type]

    def bare() -> list[float]:
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
            return paired_ratios(lambda: [is_prime(n) for n in numbers],
                                 lambda: list(pool.map(is_prime, numbers)), rounds=3)

    def attempt(k: int) -> tuple[bool, object]:
        before = bare()
        run = profile(SMALL_PRIMES, modes="sequential,processes", workers=2, line_budget=0.05,
                      out=tmp_path / f"run{k}", max_time=10)
        after = bare()
        speedup = run.analysis.modes["processes"].speedup
        return agrees(speedup, before + after, 0.25), (speedup, before, after)

    agrees_in_one_of(attempt)  # a burst over a few short maps can miss once; a bias every time


def test_the_probe_round_times_the_maps_the_rounds_time(tmp_path):
    """Small primes (items of tens of ms): each mode's tasks pass counts as its map of round 0,
    and that round's own sequential / processes ratio agrees with a bare pool's, timed here
    just before and just after the run.

    One round's ratio has heavy tails on these machines (measured: a 2.15 round among rounds
    of 1.4-1.8, in the timed rounds as in the probe), so a probe that disagrees gets a second
    run (``agrees_in_one_of``)."""
    from concurrent.futures import ProcessPoolExecutor

    numbers = list(SMALL_PRIMES.items)  # type: ignore[arg-type]

    def bare() -> list[float]:
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
            return paired_ratios(lambda: [is_prime(n) for n in numbers],
                                 lambda: list(pool.map(is_prime, numbers)), rounds=3)

    def attempt(k: int) -> tuple[bool, object]:
        before = bare()
        run = profile(SMALL_PRIMES, modes="sequential,processes", workers=2, repeat=3,
                      line_budget=0.05, out=tmp_path / f"run{k}")
        after = bare()
        timings = run.frames["timings"]
        maps = timings[timings["phase"] == "map"]
        assert sorted(maps["repeat"].tolist()) == [0, 0, 1, 1, 2, 2]  # --repeat 3: the probe + 2
        probe = maps[maps["repeat"] == 0].set_index("mode")["wall_s"]
        for mode in ("sequential", "processes"):
            assert probe[mode] == pytest.approx(run.meta.modes[mode].phase_s["warmup"])
        ratio = probe["sequential"] / probe["processes"]
        return agrees(ratio, before + after, 0.25), (ratio, before, after)

    agrees_in_one_of(attempt)
