"""What compare and ab print about their inputs: the rule's repeat counts, set-aside rounds and
what A and B are, each from the same fact as the number beside it (synthetic timings frames)."""

from __future__ import annotations

import random

import pandas as pd

from profkit.analysis.compare import Comparison, RunInfo, compare_timings
from profkit.render.compare_html import render as render_html
from profkit.render.compare_text import format_text


def _info(path: str | None, target: str = "wl.py:squares") -> RunInfo:
    return RunInfo(path=path, workload="squares", target=target, started_at="2026-01-01T00:00:00",
                   python="3.11", platform="x", cpus=2, start_method="fork", repeat=None)


def _timings(walls: dict[str, list[float]], spoiled: dict[str, list[bool]] | None = None) -> pd.DataFrame:
    """A timings frame as a run saves it: one map row per mode and repeat."""
    rows = []
    for mode, values in walls.items():
        marks = (spoiled or {}).get(mode, [False] * len(values))
        rows += [{"mode": mode, "workers": 1 if mode == "sequential" else 2, "sweep": False,
                  "phase": "map", "repeat": k, "wall_s": v, "cpu_s": v, "spoiled": s}
                 for k, (v, s) in enumerate(zip(values, marks, strict=True))]
    return pd.DataFrame(rows)


def _noisy(n: int, centre: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [centre * rng.lognormvariate(0.0, 0.03) for _ in range(n)]


def _comparison(timings_a: pd.DataFrame, timings_b: pd.DataFrame, paired: bool = False,
                path_a: str | None = "/runs/a", path_b: str | None = "/runs/b") -> Comparison:
    return Comparison(run_a=_info(path_a), run_b=_info(path_b),
                      modes=compare_timings(timings_a, timings_b, paired=paired))


def test_the_rule_states_the_repeats_the_table_shows():
    a = _timings({"sequential": _noisy(25, 1.0, 1), "processes": _noisy(25, 0.6, 2)})
    b = _timings({"sequential": _noisy(25, 1.0, 3), "processes": _noisy(25, 0.6, 4)})
    comparison = _comparison(a, b)
    text = format_text(comparison)
    assert all("25/25" in line for line in text.splitlines() if line.startswith(("sequential", "processes")))
    assert "from 25 repeats a side." in text and "from 2 repeats" not in text
    assert "from 25 repeats a side." in render_html(comparison)


def test_the_rule_states_unequal_and_per_mode_repeats():
    a = _timings({"sequential": _noisy(7, 1.0, 1)})
    b = _timings({"sequential": _noisy(4, 1.0, 2)})
    assert "from 7 repeats of A and 4 of B." in format_text(_comparison(a, b))
    a = _timings({"sequential": _noisy(7, 1.0, 1), "processes": _noisy(5, 0.6, 2)})
    b = _timings({"sequential": _noisy(7, 1.0, 3), "processes": _noisy(3, 0.6, 4)})
    text = format_text(_comparison(a, b))
    assert "7/7" in text and "5/3" in text
    assert "from each mode's repeats (the repeats column)." in text
    one = _comparison(_timings({"sequential": [1.0]}), _timings({"sequential": [1.1]}))
    assert "from 1 repeat a side, too few: an interval needs at least 2 a side." in format_text(one)


def test_paired_rounds_are_counted_as_rounds():
    a = _timings({"sequential": _noisy(12, 1.0, 1)})
    b = _timings({"sequential": _noisy(12, 1.3, 2)})
    assert "from 12 paired rounds." in format_text(_comparison(a, b, paired=True))
