"""The GC recorder: each batch keeps its own thread's collections, and other gc callbacks in the
process keep seeing every phase."""

from __future__ import annotations

import gc
import sys
import threading
import time
from typing import Any

from profkit.collectors import gcstats


def test_a_batch_keeps_the_collections_of_its_own_thread():
    other_started, other_may_finish = threading.Event(), threading.Event()
    others: list[Any] = []

    def other_batch() -> None:
        with gcstats.recording() as mine:
            other_started.set()
            other_may_finish.wait(10)
        others.extend(mine)

    thread = threading.Thread(target=other_batch)
    thread.start()
    assert other_started.wait(10)
    with gcstats.recording() as mine:
        gc.collect(2)
    other_may_finish.set()
    thread.join(10)
    gc.collect(2)  # outside every batch: recorded by none
    assert [e.generation for e in mine] == [2]
    assert mine[0].duration > 0 and mine[0].thread == threading.current_thread().name
    assert others == []


def test_ending_a_batch_removes_no_gc_callback():
    with gcstats.recording():
        during = list(gc.callbacks)
    assert gc.callbacks == during


class Pairing:
    """A gc callback that counts phases out of turn, from the first "start" it sees on."""

    def __init__(self) -> None:
        self.open: bool | None = None
        self.out_of_turn = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if self.open is None and phase != "start":
            return  # added during a collection: its start came before us
        if self.open == (phase == "start"):
            self.out_of_turn += 1
        self.open = phase == "start"


def test_other_callbacks_see_start_and_stop_in_turn_while_batches_come_and_go():
    """Removing an entry while another thread's collection walks gc.callbacks made the callback
    after it miss a phase; distributed's GC diagnosis then failed an assertion."""
    done = threading.Event()

    def churn() -> None:
        while not done.is_set():
            for _ in range(300):
                cycle: list[Any] = []
                cycle.append(cycle)
            gc.collect(0)

    added: list[Pairing] = []
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    threads = [threading.Thread(target=churn) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for _ in range(300):
            with gcstats.recording():
                added.append(Pairing())
                gc.callbacks.append(added[-1])
                time.sleep(0.0005)
    finally:
        done.set()
        for thread in threads:
            thread.join(10)
        sys.setswitchinterval(switch)
        for pairing in added:
            gc.callbacks.remove(pairing)
    assert sum(p.out_of_turn for p in added) == 0
