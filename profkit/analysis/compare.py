"""Compare two runs: the model ``profkit compare`` prints, renders and gates on.

Pure functions from loaded runs to dataclasses; the statistics live in
:mod:`profkit.analysis.compare_stats`, the line and call-tree differences in
:mod:`profkit.analysis.compare_profile`, and all text in
:mod:`profkit.render.compare_text`.

* :func:`compare_timings` -- per mode, the decision rule applied to the two
  runs' timing repeats (:func:`~profkit.analysis.compare_stats.compare_samples`),
  on wall time, or on CPU time when the runs waited differently or unevenly
  and CPU time gives the narrower interval (:func:`compare_mode`);
* :func:`compare_functions` -- per mode, the functions whose self time changed most;
* :func:`compare_runs` -- all of it, plus the hot-lines change, the differential
  call tree and warnings about what makes the two runs hard to compare.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from profkit.analysis.compare_profile import (
    DEFAULT_TOP_LINES,
    DiffNode,
    LineChange,
    compare_call_trees,
    compare_lines,
)
from profkit.analysis.compare_stats import (
    DEFAULT_LEVEL,
    DEFAULT_MIN_EFFECT_PCT,
    MIN_SAMPLES,
    Measure,
    Reason,
    SampleComparison,
    Verdict,
    _u_counts,
    bonferroni,
    choose_measure,
    compare_samples,
    exact_p_value,
    interval_width,
    mann_whitney_u,
    smallest_p_value,
    wait_shift_pct,
    wait_spread_pct,
    wall_per_cpu,
)
from profkit.analysis.own_frames import drop_own_functions
from profkit.errors import StoreError
from profkit.model import JSON, Status

if TYPE_CHECKING:
    import pstats
    from pathlib import Path

    import pandas as pd

    from profkit.program.analysis import SiteFacts
    from profkit.record import RunMeta


class Run(Protocol):
    """What a comparison reads of a loaded run (:class:`profkit.run.Run` is one)."""

    @property
    def meta(self) -> RunMeta: ...
    @property
    def frames(self) -> dict[str, pd.DataFrame]: ...
    @property
    def profiles(self) -> Mapping[str, pstats.Stats]: ...
    @property
    def path(self) -> Path | None: ...

__all__ = [
    "Comparison", "Coverage", "FunctionChange", "LineChange", "DiffNode", "Measure", "ModeChange", "RunInfo",
    "SiteChange", "Verdict",
    "compare_functions", "compare_mode", "compare_runs", "compare_sites", "compare_timings", "exact_p_value",
    "mann_whitney_u", "smallest_p_value", "_u_counts",
]

DEFAULT_TOP = 10
#: ``run.json``'s kind of a program run (``profkit run``): its modes are pool sites
PROGRAM = "program"
#: A pass that covered this share of the map counts as whole.
FULL_SHARE = 0.999
SLOWER = Verdict.SLOWER.value
FASTER = Verdict.FASTER.value
SAME = Verdict.SAME.value
MISSING = Verdict.MISSING.value
TOO_FEW = Verdict.TOO_FEW.value


@dataclass
class ModeChange:
    """How one mode's wall time moved from run A to run B (B / A: above 1 is slower)."""

    mode: str
    workers_a: int | None
    workers_b: int | None
    repeats_a: int
    repeats_b: int
    median_a_s: float | None
    median_b_s: float | None
    #: the geometric means the change is the ratio of (what the tables show)
    mean_a_s: float | None = None
    mean_b_s: float | None = None
    ratio: float | None = None
    change_pct: float | None = None
    ratio_ci: list[float] | None = None
    level: float = DEFAULT_LEVEL
    min_effect_pct: float = DEFAULT_MIN_EFFECT_PCT
    paired: bool = False
    p_value: float | None = None
    p_min: float | None = None
    verdict: str = MISSING
    reason: str = Reason.MISSING.value
    measure: str = Measure.WALL.value
    wall_change_pct: float | None = None
    wall_per_cpu_a: float | None = None
    wall_per_cpu_b: float | None = None
    #: how unevenly each run's repeats waited: the IQR of their wall / CPU over its median (%)
    wait_spread_a_pct: float | None = None
    wait_spread_b_pct: float | None = None
    family: int = 1
    #: repeats each run set aside as spoiled (other programs were busy during them) ...
    set_aside_a: int = 0
    set_aside_b: int = 0
    #: ... and whether they are compared anyway, because fewer than two clean ones were left
    set_aside_used_a: bool = False
    set_aside_used_b: bool = False

    @property
    def called(self) -> bool:
        return self.verdict in (SLOWER, FASTER)

    @property
    def mode_level(self) -> float:
        """The level of this mode's interval, so that ``level`` holds over the ``family`` of modes."""
        return bonferroni(self.level, self.family)


