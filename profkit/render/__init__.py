"""Renderers: a Run in, text out. They read analysis and frames, never profilers.

Each renderer is a module with ``render(run) -> str`` and an ``EXTENSION``;
pick one by name with :func:`render`, which hides profkit's own frames first
(:func:`user_view`).
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from profkit.record import RunRecord

RENDERERS = {
    "html": "profkit.render.html",
    "console": "profkit.render.console",
    "json": "profkit.render.json_summary",
}


def render(run: RunRecord, fmt: str) -> str:
    """Render ``run`` with the renderer named ``fmt`` (html, console or json)."""
    try:
        name = RENDERERS[fmt]
        if fmt == "html" and run.meta.kind == "program":
            name = "profkit.render.program"  # a `profkit run` folder: its own report
        module = importlib.import_module(name)
    except KeyError:
        raise ValueError(f"unknown renderer {fmt!r}: choose from {', '.join(RENDERERS)}") from None
    text: str = module.render(user_view(run))
    return text


def user_view(run: RunRecord) -> RunRecord:
    """A view of ``run`` whose functions and lines frames leave out profkit's own frames
    (the analysis ranked its bottlenecks and hot lines without them too)."""
    from profkit.analysis.own_frames import drop_own_functions, drop_own_lines

    frames = dict(run.frames or {})
    if frames.get("functions") is not None:
        frames["functions"] = drop_own_functions(frames["functions"])
    if frames.get("lines") is not None:
        frames["lines"] = drop_own_lines(frames["lines"])
    return dataclasses.replace(run, frames=frames)
