"""Renderers: a Run in, text out. They read analysis and frames, never profilers.

Each renderer is a module with ``render(run) -> str`` and an ``EXTENSION``;
pick one by name with :func:`render`, which hides profkit's own frames first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from profkit.run import Run

RENDERERS = {
    "html": "profkit.render.html",
    "console": "profkit.render.console",
    "json": "profkit.render.json_summary",
}


def render(run: Run, fmt: str) -> str:
    """Render ``run`` with the renderer named ``fmt`` (html, console or json)."""
    try:
        name = RENDERERS[fmt]
        if fmt == "html" and (run.meta or {}).get("kind") == "program":
            name = "profkit.render.program"  # a `profkit run` folder: its own report
        module = importlib.import_module(name)
    except KeyError:
        raise ValueError(f"unknown renderer {fmt!r}: choose from {', '.join(RENDERERS)}") from None
    from profkit.analysis.own_frames import without_own

    text: str = module.render(without_own(run))
    return text
