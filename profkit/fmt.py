"""Numbers to text: seconds, speedups, intervals, percentages, bytes, counts, p-values, durations.

The lowest layer: it imports nothing from profkit, and render uses it for every number it
words. One naming scheme: ``fmt_<what>``, each taking a value that may be missing (None,
NaN, text) and showing :data:`MISSING` for it unless told otherwise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import SupportsFloat

#: What every formatter shows for a missing value.
MISSING = "–"


def num(value: object) -> float | None:
    """A finite float, or None for anything else (None, bools, NaN, text, pandas' NA)."""
    if isinstance(value, bool) or not isinstance(value, (SupportsFloat, str)):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def fmt_decimal(value: float, digits: int = 2) -> str:
    """A plain number with ``digits`` decimals: 1.85, 0.3, 12."""
    return f"{value:.{digits}f}"


def fmt_general(value: float, digits: int = 3) -> str:
    """A plain number with ``digits`` significant digits: 0.0123, 1.5, 1.2e+03."""
    return f"{value:.{digits}g}"


def fmt_seconds(value: object, missing: str = MISSING) -> str:
    """Seconds in the unit that reads best: s, ms or µs."""
    seconds = num(value)
    if seconds is None:
        return missing
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


def fmt_sig(seconds: object, digits: int = 3) -> str:
    """Seconds with ``digits`` significant digits in the unit that reads best: '0.312 µs', '5.64 µs'."""
    v = num(seconds)
    if v is None:
        return MISSING
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(v) >= scale:
            return f"{v / scale:#.{digits}g}".rstrip(".") + f" {unit}"
    return f"{v / 1e-9:#.{digits}g}".rstrip(".") + " ns" if v else "0 s"


def fmt_duration(seconds: object) -> str:
    """A run's length from whole-second timestamps: '18 s', '2 min 05 s', '1 h 02 min'."""
    total = num(seconds)
    if total is None or total < 0:
        return MISSING
    s = round(total)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def fmt_noun(n: int | None, word: str) -> str:
    """The noun for a count: 'worker' for 1, 'workers' otherwise."""
    return f"{word}{'s' if n != 1 else ''}"


def fmt_counted(n: int | None, word: str) -> str:
    """'1 worker', '2 workers': a count with its noun in the right number."""
    return f"{n} {fmt_noun(n, word)}"


def fmt_speedup(speedup: object) -> str:
    """A speedup that reads right both ways: '1.85×', '0.80×', '12.3×', '301× slower' (never '0.00×')."""
    value = num(speedup)
    if value is None or value <= 0:
        return MISSING
    if value >= 0.5:
        return f"{value:.2f}×" if value < 10 else f"{value:.3g}×"
    return fmt_slower(value)


def fmt_slower(value: float) -> str:
    """A slowdown: '1.25× slower', '301× slower'."""
    slower = 1 / value
    return f"{slower:.2f}× slower" if slower < 10 else f"{slower:,.0f}× slower"


def fmt_interval(ci: Sequence[float] | None) -> str:
    """A 95% interval of a speedup, in the same sense as :func:`fmt_speedup`."""
    if not ci:
        return ""
    lo, hi = float(ci[0]), float(ci[1])
    if hi < 0.5:
        return f"{fmt_speedup(hi).replace('× slower', '')}–{fmt_speedup(lo)}"
    return f"{lo:.2f}–{hi:.2f}×"


def fmt_ci(value: object) -> str:
    """A speedup's 95% interval in the same sense as the speedup: '1.70–1.85' or '280–320× slower'."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return ""
    lo, hi = num(value[0]), num(value[1])
    if lo is None or hi is None:
        return ""
    return fmt_interval((lo, hi)).replace("×", "") if hi >= 0.5 else fmt_interval((lo, hi))


def fmt_pct(value: object, digits: int = 1) -> str:
    """A percentage given in percent (12.3 -> '12.3%')."""
    v = num(value)
    return MISSING if v is None else f"{v:.{digits}f}%"


def fmt_ratio_pct(value: object) -> str:
    """A ratio as a percentage (0.97 -> '97%')."""
    v = num(value)
    return MISSING if v is None else f"{100 * v:.0f}%"


def fmt_change(value: float | None, missing: str = MISSING) -> str:
    """A percentage change with its sign ('+12.3%'), or ``missing``."""
    return missing if value is None else f"{value:+.1f}%"


def fmt_p(value: float | None, missing: str = MISSING) -> str:
    """A p-value short enough for a table cell, or ``missing``."""
    if value is None:
        return missing
    return f"{value:.2g}" if value < 0.001 else f"{value:.4f}".rstrip("0").rstrip(".")


def fmt_level(level: float) -> str:
    """0.99 -> '99%', 1 - 0.01 / 3 -> '99.67%'."""
    return f"{100.0 * level:.4g}%"


def fmt_bytes_scaled(value: object) -> str:
    """Bytes in B, KiB, MiB or GiB with one decimal ('1.5 KiB'), or a dash."""
    v = num(value)
    if v is None:
        return MISSING
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(v) >= size:
            return f"{v / size:.1f} {unit}"
    return f"{v:.0f} B"


def fmt_bytes_coarse(n: float | None) -> str:
    """Bytes in whole MiB, or GiB with one decimal from 1 GiB ('512 MiB', '1.5 GiB')."""
    if n is None:
        return MISSING
    return f"{n / 2**30:.1f} GiB" if abs(n) >= 2**30 else f"{n / 2**20:.0f} MiB"


def fmt_mib(value: object) -> str:
    """Bytes in MiB with one decimal."""
    v = num(value)
    return MISSING if v is None else f"{v / (1 << 20):.1f} MiB"


def fmt_count(value: object) -> str:
    """A count with thousands separators."""
    v = num(value)
    return MISSING if v is None else f"{v:,.0f}"


#: Characters a terminal acts on rather than shows: C0 controls but tab and newline, DEL, C1
#: controls (0x9b is CSI on some terminals), and the bidirectional overrides.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``), never acted on: a
    run folder from someone else may name functions, files or modes with ESC or OSC sequences."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100
                        else f"\\u{ord(m[0]):04x}", text)
