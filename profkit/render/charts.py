"""Charts for the HTML report: matplotlib (Agg-free, SVG backend) figures as small inline SVG strings.

Every function takes plain data (no Run) and returns an SVG string ready to be
inlined, or ``None`` when there is nothing to draw. Labels drawn inside a
chart are mode names (sanitised) and numbers only: user text (item reprs,
function names) stays in the HTML, where the template escapes it.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from profkit.fmt import fmt_speedup

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from profkit.analysis.records import Amdahl, ModeSummary, Prediction, SweepPoint

#: One colour per mode, used by every chart and the tables' swatches; all print well.
MODE_COLOURS = {
    "sequential": "#6b7280",
    "threads": "#d97706",
    "processes": "#2563eb",
    "dask": "#7c3aed",
    "pool": "#0891b2",
}
OTHER_COLOUR = "#0f766e"
BOUND_COLOUR = "#b91c1c"
IDEAL_COLOUR = "#9ca3af"
FAIL_COLOUR = "#dc2626"
IDLE_COLOUR = "#eef0f3"
INK = "#1f2937"
MUTED = "#6b7280"
MAX_BARS = 150  # above this many tasks, adjacent Gantt bars merge (they are sub-pixel apart)
MAX_POINTS = 240  # per memory line: enough for a smooth curve, small in SVG
MIB = 1024 * 1024

_RC = {
    "svg.fonttype": "none",  # text stays text: no embedded glyph paths
    "svg.hashsalt": "profkit",  # stable clip-path ids, so the same run renders the same bytes
    "svg.image_inline": True,
    "font.size": 9,
    "axes.edgecolor": "#9ca3af",
    "axes.labelcolor": INK,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "path.simplify": True,
    "text.usetex": False,
    "axes.unicode_minus": False,
}


def mode_colour(mode: str) -> str:
    return MODE_COLOURS.get(mode, OTHER_COLOUR)


def safe_label(text: str) -> str:
    """A label safe for matplotlib: no mathtext ``$``, no markup, short."""
    return re.sub(r"[^\w:./ ()×-]", "?", str(text))[:40]


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))  # fixed margins (_margins): 3x faster than constrained layout


def _margins(fig: Figure, left: float, bottom: float, right: float = 0.15, top: float = 0.15,
             wspace: float | None = None) -> None:
    """Set the axes' margins in inches."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height, wspace=wspace)


_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^)"]+)')
_FONT = re.compile(r"font-family:[^;\"]*;?\s*")
_DECIMALS = re.compile(r"(\d\.\d{2})\d+")
_NUM_ATTR = re.compile(r'(\s(?:d|x|y|x1|x2|y1|y2|transform|points|cx|cy|r)=")([^"]*)"')


def to_svg(fig: Figure, name: str, label: str) -> str:
    """Serialise ``fig`` and trim it for inlining.

    Drops the XML prologue, doctype and metadata, the fixed size (CSS sizes the
    chart), the font family (the page's font applies) and excess decimals, and
    prefixes every id with ``name`` so several charts share one document.
    """
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    # matplotlib's "*{stroke-linejoin: round; stroke-linecap: butt}" would style the whole page:
    # the report's CSS applies it to charts only
    svg = re.sub(r"<defs>\s*<style[^>]*>[^<]*</style>\s*</defs>\s*", "", svg)
    head_end = svg.index(">")
    head = svg[:head_end]
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    safe_name = re.sub(r"[^\w-]", "_", name)
    head += f' class="chart-svg" role="img" aria-label="{_attr(label)}" preserveAspectRatio="xMidYMid meet"'
    svg = head + svg[head_end:]
    svg = _ID.sub(lambda m: f'id="{safe_name}-{m.group(1)}"', svg)
    svg = _REF.sub(lambda m: f"{m.group(1)}{safe_name}-{m.group(2)}", svg)
    svg = _FONT.sub("", svg)
    svg = _NUM_ATTR.sub(lambda m: m.group(1) + _DECIMALS.sub(r"\1", m.group(2)) + '"', svg)
    svg = re.sub(r"\n\s*", "\n", svg)
    return svg.strip()


