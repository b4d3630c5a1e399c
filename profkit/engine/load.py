"""CPU used by other programs while profkit times a round.

``/proc/stat`` gives all the CPU the machine spent; profkit's own process
tree (this process, its children and any local workers) is taken away, and so
are the pools' workers on this host that are not its children (an external
Dask cluster on loopback does the mode's own work). What is left is load from
other programs, in cores. Where /proc/stat is missing
(not Linux), the meter reads nothing and no round is ever set aside.
"""

from __future__ import annotations

import contextlib
import os

import psutil

from profkit.executors.base import descendants

_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)  # user nice system irq softirq steal (not idle, iowait)


def _machine_busy_s() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()[1:]
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    values = [int(v) for v in fields]
    return sum(values[i] for i in _BUSY_FIELDS if i < len(values)) / ticks


def current_children() -> set[int]:
    """Pids of this process's descendants now, resource trackers included."""
    return {p.pid for p in descendants([os.getpid()], resource_trackers=True)}


class LoadMeter:
    """Measure others' CPU between :meth:`start` and :meth:`stop`, in cores.

    Use one meter for many rounds: it scans for profkit's child processes once
    per :meth:`stop` (a scan reads all of /proc) and reuses what it found.
    """

    def __init__(self, extra_pids: list[int] | None = None,
                 foreign_pids: set[int] | None = None) -> None:
        self._me = psutil.Process(os.getpid())
        self._known: set[int] = set(extra_pids or [])
        #: Children this process had before profkit started (a notebook's, a test's): not ours.
        self._foreign: set[int] = set(foreign_pids or ())
        # the pools already running are profkit's from the first round on (found only at the
        # first stop, their CPU in round 1 counted as other programs' and set the round aside)
        self._known |= current_children() - self._foreign
        self._t0 = 0.0
        self._wall0 = 0.0
        self._machine0: float | None = None
        self._own0: dict[int, float] = {}

    def adopt(self, pids: set[int]) -> None:
        """Count ``pids`` as profkit's own from now on: the workers of a pool that is not this
        process's child (an external cluster's, on this host) once it has started. Their CPU
        before this call stays with other programs'."""
        new = set(pids) - self._known - {self._me.pid}
        self._known |= new
        if self._own0:  # a measurement is under way: from here on
            self._own0.update(self._cpu(new))

    @staticmethod
    def _cpu(pids: set[int]) -> dict[int, float]:
        """CPU seconds of each process, with its exited (reaped) children's: a memory sampler
        or a task's own process that ended between two scans is still profkit's."""
        out: dict[int, float] = {}
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                out[pid] = times.user + times.system + times.children_user + times.children_system
        return out

    def start(self) -> None:
        import time

        self._own0 = self._cpu(self._known | {self._me.pid})
        self._machine0 = _machine_busy_s()
        self._t0 = time.perf_counter()
        self._wall0 = time.time()

    def stop(self) -> float:
        """Cores other programs kept busy since :meth:`start` (NaN where unknown)."""
        import time

        wall = time.perf_counter() - self._t0
        machine1 = _machine_busy_s()
        with contextlib.suppress(psutil.Error):
            self._known |= {child.pid for child in self._me.children(recursive=True)} - self._foreign
        own1 = self._cpu(self._known | {self._me.pid})
        if self._machine0 is None or machine1 is None or wall <= 0:
            return float("nan")
        own = 0.0
        for pid, cpu in own1.items():
            if pid in self._own0:
                own += cpu - self._own0[pid]
            else:  # found at this scan: count it if it started during the round
                with contextlib.suppress(psutil.Error):
                    if psutil.Process(pid).create_time() >= self._wall0 - 0.01:
                        own += cpu
        for pid, cpu in self._own0.items():
            if pid not in own1:  # gone: its whole CPU now counts in its parent's children time
                own -= cpu
        self._own0 = {}
        return max(0.0, (machine1 - self._machine0) - own) / wall
