"""The pool methods ``profkit run`` measures, patched on their classes while the program runs.

Each patched method finds its call site, hands the pool a :class:`SiteTask` in
place of the program's callable, and unwraps every result before the program
sees it: futures, iterators and ``AsyncResult`` objects give the program its
own values. Covered: ``concurrent.futures`` ``ProcessPoolExecutor`` and
``ThreadPoolExecutor`` (``submit``, ``map``), and ``multiprocessing.pool.Pool``
and ``ThreadPool`` (``map``, ``starmap``, ``map_async``, ``starmap_async``,
``imap``, ``imap_unordered``, ``apply_async`` and through it ``apply``).
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import concurrent.futures.thread
import contextlib
import multiprocessing.pool
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

from profkit.program.sites import Registry, Site
from profkit.program.worker import SiteTask

_PPE = concurrent.futures.ProcessPoolExecutor
_TPE = concurrent.futures.ThreadPoolExecutor
_POOL = multiprocessing.pool.Pool

#: (class, name) -> the original attribute, while patched.
_originals: dict[tuple[type, str], Any] = {}
#: Set while a patched ``map`` submits: its own submits are not sites of their own.
_inside = threading.local()


@contextlib.contextmanager
def _waiting(site: Site) -> Iterator[None]:
    """Count the time the block takes as the program's wait for ``site``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        site.wait_s += time.perf_counter() - start


class SiteFuture(Future):  # type: ignore[type-arg]
    """The future the program holds: the pool's own future's outcome, unwrapped."""

    def __init__(self, inner: Future, registry: Registry, site: Site) -> None:  # type: ignore[type-arg]
        super().__init__()
        self._inner = inner
        self._registry = registry
        self._site = site
        inner.add_done_callback(self._transfer)

    def result(self, timeout: float | None = None) -> Any:
        with _waiting(self._site):
            return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        with _waiting(self._site):
            return super().exception(timeout)

    def _transfer(self, inner: Future) -> None:  # type: ignore[type-arg]
        if inner.cancelled():
            Future.cancel(self)
            self.set_running_or_notify_cancel()
            return
        exc = inner.exception()
        if exc is not None:
            self._registry.receive_error(exc)
            self.set_exception(exc)
        else:
            self.set_result(self._registry.receive(inner.result()))

    def cancel(self) -> bool:
        return self._inner.cancel()

    def running(self) -> bool:
        return self._inner.running() and not self.done()


def _unwrapped(registry: Registry, site: Site, results: Any) -> Iterator[Any]:
    """The program's values from an iterator of outcomes; a failed task's record kept."""
    it = iter(results)
    try:
        while True:
            with _waiting(site):
                try:
                    outcome = next(it)
                except StopIteration:
                    return
            yield registry.receive(outcome)
    except BaseException as exc:
        registry.receive_error(exc)
        raise
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


class SiteIterator:
    """``Pool.imap``'s iterator, unwrapped; ``next(timeout)`` kept."""

    def __init__(self, inner: Any, registry: Registry, site: Site) -> None:
        self._inner, self._registry, self._site = inner, registry, site

    def __iter__(self) -> SiteIterator:
        return self

    def next(self, timeout: float | None = None) -> Any:
        try:
            inner = self._inner
            with _waiting(self._site):
                value = inner.next(timeout) if hasattr(inner, "next") else next(inner)
            return self._registry.receive(value)
        except StopIteration:
            raise
        except BaseException as exc:
            self._registry.receive_error(exc)
            raise

    __next__ = next


class SiteAsyncResult:
    """``Pool.apply_async``/``map_async``'s ``AsyncResult``, unwrapped."""

    def __init__(self, inner: Any, registry: Registry, site: Site, many: bool) -> None:
        self._inner, self._registry, self._site, self._many = inner, registry, site, many

    def get(self, timeout: float | None = None) -> Any:
        try:
            with _waiting(self._site):
                value = self._inner.get(timeout)
        except BaseException as exc:
            self._registry.receive_error(exc)
            raise
        # the callback profkit gave the pool has kept the records already
        return [Registry.unwrap(v) for v in value] if self._many else Registry.unwrap(value)

    def wait(self, timeout: float | None = None) -> None:
        with _waiting(self._site):
            self._inner.wait(timeout)

    def ready(self) -> bool:
        return bool(self._inner.ready())

    def successful(self) -> bool:
        return bool(self._inner.successful())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _unwrap_list(registry: Registry, site: Site, call: Callable[[], Any]) -> list[Any]:
    try:
        with _waiting(site):
            values = call()
    except BaseException as exc:
        registry.receive_error(exc)
        raise
    return [registry.receive(v) for v in values]


