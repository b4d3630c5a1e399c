"""The load meter counts a pool that was running before it started as profkit's own."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from profkit.engine.load import LoadMeter, _machine_busy_s


@pytest.mark.skipif(_machine_busy_s() is None, reason="needs /proc/stat (Linux)")
def test_a_child_busy_before_the_first_round_is_not_other_programs():
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # running, and so already there when the meters are made
        ours = LoadMeter()
        theirs = LoadMeter(foreign_pids={child.pid})  # as a notebook's own child would be
        ours.start()
        theirs.start()
        time.sleep(0.6)
        mine, others = ours.stop(), theirs.stop()
    finally:
        child.kill()
        child.wait()
    # the busy child is one core: counted as other programs' only where it was declared foreign
    assert others - mine > 0.6, (mine, others)
