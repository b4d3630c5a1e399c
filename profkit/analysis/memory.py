"""Memory per mode from the ``memory`` frame: peaks, rises, and whether RAM caps the workers.

Pure: frames and run metadata in, a :class:`MemorySummary` out. A worker costs its
peak RSS when it is a process of its own (an upper bound: pages shared after
fork count in each), and its share of the parent's rise when it is a thread.
Memory limits a mode when the RAM that was free at the start of the run holds
fewer such workers than the mode ran (or than there are CPUs).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from profkit.model import JSON, Traits

if TYPE_CHECKING:  # the run's parent imports these records before its maps, without pandas
    import pandas as pd


class ModeMemoryMeta(Protocol):
    """What the memory summary reads of a mode's record (:class:`profkit.record.ModeMeta`)."""

    @property
    def workers(self) -> int: ...

    @property
    def traits(self) -> Traits: ...


class RunMemoryMeta(Protocol):
    """What the memory summary reads of the run's record (:class:`profkit.record.RunMeta`)."""

    @property
    def environment(self) -> Mapping[str, JSON]: ...

    @property
    def modes(self) -> Mapping[str, ModeMemoryMeta]: ...


MIB = float(2**20)
#: Below this rise (and this share of the baseline) memory "did not move": the chart is dropped.
MOVED_BYTES = 16 * 2**20
MOVED_SHARE = 0.10


class MemoryBasis(str, enum.Enum):
    """What a worker's memory is measured by."""

    WORKER_PEAK = "worker-peak"  # the peak RSS of each worker process
    PARENT_RISE_PER_THREAD = "parent-rise-per-thread"  # a share of the parent's rise
    PARENT_RISE_PER_WORKER = "parent-rise-per-worker"  # the plain loop: the parent's whole rise


class MemoryVerdict(str, enum.Enum):
    """Whether the free RAM limits a mode."""

    LIMITS_WORKERS = "limits-workers"  # holds fewer workers than the mode ran
    LIMITS_BEFORE_CPUS = "limits-before-cpus"  # holds fewer workers than there are CPUs
    NOT_THE_LIMIT = "not-the-limit"


@dataclass(frozen=True)
class MemoryLimit:
    """How many of a mode's workers the RAM free at the start holds, and what that limits."""

    verdict: MemoryVerdict
    basis: MemoryBasis
    per_worker_bytes: float
    available_bytes: float
    fits: int
    workers: int
    cpus: int | None


@dataclass
class ProcessMemory:
    """One process's RSS during a mode's memory pass."""

    pid: int
    role: str
    baseline_bytes: float
    peak_bytes: float
    rise_bytes: float


@dataclass
class MemoryMode:
    """One mode's memory: peaks and rises, and how many workers the free RAM holds."""

    samples: int
    duration_s: float
    parent_baseline_bytes: float
    parent_peak_bytes: float
    parent_rise_bytes: float
    processes: list[ProcessMemory]
    #: the largest pool worker's; None without pool workers
    worker_peak_bytes: float | None
    worker_rise_bytes: float | None
    total_baseline_bytes: float
    total_peak_bytes: float
    total_rise_bytes: float
    #: a process's peak RSS, or a thread's share of the parent's rise
    per_worker_bytes: float | None = None
    #: free RAM at the start // per_worker_bytes
    fits: int | None = None
    #: fits < the mode's workers
    limited: bool = False
    limit: MemoryLimit | None = None


@dataclass
class MemorySummary:
    """Memory per mode, whether anything moved (else the chart is dropped), and the limits."""

    modes: dict[str, MemoryMode] = field(default_factory=dict)
    moved: bool = False
    #: the modes the free RAM limits
    limited: list[str] = field(default_factory=list)
    available_bytes: int | None = None


def _series(rows: pd.DataFrame) -> tuple[float, float]:
    """Baseline (the first sample) and peak of one process's RSS."""
    ordered = rows.sort_values("t_s")["rss_bytes"].astype(float)
    return float(ordered.iloc[0]), float(ordered.max())


