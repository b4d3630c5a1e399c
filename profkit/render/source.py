"""Hot code in context: a line-profiled function's source, highlighted, with per-line timings.

The highlighted HTML is built token by token with every piece of text escaped,
so a source line holding ``</script>`` stays text. Colours come from a CSS
block generated from the pygments style (:func:`style_css`): no external
stylesheet.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

from profkit.frames import listing_span

STYLE = "default"
CSS_SCOPE = ".src"


@lru_cache(maxsize=1)
def _style_rules() -> dict[str, str]:
    """Short token class -> its CSS declarations, for the classes the style colours."""
    from pygments.formatters import HtmlFormatter

    rules = {}
    prefix = CSS_SCOPE + " ."
    defs: str = HtmlFormatter(style=STYLE).get_style_defs(CSS_SCOPE)  # type: ignore[no-untyped-call]
    for line in defs.splitlines():
        if line.startswith(prefix) and "{" in line:
            name, body = line[len(prefix):].split("{", 1)
            body = body.split("}", 1)[0].strip()
            if body and name.strip() not in ("hll", "w", "err"):  # no grey spaces, no red boxes
                rules[name.strip()] = body
    return rules


def style_css() -> str:
    """The pygments colour rules, scoped to ``.src`` (nothing else of pygments' CSS)."""
    return "\n".join(f"{CSS_SCOPE} .{name} {{ {body} }}" for name, body in _style_rules().items())


def _css_class(ttype: Any) -> str:
    from pygments.token import STANDARD_TYPES

    while ttype not in STANDARD_TYPES:
        ttype = ttype.parent
    return STANDARD_TYPES[ttype]


def highlight_lines(lines: list[str]) -> list[Markup]:
    """Python source lines -> one escaped, highlighted HTML fragment per line."""
    return list(_highlight(tuple(lines)))


@lru_cache(maxsize=256)
def _highlight(lines: tuple[str, ...]) -> tuple[Markup, ...]:
    from pygments.lexers.python import PythonLexer

    styled = _style_rules()
    code = "\n".join(lines) + "\n"
    lexer = PythonLexer(stripnl=False, stripall=False, ensurenl=True)
    out: list[list[tuple[str, str]]] = [[]]
    for ttype, value in lexer.get_tokens(code):
        css = _css_class(ttype)
        css = css if css in styled else ""
        for i, part in enumerate(value.split("\n")):
            if i:
                out.append([])
            if not part:
                continue
            current = out[-1]
            if current and (current[-1][0] == css or not part.strip()):
                current[-1] = (current[-1][0], current[-1][1] + part)  # merge runs, keep spaces inside
            else:
                current.append((css, part))
    html = []
    for parts in out:
        html.append(Markup("".join(
            f'<span class="{css}">{escape(text)}</span>' if css else str(escape(text))
            for css, text in parts)))
    # the lexer may add or drop a final newline: align with the input
    html = (html + [Markup("")] * len(lines))[: len(lines)]
    return tuple(html)


def function_listing(rows: list[dict[str, Any]],
                     saved: Mapping[int, str] | None = None) -> list[dict[str, object]]:
    """The lines of one function, from its first line to its last profiled line.

    ``rows`` are lines-frame rows of one function in one mode; ``saved`` maps the
    line numbers of its file to the source the run saved for the lines the profiler
    did not record (the ``def``, blank lines, docstrings: the ``line_source`` frame).
    No file is read, so a loaded run lists as the run did when it was made. Each entry
    has lineno, html (highlighted), hits, time_s, pct and heat (0-100, relative to
    the hottest line).
    """
    if not rows:
        return []
    by_line = {int(r["lineno"]): r for r in rows}
    numbers = listing_span(int(rows[0].get("func_lineno") or min(by_line)), list(by_line))
    saved = saved or {}
    texts = []
    for n in numbers:
        if n in by_line and by_line[n].get("source") not in (None, ""):
            texts.append(str(by_line[n]["source"]))
        else:
            texts.append(saved.get(n, ""))
    html = highlight_lines(texts)
    hottest = max((float(r.get("time_s") or 0.0) for r in rows), default=0.0) or 1.0
    listing: list[dict[str, object]] = []
    for n, fragment in zip(numbers, html, strict=True):
        r = by_line.get(n)
        time_s = float(r["time_s"]) if r is not None else None
        listing.append({
            "lineno": n,
            "html": fragment,
            "hits": int(r["hits"]) if r is not None else None,
            "time_s": time_s,
            "pct": float(r["pct"]) if r is not None else None,
            "heat": round(100.0 * time_s / hottest, 1) if time_s else 0.0,
        })
    return listing