@dataclass
class FunctionChange:
    """How one function's self time (summed over workers) moved from A to B in one mode."""

    mode: str
    function: str
    name: str
    filename: str
    lineno: int
    self_a_s: float
    self_b_s: float
    delta_s: float
    change_pct: float | None
    ncalls_a: int
    ncalls_b: int
    status: str  # "changed", "new" (only in B) or "gone" (only in A)


@dataclass
class Coverage:
    """What share of each run's map its cProfile pass covered, in one mode (None: not recorded).

    When both shares are known, the self times and the call tree are scaled to the whole
    map, so that a pass cut short by its budget in one run compares fairly with the other.
    """

    share_a: float | None
    share_b: float | None

    @property
    def scaled(self) -> bool:
        return bool(self.share_a and self.share_b)

    @property
    def partial(self) -> bool:
        """True when either pass covered less than the whole map, or did not say."""
        return any(s is None or s < FULL_SHARE for s in (self.share_a, self.share_b))

    def factors(self) -> tuple[float, float]:
        """What A's and B's profiled seconds are multiplied by (1 when not scaled)."""
        if self.share_a and self.share_b:
            return 1.0 / self.share_a, 1.0 / self.share_b
        return 1.0, 1.0


@dataclass
class RunInfo:
    """What the comparison shows about each run."""

    path: str | None
    workload: str | None
    target: str | None
    started_at: str | None
    python: str | None
    platform: str | None
    cpus: int | None
    start_method: str | None
    repeat: int | str | None  # "auto": rounds until the estimates are precise
    status: dict[str, Status] = field(default_factory=dict)


@dataclass
class SiteChange:
    """One pool site of two program runs (``profkit run``): where it is in each, and its wall,
    from its first call to its last result, which a program run times once (so no interval)."""

    site: str
    where_a: str  # file:line method(task)
    where_b: str
    wall_a_s: float
    wall_b_s: float
    change_pct: float | None
    tasks_a: int
    tasks_b: int


class CompareNoteKind(str, enum.Enum):
    """What makes two runs hard to compare."""

    NO_COMMON_MODE = "no-common-mode"
    WORKLOADS = "workloads"  # the runs are of different workloads
    DIFFERS = "differs"  # the Python, platform, CPU count or start method differs
    WORKERS = "workers"  # a mode ran different worker counts
    NO_TIMINGS = "no-timings"  # a mode has no timings in one run
    PARTIAL = "partial"  # a mode did not finish cleanly in one run
    WAITED = "waited"  # the runs waited differently: CPU time was compared
    TOO_FEW = "too-few"  # too few repeats to call a change
    FEW_REPEATS = "few-repeats"  # so few that only a large change is called
    SET_ASIDE = "set-aside"  # repeats set aside because other programs were busy
    SITE_DIFFERS = "site-differs"  # program runs: a site id is another call or task in B
    TASKS_DIFFER = "tasks-differ"  # program runs: a site ran a different number of tasks


