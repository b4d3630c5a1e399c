"""Facts about each pool site of a program run: its wall, its tasks, what it achieved and allows.

Pure: from the tasks frame and the site records to small dataclasses. The
speedup a site achieved is an estimate (the sum of its task times over its
wall, as if the tasks had run one after another at the same speed); the bound
is profkit's schedule bound (:mod:`profkit.analysis.bounds`) of the same tasks
on the site's workers, capped by the CPUs (or by one core, for threads).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from profkit.analysis.bounds import schedule_bounds
from profkit.analysis.overheads import decompose

if TYPE_CHECKING:
    import pandas as pd

#: Tasks shorter than this on a process pool pay more to travel than to run: a chunksize helps.
SHORT_TASK_S = 1e-3
#: Submitting the items longest first must gain at least this share to be advised.
ORDER_GAIN = 0.10
#: A thread pool whose tasks keep one core this share of its wall is held by the GIL.
GIL_CPU_SHARE = 0.8


class Advice(str, enum.Enum):
    """What a site could change, with the reasoning of ``profkit profile``."""

    CHUNKSIZE = "chunksize"  # many short tasks on processes, one at a time
    ORDER = "order"  # the largest items come late: longest first ends sooner
    PROCESSES = "processes"  # CPU-bound tasks on threads: the GIL lets one run at a time
    THREADS = "threads"  # tasks that wait, on processes: threads would pay no pickling

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Overheads:
    """A site's wall split into its parts, in seconds (they add up to the wall)."""

    startup_s: float
    dispatch_s: float
    busy_s: float
    imbalance_s: float
    collect_s: float


@dataclass(frozen=True)
class SiteFacts:
    """One pool site: where, what, and how it paid."""

    id: str
    filename: str
    lineno: int
    function: str
    task: str
    method: str
    processes: bool
    workers: int
    start_method: str | None
    chunksize: int | None
    calls: int
    tasks: int
    failed: int
    #: seconds after the program started: the first call, and the last result back
    first_s: float
    last_s: float
    #: the tasks' times in all, less their waits for a core (what they take on free cores)
    task_sum_s: float
    cpu_sum_s: float
    #: seconds the tasks were ready to run but waited for a core (other programs busy), summed
    queued_s: float
    #: pickled bytes of the items and results that were sized, and how many were
    item_bytes: int
    result_bytes: int
    sized: int
    #: the achieved speedup, estimated as the tasks' wall times summed over the site's wall
    #: (None without a wall)
    achieved_estimate: float | None
    #: profkit's bound for these tasks on these workers (optimum, under the CPU cap)
    bound: float | None
    optimum: float | None
    dispatch_bound: float | None
    cpu_cap: float | None
    sort_gain: float | None
    overheads: Overheads | None
    advice: tuple[Advice, ...] = ()
    #: tasks the merged workers' profile covers (the last ones of a worker may be missing)
    profiled: int = 0
    #: seconds the program waited for the site's results (its main thread, as a rule)
    wait_s: float = 0.0
    #: ``--replay``: the folder and measured speedups of the site replayed, or why not
    replay: dict[str, Any] | None = None

    @property
    def place(self) -> str:
        return f"{self.filename}:{self.lineno}"

    @property
    def wall_s(self) -> float:
        return max(0.0, self.last_s - self.first_s)

    def to_json(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["overheads"] = vars(self.overheads) if self.overheads is not None else None
        data["advice"] = [str(a) for a in self.advice]
        data["wall_s"] = self.wall_s
        return data


@dataclass(frozen=True)
class ProgramFacts:
    """The whole program: how it ended, its wall, and its sites."""

    command: str
    exit_code: int
    wall_s: float
    start_method: str
    interrupted: bool
    error: str | None
    cpus: int
    sites: list[SiteFacts] = field(default_factory=list)
    #: seconds of the program's wall during which at least one site was under way
    in_sites_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "exit_code": self.exit_code, "wall_s": self.wall_s,
                "start_method": self.start_method, "interrupted": self.interrupted,
                "error": self.error, "cpus": self.cpus, "in_sites_s": self.in_sites_s,
                "sites": [s.to_json() for s in self.sites]}