def _attr(text: str) -> str:
    return (text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# -- speedup by mode -------------------------------------------------------


def speedup_chart(modes: Sequence[ModeSummary]) -> str | None:
    """Bars of speedup per mode with 95% CI whiskers, the granularity bound and the ideal."""
    rows = [m for m in modes if _finite(m.speedup)]
    if not rows:
        return None
    import matplotlib

    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        fig = _figure(6.4, 2.9)
        ax = fig.add_subplot()
        xs = range(len(rows))
        heights = [float(m.speedup or 0.0) for m in rows]
        colours = [mode_colour(m.mode) for m in rows]
        ax.bar(xs, heights, width=0.55, color=colours, alpha=0.9, zorder=2)
        lo_err, hi_err = [], []
        for m, h in zip(rows, heights, strict=True):
            ci = m.speedup_ci
            if ci and _finite(ci[0]) and _finite(ci[1]):
                lo_err.append(max(0.0, h - ci[0]))
                hi_err.append(max(0.0, ci[1] - h))
            else:
                lo_err.append(0.0)
                hi_err.append(0.0)
        if any(lo_err) or any(hi_err):
            ax.errorbar(xs, heights, yerr=[lo_err, hi_err], fmt="none", ecolor=INK, elinewidth=1,
                        capsize=4, zorder=3, label="95% CI")
        ideal_drawn = bound_drawn = False
        top = max(heights)
        marks: list[list[float]] = []  # per bar: the y of each line drawn across it
        for x, m in zip(xs, rows, strict=True):
            workers = m.workers or 1
            here: list[float] = []
            if m.bound is not None and _finite(m.bound) and m.traits.parallel:
                # the bound spans the bar only; the ideal's dots reach beyond it, drawn on top,
                # so the two stay apart when they meet
                bound_y = float(m.bound)
                ax.hlines(bound_y, x - 0.3, x + 0.3, colors=BOUND_COLOUR, linestyles="dashed",
                          linewidth=1.6, zorder=4, gid=f"bound-{x}",
                          label="_nolegend_" if bound_drawn else "bound (items, CPUs, GIL)")
                bound_drawn = True
                top = max(top, bound_y)
                here.append(bound_y)
            if workers > 1:
                ax.hlines(workers, x - 0.42, x + 0.42, colors=IDEAL_COLOUR, linestyles=(0, (1, 2)),
                          linewidth=2.2, zorder=5, gid=f"ideal-{x}",
                          label="_nolegend_" if ideal_drawn else "ideal (workers)")
                ideal_drawn = True
                top = max(top, workers)
                here.append(float(workers))
            marks.append(here)
        ax.axhline(1.0, color=MUTED, linewidth=0.8, zorder=1)
        ax.set_xticks(list(xs))
        ax.set_xticklabels([f"{safe_label(m.mode)}\n{m.workers or 1} worker"
                            f"{'s' if (m.workers or 1) != 1 else ''}" for m in rows])
        ax.set_ylabel("speedup vs sequential (×)")
        ax.grid(axis="y", color="#e5e7eb", linewidth=0.6, zorder=0)
        # the legend sits above the plot, where no bar or label can reach it
        if ax.get_legend_handles_labels()[0]:  # a sequential-only run has nothing to label
            ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=3, borderaxespad=0.2)
        _margins(fig, left=0.6, bottom=0.5, top=0.35)
        bases = []
        for m, h in zip(rows, heights, strict=True):
            ci = m.speedup_ci
            bases.append(max(h, ci[1]) if ci and _finite(ci[1]) else h)
        labels = [fmt_speedup(h) for h in heights]
        ys = _label_positions(fig, ax, bases, marks, top)
        for x, (label, y) in enumerate(zip(labels, ys, strict=True)):
            ax.text(x, y, label, ha="center", va="bottom", fontsize=8, color=INK, zorder=6,
                    gid=f"label-{x}")
        return to_svg(fig, "speedup", "Speedup by mode with 95% confidence intervals")


LABEL_PT = 11.0  # height of an 8 pt label's box, in points
LABEL_PAD_PT = 3.0  # clearance between a label and any line


