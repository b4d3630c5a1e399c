"""The prediction against the bare code timed by this test at the same worker counts.

Both sides are measured in the same test: the machine is shared, so the
tolerance widens with the bare figure's own spread (``agrees``).
"""

from __future__ import annotations

import statistics
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from profkit.pipeline import profile
from profkit.render import text as words
from profkit.workloads.primes import is_prime
from tests.fixtures.bare import agrees, agrees_in_one_of, wall
from tests.fixtures.sleepy import NAPS, SLEEP, nap
from tests.fixtures.workloads import SMALL_NUMBERS, SMALL_PRIMES

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

COLLECTORS_OFF = dict(lines=(), line_budget=0.01)


def _bare_speedups(make_pool, task, items, counts, rounds=5):
    """Per worker count: serial / pooled wall, one pair per round, the order flipping."""
    out = {}
    for n in counts:
        with make_pool(n) as pool:
            list(pool.map(task, items))  # warm
            ratios = []
            for k in range(rounds):
                pair = [lambda: list(map(task, items)), lambda: list(pool.map(task, items))]
                times = [wall(f) for f in (pair if k % 2 == 0 else pair[::-1])]
                s, p = times if k % 2 == 0 else times[::-1]
                ratios.append(s / p)
        out[n] = ratios
    return out


def _predicted(run, mode):
    frame = run.frames["prediction"]
    rows = frame[frame["mode"] == mode]
    return dict(zip(rows["workers"].astype(int), rows["predicted_speedup"].astype(float),
                    strict=True))


def test_sleep_threads_prediction_matches_the_bare_pool_at_1_2_4_8(tmp_path):
    run = profile(SLEEP, modes="sequential,threads:2", repeat=5, out=tmp_path / "run", seed=1)
    predicted = _predicted(run, "threads")
    assert run.analysis.classification.kind == "io-bound"
    bare = _bare_speedups(ThreadPoolExecutor, nap, NAPS, (1, 2, 4, 8))
    report = {n: (round(predicted[n], 2), round(statistics.fmean(bare[n]), 2)) for n in bare}
    print("prediction vs bare:", report)
    for n, ratios in bare.items():
        assert agrees(predicted[n], ratios, 0.10), report
    frame = run.frames["prediction"]
    own = frame[(frame["mode"] == "threads") & (frame["workers"] == 8)]["own_cores_speedup"].iloc[0]
    assert agrees(float(own), bare[8], 0.15), (own, report)  # a core per worker: the same for naps
    # 8 threads on 2 cores still scale: sleeping needs no CPU
    assert predicted[8] > 2 * predicted[2] * 0.8, report
    flat = run.analysis.prediction.modes["threads"]
    assert flat.flat_at >= 8 and "flattens" in words.flattening(flat.flattening)


def test_primes_processes_prediction_matches_the_bare_pool_at_1_and_2(tmp_path):
    """Six items of tens of ms: a run's speedup at 2 workers moves between 1.3 and 1.8 on a
    quiet machine (measured, in the run and in the bare pool alike), and the model calibrates
    on it, so a run that disagrees gets another (``agrees_in_one_of``)."""
    runs = []

    def attempt(k: int) -> tuple[bool, object]:
        run = profile(SMALL_PRIMES, modes="sequential,processes:2", repeat=7,
                      out=tmp_path / f"run{k}", seed=1 + k)
        predicted = _predicted(run, "processes")
        bare = _bare_speedups(ProcessPoolExecutor, is_prime, SMALL_NUMBERS, (1, 2), rounds=7)
        fitted = run.analysis.prediction.modes["processes"]
        report: dict[object, object] = {
            n: (round(predicted[n], 2), round(statistics.fmean(bare[n]), 2)) for n in bare}
        report["model"] = {"per_chunk_s": fitted.per_chunk_s, "per_map_s": fitted.per_map_s,
                           "cores": fitted.cores}
        print("prediction vs bare:", report)
        runs.append((run, predicted, report))
        # At 1 worker the model can run up to about 20% low: it calibrates the per-chunk cost at
        # 2 workers, where the parent's dispatch competes with both workers for 2 cores, and
        # charges that cost again at 1 worker. The same calibration moves with the machine's load
        # at 2 workers too, hence the wider tolerance at 1 worker and 12% elsewhere.
        ok = all(agrees(predicted[n], ratios, 0.12 if n > 1 else 0.25)
                 for n, ratios in bare.items())
        return ok, report

    agrees_in_one_of(attempt, tries=3)
    run, predicted, report = runs[-1]
    # CPU-bound: no worker count beats the CPUs (more workers than CPUs may still even out
    # uneven items, as the OS time-slices them, so the curve can rise a little beyond the CPUs)
    cpus = int(run.frames["prediction"]["cpus"].iloc[0])
    assert predicted[4 * cpus] <= cpus * 1.05, report
    assert run.analysis.prediction.modes["processes"].limit in (
        "CPUs", "item granularity")
