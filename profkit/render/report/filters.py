"""Template helpers that are not number formats (those are in profkit.fmt): sort keys, paths, links."""

from __future__ import annotations

import re

from profkit.fmt import num

_SAFE_REL = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")


def sort_value(value: object) -> str:
    """The data-v attribute of a sortable cell: a plain number, or empty."""
    v = num(value)
    return "" if v is None else f"{v:.6g}"


def short_path(filename: str) -> str:
    """The last two parts of a path (the full path goes into a title)."""
    if filename in ("~", ""):
        return "built-in"
    parts = filename.replace("\\", "/").split("/")
    return filename if len(parts) <= 3 else "…/" + "/".join(parts[-2:])


def location(filename: str, lineno: object) -> str:
    """'file:line' with a short path, or 'built-in'."""
    if filename in ("~", ""):
        return "built-in"
    return f"{short_path(filename)}:{lineno}"


def safe_relative(path: object) -> str | None:
    """``path`` if it is a plain relative path inside the run folder (usable as href), else None."""
    if not isinstance(path, str) or not _SAFE_REL.fullmatch(path):
        return None
    if any(part in ("", ".", "..") for part in path.split("/")):
        return None
    return path
