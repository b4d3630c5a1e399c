"""The ``--json`` output: run.json's analysis summary, with the status per mode."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from profkit.record import RunRecord

EXTENSION = ".json"


def render(run: RunRecord) -> str:
    from profkit.render.text import analysis_json
    from profkit.store import to_json

    return to_json({
        "workload": run.meta.workload.name,
        "run_dir": str(run.path) if run.path else None,
        "complete": run.complete,
        "status": run.meta.status,
        "analysis": analysis_json(run.analysis),
    })