@dataclass(frozen=True)
class CompareNote:
    """One thing that makes the two runs hard to compare, with its numbers."""

    kind: CompareNoteKind
    mode: str | None = None
    what: str | None = None  # DIFFERS: "python", "platform", "cpus" or "start_method"
    a: str | None = None  # the value in A (workload, or what differs)
    b: str | None = None
    workers_a: int | None = None
    workers_b: int | None = None
    side: str | None = None  # NO_TIMINGS: "A" or "B", with its status
    status: Status | None = None
    statuses: dict[str, Status] = field(default_factory=dict)  # PARTIAL: side -> status
    wall_per_cpu_a: float | None = None
    wall_per_cpu_b: float | None = None
    wall_change_pct: float | None = None
    #: WAITED: each run's spread of wall / CPU over its repeats (%), and whether the runs' medians
    #: of it agree within the minimum effect (then a run's own spread chose CPU time)
    wait_spread_a_pct: float | None = None
    wait_spread_b_pct: float | None = None
    uneven_only: bool = False
    repeats_a: int | None = None
    repeats_b: int | None = None
    min_samples: int | None = None
    set_aside_a: int | None = None
    set_aside_b: int | None = None
    set_aside_used_a: bool = False  # SET_ASIDE: too few clean repeats left, so they were compared
    set_aside_used_b: bool = False
    tasks: bool = False  # TOO_FEW, FEW_REPEATS: the samples are a program site's tasks
    paired: bool = False  # TOO_FEW, FEW_REPEATS: the rounds of one profkit ab run


@dataclass
class Comparison:
    """Everything ``profkit compare`` prints, renders and gates on."""

    run_a: RunInfo
    run_b: RunInfo
    level: float = DEFAULT_LEVEL
    min_effect_pct: float = DEFAULT_MIN_EFFECT_PCT
    modes: list[ModeChange] = field(default_factory=list)
    functions: dict[str, list[FunctionChange]] = field(default_factory=dict)
    lines: dict[str, list[LineChange]] = field(default_factory=dict)
    trees: dict[str, DiffNode] = field(default_factory=dict)
    coverage: dict[str, Coverage] = field(default_factory=dict)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    #: what makes the two runs hard to compare (render words them)
    warnings: list[CompareNote] = field(default_factory=list)
    #: both runs are program runs (``profkit run``): the modes are pool sites, each compared on
    #: its tasks' times, and ``sites`` holds their walls, timed once per run
    program: bool = False
    sites: list[SiteChange] = field(default_factory=list)

    @property
    def family(self) -> int:
        """How many modes were judged together."""
        return max((m.family for m in self.modes), default=1)

    @property
    def mode_level(self) -> float:
        """The level of each mode's interval, so that ``level`` holds over all modes together."""
        return bonferroni(self.level, self.family)

    @property
    def repeats(self) -> tuple[int, int] | None:
        """The repeats of A and of B the rule compared, when every timed mode had the same counts
        (None when they differ between modes, or no mode was timed)."""
        counts = {(m.repeats_a, m.repeats_b) for m in self.modes if m.verdict != MISSING}
        return counts.pop() if len(counts) == 1 else None

    def slower_than(self, pct: float) -> list[ModeChange]:
        """Modes called slower whose slowdown exceeds ``pct`` percent: what fails ``--fail-above``."""
        return [m for m in self.modes if m.verdict == SLOWER and m.change_pct is not None
                and m.change_pct > pct]

    def lost_in_b(self) -> list[ModeChange]:
        """Modes with no timings in B (B's mode failed, timed out or was interrupted), whether
        or not A has any: a gate on B cannot pass a mode that B never timed."""
        return [m for m in self.modes if not m.repeats_b]

    def gate_fails(self, fail_above: float) -> bool:
        """True when ``--fail-above fail_above`` must exit 1."""
        return bool(self.slower_than(fail_above) or self.lost_in_b())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Repeats:
    """One side's map repeats of a mode, as the rule takes them."""

    walls: list[float]
    cpus: list[float]  # NaN where not measured
    workers: int | None
    #: repeats the run marked spoiled (other programs were busy), and whether they are compared
    #: anyway because fewer than two clean ones were left
    set_aside: int
    set_aside_used: bool


