"""The containers workload is the concurrent.futures lesson's timeit table, shown as a bar
chart of time per call."""

from __future__ import annotations

import copy
import re

import pytest

from profkit.render import render
from profkit.run import Run
from profkit.workloads import containers

#: The lesson's rows (f1..f8), in its order, and what each builds.
LESSON_ROWS = {
    "set": set(range(100)),
    "list": list(range(100)),
    "tuple": tuple(range(100)),
    "string": str(range(100)),
    "set_add": set(range(100)),
    "list_append": list(range(100)),
    "set_comprehension": set(range(100)),
    "list_comprehension": list(range(100)),
}


def test_builders_are_the_lessons():
    assert list(containers.BUILDERS) == list(LESSON_ROWS)
    assert containers.WORKLOAD.items == list(LESSON_ROWS)
    for name, expected in LESSON_ROWS.items():
        assert containers.BUILDERS[name]() == expected, name


def test_each_row_times_its_own_builder(monkeypatch):
    """The lesson's table had a bug: its comprehension rows re-ran t5 and t6 (the loops)."""
    calls: dict[str, int] = {}

    def counting(name):
        def build():
            calls[name] = calls.get(name, 0) + 1
        return build

    monkeypatch.setattr(containers, "BUILDERS", {n: counting(n) for n in LESSON_ROWS})
    monkeypatch.setattr(containers, "LOOPS", 10)
    for name in ("set_comprehension", "list_comprehension"):
        calls.clear()
        containers.time_builder(name)
        assert calls == {name: 30}


def test_seconds_results_draw_a_bar_per_item_and_mode(small_primes_run):
    run = Run(meta=copy.deepcopy(small_primes_run.meta), analysis=copy.deepcopy(small_primes_run.analysis),
              frames={k: v.copy() for k, v in small_primes_run.frames.items()})
    tasks = run.frames["tasks"]
    per_call = {i: 1e-7 * (i + 2) for i in range(6)}  # 200 ns ... 700 ns: one digit would merge them
    tasks["result_repr"] = [repr(per_call[int(i)]) for i in tasks["item"]]
    out = render(run, "html")
    chart = out[out.index('id="chart-per-call"'):]
    chart = chart[:chart.index("</figure>")]
    values = re.findall(r'class="pc-value" data-v="([^"]*)">([^<]*)<', chart)
    modes = list(run.analysis.modes)
    assert len(values) == 6 * len(modes)
    assert [text for _, text in values[::len(modes)]] == [f"{100 * (i + 2)} ns" for i in range(6)]
    fills = r'class="pc-fill swatch sequential" style="width:([\d.]+)%"'
    widths = [float(w) for w in re.findall(fills, chart)]
    assert widths == pytest.approx([100 * (i + 2) / 7 for i in range(6)], abs=0.01)
