"""Shared fixtures. In CI (CI=true) a missing dependency fails; elsewhere it skips."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # so workers can import tests.fixtures by reference

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# A suite started in the background (`nohup ... &` in a shell without job control) inherits an
# ignored SIGINT and SIGHUP, and so would every profkit it starts: the tests that press Ctrl-C
# on a child, or hang up on one, need them delivered. A handler (unlike SIG_IGN) is reset to the
# default in a child at exec.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGHUP) is signal.SIG_IGN:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def require(module: str):
    """Import ``module``; in CI its absence is a failure, elsewhere a skip."""
    if IN_CI:
        return __import__(module)
    return pytest.importorskip(module)


@pytest.fixture(scope="session")
def small_primes_run(tmp_path_factory):
    """One real run of the small prime list in all three modes, saved to disk."""
    from profkit.pipeline import profile
    from tests.fixtures.workloads import SMALL_PRIMES

    out = tmp_path_factory.mktemp("small") / "run"
    # every item traced in every mode: the tests read each mode's line profile
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
