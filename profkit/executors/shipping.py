"""Ship functions defined in ``__main__`` (a notebook, an IPython session) to worker processes.

A pool pickles a function by reference (``__main__.f``). A forked worker
inherits the parent's ``__main__`` and finds ``f``; a spawned or forkserver
worker starts a fresh interpreter whose ``__main__`` has no ``f``. For those,
the function travels by value with cloudpickle: :class:`ByValue` pickles as its
function's code and globals, and unpickles as the bare function, so profilers
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
from types import CodeType, FunctionType
from typing import Any

from profkit.errors import ModeFailed

_LOADED: dict[bytes, Any] = {}
_LOADED_MAX = 64


def defined_in_main(obj: object) -> bool:
    """True for a function (or class) whose module is ``__main__``."""
    return callable(obj) and getattr(obj, "__module__", None) == "__main__" \
        and hasattr(obj, "__qualname__")


def _source_files(fn: Any) -> dict[str, str]:
    """Qualname -> source file of ``fn`` and the ``__main__`` functions it names, transitively."""
    found: dict[str, str] = {}
    todo = [fn]
    while todo:
        f = todo.pop()
        code = getattr(f, "__code__", None)
        if code is None or f.__qualname__ in found:
            continue
        found[f.__qualname__] = code.co_filename
        names = getattr(f, "__globals__", {})
        todo += [names[n] for n in code.co_names if defined_in_main(names.get(n))]
    return found


def _with_filename(code: CodeType, filename: str) -> CodeType:
    consts = tuple(_with_filename(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def restore_filenames(fn: Any, files: dict[str, str]) -> None:
    """Give shipped code its source file back (cloudpickle names it ``<dynamic-code>``).

    The workers' profiles then merge with the parent's, and line_profiler finds the source.
    """
    todo, seen = [fn], set()
    while todo:
        f = todo.pop()
        code = getattr(f, "__code__", None)
        if code is None or id(f) in seen:
            continue
        seen.add(id(f))
        filename = files.get(f.__qualname__)
        if filename and code.co_filename != filename:
            f.__code__ = _with_filename(code, filename)
        names = getattr(f, "__globals__", {})
        todo += [names[n] for n in code.co_names if isinstance(names.get(n), FunctionType)]


def _load(payload: bytes, files: dict[str, str] | None = None) -> Any:
    """Unpickle a shipped function once per worker; later items reuse it."""
    fn = _LOADED.get(payload)
    if fn is None:
        import cloudpickle

        if len(_LOADED) >= _LOADED_MAX:
            _LOADED.clear()
        fn = cloudpickle.loads(payload)
        restore_filenames(fn, files or {})
        _LOADED[payload] = fn
    return fn


class ByValue:
    """A callable that pickles as its function's code and globals (cloudpickle), not its name."""

    def __init__(self, fn: Any) -> None:
        import cloudpickle

        self.fn = fn
        self.payload: bytes = cloudpickle.dumps(fn)
        self.files = _source_files(fn)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __reduce__(self) -> tuple[Any, tuple[bytes, dict[str, str]]]:
        return _load, (self.payload, self.files)


def ship(obj: Any, inherits_main: bool, label: str = "workers",
         cache: dict[int, tuple[Any, ByValue]] | None = None) -> Any:
    """``obj`` as workers can load it: by value if it lives in ``__main__`` and they lack it.

    Anything not defined in ``__main__``, or anything going to workers that
    inherit ``__main__`` (forked ones), is returned as it is. Without
    cloudpickle a ``__main__`` function cannot reach other workers: ModeFailed
    says so in one line. ``cache`` keeps one wrapper per object (per run).
    """
    if inherits_main or isinstance(obj, ByValue) or not defined_in_main(obj):
        return obj
    cached = cache.get(id(obj)) if cache is not None else None
    if cached is not None and cached[0] is obj:
        return cached[1]
    try:
        wrapped = ByValue(obj)
    except ImportError as exc:
        raise ModeFailed(
            f"{label}: {obj.__qualname__} is defined in __main__ (a notebook or script), which "
            "these workers cannot import: pip install cloudpickle, or use --start-method fork, "
            "or move it to a module") from exc
    except Exception as exc:  # noqa: BLE001 - cloudpickle raises many kinds
        raise ModeFailed(
            f"{label}: {obj.__qualname__} is defined in __main__ and cloudpickle cannot ship it "
            f"to these workers ({type(exc).__name__}: {exc}): use --start-method fork, or move "
            "it to a module") from exc
    if cache is not None:
        cache[id(obj)] = (obj, wrapped)
    return wrapped


def source_files(args: tuple[Any, ...]) -> dict[str, str]:
    """The source files of the shipped functions among ``args`` (for :func:`restore_filenames`)."""
    files: dict[str, str] = {}
    for arg in args:
        if isinstance(arg, ByValue):
            files.update(arg.files)
    return files
