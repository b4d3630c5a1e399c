"""``compare.html``: a Comparison in, one self-contained HTML page out (jinja2, autoescape).

The page extends the main report's ``base.html.j2`` and inlines the same CSS
and table script (sortable columns), plus a few rules of its own.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from profkit.analysis.compare import format_change, format_p

if TYPE_CHECKING:
    import jinja2

    from profkit.analysis.compare import Comparison

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
"""


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
    env.filters["seconds"] = _seconds
    env.filters["pct"] = _pct
    env.filters["pvalue"] = _pvalue
    env.filters["num"] = _num
    return env


def _num(value: float | None) -> str:
    """A number for a ``data-v`` sort key; empty for a missing one (sorted last)."""
    return "" if value is None or value != value else repr(float(value))


def _seconds(value: float | None) -> str:
    from profkit.analysis.verdict import fmt_seconds

    return fmt_seconds(value)


def _pct(value: float | None) -> str:
    return format_change(value, "–")


def _pvalue(value: float | None) -> str:
    return format_p(value, "–")


def _interval_svg(lo: float, hi: float, ratio: float, span: float) -> dict[str, float]:
    """Positions (0-100) of an interval of B/A on a log axis centred on 1."""

    def x(v: float) -> float:
        return 50.0 + 50.0 * max(-1.0, min(1.0, math.log(v) / span))

    return {"lo": x(lo), "hi": x(hi), "ratio": x(ratio)}


def context(comparison: Comparison) -> dict[str, Any]:
    """What the template reads: plain dicts, plus bar positions for each ratio interval."""
    import profkit
    from profkit.render.html import assets

    data = comparison.to_dict()
    ratios = [v for m in comparison.modes for v in (m.ratio_ci or []) if v and v > 0]
    span = max([abs(math.log(v)) for v in ratios] + [math.log(1.1)]) * 1.1
    for mode in data["modes"]:
        ci, ratio = mode["ratio_ci"], mode["ratio"]
        mode["bar"] = _interval_svg(ci[0], ci[1], ratio, span) if ci and ratio and ci[0] > 0 else None
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
    }


def render(comparison: Comparison) -> str:
    """The whole report as one string."""
    return environment().get_template(TEMPLATE).render(**context(comparison))


def is_compare_report(path: Path) -> bool:
    """True if ``path`` is a report this module wrote (safe to replace)."""
    try:
        with path.open("r", encoding="utf-8", errors="replace") as f:
            head = f.read(4096)
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}' in head
