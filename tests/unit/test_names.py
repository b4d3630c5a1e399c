"""Names and numbers a reader can use: a file target's path, durations without false precision."""

from __future__ import annotations

import copy

import pytest

from profkit.record import WorkloadMeta
from profkit.render import render
from profkit.render.names import task_label
from profkit.run import Run

FILE_TASK = "profkit_target_wl_f490bee3:collatz"


@pytest.mark.parametrize(("workload", "label"), [
    ({"task": FILE_TASK, "target": "path/to/wl.py:collatz"}, "path/to/wl.py:collatz"),
    ({"task": FILE_TASK, "target": "wl.py:WORKLOAD"}, "wl.py:collatz"),
    ({"task": "profkit.workloads.primes:is_prime", "target": "primes"}, "profkit.workloads.primes:is_prime"),
    ({"task": "pkg.jobs:work", "target": "pkg.jobs:JOB"}, "pkg.jobs:work"),
])
def test_task_label(workload, label):
    assert task_label(WorkloadMeta(name="w", n_items=1, **workload)) == label


def test_report_shows_a_file_target_as_its_path_and_whole_seconds(small_primes_run):
    run = Run(meta=copy.deepcopy(small_primes_run.meta), analysis=small_primes_run.analysis,
              frames=small_primes_run.frames)
    run.meta.workload.task = "profkit_target_wl_f490bee3:collatz"
    run.meta.workload.target = "path/to/wl.py:collatz"
    run.meta.started_at = "2026-11-26T09:38:12+00:00"
    run.meta.finished_at = "2026-11-26T09:38:30+00:00"
    html = render(run, "html")
    assert "<code>path/to/wl.py:collatz</code>" in html
    assert "profkit_target_" not in html
    assert "for <b>18 s</b>" in html and "18.00 s" not in html
