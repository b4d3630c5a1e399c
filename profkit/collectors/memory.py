"""Sample RSS with memory_profiler from a process of its own, in mprof's ``.dat`` format.

A sampler thread in the parent starves while a task holds the GIL (it gets a
few samples a second where it asks for fifty), so the sampler runs in a separate
process that no task can block. It watches the parent and each pool worker by
pid, reads each with ``memory_profiler.memory_usage`` and writes what
``mprof run --multiprocess --include-children`` writes: one ``MEM`` line per
sample with the total (the parent, the workers and the workers' children) and
one ``CHLD`` line per worker or child. ``mprof plot`` opens the file.

The parent's own children are not summed: they include the other modes'
pools and the sampler itself. The task is never run again to measure it: the
sampler watches the pass that runs anyway.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TypedDict

from profkit.model import DEFAULT_MEMORY_INTERVAL_S

DEFAULT_INTERVAL_S = DEFAULT_MEMORY_INTERVAL_S
#: How often the sampler looks for processes the workers started (cheap: /proc/PID/task/*/children).
CHILD_RESCAN_S = 1.0
#: How long the parent waits for the sampler process to take its first sample.
READY_TIMEOUT_S = 20.0
MIB = float(2**20)

#: ``-c`` puts the working folder ('') first on sys.path: it goes, profkit's own root comes first.
_BOOT = ("import sys; sys.path[:] = [sys.argv[1], *filter(None, sys.path)]; "
         "from profkit.collectors.memory import sampler_main; sampler_main(sys.argv[2:])")


def import_memory_profiler() -> ModuleType:
    """``memory_profiler``, without the IPython import it makes only for its notebook magics."""
    if "memory_profiler" in sys.modules:
        return sys.modules["memory_profiler"]
    blocked = "IPython" not in sys.modules
    if blocked:
        sys.modules["IPython"] = None  # type: ignore[assignment]  # makes 'import IPython' fail fast
    try:
        return importlib.import_module("memory_profiler")
    finally:
        if blocked:
            del sys.modules["IPython"]


# -- the .dat format ----------------------------------------------------------


@dataclass
class DatSample:
    """One row of a parsed ``.dat``: a process's RSS at one sample (wall-clock ``time``)."""

    time: float
    pid: int
    role: str
    rss_bytes: int


def parse_dat(text: str, parent_pid: int | None = None,
              roles: dict[int, str] | None = None) -> list[DatSample]:
    """The samples of an mprof ``.dat``: each ``MEM`` line and the ``CHLD`` lines after it.

    The parent's own RSS is the ``MEM`` total minus its ``CHLD`` lines; every
    row of a sample carries the ``MEM`` line's time, so totals group by time.
    """
    rows: list[DatSample] = []
    current: tuple[float, float, list[tuple[int, float]]] | None = None

    def flush() -> None:
        if current is None:
            return
        t, total, children = current
        own = total - sum(mib for _, mib in children)
        rows.append(DatSample(t, parent_pid or 0, "parent", round(max(own, 0.0) * MIB)))
        for pid, mib in children:
            rows.append(DatSample(t, pid, (roles or {}).get(pid, "worker"), round(mib * MIB)))

    for line in text.splitlines():
        field, _, rest = line.partition(" ")
        values = rest.split()
        if field == "MEM" and len(values) >= 2:
            flush()
            current = (float(values[1]), float(values[0]), [])
        elif field == "CHLD" and len(values) >= 3 and current is not None:
            current[2].append((int(values[0]), float(values[1])))
    flush()
    return rows


# -- the parent's side --------------------------------------------------------


class SampleRow(TypedDict):
    """One sample: seconds from the first, the process, its role and its RSS."""

    t_s: float
    pid: int
    role: str
    rss_bytes: int