def _walls(timings: pd.DataFrame, mode: str) -> _Repeats:
    """The main run's clean map repeats of ``mode`` (no sweep points, no start-up, no round the run
    set aside as spoiled). As in the run's own summary, when fewer than two clean repeats remain
    every repeat counts, and the result says so."""
    main = timings[(timings["mode"] == mode) & (~timings["sweep"].astype(bool))]
    maps = main[main["phase"] == "map"].sort_values("repeat")
    maps = maps[maps["wall_s"].notna()]
    set_aside, used = 0, False
    if "spoiled" in maps:
        spoiled = maps["spoiled"].fillna(False).astype(bool)
        set_aside = int(spoiled.sum())
        used = bool(set_aside) and int((~spoiled).sum()) < 2
        if not used:
            maps = maps[~spoiled]
    walls = [float(v) for v in maps["wall_s"].tolist()]
    cpus = [float(v) for v in maps["cpu_s"].tolist()] if "cpu_s" in maps else [float("nan")] * len(walls)
    workers = int(main["workers"].iloc[0]) if len(main) else None
    return _Repeats(walls, cpus, workers, set_aside, used)


def _modes_in(timings: pd.DataFrame) -> list[str]:
    main = timings[~timings["sweep"].astype(bool)]
    return list(dict.fromkeys(main["mode"].tolist()))


def mode_change(mode: str, result: SampleComparison, *, workers_a: int | None = None,
                workers_b: int | None = None) -> ModeChange:
    """A :class:`ModeChange` from the rule's result on one mode's samples."""
    return ModeChange(
        mode=mode, workers_a=workers_a, workers_b=workers_b, repeats_a=result.n_a, repeats_b=result.n_b,
        median_a_s=result.median_a, median_b_s=result.median_b, mean_a_s=result.mean_a,
        mean_b_s=result.mean_b, ratio=result.ratio,
        change_pct=result.change_pct, ratio_ci=list(result.ci) if result.ci else None,
        level=result.level, min_effect_pct=result.min_effect_pct, paired=result.paired,
        p_value=result.mann_whitney_p, p_min=result.mann_whitney_min_p,
        verdict=result.verdict.value, reason=result.reason.value, family=result.family,
    )


def compare_mode(mode: str, walls_a: Sequence[float], walls_b: Sequence[float], *,
                 cpus_a: Sequence[float] | None = None, cpus_b: Sequence[float] | None = None,
                 workers_a: int | None = None, workers_b: int | None = None, paired: bool = False,
                 level: float = DEFAULT_LEVEL, min_effect_pct: float = DEFAULT_MIN_EFFECT_PCT,
                 measure: Measure | None = None, family: int = 1) -> ModeChange:
    """The rule applied to one mode's repeats: medians, B / A, its interval and the verdict.

    With CPU times given, ``measure`` None picks wall or CPU time with
    :func:`~profkit.analysis.compare_stats.choose_measure`. ``family``: how many
    modes are judged together (the level holds for all of them at once).
    """
    q_a = wall_per_cpu(walls_a, cpus_a) if cpus_a is not None else None
    q_b = wall_per_cpu(walls_b, cpus_b) if cpus_b is not None else None
    wall = compare_samples(walls_a, walls_b, paired=paired, level=level, min_effect_pct=min_effect_pct,
                           family=family)
    cpu = (compare_samples(cpus_a, cpus_b, paired=paired, level=level, min_effect_pct=min_effect_pct,
                           family=family)
           if cpus_a is not None and cpus_b is not None else None)
    spread_a = wait_spread_pct(walls_a, cpus_a) if cpus_a is not None else None
    spread_b = wait_spread_pct(walls_b, cpus_b) if cpus_b is not None else None
    if measure is None:
        measure = choose_measure(q_a, q_b, min_effect_pct, [spread_a, spread_b])
        # CPU time only where it was measured more steadily: a pool's worker CPU comes in 10 ms ticks
        if cpu is None or interval_width(cpu.ci) >= interval_width(wall.ci):
            measure = Measure.WALL
    if measure is Measure.CPU and cpu is not None and cpu.verdict is not Verdict.MISSING:
        result = cpu
    else:
        measure, result = Measure.WALL, wall
    change = mode_change(mode, result, workers_a=workers_a, workers_b=workers_b)
    change.measure = measure.value
    change.wall_change_pct = wall.change_pct
    change.wall_per_cpu_a, change.wall_per_cpu_b = q_a, q_b
    change.wait_spread_a_pct, change.wait_spread_b_pct = spread_a, spread_b
    return change


