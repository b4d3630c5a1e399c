"""The ``Pool.map(double, ...)`` of the concurrent.futures lesson profkit grew from: tasks so
small that pooling can only lose."""

from __future__ import annotations

import os

from profkit.workloads.model import Workload


def double(i: int) -> tuple[int, int]:
    """Return ``2 * i`` and the pid of the process that computed it."""
    return i * 2, os.getpid()


WORKLOAD = Workload(
    name="double",
    task=double,
    items=list(range(1, 1001)),
    description="The multiprocessing lesson's double(i) -> (2*i, pid) over 1..1000: tiny tasks, "
                "overhead dominates.",
)