class MemorySampler:
    """Context manager: a sampler process watches the parent and ``extra_pids``.

    After the block, ``samples`` holds ``{t_s, pid, role, rss_bytes}`` rows
    (``t_s`` from the first sample, taken just before the block runs) and
    ``dat`` the mprof file's text.
    ``error`` says why there are no samples, if the sampler could not run.
    """

    def __init__(self, interval: float = DEFAULT_INTERVAL_S, extra_pids: list[int] | None = None,
                 title: str = "profkit") -> None:
        self.interval = interval
        self.extra_pids = [p for p in (extra_pids or []) if p != os.getpid()]
        self.title = title
        self.samples: list[SampleRow] = []
        self.dat = ""
        self.error: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._path: Path | None = None
        self._t0 = 0.0
        self._closed = False

    def start(self) -> MemorySampler:
        """Start the sampler process without waiting for it: it boots (about 0.1 s of imports)
        while other work goes on, and samples nothing until the block is entered."""
        if self._proc is not None or self.error is not None:
            return self
        import profkit

        root = str(Path(profkit.__file__).resolve().parent.parent)
        fd, name = tempfile.mkstemp(prefix="profkit-mprof-", suffix=".dat")
        os.close(fd)
        self._path = Path(name)
        args = [sys.executable, "-c", _BOOT, root, f"{self.interval!r}", name, str(os.getpid()),
                self.title.replace("\n", " "), *map(str, self.extra_pids)]
        try:
            self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, close_fds=True)
        except OSError as exc:
            self.error = f"the memory sampler process failed: {exc}"
        return self

    def __enter__(self) -> MemorySampler:
        self.start()
        self._t0 = time.time()
        if self._proc is None:
            return self
        try:
            self._expect(b"ready")  # booted
            assert self._proc.stdin is not None
            self._proc.stdin.write(b"go\n")
            self._proc.stdin.flush()
            self._expect(b"sampling")  # the first sample is taken: the block may run
        except (OSError, RuntimeError) as exc:
            self.error = f"the memory sampler process failed: {exc}"
            self._kill()
        return self

    def _expect(self, word: bytes) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], READY_TIMEOUT_S)
        line = self._proc.stdout.readline() if ready else b""
        if line.strip() != word:
            raise RuntimeError(f"it did not start within {READY_TIMEOUT_S:g} s" if not ready
                               else self._last_error())

    def _last_error(self) -> str:
        assert self._proc is not None and self._proc.stderr is not None
        self._kill()
        lines = self._proc.stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "it exited before its first sample"

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=5)

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the sampler (started or entered) and collect its samples; once."""
        if self._closed:
            return
        self._closed = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                assert proc.stdin is not None
                proc.stdin.write(b"stop\n")
                proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._kill()
        for stream in (proc.stdout, proc.stderr) if proc is not None else ():
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]
        if self._path is not None:
            with contextlib.suppress(OSError):
                self.dat = self._path.read_text(encoding="utf-8")
            with contextlib.suppress(OSError):
                self._path.unlink()
        roles = {pid: "worker" for pid in self.extra_pids}
        rows = parse_dat(self.dat, os.getpid(), roles)
        t0 = rows[0].time if rows else self._t0  # the first sample, taken just before the block
        self.samples = [SampleRow(t_s=r.time - t0, pid=r.pid,
                                  role=r.role if r.pid in roles or r.role == "parent" else "child",
                                  rss_bytes=r.rss_bytes) for r in rows]


# -- the sampler process ------------------------------------------------------


def _children(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc (no scan of every process on the machine)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(p) for p in f.read().split()]
    return found


def _descendants(pids: list[int]) -> list[int]:
    out: list[int] = []
    todo = [c for p in pids for c in _children(p)]
    while todo:
        pid = todo.pop()
        if pid not in out and pid not in pids:
            out.append(pid)
            todo += _children(pid)
    return out


def sampler_main(argv: list[str]) -> None:
    """Boot, say "ready", wait for "go"; then sample until a line (or EOF) arrives on stdin,
    writing the ``.dat`` as it goes ("sampling" once the first sample is written).

    argv: interval, output path, parent pid, title, worker pids...
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; EOF stops us
    interval, path, parent = float(argv[0]), argv[1], int(argv[2])
    title, workers = argv[3], [int(p) for p in argv[4:]]
    memory_usage = import_memory_profiler().memory_usage
    with contextlib.suppress(OSError, AttributeError):
        # best effort (allowed for root or with CAP_SYS_NICE): wake on time on a busy machine
        os.setpriority(os.PRIO_PROCESS, 0, -5)

    def rss(pid: int) -> float | None:
        try:
            return float(memory_usage(pid, interval=0, timestamps=False)[0])
        except Exception:  # noqa: BLE001 - psutil.NoSuchProcess and kin: the process is gone
            return None

    sys.stdout.write("ready\n")  # booted: wait for the block to start
    sys.stdout.flush()
    if sys.stdin.readline().strip() != "go":
        return  # EOF: the parent closed without a block (or died)
    children: list[int] = []
    scanned = -CHILD_RESCAN_S
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"CMDLINE {title}\n")
        t0 = time.monotonic()
        tick = 0
        stop = False
        while True:
            now = time.monotonic()
            if now - scanned >= CHILD_RESCAN_S and (workers or not children):
                children = _descendants(workers) if workers else []
                scanned = now
            stamp = time.time()
            own = rss(parent)
            if own is None:
                break
            measured = [(pid, rss(pid)) for pid in (*workers, *children)]
            alive = [(pid, mib) for pid, mib in measured if mib is not None]
            out.write(f"MEM {own + sum(m for _, m in alive):.6f} {stamp:.4f}\n")
            for pid, mib in alive:
                out.write(f"CHLD {pid} {mib:.6f} {stamp:.4f}\n")
            if tick == 0:
                out.flush()
                sys.stdout.write("sampling\n")
                sys.stdout.flush()
            if stop:
                break
            # fixed ticks, so a slow sample does not push every later one back; ticks
            # missed while the machine was busy stay missed rather than come in a burst
            tick = max(tick + 1, int((time.monotonic() - t0) / interval))
            wait = max(0.0, t0 + tick * interval - time.monotonic())
            ready, _, _ = select.select([sys.stdin], [], [], wait)
            stop = bool(ready)  # a stop request or EOF (the parent died): one last sample
