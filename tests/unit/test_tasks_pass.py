"""The tasks pass's bookkeeping: columns, a bounded sample of results, notes for the few."""

from __future__ import annotations

import pickle
import threading
import time

import pandas as pd
import pytest

from profkit.collectors.output import routed
from profkit.collectors.worker import CPU_READ_S, EXTREMES, TASKS, run_batch
from profkit.engine.runner import probe_batch_size, sample_every
from profkit.frames import COLUMNS, task_frame
from profkit.model import TaskColumns, WorkerLabel
from profkit.render.report import scale
from tests.fixtures.records import mode_meta, run_meta


def double(i: int) -> int:
    return i * 2


def spin(n: int) -> int:
    """CPU work of about n loop turns."""
    total = 0
    for k in range(n):
        total += k
    return total


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def chatty(i: int) -> int:
    if i == 3:
        print("three")
    if i == 5:
        raise ValueError("five")
    return i


def lock_for(i: int) -> object:
    return threading.Lock() if i == 7 else i


def test_every_task_gets_times_and_a_sample_gets_results():
    n = 5000
    payload = run_batch(double, list(enumerate(range(n))), TASKS, (), True, sample_every=100)
    tasks = payload.tasks
    assert payload.records == []
    assert list(tasks.index) == list(range(n))
    assert all(s <= e for s, e in zip(tasks.start, tasks.end, strict=True))
    assert all(e <= s for e, s in zip(tasks.end[:-1], tasks.start[1:], strict=True))
    sampled = {i for i, note in tasks.notes.items() if note.sampled}
    assert set(range(0, n, 100)) <= sampled
    assert len(sampled) <= n // 100 + 2 * EXTREMES
    spans = {i: e - s for i, s, e in zip(tasks.index, tasks.start, tasks.end, strict=True)}
    slowest = max(spans, key=spans.__getitem__)
    assert slowest in sampled
    for i in sampled:
        assert tasks.notes[i].result == 2 * i
        assert tasks.notes[i].result_bytes == len(pickle.dumps(2 * i))
    assert tasks.results_bytes == len(pickle.dumps([2 * i for i in range(n)]))


def test_small_batches_keep_every_result():
    payload = run_batch(double, list(enumerate(range(40))), TASKS, (), True, sample_every=sample_every(40))
    assert sorted(i for i, note in payload.tasks.notes.items() if note.sampled) == list(range(40))


def test_cpu_seconds_follow_the_work_not_the_wall():
    spun = run_batch(spin, [(k, 200_000) for k in range(3)], TASKS, (), True, sample_every=1).tasks
    slept = run_batch(nap, [(k, 0.02) for k in range(3)], TASKS, (), True, sample_every=1).tasks
    def share(tasks: TaskColumns) -> float:
        return sum(tasks.cpu) / sum(e - s for s, e in zip(tasks.start, tasks.end, strict=True))

    # a busy machine lends the spinning task less than a core; sleeping costs almost none
    assert share(spun) <= 1.2
    assert share(spun) > 10 * share(slept)


def test_tiny_tasks_share_a_cpu_reading_without_exceeding_their_wall():
    n = 20_000
    tasks = run_batch(double, list(enumerate(range(n))), TASKS, (), True, sample_every=100).tasks
    wall = sum(e - s for s, e in zip(tasks.start, tasks.end, strict=True))
    assert 0 < sum(tasks.cpu) <= 1.2 * wall + CPU_READ_S


def test_the_wait_for_a_core_is_never_more_than_the_time_off_it():
    import math

    from profkit.collectors.worker import RunQueueClock

    for batch in ([(k, 200_000) for k in range(3)], list(enumerate(range(5000)))):
        tasks = run_batch(spin, batch, TASKS, (), True, sample_every=100).tasks
        assert len(tasks.queued) == len(tasks)
        if RunQueueClock.open() is None:  # no /proc/thread-self/schedstat: unknown, not zero
            assert all(math.isnan(q) for q in tasks.queued)
            continue
        for s, e, c, q in zip(tasks.start, tasks.end, tasks.cpu, tasks.queued, strict=True):
            assert 0.0 <= q <= max(0.0, e - s - c) + 1e-12


def test_a_batch_without_core_waits_merges_as_unknown():
    import math

    a = run_batch(double, [(0, 0), (1, 1)], TASKS, (), True, sample_every=1).tasks
    old = TaskColumns(index=a.index, start=a.start, end=a.end, cpu=a.cpu, worker=a.worker,
                      workers=a.workers)  # as a worker of an older profkit sends it
    merged = TaskColumns()
    merged.extend(a)
    merged.extend(old)
    assert len(merged.queued) == 4 and all(math.isnan(q) for q in merged.queued[2:])
    frame = task_frame("sequential", 1, False, WorkerLabel.PID, old, [0, 1])
    assert frame["queued_s"].isna().all()


def test_failures_and_output_get_notes_and_the_batch_goes_on():
    with routed():  # as during a run: what a task prints goes to its capture
        tasks = run_batch(chatty, list(enumerate(range(8))), TASKS, (), True, sample_every=1).tasks
    assert len(tasks) == 8
    assert tasks.notes[3].output == "three" and tasks.notes[3].output_bytes == len("three\n")
    assert not tasks.notes[5].ok and tasks.notes[5].error_type == "ValueError"
    assert "five" in (tasks.notes[5].error or "")
    assert [i for i, _ in tasks.failures()] == [5]


