"""The prediction model on synthetic timings, and the sweep's Amdahl fit at <= CPUs."""

import pandas as pd
import pytest

from profkit.analysis import prediction
from profkit.analysis.summary import _sweep
from profkit.render import text as words


def _model(durations, cpu_share, measured_wall, workers=2, cpus=2, gil=False, chunks=1,
           busy=False, extra_cpu=0.0):
    total = sum(durations)
    return prediction.calibrate(
        durations, [d * cpu_share for d in durations], mode="m", reference_s=total,
        measured_wall_s=measured_wall, measured_workers=workers, collect_s=0.0, startup_s=0.01,
        cpus=cpus, gil=gil, chunksizes=[chunks] * 64, busy=busy, extra_cpu_s=extra_cpu)


def test_sleep_scales_past_the_cpus_and_flattens_on_item_granularity():
    naps = [0.01, 0.03, 0.02, 0.015] * 6
    # I/O-bound: the demand on cores is the CPU seconds, near zero
    model = prediction.calibrate(
        naps, [1e-4] * len(naps), mode="threads", reference_s=sum(naps),
        measured_wall_s=prediction.PoolModel("t", tuple(naps), 0.0024, sum(naps), 0, 0, None, 2,
                                             2, False, (1,) * 64).wall(2),
        measured_workers=2, collect_s=0.0, startup_s=None, cpus=2, gil=False,
        chunksizes=[1] * 64, busy=False)
    points = prediction.predict(model)
    assert points[0].speedup == pytest.approx(1.0)
    assert points[7].speedup > 6  # 8 threads on 2 CPUs: the naps overlap
    flat, limit, facts = prediction.flattening(model, points)
    assert flat >= 8 and limit == prediction.Limit.ITEMS and "granularity" in words.flattening(facts)


def test_cpu_bound_work_flattens_at_the_cpu_count():
    items = [0.1] * 16
    model = _model(items, 1.0, measured_wall=0.8)  # exactly 2x on 2 workers
    points = prediction.predict(model)
    assert points[1].speedup == pytest.approx(2.0, rel=1e-3)
    assert points[15].speedup == pytest.approx(2.0, rel=1e-3)  # 16 workers, 2 CPUs
    flat, limit, _ = prediction.flattening(model, points)
    assert flat == 2 and limit == prediction.Limit.CPUS


def test_tiny_tasks_flatten_on_per_task_overhead():
    items = [1e-6] * 1000
    model = _model(items, 1.0, measured_wall=0.05, extra_cpu=0.04)  # 50 µs per task
    points = prediction.predict(model)
    assert model.per_chunk_s == pytest.approx(5e-5, rel=0.05)
    assert points[31].speedup == pytest.approx(points[1].speedup, rel=0.05)
    assert prediction.flattening(model, points)[1] == prediction.Limit.OVERHEAD


def test_chunking_is_the_pools_own_schedule():
    items = [0.01] * 8

    def model(chunksize):
        return prediction.calibrate(
            items, items, mode="pool", reference_s=0.08, measured_wall_s=0.04,
            measured_workers=2, collect_s=0.0, startup_s=None, cpus=8, gil=False,
            chunksizes=[chunksize] * 64, busy=False)

    assert model(1).wall(8) == pytest.approx(0.01)
    assert model(4).wall(8) == pytest.approx(0.04)  # two chunks of four cannot use 8 workers


def test_a_busy_machine_is_read_as_lost_cores_not_overhead():
    items = [0.1] * 6
    model = _model(items, 1.0, measured_wall=0.6, busy=True)  # no gain on 2 workers
    assert model.core_cap == pytest.approx(1.0, rel=0.01)
    assert model.per_chunk_s == 0.0
    assert prediction.predict(model)[0].speedup == pytest.approx(1.0, rel=0.01)


def test_workers_sharing_one_cpu_are_said_to_share_it_not_to_lose_it_to_other_programs():
    items = [0.1] * 6
    model = _model(items, 1.0, measured_wall=0.6 / 0.9, workers=2, cpus=1)  # 0.9x on 1 CPU
    assert model.core_cap == pytest.approx(0.9, rel=0.01)
    _, limit, facts = prediction.flattening(model, prediction.predict(model))
    text = words.flattening(facts)
    assert limit == prediction.Limit.CPUS
    assert "2 workers shared" in text and "about 0.9 CPU" in text and "other programs" not in text
    busy = _model(items, 1.0, measured_wall=0.6 / 0.9, workers=2, cpus=2, busy=True)
    assert "other programs left it about" in words.flattening(
        prediction.flattening(busy, prediction.predict(busy))[2])


def test_gil_bound_threads_stay_near_one():
    items = [0.1] * 8
    model = _model(items, 1.0, measured_wall=0.8, gil=True)
    assert all(p.speedup <= 1.0 + 1e-6 for p in prediction.predict(model))


def test_sweep_amdahl_fit_uses_only_points_at_or_below_the_cpu_count():
    def timings(counts):
        rows = []
        for r in range(4):
            rows.append(("sequential", 1, False, r, 1.0))
            for w in counts:  # perfect up to 4 CPUs, flat beyond
                rows.append(("processes", w, True, 100 + 10 * r + w, 1.0 / min(w, 4)))
                rows.append(("sequential", 1, False, 100 + 10 * r + w, 1.0))
        frame = pd.DataFrame(rows, columns=["mode", "workers", "sweep", "repeat", "wall_s"])
        frame["phase"] = "map"
        frame["spoiled"] = False
        return frame

    sweep = _sweep(timings((1, 2, 4, 8)), "sequential", [0.1] * 10, cpus=4, main={})
    assert sweep is not None
    fit = sweep.amdahl["processes"]
    assert fit.workers_used == [1, 2, 4]
    assert fit.serial_fraction == pytest.approx(0.0, abs=1e-3)  # the 8-worker point is left out
    # on 2 CPUs only the 2-worker point carries information: no Amdahl fit, so no claim beyond it
    two = _sweep(timings((1, 2, 4)), "sequential", [0.1] * 10, cpus=2, main={})
    assert two is not None and "processes" not in two.amdahl
