"""profkit's pools start as the user's own pools would: the interpreter's default start method."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

PROBE = """
import multiprocessing
{setup}
from profkit.executors.registry import default_start_method
chosen = default_start_method()
unset = multiprocessing.get_start_method(allow_none=True) is None
print(chosen, multiprocessing.get_start_method(), unset)
"""


def _probe(setup: str = "") -> list[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE.format(setup=setup)], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=True)
    return proc.stdout.split()


@pytest.mark.matrix
def test_the_default_is_the_interpreters_and_profkit_leaves_it_unset():
    chosen, interpreters, unset = _probe()
    assert chosen == interpreters  # what multiprocessing itself then picks
    assert unset == "True"  # asking did not fix the program's start method
    if sys.platform.startswith("linux"):
        assert chosen == ("forkserver" if sys.version_info >= (3, 14) else "fork")


def test_a_start_method_the_program_set_is_kept():
    chosen, interpreters, _ = _probe('multiprocessing.set_start_method("spawn")')
    assert chosen == interpreters == "spawn"
