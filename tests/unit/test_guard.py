"""profkit's own work beside threads it did not start: short GIL turns, put back after."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from profkit.engine.guard import SHARED_GIL_SWITCH_INTERVAL_S, short_gil_turns
from tests.fixtures.bare import agrees_in_one_of


def test_alone_the_switch_interval_is_left_as_it_is() -> None:
    """In a fresh interpreter, whose only thread is the main one (a test session may hold
    threads of its own)."""
    code = ("import sys\n"
            "from profkit.engine.guard import short_gil_turns\n"
            "before = sys.getswitchinterval()\n"
            "with short_gil_turns():\n"
            "    inside = sys.getswitchinterval()\n"
            "print(before, inside, sys.getswitchinterval())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          check=True)
    before, inside, after = (float(x) for x in done.stdout.split())
    assert inside == before == after == 0.005


@pytest.fixture
def live_thread():
    """A thread of the test's own, alive (waiting) until the test ends."""
    stop = threading.Event()
    thread = threading.Thread(target=lambda: stop.wait(30), daemon=True)
    thread.start()
    yield thread
    stop.set()
    thread.join()


def test_beside_a_running_thread_turns_are_short_and_the_interval_is_put_back(live_thread) -> None:
    before = sys.getswitchinterval()
    with short_gil_turns():
        assert sys.getswitchinterval() == pytest.approx(SHARED_GIL_SWITCH_INTERVAL_S)
    assert sys.getswitchinterval() == before


def test_the_interval_is_put_back_when_the_block_raises(live_thread) -> None:
    before = sys.getswitchinterval()
    with pytest.raises(ValueError), short_gil_turns():
        raise ValueError("the save failed")
    assert sys.getswitchinterval() == before


def test_work_with_io_beside_two_spinning_threads_gets_the_gil_back(tmp_path) -> None:
    """Small file writes beside two threads that hold the GIL, at the default 5 ms interval and
    with short turns, in the same test: short turns take a fraction of the time."""

    def writes() -> float:
        start = time.perf_counter()
        for k in range(50):
            (tmp_path / f"f{k}").write_text("x" * 1000, encoding="utf-8")
        return time.perf_counter() - start

    def attempt(_: int) -> tuple[bool, object]:
        stop = threading.Event()

        def spin() -> None:
            while not stop.is_set():
                pass

        spinners = [threading.Thread(target=spin, daemon=True) for _ in range(2)]
        before = sys.getswitchinterval()
        for spinner in spinners:
            spinner.start()
        try:
            sys.setswitchinterval(0.005)
            default = writes()
            with short_gil_turns():
                short = writes()
        finally:
            stop.set()
            sys.setswitchinterval(before)
            for spinner in spinners:
                spinner.join()
        return short < default / 3, (short, default)

    # another program on both cores can keep the spinners off the CPU for a whole attempt, and
    # then the writes wait for no GIL (measured: 17 ms at the default interval); a guard that
    # does not shorten the turns misses in every attempt
    agrees_in_one_of(attempt, tries=3)
