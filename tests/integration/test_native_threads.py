"""NumPy's matrix product on BLAS threads: the bound, the words and the timed fix, against bare code.

The bare references are timed here, in a fresh process, just before and just after
profkit's run (load on a shared machine moves between minutes, not seconds):

- the cores the sequential map keeps busy: its process CPU over the CPU of the one
  thread that calls NumPy, so the bound the CPUs allow is CPUs over that;
- the fix: a ``ProcessPoolExecutor`` whose workers each run one BLAS thread
  (``threadpool_limits(1)`` in the initializer), against the sequential map, rounds
  interleaved.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import profkit
from profkit.executors.registry import available_cpus
from profkit.render import text as words
from tests.conftest import require
from tests.fixtures import native_blas
from tests.fixtures.cli import cli_env, run_cli

BARE = r"""
import json, os, statistics, sys, time
from concurrent.futures import ProcessPoolExecutor
sys.path.insert(0, sys.argv[1])
from threadpoolctl import threadpool_limits
from tests.fixtures.native_blas import ITEMS, matmul

def one_thread():
    threadpool_limits(limits=1)

def thread_cpu():
    return time.clock_gettime(time.CLOCK_THREAD_CPUTIME_ID)

list(map(matmul, ITEMS))  # warm: the BLAS threads exist
ratios, cores = [], []
with ProcessPoolExecutor(2, initializer=one_thread) as pool:
    list(pool.map(matmul, ITEMS))
    for k in range(3):
        t, c, th = time.perf_counter(), time.process_time(), thread_cpu()
        list(map(matmul, ITEMS))
        serial = time.perf_counter() - t
        cores.append((time.process_time() - c) / (thread_cpu() - th))
        t = time.perf_counter()
        list(pool.map(matmul, ITEMS))
        ratios.append(serial / (time.perf_counter() - t))
print(json.dumps({"fix": statistics.median(ratios), "cores": statistics.median(cores)}))
"""


#: Variables that cap native threads; Dask's nanny sets some in the process that starts its
#: workers (the test process, after the Dask tests), so every child here runs without them.
THREAD_CAPS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _env() -> dict[str, str]:
    env = cli_env()
    for name in THREAD_CAPS:
        env.pop(name, None)
    return env


def _bare() -> dict[str, float]:
    from tests.conftest import REPO

    done = subprocess.run([sys.executable, "-c", BARE, str(REPO)], capture_output=True, text=True,
                          timeout=300, check=True, env=_env())
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def native_run(tmp_path_factory):
    require("threadpoolctl")
    if available_cpus() < 2:
        pytest.skip("native threads need two CPUs to fill")  # pragma: no cover - CI has two
    before = _bare()
    out = tmp_path_factory.mktemp("native") / "run"
    result = run_cli("profile", f"{native_blas.__file__}:WORKLOAD", "--modes",
                     "sequential,threads,processes", "--workers", "2", "--repeat", "3", "--out", out,
                     "-q", env=_env(), timeout=600)
    after = _bare()
    assert result.returncode == 0, result.stderr
    return profkit.load(out), before, after


def test_the_sequential_cores_and_the_bound_match_the_bare_code(native_run):
    run, before, after = native_run
    native = run.analysis.native_threads
    assert native is not None
    cpus = native.cpus
    cores = sorted(min(cpus, bare["cores"]) for bare in (before, after))
    # the cores a BLAS map keeps busy depend on the cores it gets: on a busy machine its second
    # thread gets fewer, and the load moves between the bare maps and profkit's
    busy = run.meta.environment["others_cpu_during_run"] > 0.2
    low = cores[0] * (0.7 if busy else 0.9)
    assert low <= native.sequential_cores <= cores[1] * 1.1, (native, before, after, busy)
    for mode in ("threads", "processes"):
        bound = run.analysis.modes[mode].bound
        assert bound == pytest.approx(cpus / native.sequential_cores, rel=0.02)
        if min(cores) >= 1.7:  # BLAS filled both cores, as it does on a quiet machine
            assert bound <= 1.2, (mode, bound)


def test_the_report_names_the_native_threads_and_the_fix(native_run):
    run, _, _ = native_run
    html = (run.path / "index.html").read_text()
    for text in (words.verdict(run.analysis), html):
        assert "native threads" in text
    assert "openblas" in html and "threadpool_limits(1)" in html and "OMP_NUM_THREADS=1" in html
    assert "GIL lets only one thread" not in words.verdict(run.analysis)


def test_the_timed_fix_agrees_with_the_fix_timed_bare(native_run):
    run, before, after = native_run
    trial = run.analysis.native_threads.trial
    assert trial["mode"] == "processes" and trial["threads_per_worker"] == 1
    low, high = sorted([before["fix"], after["fix"]])
    assert low * 0.85 <= trial["speedup"] <= high * 1.15, (trial["speedup"], before, after)
    assert json.loads((run.path / "run.json").read_text())["modes"]["processes"]["native_trial"]