def _label_positions(fig: Figure, ax: Axes, bases: list[float], marks: list[list[float]],
                     top: float) -> list[float]:
    """The y of each bar's label: just above the bar (or its CI), moved above any line it would cross.

    Sets the y limits so every label fits; lengths in points are turned into data units
    from the axes' height, twice, since the limits change the scale.
    """
    _, fig_h = fig.get_size_inches()
    axes_pt = ax.get_position().height * fig_h * 72
    upper = top * 1.15 + 0.05
    ys = list(bases)
    for _ in range(3):
        per_pt = upper / axes_pt
        height, pad = LABEL_PT * per_pt, LABEL_PAD_PT * per_pt
        ys = []
        for base, lines in zip(bases, marks, strict=True):
            y = base + pad
            for line in sorted(lines):  # upwards, each line once: moving up never meets a lower one
                if y - pad < line < y + height + pad:
                    y = line + pad
            ys.append(y)
        needed = max(y + height + pad for y in ys)
        if needed <= upper:
            break
        upper = needed * 1.02
    ax.set_ylim(0, upper)
    return ys


# -- scaling curve (sweep) -------------------------------------------------


def amdahl(serial_fraction: float, workers: float) -> float:
    """Amdahl's law: the speedup on ``workers`` workers with serial fraction ``s``."""
    return 1.0 / (serial_fraction + (1.0 - serial_fraction) / workers)


def scaling_chart(points: Sequence[SweepPoint], fits: dict[str, Amdahl]) -> str | None:
    """Speedup against worker count per mode, with ideal, granularity bound and Amdahl fit."""
    pts = [p for p in points if _finite(p.speedup)]
    if not pts:
        return None
    import matplotlib

    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        fig = _figure(7.4, 3.2)
        ax = fig.add_subplot()
        max_w = max(p.workers for p in pts)
        ax.plot([1, max_w], [1, max_w], color=IDEAL_COLOUR, linestyle="dotted", linewidth=1.4,
                label="ideal")
        bounds = sorted({(p.workers, p.bound) for p in pts if p.bound is not None and _finite(p.bound)})
        if bounds:
            ax.plot([w for w, _ in bounds], [b for _, b in bounds], color=BOUND_COLOUR,
                    linestyle="dashed", marker="_", markersize=14, linewidth=1.2,
                    label="optimal-schedule bound")
        modes = list(dict.fromkeys(p.mode for p in pts))
        for mode in modes:
            rows = sorted((p for p in pts if p.mode == mode), key=lambda p: p.workers)
            xs = [p.workers for p in rows]
            ys = [p.speedup or 0.0 for p in rows]
            lo = [max(0.0, y - p.speedup_ci[0]) if p.speedup_ci else 0.0
                  for y, p in zip(ys, rows, strict=True)]
            hi = [max(0.0, p.speedup_ci[1] - y) if p.speedup_ci else 0.0
                  for y, p in zip(ys, rows, strict=True)]
            colour = mode_colour(mode)
            ax.errorbar(xs, ys, yerr=[lo, hi], color=colour, marker="o", markersize=4,
                        linewidth=1.6, capsize=3, label=f"{safe_label(mode)} (measured)")
            fit = fits.get(mode)
            if fit and _finite(fit.serial_fraction):
                s = fit.serial_fraction
                n = max_w * 1.0
                grid = [1 + i * (n - 1) / 40 for i in range(41)]
                ax.plot(grid, [amdahl(s, g) for g in grid], color=colour, linestyle="dashed",
                        linewidth=1, alpha=0.7, label=f"{safe_label(mode)} Amdahl fit, s={s:.2f}")
        ax.set_xlabel("workers")
        ax.set_ylabel("speedup vs sequential (×)")
        ax.set_xticks(sorted({p.workers for p in pts}))
        ax.set_ylim(bottom=0)
        ax.grid(color="#e5e7eb", linewidth=0.6)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
        _margins(fig, left=0.6, bottom=0.5, right=2.3)
        return to_svg(fig, "scaling", "Speedup against the number of workers")


