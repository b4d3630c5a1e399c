"""Shared fixtures. In CI (CI=true) a missing dependency fails; elsewhere it skips."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # so workers can import tests.fixtures by reference

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

#: Tests that run alone (:mod:`tests.fixtures.alone`): a whole file, or one test of it. Each times
#: something against the bare code, or has a budget, a clock or a load meter that the other
#: worker's load would move.
ALONE = {
    "unit/test_bench_script.py::test_quick_bench_reports_every_figure",
    "unit/test_line_budget.py",
    "unit/test_load_meter.py",
    "integration/test_ab.py",
    "integration/test_api_targets.py::test_closure_speedup_matches_a_bare_pool_of_the_module_function",
    "integration/test_builtin_workloads.py",
    "integration/test_compare.py",
    "integration/test_core_wait.py",
    "integration/test_dask.py::test_dask_speedup_matches_a_bare_client_map_on_an_embedded_cluster",
    "integration/test_dask.py::test_dask_speedup_matches_a_bare_client_map_on_an_external_cluster",
    "integration/test_executors.py",
    "integration/test_gc.py",
    "integration/test_line_budget.py",
    "integration/test_memory.py",
    "integration/test_native_threads.py",
    "integration/test_phases.py",
    "integration/test_prediction.py",
    "integration/test_prediction_beyond.py",
    "integration/test_run_program.py::test_replay_measures_what_the_bare_code_does",
    "integration/test_scale.py",
    "integration/test_task_processes.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        where = Path(str(item.path)).resolve().relative_to(REPO / "tests").as_posix()
        if where in ALONE or f"{where}::{item.originalname}" in ALONE:
            item.add_marker(pytest.mark.alone)


def pytest_sessionstart(session: pytest.Session) -> None:
    from tests.fixtures import alone

    if alone.under_xdist():  # the run's folder, above each worker's own
        shared = session.config._tmp_path_factory.getbasetemp().parent  # type: ignore[attr-defined]
        alone.start(shared)


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests.fixtures import alone

    alone.lock().close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Each test holds the machine shared, or alone if marked so, from its setup to its teardown."""
    from tests.fixtures import alone

    with alone.lock().hold(item.get_closest_marker("alone") is not None):
        yield


def require(module: str):
    """Import ``module``; in CI its absence is a failure, elsewhere a skip."""
    if IN_CI:
        return __import__(module)
    return pytest.importorskip(module)


@pytest.fixture(scope="session")
def small_primes_run(tmp_path_factory):
    """One real run of the small prime list in all three modes, saved to disk."""
    from profkit.pipeline import profile
    from tests.fixtures import alone
    from tests.fixtures.workloads import SMALL_PRIMES

    out = tmp_path_factory.mktemp("small") / "run"
    # every item traced in every mode: the tests read each mode's line profile; timed alone, as
    # its speedups and load notes are read too
    with alone.lock().alone():
        return profile(SMALL_PRIMES, modes="sequential,threads,processes", workers=2, repeat=3,
                       out=out, line_budget="all")


@pytest.fixture
def viewers():
    """A factory of ``profkit view`` subprocesses (:class:`tests.fixtures.viewer.Viewer`); each,
    with the snakeviz server it started, is ended when the test ends, pass or fail."""
    from tests.fixtures.viewer import Viewer

    started: list[Viewer] = []

    def start(*args, cwd, command=None) -> Viewer:
        viewer = Viewer(*args, cwd=cwd, command=command)
        started.append(viewer)
        return viewer

    try:
        yield start
    finally:
        for viewer in started:
            viewer.stop()
