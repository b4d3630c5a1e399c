"""``dask``: the map on a Dask cluster, embedded or external.

Without a scheduler address, :class:`DaskExecutor` starts an embedded
``LocalCluster`` (one single-threaded worker process per worker, on
127.0.0.1, no dashboard). With one (``--scheduler tcp://HOST:PORT``), it
connects to a running cluster and uses every worker thread it has.

The timed map is a real ``client.map(task, items, pure=False)`` across the
workers, gathered in the parent. Collector batches run inside the workers and
return records and stats with each batch. Every wait is bounded, so a
scheduler nobody listens on, a worker that dies or a cluster that loses its
workers turns into a clear :class:`~profkit.errors.ModeFailed`, never a hang.

``distributed`` is an optional extra: it is imported when the executor is
made, never when profkit is imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import CancelledError
from typing import TYPE_CHECKING, Generic, TypedDict

from profkit.errors import ModeFailed, ProfkitError, UsageError
from profkit.executors.base import Executor, R, Settings, Task, time_in_parent
from profkit.executors.dask.addresses import MISSING_DASK, normalize_address
from profkit.executors.dask.workers import (
    WorkerInfo,
    call_on_worker,
    call_restored,
    file_module_plugin,
    load_file_modules,
    scheduler_allowed_failures,
    set_gc,
    touch_task,
    worker_info,
)
from profkit.executors.shipping import source_files
from profkit.model import JSON, ModeSpec, Payload, TaskColumns, TaskRecord, Traits, WorkerLabel

if TYPE_CHECKING:
    from dask.typing import Key
    from distributed import Client, Future, KilledWorker, LocalCluster

#: What distributed raises when a wait runs out: asyncio's TimeoutError, which before Python
#: 3.11 is not the builtin one.
TIMEOUTS = (TimeoutError, asyncio.TimeoutError)

#: How long a refused connection is retried (a scheduler that is still starting).
REFUSED_GRACE_S = 5.0
#: Upper bound on closing the client and the embedded cluster, each.
CLOSE_TIMEOUT_S = 15.0
#: How often a long wait checks that the cluster still has its workers.
POLL_S = 0.25

_DIED_HINT = "look for os._exit, a crash in C code, or the out-of-memory killer"


#: The embedded cluster's scheduler and nannies run on an event loop in profkit's own process.
#: Their diagnostics wake it 50 times a second (the 20 ms tick) and read each worker's memory
#: 10 times a second; each wake-up takes the GIL from the sequential map timed in this process,
#: which runs several percent slower with a default LocalCluster alive (inflating every
#: speedup) and not measurably slower with these intervals.
QUIET_CLUSTER = {
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


class LocalWorker(WorkerInfo):
    """A worker as this process sees it: on its host or not, and its clock's offset."""

    same_host: bool
    clock_offset_s: float
    clock_uncertainty_s: float


class SchedulerWorker(TypedDict, total=False):
    """What the scheduler's ``scheduler_info()`` says of a worker (the fields read here)."""

    nthreads: int
    memory_limit: int
    host: str


class _DaskFuture(Generic[R]):
    """A distributed Future with concurrent.futures' ``result(timeout)``, bounded and explained."""

    def __init__(self, pool: DaskExecutor, future: Future[R], what: str) -> None:
        self._pool = pool
        self._future = future
        self._what = what
        #: The result, once had (a 1-tuple: the result itself may be None).
        self._value: tuple[R] | None = None

    @property
    def key(self) -> Key:
        return self._future.key

    def done(self) -> bool:
        return bool(self._future.done())

    def cancel(self) -> bool:
        with contextlib.suppress(Exception):
            self._future.cancel()
        return True

    def result(self, timeout: float | None = None) -> R:
        if self._value is not None:
            return self._value[0]
        pool = self._pool
        pool._wait([self._future], timeout, {self._future.key: self._what})
        result: R = pool._result(lambda: self._future.result(), {self._future.key: self._what})
        if isinstance(result, Payload):
            pool._correct_clocks(result.records)
            if result.tasks is not None:
                pool._correct_task_clocks(result.tasks)
        self._value = (result,)
        return result


