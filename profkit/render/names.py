"""Names a reader can use: the task as the user named it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from profkit.record import WorkloadMeta

#: load_file_module's prefix for a module imported from a path (see workloads.registry).
FILE_MODULE_PREFIX = "profkit_target_"


def task_label(workload: WorkloadMeta) -> str:
    """``module:qualname`` of the task, with a file target's hashed module name replaced by its path."""
    task = workload.task
    module, _, qualname = task.rpartition(":")
    if not module.startswith(FILE_MODULE_PREFIX):
        return task
    location = workload.target.rpartition(":")[0]
    if location.endswith(".py") or "/" in location or "\\" in location:
        return f"{location}:{qualname}"
    return task