def _paired_walls(timings_a: pd.DataFrame, timings_b: pd.DataFrame, mode: str
                  ) -> tuple[_Repeats, _Repeats]:
    """A's and B's repeats in the rounds both ran (``profkit ab``), in round order; rounds spoiled
    by other programs on either side are left out while two or more clean ones remain."""
    def rows(timings: pd.DataFrame) -> pd.DataFrame:
        main = timings[(timings["mode"] == mode) & (~timings["sweep"].astype(bool))
                       & (timings["phase"] == "map") & timings["wall_s"].notna()]
        return main.set_index("repeat")

    a, b = rows(timings_a), rows(timings_b)
    common = sorted(set(a.index) & set(b.index))

    def spoiled(frame: pd.DataFrame, r: int) -> bool:
        return "spoiled" in frame.columns and bool(frame.at[r, "spoiled"])

    clean = [r for r in common if not spoiled(a, r) and not spoiled(b, r)]
    aside_a, aside_b = (sum(spoiled(f, r) for r in common) for f in (a, b))
    used = len(clean) < len(common) and len(clean) < 2
    if not used:
        common = clean

    def side(frame: pd.DataFrame, aside: int) -> _Repeats:
        workers = int(frame["workers"].iloc[0]) if len(frame) else None
        return _Repeats([float(v) for v in frame.loc[common, "wall_s"].tolist()],
                        [float(v) for v in frame.loc[common, "cpu_s"].tolist()], workers, aside,
                        used and aside > 0)

    return side(a, aside_a), side(b, aside_b)


def compare_timings(timings_a: pd.DataFrame, timings_b: pd.DataFrame, *, level: float = DEFAULT_LEVEL,
                    min_effect_pct: float = DEFAULT_MIN_EFFECT_PCT,
                    measure: Measure | None = None, paired: bool = False) -> list[ModeChange]:
    """One :class:`ModeChange` per mode present in both runs, in run A's order.

    ``paired``: A and B ran in the same interleaved rounds (``profkit ab``), so
    each round gives one B / A ratio. The modes form one family: the chance
    that noise calls any of them is at most ``1 - level``.
    """
    modes_b = set(_modes_in(timings_b))
    common = [mode for mode in _modes_in(timings_a) if mode in modes_b]
    out = []
    for mode in common:
        a, b = (_paired_walls(timings_a, timings_b, mode) if paired
                else (_walls(timings_a, mode), _walls(timings_b, mode)))
        change = compare_mode(mode, a.walls, b.walls, cpus_a=a.cpus, cpus_b=b.cpus, workers_a=a.workers,
                              workers_b=b.workers, level=level, min_effect_pct=min_effect_pct,
                              measure=measure, paired=paired, family=len(common))
        change.set_aside_a, change.set_aside_b = a.set_aside, b.set_aside
        change.set_aside_used_a, change.set_aside_used_b = a.set_aside_used, b.set_aside_used
        out.append(change)
    return out


def _site_rows(run: Run) -> dict[str, tuple[SiteFacts, pd.DataFrame]]:
    """A program run's sites: their facts, and their finished tasks' rows in start order."""
    from profkit.program.analysis import site_facts

    cpus = run.meta.environment.get("cpus_available")
    tasks = run.frames["tasks"]
    out = {}
    for record in run.meta.sites:
        site = record.get("id")
        rows = tasks[tasks["mode"] == site].sort_values("start_s")
        try:
            facts = site_facts(record, rows, cpus if isinstance(cpus, int) else 1)
        except (KeyError, TypeError, ValueError) as exc:  # a run.json not written by profkit run
            raise StoreError(f"{run.path or 'a run'}: run.json's site {site!r} is not one profkit run "
                             f"writes ({type(exc).__name__}: {exc}): re-run profkit run") from None
        out[str(site)] = (facts, rows[rows["ok"].astype(bool)])
    return out


