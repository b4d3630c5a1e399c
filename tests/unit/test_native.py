"""Native threads: when the sequential map's CPU says the task runs them, and what that allows."""

from __future__ import annotations

import pytest

from profkit.analysis.native import native_threads, sequential_cores
from profkit.analysis.verdict import ModeFacts, WorkClass, classify, native_classification
from profkit.model import NativePool
from profkit.render import text as words
from tests.fixtures.records import mode_meta


def test_a_map_whose_calling_thread_computes_and_whose_process_uses_more_runs_native_threads():
    # BLAS: the calling thread computes all along (0.30 s), the process twice that
    assert sequential_cores([0.60, 0.62, 0.58], [0.31, 0.32, 0.30], [0.30, 0.31, 0.29]) \
        == pytest.approx(2.0)
    # pure Python: the process CPU is the thread's, so no other thread computed beside it
    assert sequential_cores([0.30], [0.31], [0.30]) is None


def test_each_map_s_process_cpu_is_set_against_its_own_thread_s_cpu():
    # one map ran slower (the caller shared its core): the ratio of each map, not of medians
    assert sequential_cores([0.60, 0.90, 0.58], [0.31, 0.60, 0.30], [0.30, 0.60, 0.29]) \
        == pytest.approx(2.0)
    # maps of runs saved before each kept its thread's CPU are left out of the ratio
    assert sequential_cores([0.60, 0.62], [0.31, 0.32], [float("nan"), 0.31]) == pytest.approx(2.0)


def test_a_map_that_waits_is_never_called_native_whatever_profkit_s_own_threads_spent():
    # sleeps: the thread that ran the items computed 2 ms of a 1 s map
    assert sequential_cores([0.05], [1.0], [0.002]) is None
    assert sequential_cores([], [], []) is None
    # BLAS on a busy machine: other programs stretched the map, the caller computed 0.19 s of
    # 0.59 s and its pool's thread 0.2 s more; the cores it keeps busy when it has them: 2
    assert sequential_cores([0.39], [0.59], [0.19]) == pytest.approx(2.05, rel=0.01)
    # a 5 ms map: profkit's own threads weigh as much as a native pool would
    assert sequential_cores([0.0065], [0.005], [0.005]) is None


def test_the_bound_is_the_cpus_over_the_cores_the_sequential_map_keeps_busy():
    meta = {"sequential": mode_meta(native_pools=[NativePool("openblas", "libopenblas", 2)]),
            "processes": mode_meta(2, native_trial={"mode": "processes", "workers": 2,
                                                   "speedup": 1.02, "gain": 1.1})}
    native = native_threads(1.88, 2, meta)
    assert native is not None and native.bound == pytest.approx(2 / 1.88)
    assert native.pools == (("openblas", 2),) and native.trial["speedup"] == 1.02
    assert native_threads(1.1, 2, meta) is None  # about one core: no native threads
    assert native_threads(2.3, 2, meta).sequential_cores == 2.0  # never above the CPUs
    cpu_card = classify(0.99, ModeFacts("threads", 2, speedup=1.0, shares_gil=True))
    assert cpu_card is not None and cpu_card.gil_bound
    card = native_classification(cpu_card, native)
    assert card.gil_bound is False and card.native_threads and card.kind == "cpu-bound"
    assert card.work_class is WorkClass.GIL_RELEASING and card.facts.native == native.facts()
    assert "native threads" in words.classification(card.facts)
    assert "GIL" not in words.classification(card.facts).replace("outside the GIL", "")