def mode_memory(rows: pd.DataFrame, workers: int, traits: Traits,
                available: float | None, cpus: int | None) -> MemoryMode:
    """Peaks and rises of one mode's samples; how many workers the free RAM holds."""
    parent = rows[rows["role"] == "parent"]
    parent_base, parent_peak = _series(parent) if not parent.empty else (0.0, 0.0)
    per_pid: list[ProcessMemory] = []
    for pid, group in rows[rows["role"] != "parent"].groupby("pid", sort=True):
        base, peak = _series(group)
        per_pid.append(ProcessMemory(int(str(pid)), str(group["role"].iloc[0]), base, peak,
                                     peak - base))
    totals = rows.groupby("t_s")["rss_bytes"].sum().sort_index().astype(float)
    pool_workers = [p for p in per_pid if p.role == "worker"]
    peaks = [p.peak_bytes for p in pool_workers]
    rises = [p.rise_bytes for p in pool_workers]
    times = sorted(rows["t_s"].unique())
    entry = MemoryMode(
        samples=len(times),
        duration_s=float(times[-1] - times[0]) if len(times) > 1 else 0.0,
        parent_baseline_bytes=parent_base, parent_peak_bytes=parent_peak,
        parent_rise_bytes=parent_peak - parent_base,
        processes=per_pid,
        worker_peak_bytes=max(peaks) if peaks else None,
        worker_rise_bytes=max(rises) if rises else None,
        total_baseline_bytes=float(totals.iloc[0]), total_peak_bytes=float(totals.max()),
        total_rise_bytes=float(totals.max() - totals.iloc[0]))
    per_worker: float | None
    if traits.shares_memory or not pool_workers:
        # threads (or the plain loop) hold their data in the parent: each takes a share of its rise
        per_worker = entry.parent_rise_bytes / max(workers, 1)
        basis = MemoryBasis.PARENT_RISE_PER_THREAD if workers > 1 else MemoryBasis.PARENT_RISE_PER_WORKER
    else:
        per_worker = entry.worker_peak_bytes
        basis = MemoryBasis.WORKER_PEAK
    entry.per_worker_bytes = per_worker
    if available and per_worker and per_worker >= MOVED_BYTES:
        fits = int(available // per_worker)
        entry.fits = fits
        entry.limited = fits < workers
        verdict = (MemoryVerdict.LIMITS_WORKERS if fits < workers
                   else MemoryVerdict.LIMITS_BEFORE_CPUS if cpus and fits < cpus
                   else MemoryVerdict.NOT_THE_LIMIT)
        entry.limit = MemoryLimit(verdict, basis, float(per_worker), float(available), fits,
                                  workers, cpus)
    return entry


def _number(value: JSON) -> float | None:
    """An environment entry that is a number (not a flag), else None."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def summarise(memory: pd.DataFrame | None, meta: RunMemoryMeta) -> MemorySummary:
    """Per mode peaks and rises, whether anything moved, and memory-bound warnings."""
    if memory is None:
        import pandas as pd

        memory = pd.DataFrame({"mode": [], "t_s": [], "pid": [], "role": [], "rss_bytes": []})
    available = _number(meta.environment.get("memory_available_bytes"))
    cpus = _number(meta.environment.get("cpus_available"))
    modes: dict[str, MemoryMode] = {}
    for mode, info in meta.modes.items():
        rows = memory[memory["mode"] == mode] if not memory.empty else memory
        if rows.empty:
            continue
        modes[mode] = mode_memory(rows, info.workers, info.traits, available,
                                  None if cpus is None else int(cpus))
    moved = any(m.total_rise_bytes >= max(MOVED_BYTES, MOVED_SHARE * m.total_baseline_bytes)
                for m in modes.values())
    limits = [mode for mode, m in modes.items() if m.limited]
    return MemorySummary(modes, moved, limits, None if available is None else int(available))