def compare_sites(run_a: Run, run_b: Run, *, level: float = DEFAULT_LEVEL,
                  min_effect_pct: float = DEFAULT_MIN_EFFECT_PCT, measure: Measure | None = None
                  ) -> tuple[list[ModeChange], list[SiteChange]]:
    """Two program runs' sites present in both (matched by id, in A's order): the rule on each
    site's task times, and its wall, which each run timed once.

    A task's time is its own (less its waits for a core), so load from other programs is taken
    out without switching to CPU time: ``measure`` None compares these times (wall), as a task
    that waits (sleep, I/O) must be judged on. The tasks of a site are different items: when both
    runs map the same items, the items' sizes cancel from B / A, but their spread widens the
    interval, so the rule stays on the safe side.
    """
    from profkit.program.analysis import own_times

    sites_a, sites_b = _site_rows(run_a), _site_rows(run_b)
    common = [site for site in sites_a if site in sites_b]
    modes, sites = [], []
    for site in common:
        (fa, rows_a), (fb, rows_b) = sites_a[site], sites_b[site]
        modes.append(compare_mode(
            site, own_times(rows_a), own_times(rows_b), cpus_a=[float(v) for v in rows_a["cpu_s"]],
            cpus_b=[float(v) for v in rows_b["cpu_s"]], workers_a=fa.workers, workers_b=fb.workers,
            level=level, min_effect_pct=min_effect_pct, measure=measure or Measure.WALL,
            family=len(common)))
        sites.append(SiteChange(
            site=site, where_a=_where(fa), where_b=_where(fb), wall_a_s=fa.wall_s, wall_b_s=fb.wall_s,
            change_pct=100.0 * (fb.wall_s / fa.wall_s - 1.0) if fa.wall_s > 0 else None,
            tasks_a=fa.tasks, tasks_b=fb.tasks))
    return modes, sites


def _where(facts: SiteFacts) -> str:
    from pathlib import Path

    return f"{Path(facts.filename).name}:{facts.lineno} {facts.method}({facts.task})"


def compare_functions(functions_a: pd.DataFrame, functions_b: pd.DataFrame,
                      top: int = DEFAULT_TOP,
                      coverage: Mapping[str, Coverage] | None = None) -> dict[str, list[FunctionChange]]:
    """Per mode in both runs: the ``top`` functions by absolute change in self time.

    Functions are matched by their pstats label ``file:line(name)``; one seen in
    one run only counts as zero in the other ("new" or "gone"). A mode's ``coverage``
    scales each side's self time to the whole map; call counts stay as profiled.
    """
    import pandas as pd

    keep = ["function", "name", "filename", "lineno", "ncalls", "self_s"]
    agg = {"name": "first", "filename": "first", "lineno": "first", "ncalls": "sum", "self_s": "sum"}
    out: dict[str, list[FunctionChange]] = {}
    modes_b = set(functions_b["mode"].tolist())
    for mode in dict.fromkeys(functions_a["mode"].tolist()):
        if mode not in modes_b:
            continue
        fa = functions_a.loc[functions_a["mode"] == mode, keep]
        fb = functions_b.loc[functions_b["mode"] == mode, keep]
        fa = fa.groupby("function", as_index=False).agg(agg)
        fb = fb.groupby("function", as_index=False).agg(agg)
        merged = pd.merge(fa, fb, on="function", how="outer", suffixes=("_a", "_b"), indicator=True)
        factor_a, factor_b = coverage[mode].factors() if coverage and mode in coverage else (1.0, 1.0)
        rows: list[FunctionChange] = []
        for d in merged.to_dict("records"):
            status = {"both": "changed", "left_only": "gone", "right_only": "new"}[str(d["_merge"])]
            side = "b" if status == "new" else "a"
            self_a = 0.0 if pd.isna(d["self_s_a"]) else float(d["self_s_a"]) * factor_a
            self_b = 0.0 if pd.isna(d["self_s_b"]) else float(d["self_s_b"]) * factor_b
            rows.append(FunctionChange(
                mode=mode, function=str(d["function"]), name=str(d[f"name_{side}"]),
                filename=str(d[f"filename_{side}"]), lineno=int(d[f"lineno_{side}"]),
                self_a_s=self_a, self_b_s=self_b, delta_s=self_b - self_a,
                change_pct=100.0 * (self_b - self_a) / self_a if self_a > 0 else None,
                ncalls_a=0 if pd.isna(d["ncalls_a"]) else int(d["ncalls_a"]),
                ncalls_b=0 if pd.isna(d["ncalls_b"]) else int(d["ncalls_b"]),
                status=status,
            ))
        rows.sort(key=lambda c: (-abs(c.delta_s), c.function))
        out[mode] = rows[:top]
    return out


