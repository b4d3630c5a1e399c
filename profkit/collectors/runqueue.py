"""The run-queue clock: how long a thread waited for a core. A module of its own, with nothing
to import, so a pool's worker opens it without loading profkit's collectors."""

from __future__ import annotations

import os


class RunQueueClock:
    """Seconds the calling thread has spent ready to run but waiting for a core.

    The kernel's ``/proc/thread-self/schedstat`` counts it (its second field, in
    ns). On a busy machine it tells a task that waited for a core from one that
    waited for I/O or a lock. :meth:`open` gives None where the file is missing.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def open(cls) -> RunQueueClock | None:
        try:
            clock = cls(os.open("/proc/thread-self/schedstat", os.O_RDONLY))
            clock()
        except (OSError, ValueError, IndexError):
            return None
        return clock

    def __call__(self) -> float:
        return int(os.pread(self._fd, 64, 0).split()[1]) / 1e9

    def close(self) -> None:
        os.close(self._fd)
