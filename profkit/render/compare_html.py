"""``compare.html``: a Comparison in, one self-contained HTML page out (jinja2, autoescape).

The page extends the main report's ``base.html.j2`` and inlines the same CSS
and table script (sortable columns), plus a few rules of its own. The
differential icicle is plain SVG laid out here (no script, nothing fetched),
so it obeys the report's strict CSP and opens offline.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from profkit.fmt import fmt_change, fmt_level, fmt_p, fmt_seconds
from profkit.render.compare_text import (
    coverage_note,
    mann_whitney_cell,
    rule_lines,
    run_label,
    time_label,
)

if TYPE_CHECKING:
    import jinja2

    from profkit.analysis.compare import Comparison
    from profkit.analysis.compare_profile import DiffNode

EXTENSION = ".html"
TEMPLATE = "compare.html.j2"
#: Written into every report, so ``profkit compare`` knows which files it may replace.
GENERATOR = "profkit compare"
_TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Rules the main report's CSS does not have: verdict colours and the interval glyph.
COMPARE_CSS = """
td.change.bad, td.delta.bad { color: var(--bad); }
td.change.good, td.delta.good { color: var(--good); }
.run-facts + .run-facts { margin-top: .15rem; }
svg.ci { display: block; width: 11rem; height: 1.1rem; }
svg.ci .axis { stroke: var(--line-strong); stroke-width: .6; }
svg.ci .one { stroke: var(--muted); stroke-width: .6; stroke-dasharray: 1.5 1.5; }
svg.ci .range { stroke: var(--muted); stroke-width: 2; }
svg.ci .point { fill: var(--muted); }
svg.ci.bad .range { stroke: var(--bad); } svg.ci.bad .point { fill: var(--bad); }
svg.ci.good .range { stroke: var(--good); } svg.ci.good .point { fill: var(--good); }
ol.rule { margin: .3rem 0 .8rem 1.2rem; padding: 0; }
ol.rule li { margin: .1rem 0; }
td.src { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85em;
  white-space: pre; max-width: 38rem; overflow: hidden; text-overflow: ellipsis; }
