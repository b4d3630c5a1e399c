"""The parent's memory over a big run: during its maps over many tiny items the parent holds little more
than the bare map does, and what a finished phase freed goes back to the system."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import weakref
from pathlib import Path

import psutil
import pytest

from profkit.engine import heap
from profkit.executors.sequential import DaemonThread

ROOT = Path(__file__).resolve().parents[2]
N = 30_000
MIB = 2**20

PEAK = """\
def peak_rss():
    # VmHWM is reset at exec; ru_maxrss keeps the spawning process's (pytest's) high-water mark
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
"""
ENGINE_RUN = PEAK + """\
import json, sys
from profkit.engine.runner import run_workload
from profkit.model import ModeSpec
from profkit.options import Options
from profkit.workloads.model import Workload
from tests.fixtures.tiny import dbl

options = Options(modes=[ModeSpec("sequential", 1, parallel=False), ModeSpec("processes", 2)],
                  repeat=1, seed=1)
raw = run_workload(Workload(name="tiny", task=dbl, items=list(range(int(sys.argv[1])))), options)
print(json.dumps({"status": [m.status.value for m in raw.modes],
                  "pandas": "pandas" in sys.modules,
                  "peak": peak_rss()}))
"""

BARE_RUN = PEAK + """\
import json, sys
from concurrent.futures import ProcessPoolExecutor
from tests.fixtures.tiny import dbl

items = list(range(int(sys.argv[1])))
with ProcessPoolExecutor(2) as pool:
    assert list(pool.map(dbl, items)) == [dbl(i) for i in items]
print(json.dumps({"peak": peak_rss()}))
"""


def _peak(code: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code, str(N)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads VmHWM from /proc")
def test_the_engine_holds_little_beyond_the_bare_map_while_it_maps_many_tiny_items():
    """The bare ``ProcessPoolExecutor.map`` over 30,000 items and profkit's engine (probe,
    rounds, cProfile and line passes in sequential and processes) each in a fresh interpreter:
    the engine's peak RSS exceeds the bare map's by less than pandas alone would add (the
    engine once imported it before its maps, 75 MB, and kept the passes' payloads)."""
    bare = _peak(BARE_RUN)
    engine = _peak(ENGINE_RUN)
    assert engine["status"] == ["ok", "ok"]
    assert engine["pandas"] is False  # the frames import it, after the maps
    engine_peak, bare_peak = int(str(engine["peak"])), int(str(bare["peak"]))
    assert engine_peak - bare_peak < 60 * MIB, (engine_peak / MIB, bare_peak / MIB)
    print(f"engine {engine_peak / MIB:.0f} MiB, bare map {bare_peak / MIB:.0f} MiB")


def test_the_engine_and_the_cli_import_no_pandas_before_the_run():
    code = ("import sys; import profkit.pipeline, profkit.engine.runner; from profkit.cli import "
            "build_parser; build_parser(); print(sorted({'pandas', 'pyarrow'} & set(sys.modules)))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert out.strip() == "[]"
    from profkit.analysis import analyse
    from profkit.analysis.summary import analyse as direct

    assert analyse is direct


def test_the_sequential_thread_lets_go_of_a_finished_job():
    class Payload:
        pass

    thread = DaemonThread("profkit-test")
    try:
        arg = Payload()
        seen_arg = weakref.ref(arg)
        out = thread.submit(lambda a: Payload(), arg).result(timeout=10)
        seen_out = weakref.ref(out)
        del arg, out
        gc.collect()
        for _ in range(100):  # the thread drops the job right after setting its result
            if seen_arg() is None and seen_out() is None:
                break
            threading.Event().wait(0.01)
        assert seen_arg() is None and seen_out() is None
    finally:
        thread.close()


@pytest.mark.skipif(heap._malloc_trim() is None, reason="no malloc_trim in this C library")
def test_release_hands_freed_heap_pages_back():
    """1 KiB blocks live on malloc's heap (too big for pymalloc, too small for mmap); one left
    at the top keeps free() from shrinking the heap, so only a trim hands the pages back."""
    proc = psutil.Process()
    blocks = [bytes(1024) for _ in range(100_000)]
    pin = bytes(1024)
    before = proc.memory_info().rss
    del blocks
    gc.collect()
    freed = proc.memory_info().rss
    heap.release()
    after = proc.memory_info().rss
    assert pin
    assert freed - after > 50 * MIB, (before / MIB, freed / MIB, after / MIB)