def prediction_chart(prediction: Prediction) -> str | None:
    """Predicted speedup against worker count (log x), measured points, and the CPU count marked."""
    modes = prediction.modes
    if not modes:
        return None
    import matplotlib

    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        fig = _figure(7.4, 3.2)
        ax = fig.add_subplot()
        top = 1.0
        for mode, entry in modes.items():
            colour = mode_colour(mode)
            pts = entry.points
            xs = [p.workers for p in pts]
            ys = [p.speedup for p in pts]
            top = max(top, *ys) if ys else top
            ax.plot(xs, ys, color=colour, linewidth=1.6, label=f"{safe_label(mode)} on this machine",
                    gid=f"predicted-{safe_label(mode)}")
            band = entry.band.this_machine
            if band and len(band) == 2 and len(band[0]) == len(xs):
                low = [min(a, b) for a, b in zip(band[0], band[1], strict=True)]
                high = [max(a, b) for a, b in zip(band[0], band[1], strict=True)]
                ax.fill_between(xs, low, high, color=colour, alpha=0.15, linewidth=0)
                top = max(top, *high)
            own = entry.own_cores
            if own:
                oy = [p.speedup for p in own]
                ax.plot([p.workers for p in own], oy, color=colour, linewidth=1.2, linestyle="dashed",
                        label=f"{safe_label(mode)}, a core per worker", gid=f"own-cores-{safe_label(mode)}")
                top = max(top, *oy)
            flat = entry.flat_at
            if flat and 1 <= flat <= len(ys):
                ax.plot([flat], [ys[flat - 1]], marker="D", color=colour, markersize=5,
                        linestyle="none")
            measured = [m for m in entry.measured if _finite(m.speedup)]
            if measured:
                mx = [m.workers for m in measured]
                my = [float(m.speedup or 0.0) for m in measured]
                lo = [max(0.0, y - m.speedup_ci[0]) if m.speedup_ci else 0.0
                      for y, m in zip(my, measured, strict=True)]
                hi = [max(0.0, m.speedup_ci[1] - y) if m.speedup_ci else 0.0
                      for y, m in zip(my, measured, strict=True)]
                ax.errorbar(mx, my, yerr=[lo, hi], color=colour, marker="o", markersize=5,
                            linestyle="none", capsize=3, label=f"{safe_label(mode)} measured")
                top = max(top, *(y + h for y, h in zip(my, hi, strict=True)))
        cpus = prediction.cpus or 1
        ax.axvline(cpus, color=MUTED, linestyle="dotted", linewidth=1.2, gid="cpus",
                   label=f"CPUs ({cpus})")
        ax.set_xscale("log", base=2)
        ticks = [1, 2, 4, 8, 16, 32, 64]
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(t) for t in ticks])
        ax.set_xlim(0.9, 70)
        ax.set_ylim(0, top * 1.15)
        ax.set_xlabel("workers")
        ax.set_ylabel("speedup vs sequential (×)")
        ax.grid(color="#e5e7eb", linewidth=0.6)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
        _margins(fig, left=0.6, bottom=0.5, right=2.3)
        return to_svg(fig, "prediction", "Predicted speedup against the number of workers")


# -- Gantt timeline --------------------------------------------------------


def gantt_chart(tasks: pd.DataFrame, mode: str, pass_wall_s: float | None = None,
                max_labels: int = 60) -> str | None:
    """One row per worker, one bar per item (labelled with its index); idle time shows as grey.

    ``tasks`` is the tasks frame of one mode's main run.
    """
    if tasks.empty:
        return None
    import matplotlib

    workers = sorted(tasks["worker"].astype(str).unique(), key=_natural)
    end = float(tasks["end_s"].max())
    span = max(end, float(pass_wall_s or 0.0)) or 1.0
    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        fig = _figure(6.4, 0.75 + 0.42 * len(workers))
        ax = fig.add_subplot()
        colour = mode_colour(mode)
        labelled = 0
        for row, worker in enumerate(workers):
            mine = tasks[tasks["worker"].astype(str) == worker]
            ax.broken_barh([(0, span)], (row - 0.36, 0.72), facecolors=IDLE_COLOUR, zorder=1)
            ok = mine[mine["ok"]]
            bad = mine[~mine["ok"]]
            many = len(tasks) > MAX_BARS
            ax.broken_barh(_spans(ok, span / 600 if many else 0.0), (row - 0.36, 0.72),
                           facecolors=colour, edgecolors="none" if many else "white", linewidth=0.6,
                           zorder=2)
            if not bad.empty:
                ax.broken_barh(list(zip(bad["start_s"], bad["duration_s"], strict=True)),
                               (row - 0.36, 0.72), facecolors=FAIL_COLOUR, edgecolors="white",
                               hatch="///", linewidth=0.6, zorder=2)
            for start, dur, item in zip(mine["start_s"], mine["duration_s"], mine["item"], strict=True):
                if labelled < max_labels and dur > span * 0.035:
                    ax.text(start + dur / 2, row, str(int(item)), ha="center", va="center",
                            fontsize=7.5, color="white", zorder=3)
                    labelled += 1
        ax.set_yticks(range(len(workers)))
        ax.set_yticklabels([_worker_label(w) for w in workers])
        ax.invert_yaxis()
        ax.set_xlim(0, span * 1.01)
        time_axis(ax, span, "time since the pass began")
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
        longest = max(len(_worker_label(w)) for w in workers)
        _margins(fig, left=0.25 + 0.06 * longest, bottom=0.5, top=0.1, right=0.2)
        return to_svg(fig, f"gantt-{mode}", f"Timeline of the {safe_label(mode)} workers")


