"""Ship tasks that pickle cannot name to worker processes: closures, lambdas, ``__main__`` functions.

A pool pickles a function by reference (``__main__.f``). A forked worker
inherits the parent's ``__main__`` and finds ``f``; a spawned or forkserver
worker starts a fresh interpreter whose ``__main__`` has no ``f``. A closure,
a lambda or a nested function has no name pickle can look up at all, whatever
the start method. For those, the function travels by value with cloudpickle:
:class:`ByValue` pickles as its function's code and globals (closures
included), and unpickles as the bare function, so profilers
in the worker see ``f`` itself and no wrapper frame. Dask workers get it by
value too: Dask would fall back to cloudpickle on its own, but cloudpickle
names the code ``<dynamic-code>``, and the workers' profiles would then not
merge with the parent's; :func:`restore_filenames` gives the file back.

Globals are captured when a function is shipped, so each executor ships once
per run (its own ``cache``): a notebook global changed between two runs is
seen by the next run.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from types import CodeType, FunctionType
from typing import Protocol, TypeGuard, TypeVar

from profkit.errors import ModeFailed
from profkit.model import Task

_LOADED: dict[bytes, Callable[..., object]] = {}
_LOADED_MAX = 64

T = TypeVar("T")


class _Coded(Protocol):
    """A function, or what forwards to one (a bound method): its code and its name."""

    __code__: CodeType
    __qualname__: str


def _has_code(f: object) -> TypeGuard[_Coded]:
    return getattr(f, "__code__", None) is not None


def defined_in_main(obj: object) -> bool:
    """True for a function (or class) whose module is ``__main__``."""
    return callable(obj) and getattr(obj, "__module__", None) == "__main__" \
        and hasattr(obj, "__qualname__")


def _source_files(fn: object) -> dict[str, str]:
    """Qualname -> source file of ``fn`` and the ``__main__`` functions it names, transitively."""
    found: dict[str, str] = {}
    todo = [fn]
    while todo:
        f = todo.pop()
        if not _has_code(f) or f.__qualname__ in found:
            continue
        code = f.__code__
        found[f.__qualname__] = code.co_filename
        names: dict[str, object] = getattr(f, "__globals__", {})
        todo += [names[n] for n in code.co_names if defined_in_main(names.get(n))]
    return found


def _with_filename(code: CodeType, filename: str) -> CodeType:
    consts = tuple(_with_filename(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def restore_filenames(fn: object, files: dict[str, str]) -> None:
    """Give shipped code its source file back (cloudpickle names it ``<dynamic-code>``).

    The workers' profiles then merge with the parent's, and line_profiler finds the source.
    """
    todo, seen = [fn], set()
    while todo:
        f = todo.pop()
        if not _has_code(f) or id(f) in seen:
            continue
        code = f.__code__
        seen.add(id(f))
        filename = files.get(f.__qualname__)
        if filename and code.co_filename != filename:
            f.__code__ = _with_filename(code, filename)
        names: dict[str, object] = getattr(f, "__globals__", {})
        todo += [names[n] for n in code.co_names if isinstance(names.get(n), FunctionType)]


def _load(payload: bytes, files: dict[str, str] | None = None) -> Callable[..., object]:
    """Unpickle a shipped function once per worker; later items reuse it."""
    fn = _LOADED.get(payload)
    if fn is None:
        import cloudpickle

        if len(_LOADED) >= _LOADED_MAX:
            _LOADED.clear()
        loaded: Callable[..., object] = cloudpickle.loads(payload)
        restore_filenames(loaded, files or {})
        _LOADED[payload] = fn = loaded
    return fn


class ByValue:
    """A callable that pickles as its function's code and globals (cloudpickle), not its name."""

    def __init__(self, fn: Callable[..., object]) -> None:
        import cloudpickle

        self.fn = fn
        self.payload: bytes = cloudpickle.dumps(fn)
        self.files = _source_files(fn)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: object, **kwargs: object) -> object:
        return self.fn(*args, **kwargs)

    def __reduce__(self) -> tuple[Callable[..., object], tuple[bytes, dict[str, str]]]:
        return _load, (self.payload, self.files)


