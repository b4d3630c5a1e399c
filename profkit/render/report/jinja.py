"""The report's jinja2 environment (autoescape on, the filters) and its inlined CSS and JS."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from profkit.fmt import (
    fmt_bytes_scaled,
    fmt_ci,
    fmt_count,
    fmt_duration,
    fmt_mib,
    fmt_pct,
    fmt_ratio_pct,
    fmt_seconds,
    fmt_sig,
    fmt_speedup,
)
from profkit.render import text as words
from profkit.render.report.filters import sort_value
from profkit.render.report.scale import item_ranges

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
#: What report.js and the call tree's script share; it goes first in the page's script.
COMMON_JS = TEMPLATES.parent / "assets" / "common.js"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """One cached environment over the package's templates, autoescape on."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2", "xml"),
                                            default_for_string=True, default=True),
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(seconds=fmt_seconds, times=fmt_speedup, ci=fmt_ci, pct=fmt_pct,
                       ratio_pct=fmt_ratio_pct,
                       bytes=fmt_bytes_scaled, count=fmt_count, v=sort_value, mib=fmt_mib, sig=fmt_sig,
                       duration=fmt_duration, item_ranges=item_ranges)
    # the analysis's facts in words (profkit.render.text)
    env.filters.update(verdict=words.verdict, advice=words.advice, note=words.note, reason=words.reason,
                       classification=words.classification, granularity=words.granularity,
                       flattening=words.flattening, counted=words.count,
                       sweep_source=lambda rec: words.sweep_source(
                           rec, "the table under Scaling with the number of workers"))
    return env


@lru_cache(maxsize=1)
def assets() -> dict[str, object]:
    """The CSS and JS (common.js, then report.js) to inline, read once, with the script's CSP hash."""
    from profkit.render.source import style_css

    css = (TEMPLATES / "report.css").read_text(encoding="utf-8") + "\n" + style_css() + "\n"
    js = (COMMON_JS.read_text(encoding="utf-8") + "\n"
          + (TEMPLATES / "report.js").read_text(encoding="utf-8"))
    for name, text in (("css", css), ("js", js)):
        if re.search(r"</(script|style)", text, re.I):
            raise RuntimeError(f"report {name} must not contain a closing script/style tag")
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode("ascii")
    return {"css": Markup(css), "js": Markup(js), "script_hash": f"sha256-{digest}"}