def test_a_result_that_cannot_be_pickled_fails_its_item_only_where_results_travel():
    shipped = run_batch(lock_for, list(enumerate(range(10))), TASKS, (), True, sample_every=1).tasks
    assert [i for i, _ in shipped.failures()] == [7]
    assert shipped.notes[7].error_type == "PicklingError"
    assert "lock" in (shipped.notes[7].error or "")
    shared = run_batch(lock_for, list(enumerate(range(10))), TASKS, (), False, sample_every=1).tasks
    assert shared.failures() == []


def test_batches_merge_into_one_mode_with_their_workers():
    a = run_batch(double, [(0, 0), (1, 1)], TASKS, (), True, sample_every=1).tasks
    b = run_batch(double, [(2, 2), (3, 3)], TASKS, (), True, sample_every=1).tasks
    merged = TaskColumns()
    merged.extend(a, shift=a.start[0])
    merged.extend(b, shift=a.start[0])
    assert list(merged.index) == [0, 1, 2, 3]
    assert list(merged.worker) == [0, 0, 1, 1]
    assert merged.start[0] == 0.0
    assert merged.results_bytes == a.results_bytes + b.results_bytes
    frame = task_frame("sequential", 1, False, WorkerLabel.PID, merged, [0, 1, 2, 3])
    assert list(frame.columns) == list(COLUMNS["tasks"])
    assert list(frame["item_repr"]) == ["0", "1", "2", "3"]
    assert list(frame["result_repr"]) == ["0", "2", "4", "6"]
    assert list(frame["item_bytes"]) == [float(len(pickle.dumps(i))) for i in range(4)]
    assert frame["duration_s"].tolist() == pytest.approx(
        [e - s for s, e in zip(merged.start, merged.end, strict=True)])


def test_probe_batches_are_few_per_worker_and_never_smaller_than_the_chunksize():
    assert probe_batch_size(6, 2, None) == 1
    assert probe_batch_size(100_000, 2, None) == -(-100_000 // 64)
    assert probe_batch_size(100, 2, 50) == 50
    assert sample_every(1000) == 1 and sample_every(100_000) == 100


def test_item_ranges_collapse_runs():
    assert scale.item_ranges([0, 1, 2, 3, 7, 9, 10]) == "0–3, 7, 9, 10"
    assert scale.item_ranges(range(100_000)) == "0–99999"
    many = scale.item_ranges(range(0, 100, 2), limit=3)
    assert many == "0, 2, 4, and 47 more"


def test_the_item_table_takes_the_slowest_and_fastest_items():
    n = scale.ITEMS_IN_FULL + 500
    frame = pd.DataFrame({"mode": "sequential", "item": range(n),
                          "duration_s": [float((k * 7919) % n) for k in range(n)],
                          "ok": [k != 11 for k in range(n)]})
    frame["sweep"] = False
    rows, order, total = scale.table_rows(frame, ~frame["sweep"], "sequential")
    assert total == n
    assert order is not None
    by_time = frame.sort_values("duration_s", ascending=False)["item"].tolist()
    assert order[:scale.EDGE_ROWS] == by_time[:scale.EDGE_ROWS]
    assert set(by_time[-scale.EDGE_ROWS:]) <= set(order)
    assert 11 in order
    assert set(rows["item"]) == set(order)


def test_the_sampling_note_names_each_sampled_part_and_nothing_for_a_small_run():
    meta = run_meta({m: mode_meta(tasks_sample_every=100, cprofile_items=20_000)
                     for m in ("sequential", "processes")})
    lines = scale.sampled(meta, {"processes": 100_000}, 100_000, 150, True)
    text = " ".join(lines)
    assert "every 100th item" in text
    assert "cProfile (sequential): 20,000 of 100,000 items, every 5th" in text
    assert "Timelines (processes 100,000 tasks)" in text
    assert f"slowest and fastest {scale.EDGE_ROWS} of 100,000 items" in text
    small = run_meta({"sequential": mode_meta(tasks_sample_every=1, cprofile_items=6)})
    assert scale.sampled(small, {"processes": 6}, 6, 150, False) == []


def test_a_huge_trace_draws_blocks_of_tasks_and_each_failure_alone():
    from profkit.render.trace import _blocks

    starts = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0]
    group = pd.DataFrame({"start_s": starts, "end_s": [s + 0.5 for s in starts],
                          "item": range(7), "ok": [True, True, True, True, False, True, True],
                          "cpu_s": [0.25] * 7, "error": ["", "", "", "", "boom", "", ""]})
    slices = [e for e in _blocks(group, 1, 1, 0.0, 3) if e["cat"] in ("tasks", "task,failed")]
    assert [e["name"] for e in slices] == ["items 0–2", "item 3", "item 4", "items 5–6"]
    failed = [e for e in slices if e["cat"] == "task,failed"]
    assert len(failed) == 1 and failed[0]["args"]["error"] == "boom"
    assert slices[0]["args"]["tasks"] == 3 and slices[0]["args"]["busy_s"] == 1.5
    assert sum(e["args"].get("tasks", 1) for e in slices) == 7
    group["ok"] = True
    fine = [e for e in _blocks(group, 1, 1, 0.0, 3) if e["cat"] == "tasks"]
    assert [e["name"] for e in fine] == ["items 0–2", "items 3–5", "item 6"]
    assert [e["args"]["tasks"] for e in fine] == [3, 3, 1]
    assert fine[1]["args"]["busy_s"] == 1.5 and fine[1]["dur"] == 2.5e6
    gaps = [e for e in _blocks(group, 1, 1, 0.0, 3) if e["cat"] == "idle"]
    assert [e["dur"] for e in gaps] == [0.5e6, 1.5e6]
