"""The run record: run.json's metadata (:class:`RunMeta`) and the run a renderer reads.

Each record is a dataclass read and written by :mod:`profkit.codec`: its annotations are
the schema, checked on load with the path of a bad field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from profkit.analysis.records import Analysis
from profkit.codec import from_json, to_json
from profkit.frames import FRAME_NAMES
from profkit.model import JSON, NativePool, RoundInfo, Status, Traits

if TYPE_CHECKING:
    import pstats

    import pandas as pd


# -- the run record: run.json without its analysis ---------------------------


@dataclass
class WorkloadMeta:
    """What was run: the workload's name, its task (``module:qualname``) and how many items."""

    name: str
    n_items: int
    description: str = ""
    #: what the user named on the command line (a built-in's name, a file, ``module:function``)
    target: str = ""
    task: str = ""


@dataclass
class ModeMeta:
    """How one mode ran: workers, traits, pool, and what each profiling pass covered."""

    workers: int
    traits: Traits
    chunksize: int | None = None
    #: the items this mode ran, where not the workload's (a program's pool site: its own tasks)
    n_items: int | None = None
    #: the chunksize its maps would use at 1, 2, ... workers (the prediction's schedule)
    dispatch_chunksizes: list[int] = field(default_factory=list)
    chunk_trial: dict[str, JSON] | None = None
    native_trial: dict[str, JSON] | None = None
    native_pools: list[NativePool] = field(default_factory=list)
    pool: dict[str, JSON] = field(default_factory=dict)
    startup_s: float | None = None
    tasks_wall_s: float | None = None
    #: the items the line pass covered (None: an older run that did not say)
    line_items: list[int] | None = None
    line_cut_s: dict[str, float] = field(default_factory=dict)
    line_share: float | None = None
    line_complete: bool | None = None
    line_cheapest_s: float | None = None
    line_deferred: bool | None = None
    memory_line_items: list[int] = field(default_factory=list)
    memory_lines_note: str | None = None
    memory_lines_estimate_s: float | None = None
    memory_error: str | None = None
    failed_item: int | None = None
    task_bytes: int | None = None
    items_bytes: int | None = None
    results_bytes: int | None = None
    pickle_items_s: float | None = None
    tasks_sample_every: int | None = None
    cprofile_items: int | None = None
    cprofile_every: int | None = None
    #: the items the cProfile pass covered (None: an older run that did not say)
    cprofile_indices: list[int] | None = None
    cprofile_cut_s: dict[str, float] = field(default_factory=dict)
    cprofile_share: float | None = None
    cprofile_complete: bool | None = None
    phase_s: dict[str, float] = field(default_factory=dict)
    traceback: str | None = None


@dataclass
class Artifacts:
    """The run folder's files, by kind and mode, relative to the folder."""

    report: str = ""
    profiles: dict[str, str] = field(default_factory=dict)
    lines: dict[str, str] = field(default_factory=dict)
    frames: dict[str, str] = field(default_factory=dict)
    memory: dict[str, str] = field(default_factory=dict)
    traces: dict[str, str] = field(default_factory=dict)


@dataclass
class RunMeta:
    """Everything ``run.json`` says about a run besides its analysis."""

    workload: WorkloadMeta
    status: dict[str, Status]
    #: the options the run was made with, as written by the pipeline
    options: dict[str, JSON] = field(default_factory=dict)
    #: Python, platform, CPUs, memory, packages and the load from other programs
    environment: dict[str, JSON] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""
    interrupted: bool = False
    rounds: list[RoundInfo] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    modes: dict[str, ModeMeta] = field(default_factory=dict)
    artifacts: Artifacts = field(default_factory=Artifacts)
    #: set when the run is saved: the version of the run.json it was saved as
    format_version: int | None = None
    #: why the report could not be written, or the analysis could not be made
    report_error: str | None = None
    analysis_error: str | None = None
    #: how the rounds ended: the rule, the reason, the interval level that keeps 95% coverage,
    #: whether the recommendation settled (see ``pipeline._stopping``)
    stopping: dict[str, JSON] | None = None
    #: "workload" for profkit profile and ab; "program" for profkit run, whose modes are its
    #: pool sites and whose program and sites hold what the launcher recorded
    kind: str = "workload"
    program: dict[str, Any] | None = None
    sites: list[dict[str, Any]] = field(default_factory=list)

    def items_of(self, mode: str) -> int:
        """The items ``mode`` ran: its own count (a program's pool site), else the workload's."""
        info = self.modes.get(mode)
        return info.n_items if info is not None and info.n_items is not None \
            else self.workload.n_items

    def to_json(self) -> dict[str, JSON]:
        out = to_json(self)
        assert isinstance(out, dict)
        return out

    @classmethod
    def from_json(cls, data: object, where: str = "") -> RunMeta:
        return from_json(cls, data, where)


@dataclass
class RunRecord:
    """A run's data: metadata, analysis, frames and raw stats, what renderers read.

    The frames are attributes too: ``run.timings``, ``run.tasks``,
    ``run.functions``, ``run.lines``, ``run.memory``. ``line_stats`` holds
    line_profiler objects only for a run made in this process: a loaded run
    never unpickles its ``.lprof`` files, its line data is the ``lines`` frame.
    """

    meta: RunMeta
    analysis: Analysis
    frames: dict[str, pd.DataFrame]
    profiles: dict[str, pstats.Stats] = field(default_factory=dict)
    #: line_profiler's stats, pickled into the ``.lprof`` files
    line_stats: dict[str, object] = field(default_factory=dict)
    #: mode -> the memory samples as mprof ``.dat`` text.
    memory_dat: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    def __getattr__(self, name: str) -> pd.DataFrame:
        if name in FRAME_NAMES and "frames" in self.__dict__:
            frames: dict[str, pd.DataFrame] = self.__dict__["frames"]
            return frames[name]
        raise AttributeError(name)

    @property
    def complete(self) -> bool:
        return not self.meta.interrupted

    @property
    def failed_modes(self) -> list[str]:
        return [m for m, s in self.meta.status.items() if s not in (Status.OK, Status.SKIPPED)]
