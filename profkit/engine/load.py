"""CPU used by other programs while profkit times a round.

``/proc/stat`` gives all the CPU the machine spent; profkit's own process
tree (this process, its children and any local workers) is taken away. What
is left is load from other programs, in cores. Where /proc/stat is missing
(not Linux), the meter reads nothing and no round is ever set aside.
"""

from __future__ import annotations

import contextlib
import os

import psutil

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


class LoadMeter:
    """Measure others' CPU between :meth:`start` and :meth:`stop`, in cores."""

    def __init__(self, extra_pids: list[int] | None = None) -> None:
        self._me = psutil.Process(os.getpid())
        self.extra_pids = list(extra_pids or [])
        self._t0 = 0.0
        self._machine0: float | None = None
        self._own0: dict[int, float] = {}

    def _own(self) -> dict[int, float]:
        processes = [self._me]
        with contextlib.suppress(psutil.Error):
            processes += self._me.children(recursive=True)
        known = {p.pid for p in processes}
        for pid in self.extra_pids:
            if pid not in known:
                with contextlib.suppress(psutil.Error):
                    processes.append(psutil.Process(pid))
        out: dict[int, float] = {}
        for process in processes:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                out[process.pid] = times.user + times.system
        return out

    def start(self) -> None:
        import time

        self._own0 = self._own()
        self._machine0 = _machine_busy_s()
        self._t0 = time.perf_counter()

    def stop(self) -> float:
        """Cores other programs kept busy since :meth:`start` (NaN where unknown)."""
        import time

        wall = time.perf_counter() - self._t0
        machine1 = _machine_busy_s()
        own1 = self._own()
        if self._machine0 is None or machine1 is None or wall <= 0:
            return float("nan")
        # A process that started during the round counts from zero; one that ended is lost to
        # both sides of the subtraction only if it ended, which a round's pools never do.
        own = sum(t - self._own0.get(pid, 0.0) for pid, t in own1.items())
        return max(0.0, (machine1 - self._machine0) - own) / wall
