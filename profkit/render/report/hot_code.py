"""The hot code: hot lines and the source listings of the costliest functions per mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from profkit.analysis.records import Analysis, HotLine
from profkit.render.line_coverage import line_coverage
from profkit.render.report import tables
from profkit.render.report.filters import location
from profkit.render.report.tables import records

if TYPE_CHECKING:
    import pandas as pd

    from profkit.record import RunRecord


#: Hot-code listings per mode; more functions are listed by name and total only.
MAX_LISTINGS = 10


@dataclass
class LocatedLine(HotLine):
    """A hot line with its short ``file:line`` location."""

    location: str = ""


def hot_lines(a: Analysis, order: list[str]) -> dict[str, list[LocatedLine]]:
    """The analysis's hot lines, per mode that has some, with their location."""
    out = {}
    for mode in order:
        mine = [LocatedLine(**vars(r), location=location(r.filename, r.lineno))
                for r in a.hot_lines if r.mode == mode]
        if mine:
            out[mode] = mine
    return out


@dataclass
class FunctionLines:
    """One line-profiled function of a mode: its time and, for the costliest, its listing."""

    filename: str
    func_lineno: int
    function: str
    total: float
    hits: int
    location: str
    listing: list[dict[str, object]] = field(default_factory=list)
    #: of the mode's line time, in percent
    share: float | None = None


def listings(run: RunRecord, lines: pd.DataFrame, order: list[str]) -> list[dict[str, object]]:
    """Per mode: the costliest functions' source listings with per-line time."""
    from profkit.analysis.own_frames import line_time_once, nesting_task
    from profkit.render.source import function_listing

    hot = hot_lines(run.analysis, order)
    meta = run.meta
    n_items = meta.workload.n_items
    saved = tables.frame(run, "line_source")
    out: list[dict[str, object]] = []
    for mode in order:
        mine = lines[lines["mode"] == mode]
        if mine.empty:
            continue
        groups: list[tuple[FunctionLines, pd.DataFrame]] = []
        for (filename, func_lineno, function), group in mine.groupby(
                ["filename", "func_lineno", "function"], sort=False):
            first = int(str(func_lineno))
            groups.append((FunctionLines(
                filename=str(filename), func_lineno=first, function=str(function),
                total=float(group["time_s"].sum()), hits=int(group["hits"].sum()),
                location=location(str(filename), first)), group))
        groups.sort(key=lambda g: -g[0].total)
        mode_total = line_time_once(mine, meta)
        listings = []
        for f, group in groups[:MAX_LISTINGS]:
            mine_saved = saved[saved["filename"] == f.filename]
            f.listing = function_listing(records(group.sort_values("lineno")), dict(zip(
                mine_saved["lineno"].astype(int), mine_saved["source"].astype(str), strict=True)))
            f.share = 100.0 * f.total / mode_total if mode_total > 0 else None
            listings.append(f)
        others = [f for f, _ in groups[MAX_LISTINGS:]]
        info = meta.modes.get(mode)
        covered = (info.line_items or []) if info else []
        out.append({"mode": mode, "functions": listings, "others": others, "covered": covered,
                    "coverage": line_coverage(info, n_items) if info else None,
                    "n_items": n_items, "total": mode_total, "hot_lines": hot.get(mode, []),
                    "nesting_task": nesting_task(mine, meta),
                    "n_lines": sum(len(f.listing) for f in listings)})
    return out