def _spans(tasks: pd.DataFrame, join_gap: float) -> list[tuple[float, float]]:
    """(start, width) bars; with ``join_gap`` > 0, bars closer than it merge (too small to see apart)."""
    spans: list[tuple[float, float]] = []
    for start, end in sorted(zip(tasks["start_s"].astype(float), tasks["end_s"].astype(float),
                                 strict=True)):
        if spans and join_gap > 0 and start - (spans[-1][0] + spans[-1][1]) <= join_gap:
            first = spans[-1][0]
            spans[-1] = (first, max(end, first + spans[-1][1]) - first)
        else:
            spans.append((start, end - start))
    return spans


def time_axis(ax: Axes, span: float, what: str) -> None:
    """Label the x axis in s, ms or µs, whichever suits ``span`` seconds."""
    from matplotlib.ticker import FuncFormatter

    scale, unit = (1.0, "s") if span >= 1 else (1e3, "ms") if span >= 1e-3 else (1e6, "µs")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v * scale:g}"))
    ax.set_xlabel(f"{what} ({unit})")


def _natural(text: str) -> list[str | int]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def _worker_label(worker: str) -> str:
    label = worker.removeprefix("profkit-")
    return safe_label(label if len(label) <= 22 else "…" + label[-21:])


# -- memory ----------------------------------------------------------------


def _thin(frame: pd.DataFrame, limit: int = MAX_POINTS) -> pd.DataFrame:
    if len(frame) <= limit:
        return frame
    step = math.ceil(len(frame) / limit)
    return frame.iloc[::step]


def memory_chart(memory: pd.DataFrame, modes: Sequence[str]) -> str | None:
    """RSS over time in MiB, one panel per mode: parent, each worker, and their total."""
    if memory.empty:
        return None
    present = [m for m in modes if (memory["mode"] == m).any()]
    if not present:
        return None
    import matplotlib

    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        fig = _figure(6.4 if len(present) < 3 else 7.2, 2.9)
        axes: list[Axes] = list(fig.subplots(1, len(present), sharey=True, squeeze=False)[0])
        top = 0.0
        for ax, mode in zip(axes, present, strict=True):
            data = memory[memory["mode"] == mode].sort_values("t_s")
            colour = mode_colour(mode)
            total = data.groupby("t_s")["rss_bytes"].sum()
            n_pids = data["pid"].nunique()
            for i, (pid, group) in enumerate(data.groupby("pid", sort=False)):
                role = str(group["role"].iloc[0])
                g = _thin(group)
                ax.plot(g["t_s"], g["rss_bytes"] / MIB, color=INK if role == "parent" else colour,
                        linewidth=1.4 if role == "parent" else 1.0,
                        label=("parent" if role == "parent" else "workers" if i == 1 else None),
                        alpha=1 if role == "parent" else 0.75)
                del pid
            if n_pids > 1:
                t = _thin(total.reset_index())
                ax.plot(t["t_s"], t["rss_bytes"] / MIB, color=colour, linestyle="dashed",
                        linewidth=1.2, label="total (shared pages counted twice)")
            ax.set_title(safe_label(mode), color=colour)
            time_axis(ax, float(data["t_s"].max() or 0.0), "time")
            ax.grid(color="#e5e7eb", linewidth=0.6)
            top = max(top, float(total.max()) / MIB)
        axes[0].set_ylim(0, top * 1.08 or 1.0)
        axes[0].set_ylabel("RSS (MiB)")
        handles: dict[str, Artist] = {}
        for ax in axes:
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                key = label if label != "workers" else "workers"
                handles.setdefault(key, handle)
        if handles:
            fig.legend(list(handles.values()), list(handles), loc="lower center", ncols=len(handles))
        _margins(fig, left=0.6, bottom=0.85, top=0.3, wspace=0.08)
        return to_svg(fig, "memory", "Resident memory over time per mode")
