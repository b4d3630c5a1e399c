"""Process helpers of scripts/bench.py: run and time commands, read peak RSS, sample a process tree.

Memory comes from psutil (RSS) and the kernel's high-water mark (``VmHWM`` in
``/proc/<pid>/status``), which catches a peak between two samples.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def tail(text: str, lines: int = 3) -> str:
    kept = [line for line in (text or "").strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:]) or "(no output)"


def command(name: str) -> list[str]:
    """The console script ``name`` of this interpreter (not a pyenv shim), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which(name)
    if found:
        return [found]
    raise FileNotFoundError(f"{name} is not installed (looked beside {sys.executable} and on PATH)")


def time_command(cmd: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}: {tail(proc.stderr.decode())}")
    return wall


READ_HWM = "\nprint([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n"


def peak_rss_of(code: str, cwd: Path) -> int:
    """Peak RSS in bytes of ``python -c code``: its own VmHWM, read by itself as it ends.

    Not ``wait4``'s ru_maxrss: Linux carries the pre-exec high-water mark over
    exec, so a child of a big parent (this bench, once it has loaded pandas)
    reports at least the parent's size.
    """
    proc = subprocess.run([sys.executable, "-c", code + READ_HWM], cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"python -c {code[:40]!r} exited with {proc.returncode}: {tail(proc.stderr)}")
    return int(proc.stdout.split()[-1]) * 1024  # kB


def vm_hwm(pid: int) -> int | None:
    """The kernel's peak RSS of a live process, in bytes (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def run_sampled(cmd: list[str], cwd: Path, timeout: float) -> dict[str, Any]:
    """Run ``cmd``; wall time, and the RSS of its own process sampled every 20 ms with psutil.

    Each sample also reads the kernel's high-water mark (VmHWM), so a peak
    between two samples is not missed (up to the last 20 ms). The process tree
    (pool workers) is sampled every 0.2 s for information.
    """
    import psutil

    stderr_path = Path(tempfile.mkstemp(prefix="stderr-", dir=cwd)[1])
    t0 = time.perf_counter()
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr)
    parent = psutil.Process(proc.pid)
    state = {"parent_peak": 0, "parent_hwm": 0, "tree_peak": 0, "samples": 0, "killed": False,
             "peak_t": 0.0}
    timeline: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        k = 0
        while not stop.is_set():
            try:
                rss = parent.memory_info().rss
                if rss > state["parent_peak"]:
                    state["parent_peak"], state["peak_t"] = rss, time.perf_counter() - t0
                state["parent_hwm"] = max(state["parent_hwm"], vm_hwm(proc.pid) or 0)
                state["samples"] += 1
                if k % 10 == 0:
                    timeline.append((round(time.perf_counter() - t0, 2), rss))
                    tree = rss
                    for child in parent.children(recursive=True):
                        with contextlib.suppress(psutil.Error):
                            tree += child.memory_info().rss
                    state["tree_peak"] = max(state["tree_peak"], tree)
            except psutil.Error:
                pass
            if time.perf_counter() - t0 > timeout and not state["killed"]:
                state["killed"] = True
                proc.kill()
            k += 1
            stop.wait(0.02)

    thread = threading.Thread(target=sample, name="bench-rss", daemon=True)
    thread.start()
    proc.wait()
    wall = time.perf_counter() - t0
    stop.set()
    thread.join()
    err = stderr_path.read_text(encoding="utf-8", errors="replace")
    return {"wall_s": wall, "returncode": proc.returncode, "stderr_tail": tail(err, 5),
            "parent_peak_rss_bytes": state["parent_peak"], "parent_vm_hwm_bytes": state["parent_hwm"],
            "tree_peak_rss_bytes": state["tree_peak"], "rss_samples": state["samples"],
            "parent_peak_at_s": state["peak_t"], "parent_rss_timeline": timeline,
            "killed_after_timeout": state["killed"]}


def importtime_breakdown(cwd: Path) -> dict[str, float]:
    """``-X importtime`` of ``profkit --help``: milliseconds in site, profkit, and the rest."""
    code = "import sys; sys.argv = ['profkit', '--help']; from profkit.cli import main; main()"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    groups = {"site_ms": 0.0, "profkit_ms": 0.0, "other_ms": 0.0}
    top: list[tuple[str, float]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:"):].split("|")
        if name.startswith("  "):  # nested: counted in its top-level import
            continue
        name = name.strip()
        ms = int(cumulative) / 1000
        top.append((name, ms))
        if name == "site":
            groups["site_ms"] += ms
        elif name.startswith("profkit"):
            groups["profkit_ms"] += ms
        else:
            groups["other_ms"] += ms
    groups["top"] = sorted(top, key=lambda t: -t[1])[:8]  # type: ignore[assignment]
    return groups


def proc_stat() -> list[int] | None:
    """The machine's CPU time counters (user nice system idle iowait irq softirq steal ...)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            return [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None


def machine() -> dict[str, Any]:
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return {
        "cpu_model": model or platform.processor() or "unknown",
        "cores_available": cores,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "load_average_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
