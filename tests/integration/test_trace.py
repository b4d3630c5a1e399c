"""trace/<mode>.json: Chrome trace JSON of the warm-up pass, one track per worker, a slice per item."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def run(small_primes_run):
    return small_primes_run


def _load(run, mode: str) -> dict:
    rel = run.meta.artifacts.traces[mode]
    assert rel == f"trace/{mode}.json"
    return json.loads((run.path / rel).read_text(encoding="utf-8"))


def _slices(trace: dict, cat: str) -> list[dict]:
    return [e for e in trace["traceEvents"] if e["ph"] == "X" and e["cat"].split(",")[0] == cat]


def test_processes_trace_has_one_track_per_worker_pid_and_a_slice_per_item(run):
    trace = _load(run, "processes")
    assert isinstance(trace["traceEvents"], list)
    for event in trace["traceEvents"]:
        assert {"name", "ph", "pid", "tid"} <= set(event)
        if event["ph"] == "X":
            assert event["ts"] >= 0 and event["dur"] >= 0
    tasks = run.frames["tasks"]
    mine = tasks[(tasks["mode"] == "processes") & ~tasks["sweep"]]
    slices = _slices(trace, "task")
    assert len(mine) == run.meta.workload.n_items == 6
    assert sorted(e["args"]["item"] for e in slices) == list(range(6))
    assert {e["name"] for e in slices} == {f"item {i}" for i in range(6)}
    # one track per worker pid: the pids the tasks ran in, each with one thread track
    worker_pids = set(mine["pid"].astype(int))
    assert {e["pid"] for e in slices} == worker_pids
    assert len({(e["pid"], e["tid"]) for e in slices}) == len(worker_pids)
    named = {e["pid"] for e in trace["traceEvents"] if e["ph"] == "M" and e["name"] == "process_name"}
    assert worker_pids < named and 0 in named  # and the parent's own track
    # each slice is its task: same item, same worker, same duration (µs)
    by_item = mine.set_index("item")
    for e in slices:
        row = by_item.loc[e["args"]["item"]]
        assert e["pid"] == int(row["pid"])
        assert e["dur"] == pytest.approx(row["duration_s"] * 1e6, abs=1.0)
        assert e["args"]["item_repr"] == row["item_repr"]
    # start-up, dispatch and idle gaps are drawn, and nothing overlaps on a track
    startup = run.meta.modes["processes"].startup_s
    start = [e for e in trace["traceEvents"] if e["ph"] == "X" and e["cat"] == "startup"]
    assert len(start) == 1 and start[0]["dur"] == pytest.approx(startup * 1e6, abs=1.0)
    assert _slices(trace, "dispatch")
    for pid in worker_pids:
        track = sorted((e for e in trace["traceEvents"] if e["ph"] == "X" and e["pid"] == pid),
                       key=lambda e: e["ts"])
        for a, b in zip(track, track[1:], strict=False):
            assert a["ts"] + a["dur"] <= b["ts"] + 1.0
        assert track[0]["ts"] >= start[0]["dur"] - 1.0  # after the pool started


def test_threads_trace_has_one_track_per_thread(run):
    trace = _load(run, "threads")
    tasks = run.frames["tasks"]
    mine = tasks[(tasks["mode"] == "threads") & ~tasks["sweep"]]
    slices = _slices(trace, "task")
    assert len(slices) == len(mine)
    assert len({(e["pid"], e["tid"]) for e in slices}) == mine["thread"].nunique()


def test_report_links_the_traces(run):
    html = (run.path / "index.html").read_text(encoding="utf-8")
    assert 'href="trace/processes.json"' in html
    assert "ui.perfetto.dev" in html