svg.icicle { display: block; width: 100%;
  font: 11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
svg.icicle text { fill: #111827; pointer-events: none; }
svg.icicle text.light { fill: #fff; }
svg.icicle rect { stroke: #fff; stroke-width: .5; }
.icicle-legend { display: flex; gap: 1rem; align-items: center; font-size: .85em; color: var(--muted); }
.icicle-legend .chip { display: inline-block; width: 1.6rem; height: .8rem; vertical-align: middle;
  border: 1px solid var(--line-strong); }
"""
#: Height of one icicle row, in pixels.
ROW_PX = 18
#: Deepest row drawn, and the narrowest box (percent of the width) drawn.
MAX_ROWS = 30
MIN_WIDTH_PCT = 0.15
NEUTRAL = (229, 231, 235)
HOTTER = (185, 28, 28)
COOLER = (29, 78, 216)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """One cached jinja2 environment over the package's templates, autoescape on."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["seconds"] = fmt_seconds
    env.filters["pct"] = _change
    env.filters["pvalue"] = _pvalue
    env.filters["num"] = _num
    env.filters["level"] = fmt_level
    return env


def _num(value: float | None) -> str:
    """A number for a ``data-v`` sort key; empty for a missing one (sorted last)."""
    return "" if value is None or value != value else repr(float(value))


def _change(value: float | None) -> str:
    return fmt_change(value, "–")


def _pvalue(value: float | None) -> str:
    return fmt_p(value, "–")


def _interval_svg(lo: float, hi: float, ratio: float, span: float) -> dict[str, float]:
    """Positions (0-100) of an interval of B/A on a log axis centred on 1."""

    def x(v: float) -> float:
        return 50.0 + 50.0 * max(-1.0, min(1.0, math.log(v) / span))

    return {"lo": x(lo), "hi": x(hi), "ratio": x(ratio)}


def _mix(t: float) -> tuple[str, bool]:
    """A fill for a change in -1..1 (red grew, blue shrank) and whether text on it should be light."""
    t = max(-1.0, min(1.0, t))
    end = HOTTER if t > 0 else COOLER
    k = abs(t)
    rgb = tuple(round(n + (e - n) * k) for n, e in zip(NEUTRAL, end, strict=True))
    return f"rgb({rgb[0]},{rgb[1]},{rgb[2]})", k > 0.55


def _short_name(node: DiffNode) -> str:
    if node.filename in ("", "~"):
        return node.name
    return f"{node.name} ({Path(node.filename).name}:{node.lineno})"


def icicle(tree: DiffNode) -> dict[str, Any]:
    """Boxes of a differential icicle: width the mean of A's and B's time on the path, colour the
    change in self time (scaled to the largest change, at least 1% of the total)."""
    total = tree.total_a_s + tree.total_b_s
    if total <= 0:
        return {"boxes": [], "height": 0, "scale_s": 0.0}
    deltas: list[float] = []

    def walk(node: DiffNode, depth: int) -> None:
        deltas.append(abs(node.self_delta_s))
        if depth < MAX_ROWS:
            for child in node.children:
                walk(child, depth + 1)

    walk(tree, 0)
    scale = max(max(deltas), 0.01 * total / 2.0)
    boxes: list[dict[str, Any]] = []

    def place(node: DiffNode, x: float, depth: int) -> None:
        width = 100.0 * (node.total_a_s + node.total_b_s) / total
        if width < MIN_WIDTH_PCT or depth >= MAX_ROWS:
            return
        fill, light = _mix(node.self_delta_s / scale)
        change = (100.0 * (node.total_b_s - node.total_a_s) / node.total_a_s) if node.total_a_s > 0 else None
        name = "all" if depth == 0 else _short_name(node)
        boxes.append({
            "x": x, "y": depth * ROW_PX, "w": width, "fill": fill, "light": light,
            "label": name if width >= 3 else "", "name": name, "function": node.function,
            "total_a": node.total_a_s, "total_b": node.total_b_s, "self_a": node.self_a_s,
            "self_b": node.self_b_s, "delta": node.self_delta_s, "change": change,
        })
        left = x
        for child in node.children:
            place(child, left, depth + 1)
            left += 100.0 * (child.total_a_s + child.total_b_s) / total

    place(tree, 0.0, 0)
    rows = 1 + max((int(b["y"]) // ROW_PX for b in boxes), default=0)
    return {"boxes": boxes, "height": rows * ROW_PX, "scale_s": scale}


def context(comparison: Comparison, fail_above: float | None = None) -> dict[str, Any]:
    """What the template reads: plain dicts, bar positions for each ratio interval, icicle boxes."""
    import profkit
    from profkit.render.report.jinja import assets
    from profkit.render.text import comparison_json

    data = comparison_json(comparison)
    ratios = [v for m in comparison.modes for v in (m.ratio_ci or []) if v and v > 0]
    span = max([abs(math.log(v)) for v in ratios] + [math.log(1.1)]) * 1.1
    for mode in data["modes"]:
        ci, ratio = mode["ratio_ci"], mode["ratio"]
        mode["bar"] = _interval_svg(ci[0], ci[1], ratio, span) if ci and ratio and ci[0] > 0 else None
    for mode, change in zip(data["modes"], comparison.modes, strict=True):
        mode["u_cell"] = mann_whitney_cell(change, "–")
        mode["time"] = time_label(change, comparison.program)
    shared = assets()
    return {
        "c": data,
        "generator": GENERATOR,
        "version": profkit.__version__,
        "css": Markup(str(shared["css"]) + COMPARE_CSS),
        "js": shared["js"],
        "script_hash": shared["script_hash"],
        "axis": {"low": math.exp(-span), "high": math.exp(span)},
        "file_name": lambda path: Path(path).name,
        "rule": rule_lines(comparison, fail_above),
        "labels": {"A": run_label(comparison.run_a), "B": run_label(comparison.run_b)},
        "mode_level": comparison.mode_level,
        "icicles": {mode: icicle(tree) for mode, tree in comparison.trees.items()},
        "coverage_notes": {mode: note for mode, c in comparison.coverage.items()
                           if (note := coverage_note(c))},
    }


def render(comparison: Comparison, fail_above: float | None = None) -> str:
    """The whole report as one string."""
    return environment().get_template(TEMPLATE).render(**context(comparison, fail_above))


def is_compare_report(path: Path) -> bool:
    """True if ``path`` is a report this module wrote (safe to replace)."""
    from profkit.render.html import written_by

    return written_by(path, GENERATOR)