def _advice(processes: bool, workers: int, chunksize: int | None, durations: list[float],
            cpu_s: float, queued_s: float, task_s: float, wall_s: float,
            sort_gain: float | None) -> tuple[Advice, ...]:
    """What the site could change. Threads that held one core for most of the site's wall
    (their CPU plus their waits for a core, summed over threads) ran one at a time: the GIL."""
    found = []
    if processes and (chunksize or 1) == 1 and len(durations) >= 20:
        median = sorted(durations)[len(durations) // 2]
        if median < SHORT_TASK_S:
            found.append(Advice.CHUNKSIZE)
    if sort_gain is not None and sort_gain >= ORDER_GAIN:
        found.append(Advice.ORDER)
    if not processes and workers > 1 and wall_s > 0 and (cpu_s + queued_s) / wall_s >= GIL_CPU_SHARE:
        found.append(Advice.PROCESSES)
    if processes and task_s > 0 and cpu_s / task_s < 1 - GIL_CPU_SHARE:
        found.append(Advice.THREADS)
    return tuple(found)


def site_facts(site: dict[str, Any], tasks: pd.DataFrame, cpus: int) -> SiteFacts:
    """The facts of one site from its record (``sites`` of the run) and its rows of the tasks
    frame (times in seconds after the program started)."""
    rows = tasks.sort_values("start_s")
    # a task's time without its waits for a core: what it takes on a core of its own
    own = rows["duration_s"] - rows["queued_s"].fillna(0.0).clip(lower=0.0)
    durations = [max(0.0, float(d)) for d in own]
    task_s = float(sum(durations))
    wall_sum_s = float(rows["duration_s"].sum())
    cpu_s = float(rows["cpu_s"].sum())
    first_s, last_s = float(site["first_s"]), float(site["last_s"])
    wall = max(0.0, last_s - first_s)
    workers = max(1, int(site["workers"]))
    bounds = None
    if durations:
        chunk = int(site["chunksize"] or 1)
        bounds = schedule_bounds(durations, workers, chunksize=chunk, cpu_s=cpu_s,
                                 cores=float(cpus) if site["processes"] else 1.0)
    split = None
    if not rows.empty and wall > 0:
        begin = float(rows["start_s"].min())
        shifted = rows.assign(start_s=rows["start_s"] - begin, end_s=rows["end_s"] - begin)
        parts = decompose(shifted, workers=workers, startup_s=max(0.0, begin - first_s),
                          pass_wall_s=max(1e-9, last_s - begin), timing_median_s=None,
                          task_bytes=None, items_bytes=0, results_bytes=0)
        if parts is not None:
            split = Overheads(startup_s=parts["startup_s"], dispatch_s=parts["dispatch_s"],
                              busy_s=parts["busy_s"], imbalance_s=parts["imbalance_s"],
                              collect_s=parts["collect_s"])
    sized = rows["item_bytes"].notna()
    sort_gain = bounds.sort_gain if bounds is not None else None
    return SiteFacts(
        id=str(site["id"]), filename=str(site["filename"]), lineno=int(site["lineno"]),
        function=str(site["function"]), task=str(site["task"]), method=str(site["method"]),
        processes=bool(site["processes"]), workers=workers, start_method=site["start_method"],
        chunksize=site["chunksize"], calls=int(site["calls"]), tasks=len(rows),
        failed=int((~rows["ok"]).sum()), first_s=first_s, last_s=last_s, task_sum_s=task_s,
        cpu_sum_s=cpu_s, queued_s=wall_sum_s - task_s, item_bytes=int(rows.loc[sized, "item_bytes"].sum()),
        result_bytes=int(rows.loc[sized, "result_bytes"].fillna(0).sum()), sized=int(sized.sum()),
        achieved_estimate=wall_sum_s / wall if wall > 0 and durations else None,
        bound=bounds.best if bounds is not None else None,
        optimum=bounds.optimum if bounds is not None else None,
        dispatch_bound=bounds.dispatch if bounds is not None else None,
        cpu_cap=bounds.cpu_cap if bounds is not None else None,
        sort_gain=sort_gain, overheads=split,
        advice=_advice(bool(site["processes"]), workers, site["chunksize"], durations, cpu_s,
                       wall_sum_s - task_s, task_s, wall, sort_gain),
        replay=site.get("replay"), wait_s=float(site.get("wait_s") or 0.0),
        profiled=int(site.get("profiled") or 0))


def _covered(spans: list[tuple[float, float]]) -> float:
    total, reach = 0.0, -math.inf
    for start, end in sorted(spans):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def program_facts(program: dict[str, Any], sites: list[dict[str, Any]], tasks: pd.DataFrame,
                  cpus: int) -> ProgramFacts:
    """The facts of a program run from its ``program`` and ``sites`` records and tasks frame."""
    facts = [site_facts(s, tasks[tasks["mode"] == s["id"]], cpus) for s in sites]
    return ProgramFacts(
        command=str(program["command"]), exit_code=int(program["exit_code"]),
        wall_s=float(program["wall_s"]), start_method=str(program["start_method"]),
        interrupted=bool(program["interrupted"]), error=program.get("error"), cpus=cpus,
        sites=facts, in_sites_s=_covered([(f.first_s, f.last_s) for f in facts]))
