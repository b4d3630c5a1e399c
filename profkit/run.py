"""The run a user holds: measurements, analysis and frames, with its report at hand.

The store (:mod:`profkit.store`) saves and loads the data; this class adds
what a user does with it: save it with its report, render it, show it in Jupyter.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from profkit import store
from profkit.record import RunRecord


class Run(RunRecord):
    """A finished (or interrupted) run (:class:`profkit.record.RunRecord`: metadata, analysis,
    frames and raw stats), with what a user does with it: analyse, save, render, show in Jupyter.
    """

    def analyse(self) -> None:
        """Analyse the frames and metadata: the analysis, and the prediction frame made from it."""
        from profkit.analysis import analyse, prediction_frame

        self.analysis = analyse(self.frames, self.meta)
        self.frames["prediction"] = prediction_frame(self.analysis.prediction)

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
        """Render the report to ``path`` (atomically) and return the path. A file there is
        replaced only if it is a profkit report of this run or of no run folder."""
        from profkit.render import render
        from profkit.render.html import check_report_target

        target = store.user_path(path, "the report's path")
        check_report_target(target, self.path, str(target), "another path")
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
    if parts.meta.format_version != store.FORMAT_VERSION and parts.meta.kind != "program":
        run.analyse()  # an older run.json: analysed anew (a program's facts are read as they are)
    return run
