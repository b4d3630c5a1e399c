"""Memory on an embedded Dask cluster: each local worker process is sampled by pid."""

from __future__ import annotations

import os

import pytest

if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    import distributed  # noqa: F401 - in CI a missing dask is a failure, not a skip
else:
    pytest.importorskip("distributed")

from profkit.pipeline import profile  # noqa: E402
from tests.fixtures.memory_hog import HOG, HOLD_BYTES  # noqa: E402
from tests.integration.test_dask import no_orphans  # noqa: E402, F401 - the fixture

pytestmark = [pytest.mark.dask, pytest.mark.timeout(240)]


def test_dask_workers_rise_by_what_they_hold(tmp_path, no_orphans):  # noqa: F811
    out = tmp_path / "run"
    run = profile(HOG, modes="dask", workers=2, repeat=1, line_budget=0.05,
                  memory_lines=["hold"], out=out)
    assert run.meta.status == {"dask": "ok"}, run.meta.errors
    entry = run.analysis.memory.modes["dask"]
    tasks = run.tasks[run.tasks["mode"] == "dask"]
    rises = {p.pid: p.rise_bytes for p in entry.processes if p.role == "worker"}
    assert len(rises) == 2
    assert set(tasks["pid"]) <= set(rises)
    for pid in set(tasks["pid"]):
        assert abs(rises[pid] - HOLD_BYTES) <= 0.15 * HOLD_BYTES, (pid, rises[pid] / 2**20)
    assert entry.parent_rise_bytes < 0.05 * HOLD_BYTES
    assert (out / "memory" / "dask.dat").read_text().count("CHLD ") >= 2
    lines = run.frames["memory_lines"]
    top = lines.sort_values("increment_bytes", ascending=False).iloc[0]
    assert "bytearray(HOLD_BYTES)" in top["source"]
    assert abs(top["increment_per_item_bytes"] - HOLD_BYTES) <= 0.15 * HOLD_BYTES