def _unwrap_value(registry: Registry, value: Any, many: bool) -> Any:
    return [registry.receive(v) for v in value] if many else registry.receive(value)


def _callbacks(registry: Registry, many: bool, callback: Callable[[Any], Any] | None,
               error_callback: Callable[[BaseException], Any] | None) -> tuple[Any, Any]:
    def on_result(value: Any) -> Any:
        value = _unwrap_value(registry, value, many)
        return callback(value) if callback is not None else None

    def on_error(exc: BaseException) -> Any:
        registry.receive_error(exc)
        return error_callback(exc) if error_callback is not None else None

    return on_result, on_error


def _length(iterable: Any) -> int | None:
    try:
        return len(iterable)
    except TypeError:
        return None


def _executor_site(registry: Registry, executor: Any, fn: Any, method: str,
                   chunksize: int | None, items: int | None) -> tuple[Site, SiteTask]:
    processes = isinstance(executor, _PPE)
    start_method = None
    if processes:
        context = getattr(executor, "_mp_context", None)
        start_method = context.get_start_method() if context is not None else None
    site = registry.site(fn, f"{type(executor).__name__}.{method}", processes=processes,
                         workers=int(getattr(executor, "_max_workers", 0) or 0),
                         start_method=start_method, chunksize=chunksize, items=items)
    return site, SiteTask(fn, site.number, profile=registry.profile, sizes=processes,
                          lines=registry.lines)


def _pool_site(registry: Registry, pool: Any, fn: Any, method: str, iterable: Any,
               chunksize: int | None) -> tuple[Site, SiteTask, Any]:
    processes = not isinstance(pool, multiprocessing.pool.ThreadPool)
    workers = int(getattr(pool, "_processes", 0) or 0)
    items = _length(iterable)
    lazy = method.startswith("imap")
    if iterable is not None and items is None and not lazy:
        iterable = list(iterable)  # as the pool's own map does
        items = len(iterable)
    if chunksize is None and items is not None and method in ("map", "starmap", "map_async",
                                                               "starmap_async"):
        chunksize, extra = divmod(items, max(1, workers) * 4)
        chunksize += bool(extra)
    context = getattr(pool, "_ctx", None)
    start_method = context.get_start_method() if processes and context is not None else None
    site = registry.site(fn, f"{type(pool).__name__}.{method}", processes=processes,
                         workers=workers, start_method=start_method, chunksize=chunksize,
                         items=items if iterable is not None else 1)
    if method.startswith("starmap"):
        site.replay_note = site.replay_note or "its tasks take several arguments; a workload's one"
    elif lazy and items is None:
        site.replay_note = site.replay_note or "its items came from an iterator, read as it ran"
    else:
        registry.keep(site, fn, (iterable,) if iterable is not None else None)
    return site, SiteTask(fn, site.number, profile=registry.profile, sizes=processes,
                          lines=registry.lines), iterable


