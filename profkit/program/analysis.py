"""Facts about each pool site of a program run: its wall, its tasks, what it achieved and allows.

Pure: from the tasks frame and the site records to small dataclasses. The
speedup a site achieved is an estimate: a sequential run of the site's tasks over
the site's wall. The sequential run is their times on a core of their own, their
waits for a core left out, as long as the program's tasks had a core each; when
other programs left them less than one core in all, one task at a time would have
had no more, and the sequential run is stretched to that share of a core. The
waits a task had for cores its own pool mates used are never counted: a
sequential run has no pool mates. The bound is
profkit's schedule bound (:mod:`profkit.analysis.bounds`) of the same tasks on
the site's workers, capped by the CPUs (or by one core, for threads whose work
holds the GIL). The work class, the bound's cores and the advice come from
:mod:`profkit.analysis.verdict`, the reasoning of ``profkit profile``, applied to
the site's own tasks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from profkit.analysis import verdict
from profkit.analysis.bounds import ScheduleBounds, schedule_bounds
from profkit.analysis.overheads import decompose
from profkit.analysis.verdict import AdviceKind, WorkClass
from profkit.model import JSON

if TYPE_CHECKING:
    import pandas as pd

#: The tasks' waits for a core, as a share of their time, above which the machine was busy
#: enough that the achieved estimate rests on a model of how its cores were shared.
BUSY_SHARE = 0.1


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
    #: the tasks' times in all, less their waits for a core (what they take on free cores) and,
    #: on threads whose computing filled the GIL, less their waits for it
    task_sum_s: float
    cpu_sum_s: float
    #: seconds the tasks were ready to run but waited for a core (other programs, or their own
    #: pool mates, busy), summed
    queued_s: float
    #: pickled bytes of the items and results that were sized, and how many were
    item_bytes: int
    result_bytes: int
    sized: int
    #: the cores the tasks computed on, on average, while any was under way (their waits for a
    #: core left out): below one, other programs left the program less than a core
    cores: float | None
    #: the estimated sequential run: ``task_sum_s`` on the share of a core one task at a time
    #: would have had (``min(1, cores)``)
    sequential_s: float | None
    #: the tasks waited for a core more than ``BUSY_SHARE`` of their time: the estimate is rough
    machine_busy: bool
    #: the achieved speedup, estimated as ``sequential_s`` over the site's wall (None without
    #: a wall)
    achieved_estimate: float | None
    #: profkit's bound for these tasks on these workers (optimum, under the CPU cap)
    bound: float | None
    optimum: float | None
    dispatch_bound: float | None
    cpu_cap: float | None
    sort_gain: float | None
    overheads: Overheads | None
    #: what the tasks spend their time on (:class:`~profkit.analysis.verdict.WorkClass`), from
    #: their CPU over their time not spent waiting (for a core, or for the GIL: see ``cpu_ratio``)
    work: WorkClass | None = None
    cpu_ratio: float | None = None
    #: what the item sizes allow on these workers, before any CPU cap
    items_cap: float | None = None
    #: the tasks' median time, and the chunksize profile would advise for them (None: none)
    per_task_s: float | None = None
    advised_chunksize: int | None = None
    advice: tuple[AdviceKind, ...] = ()
    #: threads whose computing filled the GIL: their waits for it are left out of their times
    gil_waits_left_out: bool = False
    #: tasks the merged workers' profile covers (the last ones of a worker may be missing)
    profiled: int = 0
    #: a thread pool's tasks were profiled by the program's own profiler, not one of their own
    #: (Python 3.12+: one cProfile per interpreter)
    in_program_profile: bool = False
    #: seconds the program waited for the site's results (its main thread, as a rule)
    wait_s: float = 0.0
    #: on a busy machine, the other end of the estimate's range: the sequential run if the
    #: kernel shared the cores thread by thread (a lone task then gets more than the pool's
    #: tasks each had), and the speedup it gives; None when that does not move the estimate
    sequential_high_s: float | None = None
    achieved_high: float | None = None
    #: ``--replay``: the folder and measured speedups of the site replayed, or why not
    replay: dict[str, JSON] | None = None
    #: (from, to) between two of its calls when it had nothing under way, and their sum
    idle: tuple[tuple[float, float], ...] = ()
    idle_s: float = 0.0

    @property
    def place(self) -> str:
        return f"{self.filename}:{self.lineno}"

    @property
    def wall_s(self) -> float:
        """From the first call to the last result back, less the times it had nothing under way."""
        return max(0.0, self.last_s - self.first_s - self.idle_s)

    def spans(self) -> list[tuple[float, float]]:
        """When the site was under way: from its first call to its last result, its idle times
        left out."""
        bounds = [self.first_s, *(t for gap in self.idle for t in gap), self.last_s]
        return [(bounds[k], bounds[k + 1]) for k in range(0, len(bounds), 2)]

    def to_json(self) -> dict[str, JSON]:
        data: dict[str, JSON] = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["overheads"] = vars(self.overheads) if self.overheads is not None else None
        data["advice"] = [a.value for a in self.advice]
        data["work"] = self.work.value if self.work is not None else None
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
    #: the program's profile records every thread with one call stack (Python 3.12+)
    profile_all_threads: bool = False

    def to_json(self) -> dict[str, JSON]:
        return {"command": self.command, "exit_code": self.exit_code, "wall_s": self.wall_s,
                "start_method": self.start_method, "interrupted": self.interrupted,
                "error": self.error, "cpus": self.cpus, "in_sites_s": self.in_sites_s,
                "profile_all_threads": self.profile_all_threads,
                "sites": [s.to_json() for s in self.sites]}


def _cpu_ratio(processes: bool, workers: int, cpu_s: float, task_s: float, queued_s: float,
               wall_s: float) -> float | None:
    """The tasks' CPU over their time not spent waiting, as ``profkit profile`` classifies work by.

    Processes run their tasks apart: CPU over the tasks' time less their waits for a core.
    Threads also wait for the GIL, which stretches each task of a pool whose computing fills
    it: when the pool kept one core busy (computing, or waiting for a core) for most of its wall
    (``verdict.CPU_BOUND_RATIO``), the GIL was held all along, and the tasks computed at least
    their CPU over that time (the site's wall less their waits for a core).
    """
    if task_s <= 0:
        return None
    ratio = min(1.0, cpu_s / task_s)
    if processes or workers <= 1 or wall_s <= 0 or (cpu_s + queued_s) / wall_s < verdict.CPU_BOUND_RATIO:
        return ratio
    held = wall_s - queued_s
    return 1.0 if held <= cpu_s else max(ratio, cpu_s / held)


def _advice(processes: bool, workers: int, work: WorkClass | None, speedup: float | None,
            bounds: ScheduleBounds | None, advised: int | None, cpus: int
            ) -> tuple[AdviceKind, ...]:
    """What the site could change, by the rules of :func:`profkit.analysis.verdict.decide`:
    the site's pool is the one mode, its estimated speedup without an interval."""
    mode = verdict.ModeFacts(
        "site", workers, speedup=speedup, shares_gil=not processes, shares_memory=not processes,
        bound=bounds.best if bounds is not None else None,
        capped_by_cpus=bool(bounds is not None and bounds.capped_by_cpus),
        items_cap=bounds.items_cap if bounds is not None else None)
    cause = verdict.cause_of(mode, work, cpus) if speedup is not None else None
    found = []
    if cause in (verdict.Cause.OVERHEAD, verdict.Cause.CPUS):
        found.append(AdviceKind.KEEP_LOOP)
    if advised is not None:
        found.append(AdviceKind.BATCH)
    if (workers > 1 and mode.items_cap is not None
            and mode.items_cap < verdict.SPLIT_BELOW * workers):
        found.append(AdviceKind.SPLIT_ITEMS)
    if (bounds is not None and bounds.sort_gain_low > verdict.SORT_GAIN
            and not bounds.capped_by_cpus):
        # under a CPU (or GIL) cap the cores, not the order, end the pool
        found.append(AdviceKind.SORT_LONGEST_FIRST)
    if cause is verdict.Cause.GIL:
        found.append(AdviceKind.USE_PROCESSES)
    if processes and work is WorkClass.IO:
        # threads overlap waits without pickling; a process pool of mixed work needs a
        # measurement of threads to be told so (``--replay``)
        found.append(AdviceKind.USE_THREADS)
    return tuple(found)


def item_noise(own: Sequence[float], cpu: Sequence[float]) -> float | None:
    """How far one task's time may be off its item's (relative), from the one timing of each
    task: for tasks that compute all their time off waits (CPU-bound work).

    Each such task's time over its CPU is the same on a steady machine, whatever its item: how
    much that ratio moves from task to task (at the upper end of its 95% interval) is how much
    the times moved for reasons other than the items (waits for a core not all counted, a wait
    for a lock). None with fewer than two tasks that used CPU.
    """
    from profkit.analysis.stats import log_spread_upper

    return log_spread_upper([o / c for o, c in zip(own, cpu, strict=True) if o > 0 and c > 0])


def _number(value: JSON) -> float:
    """A number of a site or program record (JSON: an int or a float)."""
    if isinstance(value, (int, float)):
        return float(value)
    raise ValueError(f"a number was expected in the record, not {value!r}")


def _text(value: JSON) -> str | None:
    return None if value is None else str(value)


def _spans(value: JSON) -> tuple[tuple[float, float], ...]:
    """A record's [from, to] pairs."""
    spans = []
    for pair in value if isinstance(value, list) else ():
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError(f"a [from, to] pair was expected in the record, not {pair!r}")
        spans.append((_number(pair[0]), _number(pair[1])))
    return tuple(spans)


def own_times(rows: pd.DataFrame) -> list[float]:
    """Each task's time without its waits for a core (what it takes on a core of its own), in the
    rows' order."""
    own = rows["duration_s"] - rows["queued_s"].fillna(0.0).clip(lower=0.0)
    return [max(0.0, float(d)) for d in own]


def _covered_s(rows: pd.DataFrame) -> float:
    """The wall the tasks' spans cover: some task was under way."""
    return _covered(list(zip(rows["start_s"].astype(float), rows["end_s"].astype(float),
                             strict=True)))


def lone_share_thread_by_thread(cpu_s: float, queued_s: float, covered_s: float,
                                cpus: int) -> float | None:
    """The share of a core one task alone would have had if the kernel shared the cores thread
    by thread (no autogroup, or busy programs of the same session).

    The pool's tasks were runnable ``cpu_s + queued_s`` in all, over ``covered_s`` of wall: on
    average ``k`` of them, each on a core a fraction ``r`` of the time. Shared thread by thread,
    every runnable thread gets ``r``, so the others ran ``m = cpus / r - k`` threads; a lone task
    beside them gets ``cpus / (1 + m)``, at most a core. None without the times to tell.
    """
    runnable = cpu_s + queued_s
    if covered_s <= 0 or runnable <= 0 or cpu_s <= 0:
        return None
    threads, rate = runnable / covered_s, cpu_s / runnable
    others = max(0.0, cpus / rate - threads)
    return min(1.0, cpus / (1.0 + others))


def site_facts(site: Mapping[str, JSON], tasks: pd.DataFrame, cpus: int) -> SiteFacts:
    """The facts of one site from its record (``sites`` of the run) and its rows of the tasks
    frame (times in seconds after the program started)."""
    rows = tasks.sort_values("start_s")
    durations = own_times(rows)
    unscaled = list(durations)
    task_s = float(sum(durations))
    wall_sum_s = float(rows["duration_s"].sum())
    cpu_s = float(rows["cpu_s"].sum())
    first_s, last_s = _number(site["first_s"]), _number(site["last_s"])
    idle = _spans(site.get("idle"))
    idle_s = sum(b - a for a, b in idle)
    wall = max(0.0, last_s - first_s - idle_s)
    workers = max(1, int(_number(site["workers"])))
    processes = bool(site["processes"])
    chunk = int(_number(site["chunksize"] or 1))
    queued_s = wall_sum_s - task_s
    ratio = _cpu_ratio(processes, workers, cpu_s, task_s, queued_s, wall)
    stretched = bool(ratio and task_s > 0 and ratio > cpu_s / task_s)
    if ratio and stretched:
        # GIL waits stretched the tasks: alone each would take its share of their CPU over
        # their ratio, the waits for the GIL spread evenly; of their waits for a core, only
        # what the GIL's holder waited fits in the wall beside that (the rest were threads
        # waking to wait for the GIL)
        # each alone takes its CPU over the ratio: a thread's wait for the GIL depends on
        # which thread held it meanwhile, not on its item (the last ones ran alone)
        durations = [max(0.0, float(c)) / ratio for c in rows["cpu_s"]]
        task_s = float(sum(durations))
        queued_s = min(queued_s, max(0.0, wall - task_s))
    # the cores the tasks computed on, on average, while any was under way (waits left out)
    covered = _covered_s(rows)
    own_s = float(sum(unscaled))
    cores = own_s / covered if covered > 0 else None
    # one task at a time has no pool mates to wait for: it gets a core, unless other programs
    # left the program less than one, and then that share (what the tasks had in all)
    sequential = task_s / min(1.0, cores) if cores else (task_s if durations else None)
    estimate = sequential / wall if wall > 0 and sequential is not None else None
    busy = queued_s > BUSY_SHARE * (task_s + queued_s)
    # how the kernel shares the cores among programs decides what a lone task would have had:
    # by session (autogroup, above) or thread by thread; on a busy machine both ends are said
    sequential_high = estimate_high = None
    if busy and sequential is not None and wall > 0:
        lone = lone_share_thread_by_thread(min(cpu_s, own_s), wall_sum_s - own_s, covered, cpus)
        # only their computing slows on a share of a core: a wait for I/O takes as long alone
        high = task_s + min(cpu_s, task_s) * (1.0 / lone - 1.0) if lone else None
        if high is not None and high > 1.05 * sequential:
            sequential_high, estimate_high = high, high / wall
    threads = None if processes else verdict.ModeFacts(
        "site", workers, speedup=estimate, shares_gil=True, shares_memory=True)
    work = verdict.work_class(ratio, threads, cpu_s / wall if wall > 0 and not processes else None)
    bounds = None
    if durations:
        gil = not processes and work is not None and work.holds_gil()
        cpu_bound = not stretched and work in (WorkClass.CPU, WorkClass.GIL_RELEASING,
                                                WorkClass.NO_GIL)
        noise = item_noise(unscaled, [float(c) for c in rows["cpu_s"]]) if cpu_bound else None
        bounds = schedule_bounds(durations, workers, chunksize=chunk, cpu_s=cpu_s,
                                 cores=1.0 if gil else float(cpus), noise=noise)
    per_task = float(sorted(durations)[len(durations) // 2]) if durations else None
    chunks = verdict.advised_chunksize(len(durations), workers)
    # a thread pool has no chunksize to pass; slow tasks need none
    advised = chunks if (processes and per_task is not None and per_task < verdict.TINY_TASK_S
                         and chunks > chunk) else None
    split = None
    if not rows.empty and wall > 0:
        begin = float(rows["start_s"].min())
        # the idle times between calls taken out: the tasks as if each call followed the last
        before = rows["start_s"].map(lambda t: sum(b - a for a, b in idle if b <= t))
        shifted = rows.assign(start_s=rows["start_s"] - before - begin,
                              end_s=rows["end_s"] - before - begin)
        parts = decompose(shifted, workers=workers, startup_s=max(0.0, begin - first_s),
                          pass_wall_s=max(1e-9, last_s - idle_s - begin), timing_median_s=None,
                          task_bytes=None, items_bytes=0, results_bytes=0)
        if parts is not None:
            split = Overheads(startup_s=parts.startup_s, dispatch_s=parts.dispatch_s,
                              busy_s=parts.busy_s, imbalance_s=parts.imbalance_s,
                              collect_s=parts.collect_s)
    sized = rows["item_bytes"].notna()
    return SiteFacts(
        id=str(site["id"]), filename=str(site["filename"]), lineno=int(_number(site["lineno"])),
        function=str(site["function"]), task=str(site["task"]), method=str(site["method"]),
        processes=processes, workers=workers, start_method=_text(site["start_method"]),
        chunksize=None if site["chunksize"] is None else int(_number(site["chunksize"])),
        calls=int(_number(site["calls"])), tasks=len(rows),
        failed=int((~rows["ok"]).sum()), first_s=first_s, last_s=last_s, task_sum_s=task_s,
        cpu_sum_s=cpu_s, queued_s=queued_s, cores=cores, sequential_s=sequential,
        machine_busy=busy, item_bytes=int(rows.loc[sized, "item_bytes"].sum()),
        result_bytes=int(rows.loc[sized, "result_bytes"].fillna(0).sum()), sized=int(sized.sum()),
        achieved_estimate=estimate, sequential_high_s=sequential_high,
        achieved_high=estimate_high,
        bound=bounds.best if bounds is not None else None,
        optimum=bounds.optimum if bounds is not None else None,
        dispatch_bound=bounds.dispatch if bounds is not None else None,
        cpu_cap=bounds.cpu_cap if bounds is not None else None,
        sort_gain=bounds.sort_gain if bounds is not None else None, overheads=split,
        work=work, cpu_ratio=ratio, items_cap=bounds.items_cap if bounds is not None else None,
        per_task_s=per_task, advised_chunksize=advised,
        advice=_advice(processes, workers, work, estimate, bounds, advised, cpus),
        gil_waits_left_out=stretched,
        replay=replay if isinstance(replay := site.get("replay"), dict) else None,
        wait_s=_number(site.get("wait_s") or 0.0), idle=idle, idle_s=idle_s,
        profiled=int(_number(site.get("profiled") or 0)),
        in_program_profile=bool(site.get("in_program_profile")))


def _covered(spans: list[tuple[float, float]]) -> float:
    total, reach = 0.0, -math.inf
    for start, end in sorted(spans):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def program_facts(program: Mapping[str, JSON], sites: Sequence[Mapping[str, JSON]],
                  tasks: pd.DataFrame, cpus: int) -> ProgramFacts:
    """The facts of a program run from its ``program`` and ``sites`` records and tasks frame."""
    facts = [site_facts(s, tasks[tasks["mode"] == s["id"]], cpus) for s in sites]
    return ProgramFacts(
        command=str(program["command"]), exit_code=int(_number(program["exit_code"])),
        wall_s=_number(program["wall_s"]), start_method=str(program["start_method"]),
        interrupted=bool(program["interrupted"]), error=_text(program.get("error")), cpus=cpus,
        sites=facts, in_sites_s=_covered([span for f in facts for span in f.spans()]),
        profile_all_threads=bool(program.get("profile_all_threads")))
