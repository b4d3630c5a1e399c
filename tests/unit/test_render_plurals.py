"""Counts a user reads carry their noun in the right number, and the closing line of a run
whose modes did not finish says how each ended."""

from types import SimpleNamespace

from profkit.engine import runner
from profkit.model import Status
from profkit.render import program
from profkit.render.text import ended_modes


def test_the_closing_line_groups_the_modes_by_how_they_ended():
    status = {"sequential": Status.OK, "threads": Status.TIMEOUT, "processes": Status.TIMEOUT,
              "dask": Status.FAILED, "extra": Status.SKIPPED}
    assert ended_modes(status) == "2 modes timed out: threads, processes; 1 mode failed: dask"
    assert ended_modes({"a": "interrupted", "b": "ok"}) == "1 mode interrupted: a"
    assert ended_modes({"a": "ok", "b": "skipped"}) == ""
    assert "(s)" not in ended_modes({m: Status.FAILED for m in "abc"})


def test_the_progress_line_counts_one_worker_as_one_worker():
    said: list[str] = []
    executor = SimpleNamespace(start=lambda task: 0.01, workers=1, describe=lambda: {})
    mode = SimpleNamespace(spec=SimpleNamespace(workers=1), executor=executor, live=False,
                           result=SimpleNamespace(sweep=False, timings=[], startup_s=None, pool=None),
                           attempt=lambda fn: fn())
    runner._start(mode, SimpleNamespace(task=None), said.append)
    assert said and said[0].endswith(": starting 1 worker"), said


def test_a_program_summary_counts_one_site_one_task_one_worker():
    site = {"id": "s1", "filename": "/x/prog.py", "lineno": 3, "method": "map", "task": "f",
            "tasks": 1, "wall_s": 0.5, "achieved_estimate": 1.0, "bound": 1.0, "workers": 1,
            "processes": True}
    run = SimpleNamespace(analysis=SimpleNamespace(program={"sites": [site]}))
    (line,) = program.summary_lines(run)
    assert "1 task in" in line and line.endswith("on 1 worker") and "(s)" not in line
    assert program._bytes(100, 1).endswith("over 1 sized task")
