"""The load meter counts a pool that was running before it started as profkit's own."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from profkit.engine.load import LoadMeter, _machine_busy_s


@pytest.mark.skipif(_machine_busy_s() is None, reason="needs /proc/stat (Linux)")
def test_a_child_busy_before_the_first_round_is_not_other_programs():
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # running, and so already there when the meters are made
        ours = LoadMeter()
        theirs = LoadMeter(foreign_pids={child.pid})  # as a notebook's own child would be
        spinner = psutil.Process(child.pid)
        cpu0, t0 = sum(spinner.cpu_times()[:2]), time.perf_counter()
        ours.start()
        theirs.start()
        time.sleep(0.6)
        mine, others = ours.stop(), theirs.stop()
        child_cores = (sum(spinner.cpu_times()[:2]) - cpu0) / (time.perf_counter() - t0)
    finally:
        child.kill()
        child.wait()
    # the busy child (up to a core, less on a busy machine), by its own CPU clock: counted as
    # other programs' only where it was declared foreign
    assert child_cores > 0.2, child_cores
    assert others - mine == pytest.approx(child_cores, abs=0.2), (mine, others, child_cores)


@pytest.mark.skipif(_machine_busy_s() is None, reason="needs /proc/stat (Linux)")
def test_a_child_that_ran_and_exited_between_two_scans_is_profkit_s():
    import os
    import resource

    meter = LoadMeter()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    me0 = os.times()
    machine0 = _machine_busy_s()
    t0 = time.perf_counter()
    meter.start()
    # a memory sampler's life: started, busy, gone before the meter looks again
    subprocess.run([sys.executable, "-c", "import time\nend = time.process_time() + 0.6\n"
                    "while time.process_time() < end: pass"], check=True)
    others = meter.stop()
    wall = time.perf_counter() - t0
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    me1 = os.times()
    child_cpu = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
    own_cpu = (me1.user + me1.system) - (me0.user + me0.system)
    assert child_cpu > 0.5  # the child did burn its 0.6 s
    # independently: the machine's busy time less this process's and the child's own
    expected = max(0.0, _machine_busy_s() - machine0 - own_cpu - child_cpu) / wall
    assert abs(others - expected) < 0.2, (others, expected, child_cpu)


@pytest.mark.skipif(_machine_busy_s() is None, reason="needs /proc/stat (Linux)")
def test_a_pools_workers_that_are_not_children_are_its_own_work_once_adopted():
    """An external cluster's workers on this host are not profkit's children, yet they do the
    mode's work: given as the pool's (``extra_pids``) or adopted mid-way, their CPU from then
    on is not other programs' load."""
    worker = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        foreign = {worker.pid}  # not found as a child: as an external cluster's worker is not
        theirs = LoadMeter(foreign_pids=foreign)
        given = LoadMeter(extra_pids=[worker.pid], foreign_pids=foreign)
        adopted = LoadMeter(foreign_pids=foreign)
        spinner = psutil.Process(worker.pid)
        for meter in (theirs, given, adopted):
            meter.start()
        cpu0, t0 = sum(spinner.cpu_times()[:2]), time.perf_counter()
        time.sleep(0.4)
        cpu_mid = sum(spinner.cpu_times()[:2])
        adopted.adopt({worker.pid})
        time.sleep(0.4)
        cpu1, wall = sum(spinner.cpu_times()[:2]), time.perf_counter() - t0
        others, others_given, others_adopted = theirs.stop(), given.stop(), adopted.stop()
    finally:
        worker.kill()
        worker.wait()
    whole, second_half = (cpu1 - cpu0) / wall, (cpu1 - cpu_mid) / wall
    assert whole > 0.2, whole
    assert others - others_given == pytest.approx(whole, abs=0.2), (others, others_given, whole)
    assert others - others_adopted == pytest.approx(second_half, abs=0.2), (others, others_adopted)
