"""A task that waits for a core is not waiting for I/O: ``queued_s`` and the work class.

Each run is pinned to one CPU, with a spinning process pinned to the same one, so
the tasks get about half of that core. The kernel's count of their wait for a core
(``queued_s``) is checked against the test's own clocks: a CPU-bound task's wall time
is its CPU time plus that wait, and a task's sleep is never counted in it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.fixtures.cli import cli_env
from tests.fixtures.workloads import NAP_S, NAPS_THEN_COMPUTES

pytestmark = pytest.mark.skipif(not Path("/proc/thread-self/schedstat").is_file()
                                or not hasattr(os, "sched_setaffinity"),
                                reason="needs Linux's per-thread schedstat and CPU affinity")

ONE_CORE = textwrap.dedent("""
    import json, os, subprocess, sys, time
    cpu = sorted(os.sched_getaffinity(0))[0]
    os.sched_setaffinity(0, {cpu})   # this thread, and every thread and process started after
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        import profkit
        from profkit.render.text import analysis_json
        from tests.fixtures import workloads
        workload = getattr(workloads, sys.argv[2])
        # the bare map, timed here: how much of its wall time the task computed
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        for item in workload.items:
            workload.task(item)
        bare_wall, bare_cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
        run = profkit.profile(workload, modes="sequential", repeat=3, line_budget=0.01,
                              profile_budget=0.01, out=sys.argv[1])
    finally:
        spinner.kill()
    tasks = run.frames["tasks"]
    print(json.dumps({"bare_wall": bare_wall, "bare_cpu": bare_cpu, "n": len(tasks),
                      "duration": float(tasks["duration_s"].sum()),
                      "cpu": float(tasks["cpu_s"].sum()), "queued": float(tasks["queued_s"].sum()),
                      "classification": analysis_json(run.analysis)["classification"]}))
""")


def _one_core_run(tmp_path: Path, workload: str) -> dict:
    done = subprocess.run([sys.executable, "-c", ONE_CORE, str(tmp_path / "run"), workload],
                          capture_output=True, text=True, env=cli_env(), timeout=280)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # the bare map, sharing its core, computed well under its wall time: the setup works
    assert seen["bare_cpu"] < 0.8 * seen["bare_wall"], seen
    return seen


@pytest.mark.timeout(300)
def test_a_cpu_bound_task_waiting_for_a_core_is_still_cpu_bound(tmp_path):
    seen = _one_core_run(tmp_path, "SMALL_PRIMES")
    # its wall time is its CPU time plus its wait for a core
    off_core = seen["duration"] - seen["cpu"]
    assert seen["queued"] == pytest.approx(off_core, abs=0.1 * seen["duration"]), seen
    assert seen["queued"] > 0.2 * seen["duration"], seen
    classification = seen["classification"]
    assert classification["work_class"] == "cpu-bound", classification
    assert classification["queued_share"] == pytest.approx(seen["queued"] / seen["duration"],
                                                           rel=1e-6)
    assert f"{100 * classification['queued_share']:.0f}% of it they spent waiting for a core" \
        in classification["explanation"]


@pytest.mark.timeout(300)
def test_a_sleep_is_not_counted_as_waiting_for_a_core(tmp_path):
    seen = _one_core_run(tmp_path, "NAPS_THEN_COMPUTES")
    assert seen["n"] == len(NAPS_THEN_COMPUTES.items)
    slept = NAP_S * seen["n"]
    # off the core: asleep, or waiting for it; the kernel's wait leaves the sleeps out. (Since
    # Linux 6.12 a task that sleeps while another wants its core may stay queued until the
    # next pick, up to a time slice, and the kernel counts that as waiting: hence 0.5.)
    assert seen["duration"] - seen["cpu"] - seen["queued"] >= 0.5 * slept, seen
    assert seen["queued"] > 0.0, seen
    assert seen["classification"]["work_class"] in ("mixed", "io-bound"), seen
