"""``profkit run --replay``: a site's task and items run again as a workload, in the local modes.

After the program ends, each site whose first map call's items were kept is
profiled as ``profkit profile`` would (interleaved rounds of sequential,
threads and processes on the site's worker count), into ``replay/<site>/``
of the run folder. Its sequential and threads-vs-processes figures are then
measured, not estimated. A site that cannot be replayed says why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from profkit.model import JSON
from profkit.program.sites import Site

#: The modes a site is replayed in.
MODES = "sequential,threads,processes"


@dataclass(frozen=True)
class Replay:
    """A site replayed (``folder`` and the measured speedups) or why not (``note``)."""

    site: str
    folder: str | None = None
    #: mode -> measured speedup against the sequential replay
    speedups: dict[str, float | None] = field(default_factory=dict)
    sequential_s: float | None = None
    note: str | None = None

    def to_json(self) -> dict[str, JSON]:
        return {"site": self.site, "folder": self.folder, "speedups": dict(self.speedups),
                "sequential_s": self.sequential_s, "note": self.note}


def _picklable(items: list[object]) -> str | None:
    import pickle

    try:
        pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - any failure to pickle is a reason not to replay
        return f"its items do not pickle ({type(exc).__name__}: {exc})"
    return None


def replay_site(site: Site, run_dir: Path) -> Replay:
    """Profile ``site``'s kept task and items as a workload into ``run_dir/replay/<site>``."""
    from profkit.errors import ProfkitError
    from profkit.pipeline import profile

    if site.replay_items is None or site.replay_task is None:
        return Replay(site.id, note=site.replay_note or "no items were kept")
    if not site.replay_items:
        return Replay(site.id, note="its map had no items")
    reason = _picklable(site.replay_items)
    if reason:
        return Replay(site.id, note=reason)
    rel = f"replay/{site.id}"
    try:
        run = profile(site.replay_task, items=site.replay_items, modes=MODES,
                      workers=max(1, site.workers), out=run_dir / rel,
                      start_method=site.start_method if site.processes else None)
    except ProfkitError as exc:
        return Replay(site.id, note=f"the replay failed: {exc}")
    modes = run.analysis.modes
    speedups: dict[str, float | None] = {m: modes[m].speedup for m in ("threads", "processes")
                                         if m in modes}
    sequential = modes["sequential"].wall_median_s if "sequential" in modes else None
    return Replay(site.id, folder=rel, speedups=speedups, sequential_s=sequential)


def replay_all(sites: list[Site], run_dir: Path) -> list[Replay]:
    """Every site replayed in turn (or its reason); the run folder must be claimed."""
    os.makedirs(run_dir / "replay", exist_ok=True)
    return [replay_site(site, run_dir) for site in sites]
