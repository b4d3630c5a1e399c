"""Formatting of the report's values (also the template filters): numbers, bytes, paths."""

from __future__ import annotations

import math
import re
from typing import Any

from profkit.analysis.verdict import fmt_interval, fmt_seconds, fmt_speedup

_SAFE_REL = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")


def num(value: Any) -> float | None:
    """A finite float, or None for anything else (None, bools, NaN, text)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def fmt_seconds_or_dash(value: Any) -> str:
    """Seconds in a readable unit, or a dash."""
    v = num(value)
    return "–" if v is None else fmt_seconds(v)


def fmt_times(value: Any, digits: int = 2) -> str:
    """A speedup: '1.95×'; below 0.5× a slowdown ('301× slower'), never '0.00×'."""
    v = num(value)
    if v is None:
        return "–"
    if 0 < v < 0.5:
        return fmt_speedup(v)
    return f"{v:.{digits}f}×"


def fmt_ci(value: Any) -> str:
    """A speedup's 95% interval in the same sense as the speedup: '1.70–1.85' or '280–320× slower'."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return ""
    lo, hi = num(value[0]), num(value[1])
    if lo is None or hi is None:
        return ""
    return fmt_interval((lo, hi)).replace("×", "") if hi >= 0.5 else fmt_interval((lo, hi))


def fmt_pct(value: Any, digits: int = 1) -> str:
    """A percentage given in percent (12.3 -> '12.3%')."""
    v = num(value)
    return "–" if v is None else f"{v:.{digits}f}%"


def fmt_ratio_pct(value: Any) -> str:
    """A ratio as a percentage (0.97 -> '97%')."""
    v = num(value)
    return "–" if v is None else f"{100 * v:.0f}%"


def fmt_bytes(value: Any) -> str:
    """Bytes in B, KiB, MiB or GiB."""
    v = num(value)
    if v is None:
        return "–"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(v) >= size:
            return f"{v / size:.1f} {unit}"
    return f"{v:.0f} B"


def fmt_mib(value: Any) -> str:
    """Bytes in MiB."""
    v = num(value)
    return "–" if v is None else f"{v / (1 << 20):.1f} MiB"


def fmt_count(value: Any) -> str:
    """A count with thousands separators."""
    v = num(value)
    return "–" if v is None else f"{v:,.0f}"


def sort_value(value: Any) -> str:
    """The data-v attribute of a sortable cell: a plain number, or empty."""
    v = num(value)
    return "" if v is None else f"{v:.6g}"


def short_path(filename: str) -> str:
    """The last two parts of a path (the full path goes into a title)."""
    if filename in ("~", ""):
        return "built-in"
    parts = filename.replace("\\", "/").split("/")
    return filename if len(parts) <= 3 else "…/" + "/".join(parts[-2:])


def location(filename: str, lineno: Any) -> str:
    """'file:line' with a short path, or 'built-in'."""
    if filename in ("~", ""):
        return "built-in"
    return f"{short_path(filename)}:{lineno}"


def safe_relative(path: Any) -> str | None:
    """``path`` if it is a plain relative path inside the run folder (usable as href), else None."""
    if not isinstance(path, str) or not _SAFE_REL.fullmatch(path):
        return None
    if any(part in ("", ".", "..") for part in path.split("/")):
        return None
    return path