class DaskExecutor(Executor):
    """A Dask cluster behind the Executor interface.

    ``scheduler=None`` starts an embedded LocalCluster with ``workers``
    single-threaded worker processes; an address connects to a running
    scheduler, and ``workers`` becomes the number of worker threads it has.
    """

    kind = "dask"
    traits = Traits(parallel=True, ships_pickles=True, shares_memory=False, shares_gil=False,
                    worker_label=WorkerLabel.ADDRESS, honours_chunksize=False)

    def __init__(self, spec: ModeSpec, settings: Settings,
                 connect_timeout_s: float | None = None) -> None:
        super().__init__(spec, settings)
        workers, scheduler = spec.workers, settings.scheduler
        try:
            import distributed
        except ImportError as exc:
            raise UsageError(MISSING_DASK) from exc
        self._distributed = distributed
        self.requested_workers = workers
        self.scheduler = normalize_address(scheduler) if scheduler else None
        self.file_modules = dict(settings.file_modules)
        if connect_timeout_s is None:
            import dask.config
            from dask.utils import parse_timedelta

            connect_timeout_s = parse_timedelta(
                dask.config.get("distributed.comm.timeouts.connect", "30s"), default="seconds")
        self.connect_timeout_s = float(connect_timeout_s or 30.0)
        self._client: Client | None = None
        self.cluster: LocalCluster | None = None
        self.address: str | None = self.scheduler
        self.allowed_failures: int | None = None
        self._plugin_name: str | None = None
        self._info: dict[str, LocalWorker] = {}
        self._offsets: dict[str, float] = {}
        #: The scheduler's remove-worker events (worker, processing-tasks, expected, ...).
        self._removed: list[dict[str, object]] = []
        self._removed_lock = threading.Lock()
        self._subscribed = False
        self._pending: list[Future[object]] = []
        self._broken: str | None = None
        self._quiet = contextlib.ExitStack()
        #: Task key -> 'item N' for what is in flight, so a dead worker's tasks get named.
        self._whats: dict[Key, str] = {}
        self._label = f"dask:{workers}"

    @property
    def workers_inherit_main(self) -> bool:
        """Dask workers never see our ``__main__``: functions from there go by value."""
        return False

    # -- start --

    def start(self, task: Task) -> float:
        """Start (or reach) the cluster, load the task on every worker; return the seconds it took."""
        t0 = time.perf_counter()
        # Dask logs worker deaths and lost connections with tracebacks; profkit reports them
        # as one clear error instead, so its handlers stay quiet while this pool is open.
        from distributed.utils import silence_logging_cmgr

        self._quiet.enter_context(silence_logging_cmgr(logging.CRITICAL + 1))
        try:
            if self.scheduler is None:
                self._start_embedded()
            else:
                self._connect_external(self.scheduler)
            self._prepare_workers(task)
        except ProfkitError:
            raise
        except TIMEOUTS as exc:
            raise ModeFailed(f"{self._label}: the Dask cluster was not ready in time ({exc})") from exc
        except Exception as exc:  # noqa: BLE001 - distributed raises many kinds; say which
            raise ModeFailed(f"{self._label}: could not start the Dask cluster: "
                             f"{type(exc).__name__}: {exc}") from exc
        self.startup_s = time.perf_counter() - t0
        return self.startup_s

    def _start_embedded(self) -> None:
        import dask.config
        from distributed import Client, LocalCluster

        # A worker that dies fails its task at once (KilledWorker) instead of
        # re-running it on another worker: a re-run would pollute the timings.
        with dask.config.set({"distributed.scheduler.allowed-failures": 0, **QUIET_CLUSTER}):
            self.cluster = LocalCluster(
                n_workers=self.requested_workers, threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=None, silence_logs=logging.CRITICAL,
                # No dashboard; the scheduler's small HTTP server (health, metrics) on a free
                # loopback port, not on 8787, which a user's own cluster may hold.
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            )
        self.allowed_failures = 0
        self.address = self.cluster.scheduler_address
        self._client = Client(self.cluster, timeout=self.connect_timeout_s, set_as_default=False)
        self.client.wait_for_workers(self.requested_workers, timeout=self.connect_timeout_s)

    def _connect_external(self, address: str) -> None:
        from distributed import Client

        self._preflight(address)
        try:
            self._client = Client(address, timeout=self.connect_timeout_s, set_as_default=False)
        except (OSError, *TIMEOUTS) as exc:
            raise ModeFailed(
                f"{self._label}: cannot reach the Dask scheduler at {address}: is it running? "
                f"start one with `dask scheduler` ({type(exc).__name__}: {exc})") from exc
        try:
            self.client.wait_for_workers(1, timeout=self.connect_timeout_s)
        except TIMEOUTS as exc:
            raise ModeFailed(
                f"{self._label}: the Dask scheduler at {address} has no workers after "
                f"{self.connect_timeout_s:g} s: start some with `dask worker {address}`") from exc
        with contextlib.suppress(Exception):
            self.allowed_failures = int(self.client.run_on_scheduler(scheduler_allowed_failures))

    def _preflight(self, address: str) -> None:
        """Fail fast, with the address in the message, when nothing listens there."""
        scheme, _, location = address.partition("://")
        if scheme != "tcp":
            return
        host, _, port = location.rpartition(":")
        host = host.strip("[]")
        deadline = time.monotonic() + self.connect_timeout_s
        refused_until = time.monotonic() + min(REFUSED_GRACE_S, self.connect_timeout_s)
        while True:
            left = deadline - time.monotonic()
            try:
                with socket.create_connection((host, int(port)), timeout=max(0.1, min(left, 5.0))):
                    return
            except ConnectionRefusedError as exc:
                if time.monotonic() >= refused_until:
                    raise ModeFailed(
                        f"{self._label}: cannot reach the Dask scheduler at {address}: is it "
                        "running? start one with `dask scheduler` (connection refused)") from exc
                time.sleep(0.25)
            except socket.gaierror as exc:
                raise ModeFailed(f"{self._label}: cannot reach the Dask scheduler at {address}: "
                                 f"unknown host {host!r} ({exc})") from exc
            except OSError as exc:  # timeout, no route to host
                if time.monotonic() >= deadline:
                    raise ModeFailed(
                        f"{self._label}: cannot reach the Dask scheduler at {address} within "
                        f"{self.connect_timeout_s:g} s: is it running, and is the port open? "
                        f"start one with `dask scheduler` ({exc})") from exc
                time.sleep(0.25)

    @property
    def client(self) -> Client:
        """The connected client (once :meth:`start` reached the cluster)."""
        if self._client is None:
            raise ModeFailed(f"{self._label}: not connected to a Dask cluster")
        return self._client

    def _prepare_workers(self, task: Task) -> None:
        client = self.client
        task = self.ship(task)
        client.subscribe_topic("all", self._on_cluster_event)
        self._subscribed = True
        if self.file_modules:
            self._plugin_name = f"profkit-file-modules-{uuid.uuid4().hex[:8]}"
            try:
                client.register_plugin(file_module_plugin(list(self.file_modules.values()),
                                                           self._plugin_name))
            except Exception as exc:  # noqa: BLE001
                raise ModeFailed(
                    f"{self._label}: a Dask worker cannot load the workload's file "
                    f"({type(exc).__name__}: {exc}): on a remote cluster the file must exist at the "
                    "same path on every worker host, or make it an installed module") from exc
        if self.cluster is None:
            # The scheduler unpickles task graphs too, so it must import the task's module.
            try:
                if self.file_modules:
                    client.run_on_scheduler(load_file_modules, list(self.file_modules.values()))
                client.run_on_scheduler(touch_task, task)
            except Exception as exc:  # noqa: BLE001
                raise ModeFailed(
                    f"{self._label}: the Dask scheduler at {self.address} cannot load the task "
                    f"({type(exc).__name__}: {exc}): install profkit and the workload's package "
                    "where the scheduler runs (a workload file must exist at the same path)") from exc
        try:
            t0 = time.perf_counter()
            infos: dict[str, WorkerInfo] = client.run(worker_info)
            t1 = time.perf_counter()
            client.run(touch_task, task)
            client.run(set_gc, self.settings.gc_timed)
            if self.cluster is not None:  # our own workers: what tasks print stays out of sight
                from profkit.collectors.output import route_this_process

                client.run(route_this_process)
        except Exception as exc:  # noqa: BLE001
            raise ModeFailed(
                f"{self._label}: the Dask workers cannot load profkit or the task "
                f"({type(exc).__name__}: {exc}): install profkit and the workload's package "
                "on every worker") from exc
        here, mid = socket.gethostname(), (t0 + t1) / 2
        local_gap = time.time() - time.perf_counter()
        for address, info in infos.items():
            # Same host and same monotonic clock: perf_counter values compare directly.
            same_host = info["host"] == here and abs((info["wall"] - info["perf"]) - local_gap) < 1.0
            offset = 0.0 if same_host else info["perf"] - mid
            self._info[address] = LocalWorker(
                **info, same_host=same_host, clock_offset_s=offset,
                clock_uncertainty_s=0.0 if same_host else (t1 - t0) / 2)
            self._offsets[address] = offset
        if self.cluster is None:
            self.workers = sum(w.get("nthreads", 1) for w in self._scheduler_workers().values()) \
                or len(infos)
        else:
            self.workers = self.requested_workers

    def _scheduler_workers(self) -> dict[str, SchedulerWorker]:
        info = self.client.scheduler_info(n_workers=-1)
        workers: dict[str, SchedulerWorker] = info.get("workers", {})
        return dict(workers)

    def _on_cluster_event(self, event: tuple[float, object]) -> None:
        """Runs in the client's event loop: remember workers that left while we measured."""
        _, message = event
        if isinstance(message, dict) and message.get("action") == "remove-worker":
            with self._removed_lock:
                self._removed.append(message)

    # -- the Executor interface --

    def submit(self, fn: Callable[..., R], *args: object) -> _DaskFuture[R]:
        self._check_cluster({})
        name = getattr(fn, "__name__", "task")
        key = f"profkit-{name}-{uuid.uuid4().hex}"
        what = _describe_batch(args)
        shipped = tuple(map(self.ship, args))
        files = source_files(shipped)
        future = (self.client.submit(call_restored, files, fn, *shipped, key=key, pure=False) if files
                  else self.client.submit(call_on_worker, fn, *shipped, key=key, pure=False))
        if len(self._pending) > 1000:
            self._pending = [f for f in self._pending if not f.done()]
            self._whats = {f.key: self._whats.get(f.key, "a task") for f in self._pending}
        self._pending.append(future)
        self._whats[key] = what
        return _DaskFuture(self, future, what)

    def time_map(self, task: Task, items: list[object], timeout: float | None) -> tuple[float, float]:
        """A bare ``client.map(task, items, pure=False)`` plus gather, timed in the parent.

        Every item is its own task (pure=False: equal items still run twice),
        spread over all the cluster's workers.
        """
        self._check_cluster({})
        task = self.ship(task)
        token = uuid.uuid4().hex
        name = getattr(task, "__name__", "task")
        keys = [f"profkit-{name}-{token}-{i}" for i in range(len(items))]
        whats: dict[Key, str] = {key: f"item {i}" for i, key in enumerate(keys)}
        self._whats.update(whats)
        client = self.client

        def run() -> None:
            futures = client.map(task, items, key=keys, pure=False)
            self._pending = [f for f in self._pending if not f.done()] + futures
            self._wait(futures, timeout, whats)
            self._result(lambda: client.gather(futures), whats)

        try:
            return time_in_parent(run, self.worker_pids(), self.settings.gc_timed)
        finally:
            self._pending = [f for f in self._pending if not f.done()]
            for key in whats:
                self._whats.pop(key, None)

    def _wait(self, futures: Iterable[Future[R]], timeout: float | None, whats: dict[Key, str]) -> None:
        """Wait for ``futures``; raise TimeoutError at the deadline, ModeFailed if the cluster breaks."""
        from distributed import wait

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError()  # the runner names its deadline
            step = POLL_S if left is None else min(POLL_S, left)
            try:
                with self.client.as_current():
                    wait(futures, timeout=step)
            except TIMEOUTS:
                self._check_cluster(whats)
                continue
            except CancelledError as exc:
                raise self._cancelled(exc, whats) from exc
            self._check_cluster(whats)
            return

    def _result(self, get: Callable[[], R], whats: dict[Key, str]) -> R:
        """Call ``get``; turn a dead worker or a lost scheduler into a clear ModeFailed."""
        from distributed import KilledWorker

        try:
            return get()
        except KilledWorker as exc:
            raise self._worker_lost(whats, exc) from exc
        except CancelledError as exc:
            raise self._cancelled(exc, whats) from exc

    def _cancelled(self, exc: BaseException, whats: dict[Key, str]) -> ModeFailed:
        """Dask cancels futures when the scheduler goes away (or someone restarts the cluster)."""
        self._check_cluster(whats)
        reason = str(exc).splitlines()
        detail = next((line for line in reason if "reason" in line.lower()), reason[0] if reason else "")
        return ModeFailed(f"{self._label}: Dask cancelled our tasks ({detail.strip()[:200]}): "
                          f"did the scheduler at {self.address} stop or restart?")

    def _check_cluster(self, whats: dict[Key, str]) -> None:
        """Raise ModeFailed if a worker left (now or earlier), or the client lost its scheduler."""
        if self._broken:
            raise ModeFailed(self._broken)
        with self._removed_lock:
            removed = bool(self._removed)
        if removed:
            raise self._worker_lost(whats)
        status = getattr(self._client, "status", "running")
        if status not in ("running", "newly-created"):
            message = (f"{self._label}: lost the connection to the Dask scheduler at "
                       f"{self.address}: did it stop? (client status {status!r})")
            self._broken = message
            raise ModeFailed(message)

    def _worker_lost(self, whats: dict[Key, str], killed: KilledWorker | None = None) -> ModeFailed:
        """The error for a worker that died or left; every later call repeats it."""
        if killed is not None:  # the scheduler's remove-worker event names every task it had
            deadline = time.monotonic() + 1.0
            while not self._removed and time.monotonic() < deadline:
                time.sleep(0.02)
        with self._removed_lock:
            removed = list(self._removed)
        if removed:
            worker = removed[0].get("worker", "?")
            tasks = removed[0].get("processing-tasks", ())
            keys: Iterable[Key] = tasks if isinstance(tasks, Iterable) else ()
            left = bool(removed[0].get("expected"))
        elif killed is not None:
            worker = getattr(killed.last_worker, "address", "?")
            keys, left = (killed.task,), False
        else:
            raise AssertionError("a worker was lost, but neither an event nor KilledWorker says which")
        known = {**self._whats, **whats}
        assigned = _join_items([known[k] for k in keys if k in known])
        during = f" with {assigned} in progress" if assigned else ""
        more = f" ({len(removed) - 1} more worker(s) too)" if len(removed) > 1 else ""
        if left:
            message = (f"{self._label}: the Dask worker {worker} left the cluster{during}{more}: "
                       "keep the cluster's size fixed (no adaptive scaling) while profiling")
        else:
            message = f"{self._label}: the Dask worker {worker} died{during}{more}; {_DIED_HINT}"
        if self.cluster is None and self.allowed_failures:
            message += (f" (this cluster re-runs such tasks up to {self.allowed_failures} times, "
                        "which would mix re-runs into the timings)")
        self._broken = message
        return ModeFailed(message)

    def _correct_clocks(self, records: list[TaskRecord]) -> None:
        """Put a remote worker's perf_counter times on this process's clock (offset estimate)."""
        for record in records:
            offset = self._offsets.get(record.worker or "", 0.0)
            if offset:
                record.start -= offset
                record.end -= offset

    def _correct_task_clocks(self, tasks: TaskColumns) -> None:
        """:meth:`_correct_clocks` for the tasks pass's columns."""
        for code, worker in enumerate(tasks.workers):
            offset = self._offsets.get(worker.address or "", 0.0)
            if offset:
                tasks.shift_worker(code, offset)

    def worker_pids(self) -> list[int]:
        """Pids of the worker processes on this host (remote ones cannot be sampled)."""
        if self.cluster is not None:
            pids = []
            for worker in list(getattr(self.cluster, "workers", {}).values()):
                with contextlib.suppress(Exception):
                    if worker.pid:
                        pids.append(int(worker.pid))
            if pids:
                return sorted(pids)
        return sorted(i["pid"] for i in self._info.values() if i["same_host"])

    def close(self, *, kill: bool = False) -> None:
        """Close the client and the embedded cluster, bounded; kill any worker process left over."""
        pids = self.worker_pids() if self.cluster is not None else []
        client, self._client = self._client, None
        if client is not None:
            if self._subscribed:
                with contextlib.suppress(Exception):
                    client.unsubscribe_topic("all")
            if self.cluster is None:
                # An external cluster outlives us: drop our tasks and our plugin.
                with contextlib.suppress(Exception):
                    if self._pending:
                        client.cancel(self._pending, force=True)
                if self._plugin_name:
                    with contextlib.suppress(Exception):
                        client.unregister_worker_plugin(self._plugin_name)
                with contextlib.suppress(Exception):
                    client.run(set_gc, True)  # leave the workers as we found them
            self._pending = []
            with contextlib.suppress(Exception):
                client.close(timeout=CLOSE_TIMEOUT_S)
        cluster, self.cluster = self.cluster, None
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close(timeout=2.0 if kill else CLOSE_TIMEOUT_S)
            _reap(pids, grace_s=0.0 if kill else 3.0)
            # distributed closes every cluster it knows of at interpreter exit, and that close
            # can wait forever on a loop that is gone: ours is closed (or its workers reaped)
            with contextlib.suppress(Exception):
                from distributed.deploy.spec import SpecCluster

                SpecCluster._instances.discard(cluster)
        self._quiet.close()

    def describe(self) -> dict[str, JSON]:
        workers: list[dict[str, JSON]] = []
        with contextlib.suppress(Exception):
            for address, info in sorted(self._scheduler_workers().items()):
                local = self._info.get(address)
                entry: dict[str, JSON] = {"address": address, "nthreads": info.get("nthreads"),
                         "memory_limit": info.get("memory_limit"), "host": info.get("host")}
                if local is not None:
                    entry.update(pid=local["pid"], hostname=local["host"],
                                 same_host=local["same_host"],
                                 clock_offset_s=local["clock_offset_s"],
                                 clock_uncertainty_s=local["clock_uncertainty_s"])
                workers.append(entry)
        remote = any(not w.get("same_host", True) for w in workers)
        return {
            "kind": self.kind,
            "workers": self.workers,
            "requested_workers": self.requested_workers,
            "address": self.address,
            "cluster": "external" if self.scheduler else "embedded",
            "worker_info": list[JSON](workers),
            "allowed_failures": self.allowed_failures,
            "distributed": getattr(self._distributed, "__version__", None),
            "chunksize": "ignored: one Dask task per item",
            "clock": ("remote workers: task times shifted by an estimated clock offset, "
                      "good to about half a round trip" if remote
                      else "same host: task times share the parent's monotonic clock"),
        }



