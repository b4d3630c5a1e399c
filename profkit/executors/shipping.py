"""Ship functions defined in ``__main__`` (a notebook, an IPython session) to worker processes.

A pool pickles a function by reference (``__main__.f``). A forked worker
inherits the parent's ``__main__`` and finds ``f``; a spawned or forkserver
worker starts a fresh interpreter whose ``__main__`` has no ``f``. For those,
the function travels by value with cloudpickle: :class:`ByValue` pickles as its
function's code and globals, and unpickles as the bare function, so profilers
in the worker see ``f`` itself and no wrapper frame. Dask does the same on its
own (its serializer falls back to cloudpickle for ``__main__``).
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

from profkit.errors import ModeFailed

#: Start methods whose workers inherit the parent's ``__main__``.
INHERITS_MAIN = ("fork",)

_WRAPPED: weakref.WeakKeyDictionary[Any, ByValue] = weakref.WeakKeyDictionary()
_LOADED: dict[bytes, Any] = {}
_LOADED_MAX = 64


def defined_in_main(obj: object) -> bool:
    """True for a function (or class) whose module is ``__main__``."""
    return callable(obj) and getattr(obj, "__module__", None) == "__main__" \
        and hasattr(obj, "__qualname__")


def _load(payload: bytes) -> Any:
    """Unpickle a shipped function once per worker; later items reuse it."""
    fn = _LOADED.get(payload)
    if fn is None:
        import cloudpickle

        if len(_LOADED) >= _LOADED_MAX:
            _LOADED.clear()
        fn = _LOADED[payload] = cloudpickle.loads(payload)
    return fn


class ByValue:
    """A callable that pickles as its function's code and globals (cloudpickle), not its name."""

    def __init__(self, fn: Any) -> None:
        import cloudpickle

        self.fn = fn
        self.payload: bytes = cloudpickle.dumps(fn)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return _load, (self.payload,)


def ship(obj: Any, start_method: str, label: str = "") -> Any:
    """``obj`` as a worker started by ``start_method`` can load it.

    Anything not defined in ``__main__``, or any start method that inherits
    ``__main__``, is returned as it is. Without cloudpickle a ``__main__``
    function cannot reach a spawned worker: ModeFailed says so in one line.
    """
    if start_method in INHERITS_MAIN or isinstance(obj, ByValue) or not defined_in_main(obj):
        return obj
    wrapped = _WRAPPED.get(obj)
    if wrapped is not None:
        return wrapped
    try:
        wrapped = ByValue(obj)
    except ImportError as exc:
        raise ModeFailed(
            f"{label or start_method}: {obj.__qualname__} is defined in __main__ (a notebook or "
            f"script), which {start_method} workers cannot import: pip install cloudpickle, "
            "or use --start-method fork, or move it to a module") from exc
    except Exception as exc:  # noqa: BLE001 - cloudpickle raises many kinds
        raise ModeFailed(
            f"{label or start_method}: {obj.__qualname__} is defined in __main__ and cloudpickle "
            f"cannot ship it to {start_method} workers ({type(exc).__name__}: {exc}): use "
            "--start-method fork, or move it to a module") from exc
    _WRAPPED[obj] = wrapped
    return wrapped


def ship_args(args: tuple[Any, ...], start_method: str, label: str = "") -> tuple[Any, ...]:
    """:func:`ship` applied to each argument of a submitted call."""
    return tuple(ship(a, start_method, label) for a in args)
