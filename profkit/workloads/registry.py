"""Find a workload by built-in name, ``package.module:name`` or ``path/file.py:name``."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib
import importlib.util
import reprlib
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from profkit.errors import WorkloadError
from profkit.workloads.model import Workload

_BUILTINS = {
    "primes": "profkit.workloads.primes",
    "containers": "profkit.workloads.containers",
    "double": "profkit.workloads.double",
    "io": "profkit.workloads.io",
}

#: Modules loaded from file paths: module name -> path. Pool workers started
#: with spawn or forkserver load these by path before they unpickle a task.
FILE_MODULES: dict[str, str] = {}


def builtin_names() -> list[str]:
    """The names of the built-in workloads."""
    return list(_BUILTINS)


def _builtin(name: str) -> Workload:
    workload: Workload = importlib.import_module(_BUILTINS[name]).WORKLOAD
    return workload


def load_file_module(path: str) -> ModuleType:
    """Import a Python file under a stable, unique module name and register it."""
    resolved = Path(path).expanduser().resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:8]
    name = f"profkit_target_{resolved.stem.replace('-', '_')}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise WorkloadError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[name]
        raise WorkloadError(f"importing {path} failed: {_describe_import_error(exc, resolved)}") from exc
    FILE_MODULES[name] = str(resolved)
    return module


def _describe_import_error(exc: BaseException, path: Path) -> str:
    if isinstance(exc, SyntaxError):
        return f"SyntaxError at line {exc.lineno}: {exc.msg}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    where = f" at line {frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}: {exc}"


def _import_module(module_name: str, target: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise WorkloadError(
                f"no module named {module_name!r} for target {target!r}: "
                "check the spelling, or install the package"
            ) from exc
        raise WorkloadError(f"importing {module_name} failed: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise WorkloadError(f"importing {module_name} failed: {type(exc).__name__}: {exc}") from exc


def _as_workload(obj: Any, target: str) -> Workload:
    if isinstance(obj, Workload):
        return obj
    registered = getattr(obj, "__profkit_workload__", None)
    if isinstance(registered, Workload):
        return registered
    raise WorkloadError(
        f"{target} is a {type(obj).__name__}, not a workload: "
        "point at a profkit.Workload or a function decorated with @profkit.workload(items)"
    )


def as_workload(target: object, items: Any = None) -> Workload:
    """The workload ``target`` names: a Workload, a ``@workload`` function, a target string,
    or a plain function mapped over ``items``. ``items``, if given, replace the workload's own.
    """
    if isinstance(target, str):
        workload = resolve(target)
    elif isinstance(target, Workload) or isinstance(getattr(target, "__profkit_workload__", None),
                                                    Workload):
        workload = _as_workload(target, repr(target))
    elif callable(target):
        if items is None:
            name = getattr(target, "__qualname__", type(target).__name__)
            raise WorkloadError(f"{name} is a plain function, so profkit has no items to map it "
                                f"over: pass them, profile({name}, items=[...]), or decorate it "
                                "with @profkit.workload(items=[...])")
        doc = (getattr(target, "__doc__", None) or "").strip().splitlines()
        name = getattr(target, "__name__", None) or type(target).__name__
        return Workload(name=str(name), task=target, items=items,
                        description=doc[0] if doc else "")
    else:
        raise WorkloadError(
            f"cannot profile {reprlib.repr(target)} (of type {type(target).__name__}): give a "
            "function and its items, a profkit.Workload, a function decorated with "
            "@profkit.workload(items), or a target string such as 'package.module:name' or "
            "'path/to/file.py:name'")
    return workload if items is None else dataclasses.replace(workload, items=items)


def resolve(target: str, modules: list[str] | None = None) -> Workload:
    """Load the workload that ``target`` names; raise WorkloadError with one clear line.

    A bare name is a built-in or, failing that, a workload in ``modules`` (the
    ``[tool.profkit] workloads``), the same names ``profkit list`` shows.
    """
    if target in _BUILTINS:
        return _builtin(target)
    if ":" not in target:
        configured = {w.name: w for w in module_workloads(modules or [])}
        if target in configured:
            return configured[target]
        close = difflib.get_close_matches(target, [*_BUILTINS, *configured], n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise WorkloadError(
            f"unknown workload {target!r}: {hint}use a built-in ({', '.join(_BUILTINS)}), "
            "a workload profkit list shows, package.module:name or path/to/file.py:name"
        )
    location, _, attr = target.rpartition(":")
    if not attr or not location:
        raise WorkloadError(f"target {target!r} needs both parts: module:name or file.py:name")
    if location.endswith(".py") or "/" in location or "\\" in location:
        if not Path(location).expanduser().is_file():
            raise WorkloadError(f"workload file not found: {location}")
        module = load_file_module(location)
    else:
        module = _import_module(location, target)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(module) if not n.startswith("_")]
            close = difflib.get_close_matches(attr, names, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise WorkloadError(f"{location} has no name {attr!r}{hint}")
        obj = getattr(obj, part)
    return _as_workload(obj, target)


def module_workloads(modules: list[str]) -> list[Workload]:
    """Every workload found in the given modules or .py files, in order."""
    found = []
    for module_name in modules:
        module = (
            load_file_module(module_name)
            if module_name.endswith(".py")
            else _import_module(module_name, module_name)
        )
        for value in vars(module).values():
            registered = getattr(value, "__profkit_workload__", None)
            if isinstance(value, Workload):
                found.append(value)
            elif isinstance(registered, Workload):
                found.append(registered)
    return found


def list_workloads(modules: list[str] | None = None) -> list[Workload]:
    """Built-in workloads, then every workload found in the given modules."""
    return [_builtin(name) for name in _BUILTINS] + module_workloads(modules or [])