def _name(obj: object) -> str:
    return str(getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
               or type(obj).__name__)


def by_reference(obj: object) -> bool:
    """True if plain pickle can ship ``obj`` (it names a module-level object, or pickles its state)."""
    try:
        pickle.dumps(obj)
    except Exception:  # noqa: BLE001 - pickle raises many kinds
        return False
    return True


def cannot_ship(obj: object) -> str | None:
    """Why no worker process can receive ``obj``, neither by reference nor by value; else None."""
    if by_reference(obj):
        return None
    try:
        import cloudpickle
    except ImportError:
        return (f"the task {_name(obj)!r} cannot be pickled by reference (a lambda, closure or "
                "nested function) and cloudpickle is not installed: pip install cloudpickle, or "
                "define the task at module level; sequential and threads run it as it is")
    try:
        cloudpickle.dumps(obj)
    except Exception as exc:  # noqa: BLE001 - cloudpickle raises many kinds
        return (f"the task {_name(obj)!r} cannot be pickled for the workers, not even by value "
                f"with cloudpickle ({type(exc).__name__}: {exc}): define it at module level and "
                "pass what it captures in its items; sequential and threads run it as it is")
    return None


def shipped_size(obj: Task) -> int:
    """Bytes of ``obj`` as a process pool receives it: by reference, or by value; 0 if neither."""
    try:
        return len(pickle.dumps(obj))
    except Exception:  # noqa: BLE001 - pickle raises many kinds
        pass
    try:
        return len(pickle.dumps(ByValue(obj)))
    except Exception:  # noqa: BLE001 - cloudpickle missing, or it cannot pickle obj
        return 0


def ship(obj: T, inherits_main: bool, label: str = "workers",
         cache: dict[int, tuple[object, ByValue | None]] | None = None) -> T | ByValue:
    """``obj`` as workers can load it: by value if pickle cannot name it where they run.

    A callable goes by value (cloudpickle) if plain pickle cannot name it (a
    lambda, closure or nested function), or if it lives in ``__main__`` and the
    workers do not inherit ``__main__`` (spawn, forkserver, Dask). Anything else
    is returned as it is. When nothing can ship it, ModeFailed says so in one
    line naming the fix. ``cache`` keeps one answer per object (per run).
    """
    if isinstance(obj, (ByValue, type)) or not callable(obj):
        return obj
    cached = cache.get(id(obj)) if cache is not None else None
    if cached is not None and cached[0] is obj:
        return obj if cached[1] is None else cached[1]
    shipped: ByValue | None = None
    if (defined_in_main(obj) and not inherits_main) or not by_reference(obj):
        shipped = _by_value(obj, label)
    if cache is not None:
        cache[id(obj)] = (obj, shipped)
    return obj if shipped is None else shipped


def _by_value(obj: Callable[..., object], label: str) -> ByValue:
    in_main = defined_in_main(obj) and by_reference(obj)
    where = ("is defined in __main__ (a notebook or script), which these workers cannot import"
             if in_main else "cannot be pickled by reference (a lambda, closure or nested function)")
    move = ("use --start-method fork, or move it to a module" if in_main else
            "define it at module level and pass what it captures in its items")
    try:
        return ByValue(obj)
    except ImportError as exc:
        raise ModeFailed(f"{label}: {_name(obj)} {where}: pip install cloudpickle, or {move}") \
            from exc
    except Exception as exc:  # noqa: BLE001 - cloudpickle raises many kinds
        raise ModeFailed(f"{label}: {_name(obj)} {where}, and cloudpickle cannot ship it to these "
                         f"workers ({type(exc).__name__}: {exc}): {move}") from exc


def source_files(args: tuple[object, ...]) -> dict[str, str]:
    """The source files of the shipped functions among ``args`` (for :func:`restore_filenames`)."""
    files: dict[str, str] = {}
    for arg in args:
        if isinstance(arg, ByValue):
            files.update(arg.files)
    return files