def install(registry: Registry) -> None:
    """Patch the pool classes to report to ``registry``; :func:`uninstall` undoes it."""
    if _originals:
        raise RuntimeError("pool patches are already installed")

    def keep(cls: type, name: str) -> Any:
        _originals[(cls, name)] = cls.__dict__.get(name)  # None: inherited
        return getattr(cls, name)

    def patch_executor(cls: type) -> None:
        submit, map_ = keep(cls, "submit"), keep(cls, "map")

        def patched_submit(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            if getattr(_inside, "map", False) or isinstance(fn, SiteTask):
                return submit(self, fn, *args, **kwargs)
            site, task = _executor_site(registry, self, fn, "submit", None, 1)
            registry.keep(site, fn, None)
            return SiteFuture(submit(self, task, *args, **kwargs), registry, site)

        def patched_map(self: Any, fn: Any, *iterables: Any, timeout: float | None = None,
                        chunksize: int = 1) -> Any:
            iterables = tuple(x if _length(x) is not None else list(x) for x in iterables)
            items = min((_length(x) or 0 for x in iterables), default=0)
            site, task = _executor_site(registry, self, fn, "map", chunksize, items)
            registry.keep(site, fn, iterables)
            _inside.map = True
            try:
                if cls is _PPE:
                    results = map_(self, task, *iterables, timeout=timeout, chunksize=chunksize)
                else:
                    results = map_(self, task, *iterables, timeout=timeout)
            finally:
                _inside.map = False
            return _unwrapped(registry, site, results)

        cls.submit = patched_submit  # type: ignore[attr-defined]
        cls.map = patched_map  # type: ignore[attr-defined]

    patch_executor(_PPE)
    patch_executor(_TPE)

    map_, starmap = keep(_POOL, "map"), keep(_POOL, "starmap")
    map_async, starmap_async = keep(_POOL, "map_async"), keep(_POOL, "starmap_async")
    imap, imap_unordered = keep(_POOL, "imap"), keep(_POOL, "imap_unordered")
    apply_async = keep(_POOL, "apply_async")

    def pool_map(self: Any, func: Any, iterable: Any, chunksize: int | None = None) -> Any:
        site, task, iterable = _pool_site(registry, self, func, "map", iterable, chunksize)
        return _unwrap_list(registry, site, lambda: map_(self, task, iterable, chunksize))

    def pool_starmap(self: Any, func: Any, iterable: Any, chunksize: int | None = None) -> Any:
        site, task, iterable = _pool_site(registry, self, func, "starmap", iterable, chunksize)
        return _unwrap_list(registry, site, lambda: starmap(self, task, iterable, chunksize))

    def async_map(original: Any, method: str) -> Any:
        def patched(self: Any, func: Any, iterable: Any, chunksize: int | None = None,
                    callback: Any = None, error_callback: Any = None) -> Any:
            site, task, iterable = _pool_site(registry, self, func, method, iterable, chunksize)
            on_result, on_error = _callbacks(registry, True, callback, error_callback)
            return SiteAsyncResult(original(self, task, iterable, chunksize, on_result, on_error),
                                   registry, site, many=True)
        return patched

    def lazy_map(original: Any, method: str) -> Any:
        def patched(self: Any, func: Any, iterable: Any, chunksize: int = 1) -> Any:
            site, task, iterable = _pool_site(registry, self, func, method, iterable, chunksize)
            return SiteIterator(original(self, task, iterable, chunksize), registry, site)
        return patched

    def pool_apply_async(self: Any, func: Any, args: Any = (), kwds: Any = None,
                         callback: Any = None, error_callback: Any = None) -> Any:
        site, task, _ = _pool_site(registry, self, func, "apply_async", None, None)
        on_result, on_error = _callbacks(registry, False, callback, error_callback)
        return SiteAsyncResult(apply_async(self, task, args, kwds or {}, on_result, on_error),
                               registry, site, many=False)

    _POOL.map = pool_map  # type: ignore[method-assign]
    _POOL.starmap = pool_starmap  # type: ignore[method-assign]
    _POOL.map_async = async_map(map_async, "map_async")  # type: ignore[method-assign]
    _POOL.starmap_async = async_map(starmap_async, "starmap_async")  # type: ignore[method-assign]
    _POOL.imap = lazy_map(imap, "imap")  # type: ignore[method-assign]
    _POOL.imap_unordered = lazy_map(imap_unordered, "imap_unordered")  # type: ignore[method-assign]
    _POOL.apply_async = pool_apply_async  # type: ignore[method-assign]


def uninstall() -> None:
    """Put the pool classes back as they were."""
    for (cls, name), original in _originals.items():
        if original is None:
            delattr(cls, name)
        else:
            setattr(cls, name, original)
    _originals.clear()
