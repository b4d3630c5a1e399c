"""Every unit test is in the ``matrix`` subset (.ci/run on the other Pythons) but the bench
script's, which times profkit rather than checking what a Python version changes."""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
_OUTSIDE_MATRIX = {"test_bench_script.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path)).resolve()
        if path.parent == _HERE and path.name not in _OUTSIDE_MATRIX:
            item.add_marker(pytest.mark.matrix)
