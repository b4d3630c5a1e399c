"""The run a user holds: measurements, analysis and frames, with its report at hand.

The store (:mod:`profkit.store`) saves and loads the data; this class adds
what a user does with it: save it with its report, render it, show it in Jupyter.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from profkit import store
from profkit.frames import FRAME_NAMES
from profkit.model import Status
from profkit.record import RunMeta

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Run:
    """A finished (or interrupted) run: metadata, analysis, frames and raw stats.

    The frames are attributes too: ``run.timings``, ``run.tasks``,
    ``run.functions``, ``run.lines``, ``run.memory``. ``line_stats`` holds
    line_profiler objects only for a run made in this process: a loaded run
    never unpickles its ``.lprof`` files, its line data is the ``lines`` frame.
    """

    meta: RunMeta
    analysis: dict[str, Any]
    frames: dict[str, pd.DataFrame]
    profiles: dict[str, Any] = field(default_factory=dict)
    line_stats: dict[str, Any] = field(default_factory=dict)
    #: mode -> the memory samples as mprof ``.dat`` text.
    memory_dat: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    def __getattr__(self, name: str) -> Any:
        if name in FRAME_NAMES and "frames" in self.__dict__:
            return self.__dict__["frames"][name]
        raise AttributeError(name)

    def analyse(self) -> None:
        """Analyse the frames and metadata: the analysis, and the prediction frame made from it."""
        from profkit.analysis import analyse, prediction_frame

        self.analysis = analyse(self.frames, self.meta)
        self.frames["prediction"] = prediction_frame(self.analysis)

    @property
    def complete(self) -> bool:
        return not self.meta.interrupted

    @property
    def failed_modes(self) -> list[str]:
        return [m for m, s in self.meta.status.items() if s not in (Status.OK, Status.SKIPPED)]

    def save(self, directory: str | os.PathLike[str], *,
             analyse: Callable[[Run], None] | None = None) -> Path:
        """Write the run (stats, frames, run.json, traces, report) to a new folder; return it.

        ``analyse``, if given, completes the analysis once the measurements are saved.
        """
        from profkit.render import render
        from profkit.render.trace import write_traces

        return store.save(self, directory, report=lambda run: render(run, "html"),
                          traces=write_traces, analyse=analyse)

    def __repr__(self) -> str:
        """One line (IPython's terminal shows it): workload, status per mode, folder."""
        name = self.meta.workload.name
        status = ", ".join(f"{m} {s}" for m, s in self.meta.status.items())
        where = f"; {self.path}" if self.path else ""
        return f"<profkit Run {name}: {status or 'no modes'}{where}>"

    def _repr_html_(self) -> str:
        """Jupyter: the summary, speedup chart and top bottlenecks in an isolated iframe."""
        from profkit.render.notebook import repr_html

        return repr_html(self)

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """Render the report to ``path`` (atomically) and return the path."""
        from profkit.render import render

        target = store.user_path(path, "the report's path")
        store.atomic_write_text(target, render(self, "html"))
        return target


def load(directory: str | os.PathLike[str]) -> Run:
    """Load a saved run folder: frames, metadata, analysis and cProfile stats.

    Nothing is unpickled: the ``.lprof`` files are left for ``python -m line_profiler``,
    and the line data comes from the ``lines`` frame. Every path is checked to stay
    inside the folder.
    """
    parts = store.load_fields(directory)
    run = Run(meta=parts.meta, analysis=parts.analysis, frames=parts.frames,
              profiles=dict(parts.profiles), memory_dat=parts.memory_dat, path=parts.path)
    if parts.meta.format_version != store.FORMAT_VERSION:  # an older run.json: analysed anew
        run.analyse()
    return run
