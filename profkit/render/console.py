"""The summary table printed at the end of ``profkit profile``."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from profkit.analysis.summary import rounds_facts
from profkit.analysis.verdict import AdviceKind
from profkit.fmt import fmt_interval, fmt_seconds, fmt_speedup, printable
from profkit.render import text as words
from profkit.render.line_coverage import coverage_summary

if TYPE_CHECKING:
    from profkit.analysis.records import ModeSummary
    from profkit.record import RunRecord

EXTENSION = ".txt"


def _speedup(entry: ModeSummary) -> str:
    s, ci = entry.speedup, entry.speedup_ci
    if s is None:
        return "-"
    text = f"{fmt_speedup(s)} [{fmt_interval(ci)}]" if ci else fmt_speedup(s)
    if entry.crosses_ideal:
        text += " noise"
    return text + (" imprecise" if entry.precision_reached is False else "")


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain aligned text table: first column left, the rest right."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, rows)])


def render(run: RunRecord) -> str:
    a = run.analysis
    rows = []
    for m in a.modes.values():
        bound = m.bound
        rows.append([
            m.mode, str(m.workers), m.status,
            fmt_seconds(m.wall_median_s),
            f"±{m.spread_pct:.0f}%" if m.spread_pct is not None else "-",
            _speedup(m),
            f"{bound:.2f}×" if bound else "-",
            f"{100 * m.achieved_over_bound:.0f}%" if m.achieved_over_bound else "-",
            fmt_seconds(m.startup_s) if m.traits.parallel else "-",
        ])
    rec = a.recommendation
    point = rec.sweep_point if rec is not None else None
    if point is not None:  # the recommended worker count ran only in the sweep: show its row
        # the recommendation is this point: its share of the bound is the recommendation's
        of_bound = rec.of_bound if rec is not None else None
        rows.append([point.mode, str(point.workers), "sweep", fmt_seconds(point.wall_median_s), "-",
                     f"{fmt_speedup(point.speedup)} [{fmt_interval(point.speedup_ci)}]"
                     if point.speedup_ci else fmt_speedup(point.speedup),
                     f"{point.bound:.2f}×" if point.bound else "-",
                     f"{100 * of_bound:.0f}%" if of_bound else "-", "-"])
    out = [
        f"profkit: {run.meta.workload.name} "
        f"({words.count(run.meta.workload.n_items, 'item')}, "
        f"{words.rounds(a.rounds or rounds_facts(run.meta))})",
        "",
        table(["mode", "workers", "status", "median", "IQR", "speedup [95% CI]", "bound",
               "of bound", "start-up"], rows),
        "",
        words.verdict(a),
        *filter(None, [words.sweep_source(rec, "its 'sweep' row above")]),
        *words.fewer_rounds(run.meta.stopping),
    ]
    out += [words.advice(x) for x in a.advice if x.kind is AdviceKind.NATIVE_THREADS]
    if a.bottlenecks:
        top = a.bottlenecks[0]
        out.append(f"Bottleneck ({top.mode}): {top.name} ({top.filename}:{top.lineno}) "
                   f"{top.self_pct:.0f}% of self time, {top.ncalls} calls.")
    memory = a.memory.modes
    if memory and a.memory.moved:
        parts = []
        for mode, mem in memory.items():
            worker = mem.worker_peak_bytes
            text = f"{mode} +{mem.total_rise_bytes / 2**20:.0f} MiB"
            parts.append(text + (f" ({worker / 2**20:.0f} MiB peak per worker)" if worker else ""))
        out.append("Memory: " + ", ".join(parts) + ".")
    covered = coverage_summary(run.meta.modes, run.meta.workload.n_items)
    if covered:
        out.append(covered)
    for mode, info in run.meta.modes.items():
        if info.memory_lines_note:
            out.append(f"Memory by line ({mode}): {info.memory_lines_note}.")
    out += words.memory_limits(a.memory)
    for warning in a.warnings:
        out.append(f"warning: {words.note(warning)}")
    out += list(run.meta.errors.values())  # each names its mode
    if run.path:
        if run.meta.report_error:
            out += ["", f"report:   not written ({run.meta.report_error}): "
                        f"profkit report {shlex.quote(str(run.path))}"]
        else:
            out += ["", f"report:   {run.path / 'index.html'}"]
        prof = run.meta.artifacts.profiles
        if prof:
            recommended = a.recommendation.mode if a.recommendation else None
            mode = recommended if recommended in prof else next(iter(prof))
            profiled = run.meta.modes.get(mode)
            label = words.profile_of(mode, profiled.workers, rec) if profiled is not None else ""
            out.append(f"snakeviz: snakeviz {shlex.quote(str(run.path / prof[mode]))}{label}")
        dat = run.meta.artifacts.memory
        if dat:
            first = dat.get("processes", next(iter(dat.values())))
            out.append(f"mprof:    mprof plot {shlex.quote(str(run.path / first))}")
    return printable("\n".join(out))
