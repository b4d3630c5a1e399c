"""Keep profkit's own frames out of what the user reads, and count nested line time once.

The collectors switch the profilers on around the task, so the profiles still catch a
few frames of profkit's: the ``disable`` call that stops cProfile, and any engine code
between ``enable`` and the task. They are not the user's bottlenecks. The analysis ranks
the top functions and lines without them, and renderers show the frames without them;
the stored frames keep everything.

Line times nest: line_profiler's time for a line includes the functions it calls, so
when the task and functions it calls are both line-profiled, summing every function
counts the inner ones twice. Every line-profiled function runs inside the task, so
the task's own line time is the mode's line time, counted once.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from profkit.analysis.records import Bottleneck, HotLine

if TYPE_CHECKING:
    import pandas as pd

    from profkit.record import RunMeta

TOP_N = 10
_PACKAGE = Path(__file__).resolve().parent.parent
_WORKLOADS = _PACKAGE / "workloads"
#: Profiler switches seen from inside the profile (cProfile, line_profiler).
_PROFILER_METHOD = re.compile(
    r"<method '(enable|disable)\w*' of '(_lsprof\.Profiler|[\w.]*LineProfiler)' objects>")
#: profkit installed elsewhere (a worker may import another copy): any profkit/ but workloads/.
_OWN_PATH = re.compile(r"(^|[/\\])profkit[/\\](?!workloads[/\\])([\w.-]+[/\\])*[\w.-]+\.py$")


@lru_cache(maxsize=1)
def _own_modules() -> frozenset[str]:
    """profkit's own module paths, as ``profkit/collectors/budget.py`` (workloads left out)."""
    return frozenset(f"profkit/{path.relative_to(_PACKAGE).as_posix()}"
                     for path in _PACKAGE.rglob("*.py") if not path.is_relative_to(_WORKLOADS))


def is_own(filename: str, name: str) -> bool:
    """True for a frame of profkit itself (engine, collectors, profiler switches), not of a workload."""
    if _PROFILER_METHOD.fullmatch(name):
        return True
    if not filename or filename == "~" or filename.startswith("<") or "profkit" not in filename:
        return False
    return _own_file(filename)


@lru_cache(maxsize=4096)
def _own_file(filename: str) -> bool:
    path = Path(filename)
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        resolved = path
    if resolved.is_relative_to(_PACKAGE):
        return not resolved.is_relative_to(_WORKLOADS)
    if "site-packages" in filename and _OWN_PATH.search(filename):
        return True
    # a run made by another copy of profkit (a checkout, someone else's machine): one of our
    # module paths at the end of the file name
    posix = filename.replace("\\", "/")
    start = posix.rfind("/profkit/")
    return (posix[start + 1:] if start >= 0 else posix) in _own_modules()


def own_mask(filenames: pd.Series, names: pd.Series) -> pd.Series:
    """A boolean mask of the rows that are profkit's own frames (each distinct frame checked once)."""
    import pandas as pd

    # pairs, not joined strings: numpy's str scalars drop a trailing NUL separator (pandas < 3)
    keys = list(zip(filenames.astype(str), names.astype(str), strict=True))
    verdicts = {key: is_own(*key) for key in set(keys)}
    return pd.Series([verdicts[key] for key in keys], index=filenames.index, dtype=bool)


def drop_own_functions(functions: pd.DataFrame) -> pd.DataFrame:
    """The functions frame without profkit's frames, ``self_pct`` recomputed per mode."""
    if functions.empty:
        return functions
    kept = functions[~own_mask(functions["filename"], functions["name"])].copy()
    totals = kept.groupby("mode")["self_s"].transform("sum")
    kept["self_pct"] = (100.0 * kept["self_s"] / totals.where(totals > 0)).fillna(0.0)
    return kept


def drop_own_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """The lines frame without lines of profkit's own functions."""
    if lines.empty:
        return lines
    return lines[~own_mask(lines["filename"], lines["function"])]


def task_name(meta: RunMeta) -> str | None:
    """The task's function name (``module:qualname`` -> its last part), as line_profiler names it."""
    ref = meta.workload.task
    qualname = ref.rpartition(":")[2]
    return qualname.rpartition(".")[2] or None


def nesting_task(lines: pd.DataFrame, meta: RunMeta) -> str | None:
    """The task's name when its line time includes other line-profiled functions, else None."""
    task = task_name(meta)
    if task is None or lines.empty or not (lines["function"] == task).any():
        return None
    return task if (lines["function"] != task).any() else None


def line_time_once(lines: pd.DataFrame, meta: RunMeta) -> float:
    """One mode's line time with nested functions counted once: the task's, or the sum."""
    task = nesting_task(lines, meta)
    mine = lines[lines["function"] == task] if task else lines
    return float(mine["time_s"].sum())


def top_functions(functions: pd.DataFrame) -> list[Bottleneck]:
    """The top functions by self time, per mode (the analysis' ``bottlenecks``)."""
    out: list[Bottleneck] = []
    for _, group in functions.groupby("mode", sort=False):
        top = group.sort_values("self_s", ascending=False).head(TOP_N)
        out += [Bottleneck(mode=str(r["mode"]), function=str(r["function"]), name=str(r["name"]),
                           filename=str(r["filename"]), lineno=int(r["lineno"]),
                           ncalls=int(r["ncalls"]), self_s=float(r["self_s"]),
                           self_pct=float(r["self_pct"]), cumulative_s=float(r["cumulative_s"]))
                for _, r in top.iterrows()]
    return out


def top_lines(lines: pd.DataFrame, meta: RunMeta) -> list[HotLine]:
    """The hottest lines per mode; a task's lines that include nested profiled functions are left out."""
    out: list[HotLine] = []
    for _, group in lines.groupby("mode", sort=False):
        task = nesting_task(group, meta)
        mine = group[group["function"] != task] if task else group
        top = mine[mine["hits"] > 0].sort_values("time_s", ascending=False).head(TOP_N)
        out += [HotLine(mode=str(r["mode"]), function=str(r["function"]),
                        filename=str(r["filename"]), lineno=int(r["lineno"]), hits=int(r["hits"]),
                        time_s=float(r["time_s"]), pct=_number(r["pct"]),
                        source=r["source"] if isinstance(r["source"], str) else "")
                for _, r in top.iterrows()]
    return out


def _number(value: object) -> float | None:
    """A frame's float, None when it is missing (NaN)."""
    number = float(value) if isinstance(value, (int, float)) else math.nan
    return number if number == number else None
