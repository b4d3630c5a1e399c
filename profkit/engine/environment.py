"""Facts about the machine and the measuring packages, recorded with every run."""

from __future__ import annotations

import os
import platform
import sys

import psutil

from profkit.executors.registry import available_cpus
from profkit.model import JSON

MEASURING_PACKAGES = ("profkit", "line_profiler", "snakeviz", "memory_profiler", "psutil", "pandas",
                      "pyarrow", "jinja2", "matplotlib", "distributed")


def environment(start_method: str) -> dict[str, JSON]:
    """Python, CPUs, memory, start method and the versions of the measuring packages."""
    from importlib.metadata import PackageNotFoundError, version

    packages: dict[str, JSON] = {}
    for name in MEASURING_PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            continue
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus_available": available_cpus(),
        "cpus_total": os.cpu_count(),
        "memory_total_bytes": psutil.virtual_memory().total,
        "memory_available_bytes": psutil.virtual_memory().available,
        "start_method": start_method,
        "gil_enabled": bool(getattr(sys, "_is_gil_enabled", lambda: True)()),
        "packages": packages,
    }
