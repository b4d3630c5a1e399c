"""Split a pooled mode's wall time into start-up, dispatch, compute, imbalance and collect.

The parts come from the warm-up pass's per-task timeline. Averaged over the W
workers, each worker's time in the pass is lead-in (waiting for its first
task) + gaps between tasks + busy + idle while others finish, so the parts
add up to the pass's wall time by construction; the stated error compares
that total with the independent timeit median.
"""

from __future__ import annotations

import pandas as pd

from profkit.analysis.records import Overheads


def decompose(tasks: pd.DataFrame, *, workers: int, startup_s: float | None,
              pass_wall_s: float | None, timing_median_s: float | None,
              task_bytes: int | None, items_bytes: int | None = None,
              results_bytes: int | None = None) -> Overheads | None:
    """The overhead parts of one pooled mode, in seconds of wall time, and byte counts.

    ``items_bytes`` and ``results_bytes`` are the pickled totals the engine
    measured; without them (older runs), the tasks frame's sums.
    """
    if tasks.empty or not pass_wall_s:
        return None
    wall = float(pass_wall_s)
    last_end = float(tasks["end_s"].max())
    lead, gaps, busy, busy_cpu, imbalance = [], [], [], [], []
    for _, group in tasks[["worker", "start_s", "end_s", "cpu_s"]].sort_values("start_s").groupby(
            "worker"):
        starts, ends = group["start_s"].to_numpy(), group["end_s"].to_numpy()
        lead.append(max(0.0, float(starts[0])))
        gaps.append(float(sum(max(0.0, s - e) for s, e in zip(starts[1:], ends[:-1], strict=True))))
        busy.append(float((ends - starts).sum()))
        busy_cpu.append(float(group["cpu_s"].sum()))
        imbalance.append(max(0.0, last_end - float(ends[-1])))
    # Workers that never got a task sat idle for the whole pass.
    idle_workers = max(0, workers - len(busy))
    lead += [last_end] * idle_workers
    gaps += [0.0] * idle_workers
    busy += [0.0] * idle_workers
    busy_cpu += [0.0] * idle_workers
    imbalance += [0.0] * idle_workers
    n = len(busy)
    dispatch = (sum(lead) + sum(gaps)) / n
    busy_s = sum(busy) / n
    busy_cpu_s = min(sum(busy_cpu) / n, busy_s)
    imbalance_s = sum(imbalance) / n
    collect = max(0.0, wall - last_end)
    startup = float(startup_s or 0.0)
    total = startup + dispatch + busy_s + imbalance_s + collect
    measured = startup + float(timing_median_s) if timing_median_s else None
    return Overheads(
        startup_s=startup, dispatch_s=dispatch, busy_s=busy_s, busy_cpu_s=busy_cpu_s,
        imbalance_s=imbalance_s, collect_s=collect, busy_wait_s=busy_s - busy_cpu_s,
        pass_wall_s=wall, parts_total_s=total, timing_median_s=timing_median_s,
        measured_total_s=measured,
        error_pct=100.0 * (total - measured) / measured if measured else None,
        task_bytes=int(task_bytes or 0),
        items_bytes=int(tasks["item_bytes"].fillna(0).sum() if items_bytes is None
                        else items_bytes),
        results_bytes=int(tasks["result_bytes"].fillna(0).sum() if results_bytes is None
                          else results_bytes))
