"""Names a reader can use: the task as the user named it, and durations without false precision."""

from __future__ import annotations

import math
from typing import Any

#: load_file_module's prefix for a module imported from a path (see workloads.registry).
FILE_MODULE_PREFIX = "profkit_target_"


def task_label(workload: dict[str, Any]) -> str:
    """``module:qualname`` of the task, with a file target's hashed module name replaced by its path."""
    task = str(workload.get("task") or "")
    module, _, qualname = task.rpartition(":")
    if not module.startswith(FILE_MODULE_PREFIX):
        return task
    location = str(workload.get("target") or "").rpartition(":")[0]
    if location.endswith(".py") or "/" in location or "\\" in location:
        return f"{location}:{qualname}"
    return task


def fmt_duration(seconds: Any) -> str:
    """A run's length from whole-second timestamps: '18 s', '2 min 05 s', '1 h 02 min'."""
    try:
        total = float(seconds)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(total) or total < 0:
        return "–"
    s = round(total)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
