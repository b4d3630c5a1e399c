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
import functools
import multiprocessing.pool
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from concurrent.futures import Future
from typing import Generic, ParamSpec, TypeVar, overload

from profkit.program.sites import Registry, Site
from profkit.program.worker import SiteTask, TaskOutcome, hide_own_frames

_PPE = concurrent.futures.ProcessPoolExecutor
_TPE = concurrent.futures.ThreadPoolExecutor
_POOL = multiprocessing.pool.Pool

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")
#: An item of the iterable a pool method maps over (a tuple of arguments for ``starmap``).
E = TypeVar("E")
#: A function the program gives its pool; profkit passes it on, wrapped, and never calls it.
Fn = Callable[..., object]
#: A callback the program gives ``map_async`` or ``apply_async``.
Callback = Callable[[object], object]
ErrorCallback = Callable[[BaseException], object]

#: (class, name) -> the original attribute, while patched.
_originals: dict[tuple[type, str], object] = {}
#: Set while a patched ``map`` submits: its own submits are not sites of their own.
_inside = threading.local()


def _hiding(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` as the program calls it: an exception leaves it with profkit's frames taken out of
    its traceback (:func:`~profkit.program.worker.hide_own_frames`)."""
    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except BaseException as exc:
            hide_own_frames(exc)
            raise
    return call


@contextlib.contextmanager
def _waiting(site: Site) -> Iterator[None]:
    """Count the time the block takes as the program's wait for ``site``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        site.wait_s += time.perf_counter() - start


class SiteFuture(Future[object]):
    """The future the program holds: the pool's own future's outcome, unwrapped."""

    def __init__(self, inner: Future[TaskOutcome], registry: Registry, site: Site) -> None:
        super().__init__()
        self._inner = inner
        self._registry = registry
        self._site = site
        inner.add_done_callback(self._transfer)

    @_hiding
    def result(self, timeout: float | None = None) -> object:
        with _waiting(self._site):
            return super().result(timeout)

    @_hiding
    def exception(self, timeout: float | None = None) -> BaseException | None:
        with _waiting(self._site):
            return super().exception(timeout)

    def _transfer(self, inner: Future[TaskOutcome]) -> None:
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


def _unwrapped(registry: Registry, site: Site, results: Iterator[object]) -> Iterator[object]:
    """The program's values from an iterator of outcomes (their records were kept as they
    arrived); a failed task's record kept."""
    it = iter(results)
    try:
        while True:
            with _waiting(site):
                try:
                    outcome = next(it)
                except StopIteration:
                    return
            yield Registry.unwrap(outcome)
    except BaseException as exc:
        registry.receive_error(exc)
        hide_own_frames(exc)
        raise
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


class SiteIterator:
    """``Pool.imap``'s iterator, unwrapped; ``next(timeout)`` kept."""

    def __init__(self, inner: multiprocessing.pool.IMapIterator[TaskOutcome], registry: Registry,
                 site: Site) -> None:
        self._inner, self._registry, self._site = inner, registry, site

    def __iter__(self) -> SiteIterator:
        return self

    def next(self, timeout: float | None = None) -> object:
        try:
            inner = self._inner
            with _waiting(self._site):
                value = inner.next(timeout) if hasattr(inner, "next") else next(inner)
            return Registry.unwrap(value)  # its record was kept as it arrived
        except StopIteration:
            raise
        except BaseException as exc:
            self._registry.receive_error(exc)
            hide_own_frames(exc)
            raise

    __next__ = next


class SiteAsyncResult(Generic[T, R]):
    """``Pool.apply_async``/``map_async``'s ``AsyncResult``, unwrapped by ``unwrap``
    (one outcome, or a map's list of them)."""

    def __init__(self, inner: multiprocessing.pool.AsyncResult[T], registry: Registry, site: Site,
                 unwrap: Callable[[T], R]) -> None:
        self._inner, self._registry, self._site, self._unwrap = inner, registry, site, unwrap

    def get(self, timeout: float | None = None) -> R:
        try:
            with _waiting(self._site):
                value = self._inner.get(timeout)
        except BaseException as exc:
            self._registry.receive_error(exc)
            hide_own_frames(exc)
            raise
        return self._unwrap(value)  # its records were kept as they arrived

    @_hiding
    def wait(self, timeout: float | None = None) -> None:
        with _waiting(self._site):
            self._inner.wait(timeout)

    def ready(self) -> bool:
        return bool(self._inner.ready())

    def successful(self) -> bool:
        return bool(self._inner.successful())

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def _unwrap_each(outcomes: Iterable[object]) -> list[object]:
    """The program's values of a map's outcomes, nothing kept."""
    return [Registry.unwrap(v) for v in outcomes]


def _unwrap_list(registry: Registry, site: Site, call: Callable[[], Iterable[object]]) -> list[object]:
    try:
        with _waiting(site):
            values = call()
    except BaseException as exc:
        registry.receive_error(exc)
        raise
    return _unwrap_each(values)


def _callbacks(registry: Registry, unwrap: Callable[[T], object], callback: Callback | None,
               error_callback: ErrorCallback | None) -> tuple[Callable[[T], object], ErrorCallback]:
    """The callbacks profkit gives the pool: ``unwrap`` gives the program's value of the
    outcome (or a map's list of outcomes) to the program's own callback."""
    def on_result(outcome: T) -> object:
        value = unwrap(outcome)
        return callback(value) if callback is not None else None

    def on_error(exc: BaseException) -> object:
        registry.receive_error(exc)
        return error_callback(exc) if error_callback is not None else None

    return on_result, on_error


def _arrived(registry: Registry) -> Callable[[Future[object]], None]:
    """A done-callback for the futures a patched ``map`` submits: their tasks' records are
    kept as they arrive, whether or not the program reads the map's results."""
    def done(future: Future[object]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            registry.receive_error(exc)
        else:
            registry.receive_arrived(future.result())
    return done


def _arriving(registry: Registry, set_: Callable[..., None]) -> Callable[..., None]:
    """A ``Pool`` result's ``_set`` that keeps the records of its tasks' outcomes as the pool's
    result thread hands them over (every chunk's, failed or not), whether or not the
    program reads them."""
    def patched(self: object, i: int, obj: tuple[bool, object]) -> None:
        with contextlib.suppress(TypeError, ValueError):
            success, value = obj
            if success:
                registry.receive_arrived(value)
            elif isinstance(value, BaseException):
                registry.receive_error(value)
        set_(self, i, obj)
    return patched


def _length(iterable: object) -> int | None:
    try:
        return len(iterable) if isinstance(iterable, Sized) else None
    except TypeError:
        return None


def _executor_site(registry: Registry, executor: concurrent.futures.Executor, fn: Fn, method: str,
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


@overload
def _pool_site(registry: Registry, pool: multiprocessing.pool.Pool, fn: Fn, method: str,
               iterable: Iterable[E], chunksize: int | None) -> tuple[Site, SiteTask, Iterable[E]]: ...


@overload
def _pool_site(registry: Registry, pool: multiprocessing.pool.Pool, fn: Fn, method: str,
               iterable: None, chunksize: int | None) -> tuple[Site, SiteTask, None]: ...


def _pool_site(registry: Registry, pool: multiprocessing.pool.Pool, fn: Fn, method: str,
               iterable: Iterable[E] | None,
               chunksize: int | None) -> tuple[Site, SiteTask, Iterable[E] | None]:
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


#: ``Pool.map_async`` and ``Pool.starmap_async`` (called with a SiteTask), and as patched.
AsyncMap = Callable[..., "multiprocessing.pool.ApplyResult[list[TaskOutcome]]"]
PatchedAsyncMap = Callable[..., "SiteAsyncResult[list[TaskOutcome], list[object]]"]
#: ``Pool.imap`` and ``Pool.imap_unordered`` (called with a SiteTask), and as patched.
LazyMap = Callable[..., "multiprocessing.pool.IMapIterator[TaskOutcome]"]
PatchedLazyMap = Callable[..., SiteIterator]


def install(registry: Registry) -> None:
    """Patch the pool classes to report to ``registry``; :func:`uninstall` undoes it."""
    if _originals:
        raise RuntimeError("pool patches are already installed")

    def keep(cls: type, name: str) -> None:
        _originals[(cls, name)] = cls.__dict__.get(name)  # None: inherited

    arrived = _arrived(registry)

    def patch_executor(cls: type[concurrent.futures.Executor]) -> None:
        keep(cls, "submit")
        keep(cls, "map")
        submit, map_ = cls.submit, cls.map

        def patched_submit(self: concurrent.futures.Executor, fn: Fn, /, *args: object,
                           **kwargs: object) -> Future[object]:
            if getattr(_inside, "map", False):
                future = submit(self, fn, *args, **kwargs)
                future.add_done_callback(arrived)
                return future
            if isinstance(fn, SiteTask):
                return submit(self, fn, *args, **kwargs)
            site, task = _executor_site(registry, self, fn, "submit", None, 1)
            registry.keep(site, fn, None)
            return SiteFuture(submit(self, task, *args, **kwargs), registry, site)

        def patched_map(self: concurrent.futures.Executor, fn: Fn, *iterables: Iterable[object],
                        timeout: float | None = None, chunksize: int = 1) -> Iterator[object]:
            # the items, read as Executor.map reads them: up to the end of the shortest iterable
            # (an endless one, such as itertools.repeat(session), beside a list)
            rows: list[tuple[object, ...]] = []
            raised: BaseException | None = None
            try:
                rows.extend(zip(*iterables, strict=False))
            except BaseException as exc:  # noqa: BLE001 - raised below, once the items before it are submitted
                raised = exc  # python submits the items read before an iterable raised
            iterables = tuple(map(list, zip(*rows, strict=True))) if rows else tuple([] for _ in iterables)
            site, task = _executor_site(registry, self, fn, "map", chunksize, len(rows))
            if raised is None:
                registry.keep(site, fn, iterables)
            _inside.map = True
            try:
                if cls is _PPE:
                    results = map_(self, task, *iterables, timeout=timeout, chunksize=chunksize)
                else:
                    results = map_(self, task, *iterables, timeout=timeout)
            finally:
                _inside.map = False
            if raised is not None:
                raise raised
            return _unwrapped(registry, site, results)

        # the patches' signatures are the originals' (their results are profkit's wrappers)
        for name, patched in (("submit", patched_submit), ("map", patched_map)):
            setattr(cls, name, _hiding(patched))

    patch_executor(_PPE)
    patch_executor(_TPE)

    results: tuple[type, ...] = (multiprocessing.pool.ApplyResult, multiprocessing.pool.MapResult,
                                 multiprocessing.pool.IMapIterator,
                                 multiprocessing.pool.IMapUnorderedIterator)
    for result in results:
        keep(result, "_set")
        result._set = _arriving(registry, result._set)  # type: ignore[attr-defined]

    for name in ("map", "starmap", "map_async", "starmap_async", "imap", "imap_unordered",
                 "apply_async"):
        keep(_POOL, name)
    map_, starmap = _POOL.map, _POOL.starmap
    map_async, starmap_async = _POOL.map_async, _POOL.starmap_async
    imap, imap_unordered = _POOL.imap, _POOL.imap_unordered
    apply_async = _POOL.apply_async

    def pool_map(self: multiprocessing.pool.Pool, func: Fn, iterable: Iterable[object],
                 chunksize: int | None = None) -> list[object]:
        site, task, iterable = _pool_site(registry, self, func, "map", iterable, chunksize)
        return _unwrap_list(registry, site, lambda: map_(self, task, iterable, chunksize))

    def pool_starmap(self: multiprocessing.pool.Pool, func: Fn, iterable: Iterable[Iterable[object]],
                     chunksize: int | None = None) -> list[object]:
        site, task, iterable = _pool_site(registry, self, func, "starmap", iterable, chunksize)
        return _unwrap_list(registry, site, lambda: starmap(self, task, iterable, chunksize))

    def async_map(original: AsyncMap, method: str) -> PatchedAsyncMap:
        def patched(self: multiprocessing.pool.Pool, func: Fn, iterable: Iterable[object],
                    chunksize: int | None = None, callback: Callback | None = None,
                    error_callback: ErrorCallback | None = None,
                    ) -> SiteAsyncResult[list[TaskOutcome], list[object]]:
            site, task, iterable = _pool_site(registry, self, func, method, iterable, chunksize)
            on_result, on_error = _callbacks(registry, _unwrap_each, callback, error_callback)
            return SiteAsyncResult(original(self, task, iterable, chunksize, on_result, on_error),
                                   registry, site, _unwrap_each)
        return patched

    def lazy_map(original: LazyMap, method: str) -> PatchedLazyMap:
        def patched(self: multiprocessing.pool.Pool, func: Fn, iterable: Iterable[object],
                    chunksize: int = 1) -> SiteIterator:
            site, task, iterable = _pool_site(registry, self, func, method, iterable, chunksize)
            return SiteIterator(original(self, task, iterable, chunksize), registry, site)
        return patched

    def pool_apply_async(self: multiprocessing.pool.Pool, func: Fn, args: Iterable[object] = (),
                         kwds: Mapping[str, object] | None = None, callback: Callback | None = None,
                         error_callback: ErrorCallback | None = None,
                         ) -> SiteAsyncResult[TaskOutcome, object]:
        site, task, _ = _pool_site(registry, self, func, "apply_async", None, None)
        on_result, on_error = _callbacks(registry, Registry.unwrap, callback, error_callback)
        return SiteAsyncResult(apply_async(self, task, args, kwds or {}, on_result, on_error),
                               registry, site, Registry.unwrap)

    patches: dict[str, Callable[..., object]] = {
        "map": pool_map, "starmap": pool_starmap,
        "map_async": async_map(map_async, "map_async"),
        "starmap_async": async_map(starmap_async, "starmap_async"),
        "imap": lazy_map(imap, "imap"), "imap_unordered": lazy_map(imap_unordered, "imap_unordered"),
        "apply_async": pool_apply_async,
    }
    for name, patched in patches.items():
        setattr(_POOL, name, _hiding(patched))


def uninstall() -> None:
    """Put the pool classes back as they were."""
    for (cls, name), original in _originals.items():
        if original is None:
            delattr(cls, name)
        else:
            setattr(cls, name, original)
    _originals.clear()