def profiled_share(run: Run, mode: str) -> float | None:
    """The share of ``mode``'s map that the run's cProfile pass covered, or None if unknown.

    Runs saved before ``cprofile_share`` was recorded give it by item count when no item
    was cut short.
    """
    if run.meta.kind == PROGRAM:  # a site's workers' profile covers its tasks but the last few
        record = next((s for s in run.meta.sites if s.get("id") == mode), None)
        tasks = int((run.frames["tasks"]["mode"] == mode).sum())
        profiled = record.get("profiled") if record else None
        return min(1.0, profiled / tasks) if isinstance(profiled, int) and profiled > 0 and tasks else None
    info = run.meta.modes.get(mode)
    if info is None:
        return None
    share = info.cprofile_share
    if share is not None and share > 0:
        return share
    items = info.cprofile_items
    n_items = run.meta.workload.n_items
    if items is not None and n_items > 0 and items > 0 and not info.cprofile_cut_s:
        return min(1.0, items / n_items)
    return None


def describe(run: Run) -> RunInfo:
    """The facts about a run that the comparison shows and checks."""
    meta = run.meta
    env = meta.environment

    def text(value: JSON) -> str | None:
        return None if value is None else str(value)

    cpus, repeat = env.get("cpus_available"), meta.options.get("repeat")
    return RunInfo(
        path=str(run.path) if run.path else None,
        workload=meta.workload.name,
        target=meta.workload.target,
        started_at=meta.started_at,
        python=text(env.get("python")),
        platform=text(env.get("platform")),
        cpus=cpus if isinstance(cpus, int) else None,
        start_method=text(meta.options.get("start_method")),
        repeat=repeat if isinstance(repeat, (int, str)) else None,
        status=dict(meta.status),
    )


def _warnings(a: RunInfo, b: RunInfo, modes: list[ModeChange], program: bool = False,
              sites: Sequence[SiteChange] = ()) -> list[CompareNote]:
    out = []
    # ab races two versions over the same items by design: their names differ, the work is one
    paired = any(m.paired for m in modes)
    if a.workload != b.workload and not paired:
        out.append(CompareNote(CompareNoteKind.WORKLOADS, a=a.workload, b=b.workload))
    for key in ("python", "platform", "cpus", "start_method"):
        if getattr(a, key) != getattr(b, key):
            out.append(CompareNote(CompareNoteKind.DIFFERS, what=key, a=_text(getattr(a, key)),
                                   b=_text(getattr(b, key))))
    for m in modes:
        if m.workers_a is not None and m.workers_b is not None and m.workers_a != m.workers_b:
            out.append(CompareNote(CompareNoteKind.WORKERS, m.mode, workers_a=m.workers_a,
                                   workers_b=m.workers_b))
        status = {side: run.status.get(m.mode, Status.OK) for side, run in (("A", a), ("B", b))}
        if m.verdict == MISSING:
            side = "A" if not m.repeats_a else "B"
            out.append(CompareNote(CompareNoteKind.NO_TIMINGS, m.mode, side=side, status=status[side]))
        elif any(s is not Status.OK for s in status.values()):
            out.append(CompareNote(CompareNoteKind.PARTIAL, m.mode, statuses={
                side: s for side, s in status.items() if s is not Status.OK}))
        if m.measure == Measure.CPU.value:
            shift = wait_shift_pct(m.wall_per_cpu_a, m.wall_per_cpu_b)
            out.append(CompareNote(CompareNoteKind.WAITED, m.mode, wall_per_cpu_a=m.wall_per_cpu_a,
                                   wall_per_cpu_b=m.wall_per_cpu_b,
                                   wall_change_pct=m.wall_change_pct,
                                   wait_spread_a_pct=m.wait_spread_a_pct,
                                   wait_spread_b_pct=m.wait_spread_b_pct,
                                   uneven_only=shift is not None and shift < m.min_effect_pct))
        if m.verdict == TOO_FEW:
            out.append(CompareNote(CompareNoteKind.TOO_FEW, m.mode, repeats_a=m.repeats_a,
                                   repeats_b=m.repeats_b, min_samples=MIN_SAMPLES, tasks=program,
                                   paired=m.paired))
        elif m.verdict != MISSING and min(m.repeats_a, m.repeats_b) <= 3:
            out.append(CompareNote(CompareNoteKind.FEW_REPEATS, m.mode, repeats_a=m.repeats_a,
                                   repeats_b=m.repeats_b, tasks=program, paired=m.paired))
        site = next((x for x in sites if x.site == m.mode), None)
        if site is not None and site.where_a != site.where_b:
            out.append(CompareNote(CompareNoteKind.SITE_DIFFERS, m.mode, a=site.where_a, b=site.where_b))
        if site is not None and site.tasks_a != site.tasks_b:
            out.append(CompareNote(CompareNoteKind.TASKS_DIFFER, m.mode, repeats_a=site.tasks_a,
                                   repeats_b=site.tasks_b))
        if m.set_aside_a or m.set_aside_b:
            out.append(CompareNote(
                CompareNoteKind.SET_ASIDE, m.mode, set_aside_a=m.set_aside_a, set_aside_b=m.set_aside_b,
                set_aside_used_a=m.set_aside_used_a, set_aside_used_b=m.set_aside_used_b,
                repeats_a=m.repeats_a, repeats_b=m.repeats_b))
    return out


