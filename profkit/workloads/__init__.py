"""Workloads: a module-level task mapped over items, found by name or target."""

from profkit.workloads.model import Workload, workload
from profkit.workloads.registry import builtin_names, list_workloads, resolve

__all__ = ["Workload", "workload", "resolve", "builtin_names", "list_workloads"]
