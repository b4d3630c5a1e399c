"""Find a workload by built-in name, ``package.module:name`` or ``path/file.py:name``."""

from __future__ import annotations

import atexit
import dataclasses
import difflib
import errno
import hashlib
import importlib
import importlib.machinery
import importlib.util
import os
import re
import reprlib
import shutil
import sys
import tempfile
import traceback
from pathlib import Path
from types import ModuleType

from profkit.errors import WorkloadError
from profkit.workloads.model import Items, Workload

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
    # Only identifier characters: a dot in 'work.v2.py' would make the name a package path,
    # and pickle (by reference) could not import it even in this process.
    stem = re.sub(r"\W", "_", resolved.stem)
    name = f"profkit_target_{stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise WorkloadError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM while a slow import runs: stop, not a bad file
        del sys.modules[name]
        raise
    except BaseException as exc:
        del sys.modules[name]
        raise WorkloadError(f"importing {path} failed: {_describe_import_error(exc, resolved)}") from exc
    FILE_MODULES[name] = str(resolved)
    _make_importable(name, resolved)
    return module


#: The shim folder's text: importing NAME loads the file by path, under NAME, with its own
#: ``__file__``, so tracebacks and profiles name the user's file, not the shim.
_SHIM = """\
# Written by profkit: makes {path} importable as {name} in processes the workload starts.
import importlib.util as _util
import sys as _sys

_spec = _util.spec_from_file_location(__name__, {path!r})
_module = _util.module_from_spec(_spec)
_sys.modules[__name__] = _module
_spec.loader.exec_module(_module)
"""


def _shim_folder() -> Path:
    """This process's folder of import shims, on ``sys.path``; removed when the process exits."""
    for entry in sys.path:
        if os.path.basename(entry).startswith("profkit-targets-") and os.path.isdir(entry) \
                and _SHIM_OWNERS.get(entry) == os.getpid():
            return Path(entry)
    _remove_stale_shim_folders()
    folder = tempfile.mkdtemp(prefix=f"profkit-targets-{os.getpid()}-")
    if not _SHIM_OWNERS:
        atexit.register(remove_import_shims)
    _SHIM_OWNERS[folder] = os.getpid()
    sys.path.append(folder)
    return Path(folder)


#: Shim folders -> the pid that made them (a forked child must not remove its parent's).
_SHIM_OWNERS: dict[str, int] = {}


def _remove_stale_shim_folders() -> None:
    """Remove this user's shim folders whose profkit is gone (a kill -9 skips every cleanup)."""
    for folder in Path(tempfile.gettempdir()).glob("profkit-targets-*-*"):
        pid = folder.name.split("-")[2]
        try:
            if not pid.isdigit() or folder.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def remove_import_shims() -> None:
    """Remove this process's shim folders: at exit, and before an ``os._exit`` (which skips
    atexit). Processes started from here have imported what they need by then."""
    for folder, owner in list(_SHIM_OWNERS.items()):
        if owner == os.getpid():
            shutil.rmtree(folder, ignore_errors=True)
            del _SHIM_OWNERS[folder]


def _make_importable(name: str, path: Path) -> None:
    """Let processes started from here (a task's own ``multiprocessing.Pool`` with spawn or
    forkserver) import ``name``: they get this process's ``sys.path``, so a shim module on it
    loads the file by path. Nothing is written if a shim on ``sys.path`` already answers."""
    if importlib.machinery.PathFinder.find_spec(name) is not None:
        return
    shim = _shim_folder() / f"{name}.py"
    shim.write_text(_SHIM.format(path=str(path), name=name), encoding="utf-8")
    importlib.invalidate_caches()


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


def _as_workload(obj: object, target: str) -> Workload:
    if isinstance(obj, Workload):
        return obj
    registered = getattr(obj, "__profkit_workload__", None)
    if isinstance(registered, Workload):
        return registered
    raise WorkloadError(
        f"{target} is a {type(obj).__name__}, not a workload: "
        "point at a profkit.Workload or a function decorated with @profkit.workload(items)"
    )


def as_workload(target: object, items: Items | None = None) -> Workload:
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
        try:
            found = Path(location).expanduser().is_file()
        except OSError as exc:  # a name too long, a folder that cannot be read
            fix = "give a shorter path" if exc.errno == errno.ENAMETOOLONG else \
                "check the path and its permissions"
            raise WorkloadError(f"cannot open the workload file {reprlib.repr(location)}: "
                                f"{exc.strerror or exc}: {fix}") from None
        if not found:
            raise WorkloadError(f"workload file not found: {location}")
        module = load_file_module(location)
    else:
        module = _import_module(location, target)
    obj: object = module
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