def _text(value: object) -> str:
    return str(value)


def compare_runs(run_a: Run, run_b: Run, *, level: float = DEFAULT_LEVEL,
                 min_effect_pct: float = DEFAULT_MIN_EFFECT_PCT, top: int = DEFAULT_TOP,
                 top_lines: int = DEFAULT_TOP_LINES, measure: Measure | None = None,
                 paired: bool = False) -> Comparison:
    """Compare two loaded runs: B against A; ``measure`` None picks wall or CPU time per mode.

    ``paired`` for the two halves of one ``profkit ab`` run, whose rounds line up.
    """
    a, b = describe(run_a), describe(run_b)
    program = run_a.meta.kind == PROGRAM and run_b.meta.kind == PROGRAM
    sites: list[SiteChange] = []
    functions_a, functions_b = run_a.frames["functions"], run_b.frames["functions"]
    profiles_a, profiles_b = run_a.profiles, run_b.profiles
    if program:
        modes, sites = compare_sites(run_a, run_b, level=level, min_effect_pct=min_effect_pct,
                                     measure=measure)
        in_a = [str(s["id"]) for s in run_a.meta.sites]
        in_b = [str(s["id"]) for s in run_b.meta.sites]
        # the sites' profiles only: main and all are the whole program, not a site
        functions_a = functions_a[functions_a["mode"].isin(in_a)]
        functions_b = functions_b[functions_b["mode"].isin(in_b)]
        profiles_a = {k: v for k, v in profiles_a.items() if k in in_a}
        profiles_b = {k: v for k, v in profiles_b.items() if k in in_b}
    else:
        modes = compare_timings(run_a.frames["timings"], run_b.frames["timings"], level=level,
                                min_effect_pct=min_effect_pct, measure=measure, paired=paired)
        in_a, in_b = _modes_in(run_a.frames["timings"]), _modes_in(run_b.frames["timings"])
    coverage = {mode: Coverage(profiled_share(run_a, mode), profiled_share(run_b, mode))
                for mode in profiles_a if mode in profiles_b}
    comparison = Comparison(
        run_a=a, run_b=b, level=level, min_effect_pct=min_effect_pct, modes=modes,
        functions=compare_functions(drop_own_functions(functions_a), drop_own_functions(functions_b),
                                    top, coverage),
        lines=compare_lines(run_a.frames["lines"], run_b.frames["lines"], top_lines),
        trees=compare_call_trees(profiles_a, profiles_b,
                                 {mode: c.factors() for mode, c in coverage.items()}),
        coverage=coverage,
        only_a=[m for m in in_a if m not in in_b],
        only_b=[m for m in in_b if m not in in_a],
        program=program, sites=sites,
    )
    comparison.warnings = _warnings(a, b, modes, program, sites)
    if not modes:
        comparison.warnings.insert(0, CompareNote(CompareNoteKind.NO_COMMON_MODE))
    return comparison