def _describe_batch(args: tuple[object, ...]) -> str:
    """'item 3' or 'items 0-2' for a run_batch call, else 'a task'."""
    if len(args) >= 2 and isinstance(args[1], list) and args[1] and \
            all(isinstance(p, tuple) and len(p) == 2 for p in args[1]):
        indices = [p[0] for p in args[1]]
        if len(indices) == 1:
            return f"item {indices[0]}"
        return f"items {indices[0]}-{indices[-1]}"
    return "a task"


def _join_items(whats: list[str]) -> str:
    """['item 3', 'item 1'] -> 'items 1, 3'; other descriptions are joined as they are."""
    numbers = sorted(int(w[5:]) for w in whats if w.startswith("item ") and w[5:].isdigit())
    others = sorted(w for w in whats if not (w.startswith("item ") and w[5:].isdigit()))
    parts = []
    if numbers:
        parts.append(("item " if len(numbers) == 1 else "items ") + ", ".join(map(str, numbers)))
    return ", ".join(parts + others)


def _reap(pids: list[int], grace_s: float = 3.0) -> None:
    """Kill worker processes of ours that outlived the cluster's close (after ``grace_s``)."""
    import psutil

    me = os.getpid()
    alive = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            if process.is_running() and me in {p.pid for p in process.parents()}:
                alive.append(process)
    if not alive:
        return
    if grace_s:
        _, alive = psutil.wait_procs(alive, timeout=grace_s)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=3)

